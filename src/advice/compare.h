/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_COMPARE_H
#define STT_COMPARE_H

/*
 * Did storage startup get worse? Two results documents, figure by figure.
 *
 * A figure (a "metric") is named BACKEND/MODE/PHASE/STAT, e.g. overlay/cold/start/p50,
 * overlay/warm/storm/containers_per_s, dm-loop/cold/cow-write/amplification, and for the raw
 * device raw/JOB/iops, raw/JOB/clat_p99. Latency and amplification: lower is better;
 * containers/s and IOPS: higher is better.
 *
 * With at least STT_COMPARE_MIN_N repetitions a side, the repetitions of the two runs are
 * compared (stt_compare_samples()), in units of @blocks: each side's values, in the order they
 * ran, cut into that many blocks of consecutive ones, each block its median (with fewer than
 * STT_COMPARE_BLOCK_MIN values a block, or @blocks 0 or 1, each value is a unit). The machine's
 * speed moves in spells of seconds to tens of seconds, so neighbouring repetitions are not
 * independent: a spell over part of a run moves some blocks and widens the bound, where a rank
 * test of the repetitions would take it for a shift; a slower device moves every block.
 *   - the one-sided Mann-Whitney test in the worse direction must give p < alpha, and
 *   - the bound of the relative change on the side of "no change" must lie beyond the
 *     threshold: the Hodges-Lehmann shift of the log values with its distribution-free
 *     (Moses) bound at @confidence, one-sided (the question asked is directional).
 * Improvements are found the same way in the other direction. Values that are not all
 * positive (an amplification of 0) are compared on the linear scale, relative to the
 * baseline's median.
 *
 * What the data cannot decide is not decided:
 *   - the threshold of a metric is raised to @noise_factor times its noise, the spread of one
 *     repetition of the baseline (stt_stats_spread: from the steps between successive log
 *     values): two runs of one build a minute apart move by about that much, more than the
 *     repetitions of either run show; a metric whose raised threshold reaches
 *     STT_COMPARE_MAX_GATED is "not gated" (too noisy at its n);
 *   - a percentile with fewer than STT_COMPARE_TAIL_MIN samples beyond it in a repetition
 *     (p99 of 40 containers) is "not gated";
 *   - fewer than STT_COMPARE_MIN_N repetitions on a side, or a file without "values": the
 *     medians are shown and the verdict is "inconclusive"; likewise a test whose units are
 *     too few for any p below @alpha (5 repetitions a side and alpha 0.001);
 *   - the machine's control (BACKEND/MODE/control/ns: directories made and removed on a
 *     tmpfs before each phase, no storage) is compared like any figure but never gates.
 *     With STT_COMPARE_ADJUST_MIN_N or more repetitions a side, the times and rates of its
 *     backend and mode are adjusted for it, repetition by repetition, before they are
 *     compared (log value - slope x (log control - the baseline's mean log control), the
 *     slope pooled within the two runs, 0 when of the sign a slower machine cannot give):
 *     the machine's wander moves a repetition's figures
 *     with its control, between the runs as within them; STT_COMPARE_ADJUST_HEDGE times
 *     what that moved the figure by is added to its threshold. Of the figures not adjusted:
 *     when the control says the machine itself was slower in the candidate (its verdict
 *     would be a regression), the regressions of that backend and mode are "inconclusive"
 *     -- a slower kernel slows the phases as much as slower storage does; when faster, the
 *     improvements. @no_control turns both off.
 *
 * No I/O: documents come in as json-c objects, comparisons go out as structs and JSON.
 */

#include "base/stats.h"

#include <stdbool.h>
#include <stddef.h>

struct json_object;

#define STT_COMPARE_SCHEMA  "stortune-compare"
#define STT_COMPARE_VERSION 1
#define STT_COMPARE_MIN_N   5
/* The most units a side compare suggests when --alpha is out of the test's reach. */
#define STT_COMPARE_REACH_MAX 1000
/* Default noise factor: the threshold is at least this many repetition spreads. */
#define STT_COMPARE_NOISE_FACTOR STT_STATS_NOISE_FACTOR
/* A metric whose noise-raised threshold reaches this (100%) is not gated. */
#define STT_COMPARE_MAX_GATED 1.0
/*
 * The test's units (stt_cmp_params.blocks): the medians of this many blocks of consecutive
 * repetitions a side, when a side has STT_COMPARE_BLOCK_MIN repetitions a block or more.
 */
