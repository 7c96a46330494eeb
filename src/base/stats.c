// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Latency histograms in fio's bucket layout, and summaries of repeated measurements.
 *
 * Bucket layout: a value whose highest set bit is at position msb <= STT_HIST_BITS is its
 * own bucket (0..127). Above that, the value keeps its top STT_HIST_BITS + 1 bits: the
 * STT_HIST_BITS bits below the leading one choose one of 64 buckets in the group of that
 * power of two, and the msb - STT_HIST_BITS bits below them are dropped.
 */
#include "base/stats.h"

#include "base/err.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const double stt_stats_default_pcts[] = {
	1.0, 5.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 95.0, 99.0, 99.5, 99.9,
	99.95, 99.99,
};
const size_t stt_stats_default_npcts = sizeof(stt_stats_default_pcts) /
				       sizeof(stt_stats_default_pcts[0]);

/* The exact buckets 0..127 are the first two groups. */
#define HIST_EXACT (2 * STT_HIST_VAL)

size_t stt_hist_nbuckets(unsigned int groups)
{
	return (size_t)groups * STT_HIST_VAL;
}

static unsigned int msb64(uint64_t v)
{
	return v ? 63 - (unsigned int)__builtin_clzll(v) : 0;
}

size_t stt_hist_idx(uint64_t v_ns, unsigned int groups)
{
	size_t nb = stt_hist_nbuckets(groups);
	unsigned int msb = msb64(v_ns);
	unsigned int error_bits;
	size_t idx;

	if (!nb)
		return 0;
	if (msb <= STT_HIST_BITS) {
		idx = (size_t)v_ns;
	} else {
		error_bits = msb - STT_HIST_BITS;
		idx = ((size_t)(error_bits + 1) << STT_HIST_BITS) +
		      (size_t)((v_ns >> error_bits) & (STT_HIST_VAL - 1));
	}
	return idx < nb ? idx : nb - 1;
}

uint64_t stt_hist_midpoint(size_t idx)
{
	size_t last = stt_hist_nbuckets(STT_HIST_MAX_GROUPS) - 1;
	unsigned int error_bits;
	uint64_t base, k;

	if (idx < HIST_EXACT)
		return idx;
	/* Beyond the largest histogram the midpoint would not fit: report the last one. */
	if (idx > last)
		idx = last;
	error_bits = (unsigned int)(idx >> STT_HIST_BITS) - 1;
	base = UINT64_C(1) << (error_bits + STT_HIST_BITS);
	k = idx % STT_HIST_VAL;
	/* base + (k + 0.5) * 2^error_bits, exact since error_bits >= 1 */
	return base + (((2 * k + 1) << error_bits) >> 1);
}

int stt_hist_init(struct stt_hist *h, unsigned int groups)
{
	memset(h, 0, sizeof(*h));
	if (groups < 1 || groups > STT_HIST_MAX_GROUPS)
		return stt_err(-EINVAL, "histogram of %u groups: must be 1 to %u", groups,
			       STT_HIST_MAX_GROUPS);
	h->bins = calloc(stt_hist_nbuckets(groups), sizeof(*h->bins));
	if (!h->bins)
		return -ENOMEM;
	h->groups = groups;
	return 0;
}

void stt_hist_release(struct stt_hist *h)
{
	free(h->bins);
	memset(h, 0, sizeof(*h));
}

void stt_hist_reset(struct stt_hist *h)
{
	if (h->bins)
		memset(h->bins, 0, stt_hist_nbuckets(h->groups) * sizeof(*h->bins));
	h->n = 0;
	h->min_ns = 0;
	h->max_ns = 0;
	h->mean_ns = 0.0;
	h->m2 = 0.0;
	h->clamped = 0;
}

void stt_hist_add(struct stt_hist *h, uint64_t v_ns)
{
	size_t nb = stt_hist_nbuckets(h->groups);
	size_t idx = stt_hist_idx(v_ns, h->groups);
	double x = (double)v_ns;
	double delta;

	h->bins[idx]++;
	if (idx == nb - 1)
		h->clamped++;

	if (!h->n || v_ns < h->min_ns)
		h->min_ns = v_ns;
	if (!h->n || v_ns > h->max_ns)
		h->max_ns = v_ns;

	/* Welford */
	h->n++;
	delta = x - h->mean_ns;
	h->mean_ns += delta / (double)h->n;
	h->m2 += delta * (x - h->mean_ns);
}

