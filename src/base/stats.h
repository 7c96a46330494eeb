/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_STATS_H
#define STT_STATS_H

/*
 * Latency statistics, bucketed exactly as fio's: values in ns; values below 128 land in
 * their own bucket; above that, each power of two is split into 64 buckets (6 bits per
 * group), so the bucket midpoint is within 1/128 of any value in it. fio uses 29 groups
 * (1856 buckets, top about 17 s); slow operations use more so that nothing clamps.
 * Min, max, mean and stddev are exact (Welford), not taken from the buckets.
 *
 * No I/O here.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STT_HIST_BITS 6
#define STT_HIST_VAL (1u << STT_HIST_BITS)
#define STT_HIST_IO_GROUPS 29u   /* fio's FIO_IO_U_PLAT_GROUP_NR */
#define STT_HIST_SLOW_GROUPS 40u /* about 9.8 hours before the last bucket */
#define STT_HIST_MAX_GROUPS 58u  /* 2^63 ns; only values from 2^63 on clamp */

struct stt_hist {
	unsigned int groups; /* buckets = groups * STT_HIST_VAL */
	uint64_t *bins;
	uint64_t n;
	uint64_t min_ns, max_ns;
	double mean_ns, m2; /* Welford's running mean and sum of squared deviations */
	uint64_t clamped;   /* samples that fell into the last bucket */
};

/* fio's default percentile list (17 entries). */
extern const double stt_stats_default_pcts[];
extern const size_t stt_stats_default_npcts;

size_t stt_hist_nbuckets(unsigned int groups);
/* Bucket of @v_ns in a histogram of @groups groups (the last bucket if beyond). */
size_t stt_hist_idx(uint64_t v_ns, unsigned int groups);
/*
 * Midpoint (fio's plat_idx_to_val) of bucket @idx, in ns: @idx itself below 128, else the
 * bucket's lower bound plus half its width. An @idx beyond STT_HIST_MAX_GROUPS groups is
 * taken as the last bucket of that many.
 */
uint64_t stt_hist_midpoint(size_t idx);

/* @groups from 1 to STT_HIST_MAX_GROUPS, else -EINVAL; -ENOMEM. */
__attribute__((warn_unused_result)) int stt_hist_init(struct stt_hist *h, unsigned int groups);
void stt_hist_release(struct stt_hist *h); /* also leaves @h zeroed */
void stt_hist_reset(struct stt_hist *h);   /* empty again, same groups */
void stt_hist_add(struct stt_hist *h, uint64_t v_ns);
/* @dst += @src; both of the same number of groups, else -EINVAL. */
__attribute__((warn_unused_result)) int stt_hist_merge(struct stt_hist *dst,
						       const struct stt_hist *src);
double stt_hist_stddev(const struct stt_hist *h); /* sample stddev (n-1), 0 when n < 2 */

/*
 * Percentiles by fio's rule: the first bucket whose cumulative count reaches p/100 * n,
 * reported at its midpoint. @pcts in percent (0 < p <= 100), in any order; @out_ns gets
 * one value each, in the same order. Returns 0, -EINVAL for a percentile out of range, or
 * -ENODATA when the histogram is empty.
 */
int stt_hist_percentiles(const struct stt_hist *h, const double *pcts, size_t npcts,
			 uint64_t *out_ns);

/* Summary of repetitions of one figure. */
struct stt_summary {
	size_t n;
	double median;
	double ci_lo, ci_hi; /* 95% confidence interval of the median */
	double mean, stddev;
	size_t n_outliers; /* modified z-score above 3.5 */
};

/*
 * Median (the mean of the two middle values when @n is even), a distribution-free 95%
 * confidence interval of the median from order statistics, mean, sample stddev (n-1; 0 when
 * n = 1), and outliers by modified z-score (0.6745 * |x - median| / MAD > 3.5, MAD the median
 * absolute deviation; when MAD is 0, every value other than the median is an outlier).
 *
 * The interval is [x_(j), x_(n+1-j)] (1-based ranks of the sorted values) for the largest j
 * whose coverage, 1 - 2 * P(B <= j - 1) with B ~ binomial(n, 1/2), is at least 0.95. Below
 * n = 6 no pair of ranks reaches 95% (even [min, max] covers only 1 - 2^(1-n)), and the
 * interval is [min, max] with less than 95% coverage.
 *
 * @x is not modified. @outlier may be NULL, else n flags. Returns 0, -EINVAL when @n is 0 or
 * a value is not finite, or -ENOMEM.
 */
__attribute__((warn_unused_result)) int stt_stats_summarize(const double *x, size_t n,
							    struct stt_summary *s, bool *outlier);

/*
 * The spread of one repetition, relative, seen from its neighbours: (q90 - q10) / (2 x 1.2816)
 * -- the standard deviation for normal data -- of the steps between successive values, over
 * sqrt(2) (a step spreads sqrt(2) times as much as a value). @x is in run order. Of the log
 * values (@logs; every value must be positive), else of the values over |@ref| (0 when they are
 * all equal or @n is 1, INFINITY when @ref is 0 and they are not). Steps, not the values
 * themselves: a machine whose speed wanders over a long run (tens of seconds a state here)
 * moves the run's values together, which would otherwise count as noise of every repetition
 * (compare takes that wander into its test's units instead: blocks of repetitions). Unlike the MAD
 * it sees a figure that flips between two levels from one repetition to the next. Quantiles
 * interpolate between order statistics. 0, -EINVAL
 * (@n is 0, a value not finite or, with @logs, not positive) or -ENOMEM.
 */