#define STT_COMPARE_BLOCKS     15
#define STT_COMPARE_BLOCK_MIN  4
#define STT_COMPARE_MAX_BLOCKS 100
/* Samples beyond a percentile that each repetition needs for the percentile to be gated. */
#define STT_COMPARE_TAIL_MIN 5
/* Repetitions a side from which a figure is adjusted for the machine's control. */
#define STT_COMPARE_ADJUST_MIN_N 20
/*
 * What the adjustment moved a figure by (slope x the control's change, as a log ratio) is no
 * surer than the control, which has jumps of its own: this share of it is added to the
 * figure's threshold.
 */
#define STT_COMPARE_ADJUST_HEDGE 0.5

enum stt_cmp_better { STT_CMP_LOWER_BETTER, STT_CMP_HIGHER_BETTER };

enum stt_cmp_method {
	STT_CMP_TEST,	      /* Mann-Whitney U and the Hodges-Lehmann shift with its bounds */
	STT_CMP_MEDIANS_FEW,  /* fewer than STT_COMPARE_MIN_N repetitions on a side */
	STT_CMP_MEDIANS_ONLY, /* a side has only the summary (no "values") */
};

enum stt_cmp_verdict {
	STT_CMP_NO_CHANGE,   /* no significant change (or, medians only: within the threshold) */
	STT_CMP_WITHIN,	     /* a significant change not wholly beyond the threshold */
	STT_CMP_REGRESSION,  /* worse, beyond the threshold */
	STT_CMP_IMPROVEMENT, /* better, beyond the threshold */
	STT_CMP_INCONCLUSIVE, /* too few repetitions to decide (medians shown) */
	STT_CMP_NOT_GATED,   /* too noisy at this n to decide (shown, never fails) */
};

const char *stt_cmp_verdict_name(enum stt_cmp_verdict v);
const char *stt_cmp_method_name(enum stt_cmp_method m);

/* One side of a figure: its repetitions when known, else the summary's n and median. */
struct stt_cmp_sample {
	double *values; /* owned; NULL when only the summary is known */
	size_t n;	/* repetitions (the length of @values when there are values) */
	double median;
};

/* A threshold for the metrics whose names match @glob (fnmatch). */
struct stt_cmp_threshold {
	const char *glob;
	double threshold;
};

struct stt_cmp_params {
	double alpha;	   /* level of the one-sided Mann-Whitney test (0.05) */
	double threshold;  /* relative change that counts, e.g. 0.05 */
	double confidence; /* of each one-sided bound of the change (0.90) */
	double noise_factor; /* the threshold is at least this times the noise (2.5); 0: off */
	bool no_control;     /* the machine's control is shown but adjusts and excuses nothing */
	unsigned int blocks; /* the test's units: medians of this many blocks (15); 0 or 1: each */
	/* thresholds of some metrics (borrowed): the last one whose glob matches wins */
	const struct stt_cmp_threshold *per_metric;
	size_t n_per_metric;
};

void stt_compare_params_init(struct stt_cmp_params *p);

/* The threshold of metric @name: the last matching per-metric one, else the default. */
double stt_compare_threshold(const struct stt_cmp_params *p, const char *name);

struct stt_cmp_result {
	enum stt_cmp_method method;
	bool log_scale;	 /* the shift of log values (all values positive) */
	double change;	 /* relative change of the candidate: +0.10 is 10% larger */
	double lo, hi;	 /* one-sided bounds of @change at the confidence; NAN for medians */
	double p_worse;	 /* one-sided Mann-Whitney p in the worse direction; NAN for medians */
	double p_better; /* and in the better direction */
	size_t blocks;	 /* the test's units were the medians of this many blocks a side; 0: each
			    value */
	double noise;	 /* spread of one repetition (relative); NAN for medians */
	double threshold_eff; /* the threshold applied: max(threshold, noise_factor x noise),
			       * plus the hedge of an adjusted figure (STT_COMPARE_ADJUST_HEDGE) */
	enum stt_cmp_verdict verdict;
	char why[192]; /* for "inconclusive" and "not gated": the reason and what would settle it */
};