int stt_hist_merge(struct stt_hist *dst, const struct stt_hist *src)
{
	size_t nb = stt_hist_nbuckets(dst->groups);
	double na, nb_, n, delta;

	if (dst->groups != src->groups)
		return stt_err(-EINVAL, "cannot merge histograms of %u and %u groups",
			       dst->groups, src->groups);
	if (!src->n)
		return 0;

	for (size_t i = 0; i < nb; i++)
		dst->bins[i] += src->bins[i];
	dst->clamped += src->clamped;

	if (!dst->n) {
		dst->n = src->n;
		dst->min_ns = src->min_ns;
		dst->max_ns = src->max_ns;
		dst->mean_ns = src->mean_ns;
		dst->m2 = src->m2;
		return 0;
	}

	if (src->min_ns < dst->min_ns)
		dst->min_ns = src->min_ns;
	if (src->max_ns > dst->max_ns)
		dst->max_ns = src->max_ns;

	/* Chan et al.: combine two partial means and sums of squared deviations. */
	na = (double)dst->n;
	nb_ = (double)src->n;
	n = na + nb_;
	delta = src->mean_ns - dst->mean_ns;
	dst->mean_ns += delta * (nb_ / n);
	dst->m2 += src->m2 + delta * delta * (na * nb_ / n);
	dst->n += src->n;
	return 0;
}

double stt_hist_stddev(const struct stt_hist *h)
{
	if (h->n < 2)
		return 0.0;
	return sqrt(h->m2 / (double)(h->n - 1));
}

/*
 * fio sorts the list and walks the buckets once; the answer for each percentile depends only
 * on its own threshold, so walking once per percentile gives the same values, in the caller's
 * order, without a copy of the list.
 */
int stt_hist_percentiles(const struct stt_hist *h, const double *pcts, size_t npcts,
			 uint64_t *out_ns)
{
	size_t nb = stt_hist_nbuckets(h->groups);

	for (size_t j = 0; j < npcts; j++) {
		if (!(pcts[j] > 0.0 && pcts[j] <= 100.0))
			return stt_err(-EINVAL, "percentile %g: must be above 0 and at most 100",
				       pcts[j]);
	}
	if (!h->n || !nb)
		return -ENODATA;

	for (size_t j = 0; j < npcts; j++) {
		double want = pcts[j] / 100.0 * (double)h->n;
		uint64_t cum = 0;
		size_t i;

		for (i = 0; i < nb - 1; i++) {
			cum += h->bins[i];
			if ((double)cum >= want)
				break;
		}
		out_ns[j] = stt_hist_midpoint(i);
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The @q quantile of the sorted @v (linear interpolation between order statistics). */
static double quantile_sorted(const double *v, size_t n, double q)
{
	double pos = q * (double)(n - 1);
	size_t i = (size_t)pos;

	return i + 1 < n ? v[i] + (pos - (double)i) * (v[i + 1] - v[i]) : v[n - 1];
}

size_t stt_stats_block_medians(double *x, size_t n, size_t b)
{
	for (size_t k = 0; k < b; k++) {
		size_t lo = k * n / b, hi = (k + 1) * n / b;

		qsort(x + lo, hi - lo, sizeof(*x), cmp_double);
		x[k] = quantile_sorted(x + lo, hi - lo, 0.5);
	}
	return b;
}

int stt_stats_spread(const double *x, size_t n, bool logs, double ref, double *out)
{
	double *v, w;

	if (!n)
		return -EINVAL;
	v = malloc(n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(x[i]) || (logs && !(x[i] > 0.0))) {
			free(v);
			return -EINVAL;
		}
		v[i] = logs ? log(x[i]) : x[i];
	}
	/* successive differences, in place: each value but the last becomes its step to the next */
	for (size_t i = 0; i + 1 < n; i++)
		v[i] = v[i + 1] - v[i];
	w = 0.0;
	if (n > 1) {
		qsort(v, n - 1, sizeof(*v), cmp_double);
		w = (quantile_sorted(v, n - 1, 0.9) - quantile_sorted(v, n - 1, 0.1)) /
		    (2.0 * 1.2816 * M_SQRT2);
	}
	free(v);
	*out = logs || w == 0.0 ? w : ref != 0.0 ? w / fabs(ref) : INFINITY;
	return 0;
}

/* Adds group @y, @c (n >= 2) to the sums of the pooled slope; -EINVAL when a value is not finite.
 */
static int slope_sums(const double *y, const double *c, size_t n, double *sxy, double *sxx)
{
	double my = 0.0, mc = 0.0;

	if (n < 2)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(y[i]) || !isfinite(c[i]))
			return -EINVAL;
		my += y[i];
		mc += c[i];
	}
	my /= (double)n;
	mc /= (double)n;
	for (size_t i = 0; i < n; i++) {
		*sxy += (c[i] - mc) * (y[i] - my);
		*sxx += (c[i] - mc) * (c[i] - mc);
	}
	return 0;
}