__attribute__((warn_unused_result)) int stt_stats_spread(const double *x, size_t n, bool logs,
							 double ref, double *out);

/*
 * @x's @n values, in the order they ran, cut into @b blocks of consecutive ones (sizes differ
 * by at most one; 1 <= @b <= @n): each block's median goes to x[k], block k, and the rest of
 * @x is left in an unspecified order. Returns @b.
 */
size_t stt_stats_block_medians(double *x, size_t n, size_t b);

/*
 * The slope of y on a covariate c within two groups, pooled (the slope of an analysis of
 * covariance): the sum over both groups of (c - the group's mean c)(y - the group's mean y)
 * over the sum of (c - the group's mean c)^2. Only the scatter inside each group counts, so
 * a difference between the groups' means (what is being tested) does not make the slope.
 * 0, -EINVAL (a group of fewer than 2, a value not finite, or c constant in both groups).
 */
__attribute__((warn_unused_result)) int stt_stats_pooled_slope(const double *y1, const double *c1,
							       size_t n1, const double *y2,
							       const double *c2, size_t n2,
							       double *out);

/*
 * Two runs of one build back to back move by more than the spread of their repetitions says
 * (on a shared VM, the machine's speed wanders for tens of seconds at a time); a figure whose
 * spread times this factor reaches 1 (+-40% a repetition) cannot tell a change from that
 * drift. The factor compare raises its thresholds by, and what makes bench call a figure noisy
 * (3 before compare adjusted for the machine's control: README "compare").
 */
#define STT_STATS_NOISE_FACTOR 2.5

/* ---- Two samples: did the location move? ---- */

/* The standard normal distribution function and its inverse (0 < @p < 1). */
double stt_stats_norm_cdf(double z);
double stt_stats_norm_quantile(double p);

/* Up to this many values on each side, the Mann-Whitney null distribution is exact. */
#define STT_MW_EXACT_MAX 50
/* At most this many pairwise differences (m * n) for the shift estimate. */
#define STT_SHIFT_MAX_PAIRS (1u << 22)

/*
 * P(U <= u) for u = 0 .. m*n, into @cdf (m*n + 1 values), where U is the Mann-Whitney
 * statistic of two samples of @m and @n values drawn from one continuous distribution (all
 * (m+n choose m) orderings equally likely). @m and @n from 1 to STT_MW_EXACT_MAX, else
 * -EINVAL; -ENOMEM.
 */
__attribute__((warn_unused_result)) int stt_stats_mw_cdf(size_t m, size_t n, double *cdf);

/*
 * The largest c with P(U <= c) <= @a under the null hypothesis (exact up to STT_MW_EXACT_MAX
 * values a side, else the normal approximation with continuity correction); -1 when even
 * P(U <= 0) exceeds @a (too few values for that level). 0 < @a < 1.
 */
long stt_stats_mw_critical(size_t m, size_t n, double a);

/* The Mann-Whitney (Wilcoxon rank-sum) test of @y against @x. */
struct stt_mw {
	double u;	  /* #{(i, j): y_j > x_i} + #{y_j == x_i} / 2, from 0 to m*n */
	double p_greater; /* one-sided p-value: y tends to be larger than x */
	double p_less;	  /* one-sided p-value: y tends to be smaller than x */
	bool exact;	  /* exact distribution (no ties, both sides <= STT_MW_EXACT_MAX) */
	bool ties;	  /* equal values in the pooled sample */
};

/*
 * Without ties and with at most STT_MW_EXACT_MAX values a side, the p-values are exact;
 * otherwise the normal approximation, its variance corrected for ties and with continuity
 * correction. When every value is equal both p-values are 1. 0, -EINVAL (empty sample, a
 * value not finite) or -ENOMEM.
 */
__attribute__((warn_unused_result)) int
stt_stats_mann_whitney(const double *x, size_t m, const double *y, size_t n, struct stt_mw *out);

/*
 * The shift of @y against @x: the Hodges-Lehmann estimate (median of the m*n differences
 * y_j - x_i) and its distribution-free bounds (Moses): with c = stt_stats_mw_critical(m, n,
 * 1 - @conf) and k = c + 1, @lo is the k-th smallest difference and @hi the k-th largest,
 * so that P(shift >= lo) >= conf and P(shift <= hi) >= conf when the two samples differ only
 * by a shift. Together [lo, hi] is a two-sided interval of confidence 2 * conf - 1. When no
 * such k exists (too few values), lo = -inf and hi = +inf and @rank is 0.
 */
struct stt_shift {
	double estimate;
	double lo, hi;
	size_t rank; /* k, 1-based; 0 when there is no bound */
};

/* 0.5 < @conf < 1. 0, -EINVAL (empty, not finite, more than STT_SHIFT_MAX_PAIRS) or -ENOMEM. */
__attribute__((warn_unused_result)) int stt_stats_shift(const double *x, size_t m, const double *y,
							size_t n, double conf,
							struct stt_shift *out);

#endif