/*
 * Compares the candidate @cand against the baseline @base for a figure where @better is
 * better. Changes are relative to the baseline (on the log scale exp(shift) - 1); from a
 * baseline of 0, a change is +-infinity. 0, or -EINVAL with a message (a value not finite,
 * parameters out of range), -ENOMEM.
 */
__attribute__((warn_unused_result)) int stt_compare_samples(const struct stt_cmp_params *p,
							    enum stt_cmp_better better,
							    const struct stt_cmp_sample *base,
							    const struct stt_cmp_sample *cand,
							    struct stt_cmp_result *out);

struct stt_cmp_metric {
	char *name;
	const char *unit; /* "ns", "ratio", "containers/s", "iops" */
	enum stt_cmp_better better;
	double threshold; /* the one given for it (r.threshold_eff is the one applied) */
	double quantile;  /* 0.5 for a p50, 0.99 for a p99; 0 for other figures */
	double per_rep;	  /* samples behind each repetition's percentile (baseline); 0 unknown */
	bool control;	  /* the machine's control of its backend and mode, not a storage figure */
	bool adjusted;	  /* its repetitions were adjusted for the control's (control_adjust) */
	bool adjusting;	  /* the control: it adjusted some figures of its backend and mode */
	double slope;	  /* then the slope of its log values on the control's (0 if turned) */
	double moved;	  /* and how far that moved the candidate's against the baseline's (log) */
	struct stt_cmp_sample base, cand;
	struct stt_cmp_result r;
};

struct stt_comparison {
	struct stt_cmp_params params;
	struct stt_cmp_metric *m; /* in the baseline's order */
	size_t n;
	char **only_base, **only_cand; /* metric names found on one side only (after the globs) */
	size_t n_only_base, n_only_cand;
	size_t regressions, improvements, inconclusive, not_gated;
};

/*
 * The figures of a results document (already checked by stt_results_load()), as metrics
 * with only @base filled in, in document order; backends whose status is not "ok" and
 * summaries without a median are left out. 0, -EINVAL (a summary whose "values" are not
 * numbers, with a message naming the figure) or -ENOMEM. Free with stt_compare_metrics_free().
 */
__attribute__((warn_unused_result)) int stt_compare_figures(struct json_object *doc,
							    struct stt_cmp_metric **out, size_t *n);
void stt_compare_metrics_free(struct stt_cmp_metric *m, size_t n);

/*
 * What makes two runs incomparable: environment label, kernel, device model, profile hash,
 * options (but repetitions and the backend list), Docker version, the tool's major version
 * and each common backend's environment. *@out gets one line per difference
 * ("kernel: 6.1.0-13-amd64 vs 6.18.44"), *@n their number (0: none). 0 or -ENOMEM. Free
 * with stt_compare_strings_free().
 */
__attribute__((warn_unused_result)) int
stt_compare_env(struct json_object *base, struct json_object *cand, char ***out, size_t *n);
void stt_compare_strings_free(char **v, size_t n);

/*
 * Compares every metric present in both documents whose name matches one of @globs
 * (fnmatch; all when @nglobs is 0). 0; -ENODATA when no metric is common (or none matches
 * the globs), with a message naming the files; -EINVAL (bad figures), -ENOMEM. Release with
 * stt_comparison_release().
 */
__attribute__((warn_unused_result)) int
stt_compare_docs(struct json_object *base, struct json_object *cand, const struct stt_cmp_params *p,
		 const char *const *globs, size_t nglobs, struct stt_comparison *out);
void stt_comparison_release(struct stt_comparison *c);

/*
 * { "schema": "stortune-compare", "schema_version": 1, "params": {alpha, threshold,
 *   confidence, thresholds: [{glob, threshold}]}, "metrics": [ { name, unit, better,
 *   threshold, method, scale, baseline: {n, median},
 *   candidate: {n, median}, change, change_lo, change_hi, p_worse, p_better, noise,
 *   control_slope (null: not adjusted), threshold_applied, verdict, why } ],
 *   "only_in_baseline": [..], "only_in_candidate": [..],
 *   "regressions", "improvements", "inconclusive", "not_gated" }
 * Numbers that are not finite (a change from 0, an absent bound) are null.
 */
__attribute__((warn_unused_result)) int stt_comparison_to_json(const struct stt_comparison *c,
							       struct json_object **out);

#endif