int stt_stats_pooled_slope(const double *y1, const double *c1, size_t n1, const double *y2,
			   const double *c2, size_t n2, double *out)
{
	double sxy = 0.0, sxx = 0.0;
	int r;

	if ((r = slope_sums(y1, c1, n1, &sxy, &sxx)) || (r = slope_sums(y2, c2, n2, &sxy, &sxx)))
		return r;
	if (!(sxx > 0.0))
		return -EINVAL;
	*out = sxy / sxx;
	return 0;
}

/* Median of the sorted @v[0..n-1], n > 0. */
static double sorted_median(const double *v, size_t n)
{
	if (n % 2)
		return v[n / 2];
	return v[n / 2 - 1] / 2.0 + v[n / 2] / 2.0;
}

/*
 * Largest 1-based rank j such that [x_(j), x_(n+1-j)] covers the median with probability
 * 1 - 2 * P(B <= j - 1) >= 0.95, B ~ binomial(n, 1/2); 0 when even j = 1 falls short (n < 6).
 */
static size_t median_ci_rank(size_t n)
{
	double lfact_n, cdf = 0.0;
	int sign;
	size_t i;

	lfact_n = lgamma_r((double)n + 1.0, &sign);
	for (i = 0; i <= n / 2; i++) {
		double lp = lfact_n - lgamma_r((double)i + 1.0, &sign) -
			    lgamma_r((double)(n - i) + 1.0, &sign) - (double)n * M_LN2;

		cdf += exp(lp);
		if (2.0 * cdf > 0.05)
			break;
	}
	/* P(B <= i - 1) is the last tail within 0.025, so j = i */
	return i;
}

int stt_stats_summarize(const double *x, size_t n, struct stt_summary *s, bool *outlier)
{
	double *v = NULL, sum = 0.0, ss = 0.0, med, mad;
	size_t j;
	int r = -EINVAL;

	if (!x || !s || !n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(x[i]))
			return stt_err(-EINVAL, "summary: value %zu is not a finite number", i);
	}

	v = calloc(n, sizeof(*v));
	if (!v) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(v, x, n * sizeof(*v));
	qsort(v, n, sizeof(*v), cmp_double);

	memset(s, 0, sizeof(*s));
	s->n = n;
	med = sorted_median(v, n);
	s->median = med;

	j = median_ci_rank(n);
	if (j == 0) {
		s->ci_lo = v[0];
		s->ci_hi = v[n - 1];
	} else {
		s->ci_lo = v[j - 1];
		s->ci_hi = v[n - j];
	}

	for (size_t i = 0; i < n; i++)
		sum += v[i];
	s->mean = sum / (double)n;
	for (size_t i = 0; i < n; i++)
		ss += (v[i] - s->mean) * (v[i] - s->mean);
	s->stddev = n > 1 ? sqrt(ss / (double)(n - 1)) : 0.0;

	/* Median absolute deviation, reusing the copy. */
	for (size_t i = 0; i < n; i++)
		v[i] = fabs(x[i] - med);
	qsort(v, n, sizeof(*v), cmp_double);
	mad = sorted_median(v, n);

	for (size_t i = 0; i < n; i++) {
		bool out;

		if (mad > 0.0)
			out = 0.6745 * fabs(x[i] - med) / mad > 3.5;
		else
			out = x[i] != med;
		if (out)
			s->n_outliers++;
		if (outlier)
			outlier[i] = out;
	}
	r = 0;
out:
	free(v);
	return r;
}

/* ---- Two samples ---- */

double stt_stats_norm_cdf(double z)
{
	return 0.5 * erfc(-z / M_SQRT2);
}

/* Bisection on the distribution function: slow but exact to the last bit, and rarely called. */
double stt_stats_norm_quantile(double p)
{
	double lo = -40.0, hi = 40.0;

	if (!(p > 0.0))
		return -INFINITY;
	if (!(p < 1.0))
		return INFINITY;
	for (int i = 0; i < 200 && hi - lo > 0.0; i++) {
		double mid = lo / 2.0 + hi / 2.0;

		if (mid == lo || mid == hi)
			break;
		if (stt_stats_norm_cdf(mid) < p)
			lo = mid;
		else
			hi = mid;
	}
	return lo / 2.0 + hi / 2.0;
}

/*
 * Counts of U over all orderings of @m x's and @n y's, by the largest element: a y on top is
 * above all i x's (adds i to U), an x on top adds nothing. So, for j y's and i x's,
 * N(i, j, u) = N(i, j - 1, u - i) + N(i - 1, j, u), built up one y at a time. Only
 * additions, so the counts (up to C(100, 50) ~ 1e29) keep full relative precision in doubles.
 */
int stt_stats_mw_cdf(size_t m, size_t n, double *cdf)
{
	size_t width = m * n + 1, rows = m + 1;
	double *prev, *cur, total = 0.0, cum = 0.0;

	if (m < 1 || n < 1 || m > STT_MW_EXACT_MAX || n > STT_MW_EXACT_MAX)
		return stt_err(-EINVAL,
			       "Mann-Whitney: exact distribution for 1 to %d values a side",
			       STT_MW_EXACT_MAX);
	prev = calloc(rows * width, sizeof(*prev));
	cur = calloc(rows * width, sizeof(*cur));
	if (!prev || !cur) {
		free(prev);
		free(cur);
		return -ENOMEM;
	}
	for (size_t i = 0; i < rows; i++)
		prev[i * width] = 1.0; /* no y: U = 0 */
	for (size_t j = 1; j <= n; j++) {
		double *t;

		memset(cur, 0, rows * width * sizeof(*cur));
		cur[0] = 1.0;
		for (size_t i = 1; i < rows; i++) {
			double *row = cur + i * width, *below = cur + (i - 1) * width;
			const double *before = prev + i * width;

			for (size_t u = 0; u <= i * j; u++)
				row[u] = (u >= i ? before[u - i] : 0.0) + below[u];
		}
		t = prev;
		prev = cur;
		cur = t;
	}
	for (size_t u = 0; u < width; u++)
		total += prev[m * width + u];
	for (size_t u = 0; u < width; u++) {
		cum += prev[m * width + u];
		cdf[u] = cum / total;
	}
	cdf[width - 1] = 1.0;
	free(prev);
	free(cur);
	return 0;
}

long stt_stats_mw_critical(size_t m, size_t n, double a)
{
	double mn = (double)m * (double)n;
	long c;

	if (!m || !n || !(a > 0.0 && a < 1.0))
		return -1;
	if (m <= STT_MW_EXACT_MAX && n <= STT_MW_EXACT_MAX) {
		double *cdf = calloc(m * n + 1, sizeof(*cdf));

		if (cdf && !stt_stats_mw_cdf(m, n, cdf)) {
			/* a relative slack, so that a level hit exactly is not lost to rounding */
			for (c = -1; c < (long)(m * n) && cdf[c + 1] <= a * (1.0 + 1e-9); c++)
				;
			free(cdf);
			return c;
		}
		free(cdf);
	}
	/* P(U <= c) ~ Phi((c + 0.5 - mn/2) / sigma) <= a */
	c = (long)floor(mn / 2.0 - 0.5 +
			stt_stats_norm_quantile(a) * sqrt(mn * (double)(m + n + 1) / 12.0));
	if (c < -1)
		c = -1;
	if (c > (long)(m * n))
		c = (long)(m * n);
	return c;
}

struct tagged {
	double v;
	bool is_y;
};

static int cmp_tagged(const void *a, const void *b)
{
	return cmp_double(&((const struct tagged *)a)->v, &((const struct tagged *)b)->v);
}

static int check_sample(const double *x, size_t n, const char *what)
{
	if (!x || !n)
		return stt_err(-EINVAL, "%s: no values", what);
	for (size_t i = 0; i < n; i++)
		if (!isfinite(x[i]))
			return stt_err(-EINVAL, "%s: value %zu is not a finite number", what, i);
	return 0;
}

int stt_stats_mann_whitney(const double *x, size_t m, const double *y, size_t n, struct stt_mw *out)
{
	size_t total = m + n, i = 0;
	double rank_y = 0.0, tie_sum = 0.0, mn, var;
	struct tagged *t;
	int r;

	if ((r = check_sample(x, m, "Mann-Whitney: first sample")) ||
	    (r = check_sample(y, n, "Mann-Whitney: second sample")))
		return r;
	t = calloc(total, sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (size_t k = 0; k < m; k++)
		t[k] = (struct tagged){x[k], false};
	for (size_t k = 0; k < n; k++)
		t[m + k] = (struct tagged){y[k], true};
	qsort(t, total, sizeof(*t), cmp_tagged);

	/* Mid-ranks: a run of equal values shares the mean of its ranks. */
	memset(out, 0, sizeof(*out));
	while (i < total) {
		size_t j = i;
		double mid;

		while (j + 1 < total && t[j + 1].v == t[i].v)
			j++;
		mid = ((double)(i + 1) + (double)(j + 1)) / 2.0;
		for (size_t k = i; k <= j; k++)
			if (t[k].is_y)
				rank_y += mid;
		if (j > i) {
			double len = (double)(j - i + 1);

			out->ties = true;
			tie_sum += len * len * len - len;
		}
		i = j + 1;
	}
	free(t);

	mn = (double)m * (double)n;
	out->u = rank_y - (double)n * (double)(n + 1) / 2.0;
	if (!out->ties && m <= STT_MW_EXACT_MAX && n <= STT_MW_EXACT_MAX) {
		double *cdf = calloc(m * n + 1, sizeof(*cdf));
		long u = lround(out->u);

		if (!cdf)
			return -ENOMEM;
		if ((r = stt_stats_mw_cdf(m, n, cdf))) {
			free(cdf);
			return r;
		}
		/* symmetric: P(U >= u) = P(U <= mn - u) */
		out->p_less = cdf[u];
		out->p_greater = cdf[(long)(m * n) - u];
		out->exact = true;
		free(cdf);
		return 0;
	}
	var = mn / 12.0 * ((double)(total + 1) - tie_sum / ((double)total * (double)(total - 1)));
	if (!(var > 0.0)) {
		out->p_less = out->p_greater = 1.0;
		return 0;
	}
	out->p_greater = 1.0 - stt_stats_norm_cdf((out->u - mn / 2.0 - 0.5) / sqrt(var));
	out->p_less = stt_stats_norm_cdf((out->u - mn / 2.0 + 0.5) / sqrt(var));
	if (out->p_greater > 1.0)
		out->p_greater = 1.0;
	if (out->p_less > 1.0)
		out->p_less = 1.0;
	return 0;
}

int stt_stats_shift(const double *x, size_t m, const double *y, size_t n, double conf,
		    struct stt_shift *out)
{
	double *d;
	size_t pairs, k = 0;
	long c;
	int r;

	if ((r = check_sample(x, m, "shift: first sample")) ||
	    (r = check_sample(y, n, "shift: second sample")))
		return r;
	if (!(conf > 0.5 && conf < 1.0))
		return stt_err(-EINVAL, "shift: confidence %g: must be above 0.5 and below 1",
			       conf);
	if (m > STT_SHIFT_MAX_PAIRS / n)
		return stt_err(-EINVAL, "shift: %zu x %zu values: more than %u pairs", m, n,
			       STT_SHIFT_MAX_PAIRS);
	pairs = m * n;
	d = calloc(pairs, sizeof(*d));
	if (!d)
		return -ENOMEM;
	for (size_t j = 0; j < n; j++)
		for (size_t i = 0; i < m; i++)
			d[k++] = y[j] - x[i];
	qsort(d, pairs, sizeof(*d), cmp_double);
	out->estimate = sorted_median(d, pairs);
	c = stt_stats_mw_critical(m, n, 1.0 - conf);
	if (c < 0) {
		out->rank = 0;
		out->lo = -INFINITY;
		out->hi = INFINITY;
	} else {
		/* k = c + 1 <= mn/2 + 1 for any level below 1/2, so lo <= hi */
		out->rank = (size_t)c + 1;
		out->lo = d[out->rank - 1];
		out->hi = d[pairs - out->rank];
	}
	free(d);
	return 0;
}
