// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * src/compare (the two-sample statistics under it are tested in test_stats.c): the rates of
 * the regression rule over 100 seeded synthetic runs, the direction of "better", the
 * fallbacks, figures and environments of documents; and the command:
 * bad input (exit 2, one line), environment refusal, JUnit checked against the schema with
 * xmllint, Markdown's table, --metric and --fail-on.
 */
#include "unit.h"

#include "cmd.h"
#include "advice/compare.h"
#include "base/json.h"
#include "advice/results.h"
#include "base/stats.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- seeded noise ---- */

static uint64_t mix(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static double unif01(uint64_t *state)
{
	return ((double)(mix(state) >> 11) + 1.0) * 0x1.0p-53; /* (0, 1] */
}

static double normal(uint64_t *state)
{
	double u1 = unif01(state), u2 = unif01(state);

	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/*
 * "Noise" is the coefficient of variation of each repetition: a repetition of a figure whose
 * true value is @mean is mean * (1 + cv * Z), Z standard normal.
 */
static void noisy(double *v, size_t n, double mean, double cv, uint64_t *state)
{
	for (size_t i = 0; i < n; i++)
		v[i] = mean * (1.0 + cv * normal(state));
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* ---- the rule, over seeds ---- */

static double median_of(const double *v, size_t n)
{
	double s[64];

	memcpy(s, v, n * sizeof(double));
	qsort(s, n, sizeof(double), cmp_dbl);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2.0;
}

#define SEEDS 100
#define REPS  10

/* How often the rule says @want for a true change of @ratio at @cv noise, over SEEDS seeds. */
static unsigned int rate(const struct stt_cmp_params *p, enum stt_cmp_better better, double ratio,
			 double cv, enum stt_cmp_verdict want, uint64_t stream)
{
	double bv[REPS], cv_[REPS];
	struct stt_cmp_sample b = {.values = bv, .n = REPS}, c = {.values = cv_, .n = REPS};
	struct stt_cmp_result r;
	unsigned int hits = 0;

	for (uint64_t seed = 1; seed <= SEEDS; seed++) {
		uint64_t st = seed * 1000003u + stream;

		noisy(bv, REPS, 1e6, cv, &st);
		noisy(cv_, REPS, 1e6 * ratio, cv, &st);
		b.median = median_of(bv, REPS);
		c.median = median_of(cv_, REPS);
		CU_ASSERT_EQUAL_FATAL(stt_compare_samples(p, better, &b, &c, &r), 0);
		hits += r.verdict == want;
	}
	return hits;
}

static void test_rates(void)
{
	struct stt_cmp_params p, p95;
	unsigned int reg, same, small, small_any, up_improves, down_regresses, reg95;

	stt_compare_params_init(&p);
	p.noise_factor = 0; /* the test and its bounds alone; the noise rule: test_noise */
	p95 = p;
	p95.confidence = 0.95;
	/* lower is better (latency): +10% at 3% noise, 10 repetitions a side */
	reg = rate(&p, STT_CMP_LOWER_BETTER, 1.10, 0.03, STT_CMP_REGRESSION, 1);
	same = SEEDS - rate(&p, STT_CMP_LOWER_BETTER, 1.00, 0.03, STT_CMP_NO_CHANGE, 2) -
	       rate(&p, STT_CMP_LOWER_BETTER, 1.00, 0.03, STT_CMP_WITHIN, 2);
	small = rate(&p, STT_CMP_LOWER_BETTER, 1.02, 0.03, STT_CMP_REGRESSION, 3);
	small_any = small + rate(&p, STT_CMP_LOWER_BETTER, 1.02, 0.03, STT_CMP_IMPROVEMENT, 3);
	/* higher is better (containers/s): +10% is an improvement, -10% a regression */
	up_improves = rate(&p, STT_CMP_HIGHER_BETTER, 1.10, 0.03, STT_CMP_IMPROVEMENT, 4);
	down_regresses = rate(&p, STT_CMP_HIGHER_BETTER, 0.90, 0.03, STT_CMP_REGRESSION, 5);
	reg95 = rate(&p95, STT_CMP_LOWER_BETTER, 1.10, 0.03, STT_CMP_REGRESSION, 1);
	printf("\n    rates over %d seeds (3%% noise, %d reps a side, threshold 5%%, alpha 0.05):\n"
	       "      +10%%: flagged %u (bounds at 90%%), %u (at 95%%); identical: flagged %u; "
	       "+2%%: flagged %u;\n      higher-better +10%%: improvement %u, -10%%: regression "
	       "%u\n    ",
	       SEEDS, REPS, reg, reg95, same, small_any, up_improves, down_regresses);
	CU_ASSERT(reg >= 95);
	CU_ASSERT(same <= 5);
	CU_ASSERT_EQUAL(small_any, 0);
	CU_ASSERT(up_improves >= 95);
	CU_ASSERT(down_regresses >= 95);
	/* the same change is never a regression when higher is better, nor the reverse */
	CU_ASSERT_EQUAL(rate(&p, STT_CMP_HIGHER_BETTER, 1.10, 0.03, STT_CMP_REGRESSION, 4), 0);
	CU_ASSERT_EQUAL(rate(&p, STT_CMP_LOWER_BETTER, 0.90, 0.03, STT_CMP_REGRESSION, 5), 0);
	CU_ASSERT(rate(&p, STT_CMP_LOWER_BETTER, 0.90, 0.03, STT_CMP_IMPROVEMENT, 5) >= 95);
}

static void test_fallbacks(void)
{
	double b3[3] = {100, 101, 99}, c3[3] = {110, 111, 109}, z[6] = {0};
	double up[6] = {0.5, 0.6, 0.5, 0.7, 0.6, 0.5};
	struct stt_cmp_sample b = {.values = b3, .n = 3, .median = 100};
	struct stt_cmp_sample c = {.values = c3, .n = 3, .median = 110};
	struct stt_cmp_params p;
	struct stt_cmp_result r;

	stt_compare_params_init(&p);
	/* fewer than 5 a side: the medians against the threshold */
	CU_ASSERT_EQUAL(stt_compare_samples(&p, STT_CMP_LOWER_BETTER, &b, &c, &r), 0);
	CU_ASSERT_EQUAL(r.method, STT_CMP_MEDIANS_FEW);
	CU_ASSERT_EQUAL(r.verdict, STT_CMP_INCONCLUSIVE); /* shown, not decided */
	CU_ASSERT_PTR_NOT_NULL(strstr(r.why, "n=3 and 3 repetitions"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.why, "--repetitions 10"));
	CU_ASSERT_DOUBLE_EQUAL(r.change, 0.10, 1e-12);
	CU_ASSERT_TRUE(isnan(r.lo) && isnan(r.p_worse));
	CU_ASSERT_EQUAL(stt_compare_samples(&p, STT_CMP_HIGHER_BETTER, &b, &c, &r), 0);
	CU_ASSERT_EQUAL(r.verdict, STT_CMP_INCONCLUSIVE);
	/* only the summaries */
	b.values = c.values = NULL;
	c.median = 103;
	CU_ASSERT_EQUAL(stt_compare_samples(&p, STT_CMP_LOWER_BETTER, &b, &c, &r), 0);
	CU_ASSERT_EQUAL(r.method, STT_CMP_MEDIANS_ONLY);
	CU_ASSERT_EQUAL(r.verdict, STT_CMP_INCONCLUSIVE);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.why, "no repetitions"));

	/* zeros (warm reads from the page cache): the linear scale; 0 against 0 is no change */
	b = (struct stt_cmp_sample){.values = z, .n = 6, .median = 0};
	c = (struct stt_cmp_sample){.values = z, .n = 6, .median = 0};
	CU_ASSERT_EQUAL(stt_compare_samples(&p, STT_CMP_LOWER_BETTER, &b, &c, &r), 0);
	CU_ASSERT_EQUAL(r.method, STT_CMP_TEST);
	CU_ASSERT_FALSE(r.log_scale);
	CU_ASSERT_EQUAL(r.verdict, STT_CMP_NO_CHANGE);
	CU_ASSERT_DOUBLE_EQUAL(r.change, 0.0, 0);
	/* from 0 to clearly more: an infinite change, a regression when lower is better (a
	 * baseline exactly 0 every time has no noise, whatever the candidate's spread) */
	c = (struct stt_cmp_sample){.values = up, .n = 6, .median = 0.55};
	CU_ASSERT_EQUAL(stt_compare_samples(&p, STT_CMP_LOWER_BETTER, &b, &c, &r), 0);
	CU_ASSERT_EQUAL(r.verdict, STT_CMP_REGRESSION);
	CU_ASSERT_TRUE(isinf(r.change) && r.change > 0);
	CU_ASSERT_DOUBLE_EQUAL(r.noise, 0.0, 0);
	/* a baseline of median 0 whose repetitions are not all 0: no relative change to gate */
	b = (struct stt_cmp_sample){.values = up, .n = 6, .median = 0.0};
	z[0] = z[1] = 1.0;
	b.values = z;
	CU_ASSERT_EQUAL(stt_compare_samples(&p, STT_CMP_LOWER_BETTER, &b, &c, &r), 0);
	CU_ASSERT_EQUAL(r.verdict, STT_CMP_NOT_GATED);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.why, "median is 0"));
	p.alpha = 0.7;
	CU_ASSERT_EQUAL(stt_compare_samples(&p, STT_CMP_LOWER_BETTER, &b, &c, &r), -EINVAL);
}

/* ---- documents ---- */

static struct json_object *summary(const double *v, size_t n, bool with_values)
{
	struct json_object *s = json_object_new_object(), *a = json_object_new_array();
	double sorted[64];

	memcpy(sorted, v, n * sizeof(double));
	qsort(sorted, n, sizeof(double), cmp_dbl);
	json_object_object_add(s, "unit", json_object_new_string("ns"));
	json_object_object_add(s, "n", json_object_new_int((int)n));
	json_object_object_add(
	    s, "median",
	    json_object_new_double(n % 2 ? sorted[n / 2]
					 : (sorted[n / 2 - 1] + sorted[n / 2]) / 2));
	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_double(v[i]));
	if (with_values)
		json_object_object_add(s, "values", a);
	else
		json_object_put(a);
	return s;
}

struct docspec {
	const char *backend;
	double start_ratio; /* candidate's start p50 against 1 ms */
	double storm_ratio; /* candidate's containers/s against 100 */
	const char *kernel, *hash;
	size_t reps;
	bool values;
	uint64_t seed;
};

/* A results document: one backend, mode cold, phases start and first-read, a storm. */
static struct json_object *make_doc(const struct docspec *d)
{
	struct json_object *doc, *be = json_object_new_object(), *modes = json_object_new_object();
	struct json_object *cold = json_object_new_object(), *phases = json_object_new_object();
	struct json_object *start = json_object_new_object(), *rd = json_object_new_object();
	struct json_object *storm = json_object_new_object(), *prof = json_object_new_object();
	struct json_object *opt = json_object_new_object();
	uint64_t st = d->seed;
	double v[64];

	CU_ASSERT_EQUAL_FATAL(stt_results_new(NULL, "native", &doc), 0);
	json_object_object_add(stt_json_get(doc, "environment"), "kernel",
			       json_object_new_string(d->kernel ? d->kernel : "6.1.0-test"));
	json_object_object_add(
	    prof, "hash", json_object_new_string(d->hash ? d->hash : "fnv1a64:0123456789abcdef"));
	json_object_object_add(doc, "profile", prof);
	json_object_object_add(opt, "containers", json_object_new_int(10));
	json_object_object_add(opt, "repetitions", json_object_new_int((int)d->reps));
	json_object_object_add(doc, "options", opt);

	noisy(v, d->reps, 1e6 * d->start_ratio, 0.03, &st);
	json_object_object_add(start, "p50_ns", summary(v, d->reps, d->values));
	json_object_object_add(phases, "start", start);
	noisy(v, d->reps, 5e5, 0.03, &st);
	json_object_object_add(rd, "p50_ns", summary(v, d->reps, d->values));
	for (size_t i = 0; i < d->reps; i++)
		v[i] = 0.0;
	json_object_object_add(rd, "amplification", summary(v, d->reps, d->values));
	json_object_object_add(phases, "first-read", rd);
	json_object_object_add(cold, "phases", phases);
	noisy(v, d->reps, 100.0 * d->storm_ratio, 0.03, &st);
	json_object_object_add(storm, "containers_per_s", summary(v, d->reps, d->values));
	json_object_object_add(cold, "storm", storm);
	json_object_object_add(modes, "cold", cold);
	json_object_object_add(be, "backend", json_object_new_string(d->backend));
	json_object_object_add(be, "status", json_object_new_string("ok"));
	json_object_object_add(be, "modes", modes);
	json_object_array_add(stt_json_get(doc, "backends"), be);
	return doc;
}

/* qualify's raw figures: one `io --json` result per job. */
static void add_raw(struct json_object *doc, double iops, double p99_ns)
{
	struct json_object *raw = json_object_new_object(), *jobs = json_object_new_array();
	struct json_object *job = json_object_new_object(), *res = json_object_new_object();
	struct json_object *rd = json_object_new_object(), *clat = json_object_new_object();
	struct json_object *pct = json_object_new_object(), *wr = json_object_new_object();

	json_object_object_add(pct, "50.000000", json_object_new_int64((int64_t)(p99_ns / 3)));
	json_object_object_add(pct, "99.000000", json_object_new_int64((int64_t)p99_ns));
	json_object_object_add(clat, "N", json_object_new_int64(1000));
	json_object_object_add(clat, "percentile", pct);
	json_object_object_add(rd, "iops", json_object_new_double(iops));
	json_object_object_add(rd, "total_ios", json_object_new_int64(1000));
	json_object_object_add(rd, "clat_ns", clat);
	json_object_object_add(wr, "iops", json_object_new_double(0));
	json_object_object_add(wr, "total_ios", json_object_new_int64(0));
	json_object_object_add(res, "read", rd);
	json_object_object_add(res, "write", wr);
	json_object_object_add(job, "name", json_object_new_string("4k-randread-qd1"));
	json_object_object_add(job, "result", res);
	json_object_array_add(jobs, job);
	job = json_object_new_object(); /* a job that failed has no figures */
	json_object_object_add(job, "name", json_object_new_string("1m-read-qd4"));
	json_object_object_add(job, "error", json_object_new_string("No space left on device"));
	json_object_array_add(jobs, job);
	json_object_object_add(raw, "jobs", jobs);
	json_object_object_add(doc, "raw_device", raw);
}

/* ---- the noise rule ---- */

/*
 * 100 x exp(@sd x z) for ten fixed z in run order, times @ratio: a spread known exactly. The
 * steps between successive z, sorted: -2.5 -1.6 -0.9 -0.3 0.1 0.6 1.2 2 3, so q10 = -1.78 and
 * q90 = 2.2 and one repetition spreads 3.98 sd / (2.5632 sqrt(2)) = 1.0979 sd.
 */
#define SPREAD_PER_SD (3.98 / (2.0 * 1.2816 * M_SQRT2))
static void spread_of(double *v, double sd, double ratio)
{
	static const double z[10] = {-1.5, 1.5, -1, 1, -0.6, 0.6, -0.3, 0.3, 0, 0.1};

	for (int i = 0; i < 10; i++)
		v[i] = 100.0 * ratio * exp(sd * z[i]);
}

static void test_noise(void)
{
	double bv[10], cv_[10];
	struct stt_cmp_sample b = {.values = bv, .n = 10}, c = {.values = cv_, .n = 10};
	struct stt_cmp_params p;
	struct stt_cmp_result r;
	double noise = SPREAD_PER_SD * 0.1;

	stt_compare_params_init(&p);
	CU_ASSERT_DOUBLE_EQUAL(p.noise_factor, 2.5, 0);
	/* +20% where one repetition spreads +-11%: the threshold rises to 2.5 x 11% = 27% */
	spread_of(bv, 0.1, 1.0);
	spread_of(cv_, 0.1, 1.2);
	b.median = median_of(bv, 10);
	c.median = median_of(cv_, 10);
	CU_ASSERT_EQUAL(stt_compare_samples(&p, STT_CMP_LOWER_BETTER, &b, &c, &r), 0);
	CU_ASSERT_DOUBLE_EQUAL(r.noise, noise, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(r.threshold_eff, 2.5 * noise, 1e-9);
	CU_ASSERT_EQUAL(r.verdict, STT_CMP_WITHIN); /* significant, not beyond the drift */
	CU_ASSERT_DOUBLE_EQUAL(r.change, 0.2, 1e-9);
	/* the same data without the rule: a regression at 5% */
	p.noise_factor = 0;
	CU_ASSERT_EQUAL(stt_compare_samples(&p, STT_CMP_LOWER_BETTER, &b, &c, &r), 0);
	CU_ASSERT_EQUAL(r.verdict, STT_CMP_REGRESSION);
	CU_ASSERT_DOUBLE_EQUAL(r.threshold_eff, log1p(0.05), 1e-12); /* a log ratio */
	/* +60% at the same noise is beyond it: a regression with the rule too */
	p.noise_factor = 3;
	spread_of(cv_, 0.1, 1.6);
	c.median = median_of(cv_, 10);
	CU_ASSERT_EQUAL(stt_compare_samples(&p, STT_CMP_LOWER_BETTER, &b, &c, &r), 0);
	CU_ASSERT_EQUAL(r.verdict, STT_CMP_REGRESSION);
	/* a threshold given above the noise's is kept */
	p.threshold = 0.7;
	CU_ASSERT_EQUAL(stt_compare_samples(&p, STT_CMP_LOWER_BETTER, &b, &c, &r), 0);
	CU_ASSERT_DOUBLE_EQUAL(r.threshold_eff, log1p(0.7), 1e-12);
	CU_ASSERT_EQUAL(r.verdict, STT_CMP_WITHIN);
	/* one repetition spreading +-55%: 3 x 55% is past 100%, not gated, even for +200% */
	p.threshold = 0.05;
	spread_of(bv, 0.5, 1.0);
	spread_of(cv_, 0.5, 3.0);
	b.median = median_of(bv, 10);
	c.median = median_of(cv_, 10);
	CU_ASSERT_EQUAL(stt_compare_samples(&p, STT_CMP_LOWER_BETTER, &b, &c, &r), 0);
	CU_ASSERT_EQUAL(r.verdict, STT_CMP_NOT_GATED);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.why, "too noisy at n=10"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.why, "--containers"));
	/*
	 * A factor counts the same either way: a rate that falls to 0.4 of the baseline (a start
	 * 2.5 times as slow) is beyond 3 x 22% of log ratio, though its relative drop's bound
	 * (-60% less the interval) is not.
	 */
	spread_of(bv, 0.2, 1.0);
	spread_of(cv_, 0.2, 0.4);
	b.median = median_of(bv, 10);
	c.median = median_of(cv_, 10);
	CU_ASSERT_EQUAL(stt_compare_samples(&p, STT_CMP_HIGHER_BETTER, &b, &c, &r), 0);
	CU_ASSERT_DOUBLE_EQUAL(r.threshold_eff, 3 * SPREAD_PER_SD * 0.2, 1e-9);
	CU_ASSERT(-r.hi < r.threshold_eff);
	CU_ASSERT_EQUAL(r.verdict, STT_CMP_REGRESSION);
	p.noise_factor = 101;
	CU_ASSERT_EQUAL(stt_compare_samples(&p, STT_CMP_LOWER_BETTER, &b, &c, &r), -EINVAL);
}

/*
 * The test's units are block medians: 150 repetitions a side, the candidate's first 90 (nine
 * blocks of fifteen) 30% slower -- a spell of the machine over most of a run, which moves the
 * run's median by about as much. Each repetition a unit: a regression; fifteen blocks: the six
 * unmoved ones hold the bound of the change near 0 (at 90% it is the 81st smallest of the 225
 * differences of blocks; 90 are of unmoved ones). The whole run 30% slower is a regression
 * either way, and so is the spell with blocks off (0 or 1).
 */
static void test_blocks(void)
{
	enum { N = 150 };
	double bv[N], cv_[N], spell[N];
	struct stt_cmp_sample b = {.values = bv, .n = N}, c = {.values = spell, .n = N};
	struct stt_cmp_params p;
	struct stt_cmp_result r;
	uint64_t st = 7;

	noisy(bv, N, 1e6, 0.03, &st);
	noisy(cv_, N, 1e6, 0.03, &st);
	for (size_t i = 0; i < N; i++)
		spell[i] = cv_[i] * (i < 90 ? 1.3 : 1.0);
	b.median = c.median = 1e6; /* not read by the test */
	stt_compare_params_init(&p);
	CU_ASSERT_EQUAL(p.blocks, STT_COMPARE_BLOCKS);
	CU_ASSERT_EQUAL(stt_compare_samples(&p, STT_CMP_LOWER_BETTER, &b, &c, &r), 0);
	CU_ASSERT_EQUAL(r.blocks, STT_COMPARE_BLOCKS);
	CU_ASSERT_NOT_EQUAL(r.verdict, STT_CMP_REGRESSION);
	CU_ASSERT(r.lo < 0.05);
	for (unsigned int k = 0; k <= 1; k++) {
		p.blocks = k;
		CU_ASSERT_EQUAL(stt_compare_samples(&p, STT_CMP_LOWER_BETTER, &b, &c, &r), 0);
		CU_ASSERT_EQUAL(r.verdict, STT_CMP_REGRESSION);
	}
	for (size_t i = 0; i < N; i++)
		spell[i] = cv_[i] * 1.3;
	for (unsigned int k = 0; k <= STT_COMPARE_BLOCKS; k += STT_COMPARE_BLOCKS) {
		p.blocks = k;
		CU_ASSERT_EQUAL(stt_compare_samples(&p, STT_CMP_LOWER_BETTER, &b, &c, &r), 0);
		CU_ASSERT_EQUAL(r.verdict, STT_CMP_REGRESSION);
		CU_ASSERT_DOUBLE_EQUAL(r.change, 0.3, 0.03);
	}
	/* fewer than 4 repetitions a block: each repetition is a unit (what 10 give is above) */
	p.blocks = STT_COMPARE_BLOCKS;
	b.n = c.n = STT_COMPARE_BLOCK_MIN * STT_COMPARE_BLOCKS - 1;
	CU_ASSERT_EQUAL(stt_compare_samples(&p, STT_CMP_LOWER_BETTER, &b, &c, &r), 0);
	CU_ASSERT_EQUAL(r.blocks, 0);
	CU_ASSERT_EQUAL(r.verdict, STT_CMP_REGRESSION);
	CU_ASSERT(r.lo > 0.2);
}

/*
 * An --alpha the test cannot reach at its units (even two runs that share no value give p >=
 * alpha) is inconclusive, with the units that would reach it; one the test can reach decides.
 */
static void test_reach(void)
{
	enum { N = 60 };
	double bv[N], cv_[N];
	struct stt_cmp_sample b = {.values = bv, .n = 5, .median = 1e6};
	struct stt_cmp_sample c = {.values = cv_, .n = 5, .median = 1.5e6};
	struct stt_cmp_params p;
	struct stt_cmp_result r;
	uint64_t st = 11;

	noisy(bv, N, 1e6, 0.01, &st);
	noisy(cv_, N, 1.5e6, 0.01, &st);
	stt_compare_params_init(&p);
	/* 5 a side: the smallest p is 1/252 = 0.0040 */
	p.alpha = 0.005;
	CU_ASSERT_EQUAL(stt_compare_samples(&p, STT_CMP_LOWER_BETTER, &b, &c, &r), 0);
	CU_ASSERT_EQUAL(r.verdict, STT_CMP_REGRESSION);
	p.alpha = 1.0 / 252.0; /* reached exactly is not p < alpha */
	CU_ASSERT_EQUAL(stt_compare_samples(&p, STT_CMP_LOWER_BETTER, &b, &c, &r), 0);
	CU_ASSERT_EQUAL(r.verdict, STT_CMP_INCONCLUSIVE);
	/* 6 a side: 1/924 = 0.00108; 7: 1/3432 */
	p.alpha = 0.001;
	CU_ASSERT_EQUAL(stt_compare_samples(&p, STT_CMP_LOWER_BETTER, &b, &c, &r), 0);
	CU_ASSERT_EQUAL(r.verdict, STT_CMP_INCONCLUSIVE);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.why, "n=5 and 5 repetitions"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.why, "--repetitions 7 "));
	b.n = c.n = 7;
	CU_ASSERT_EQUAL(stt_compare_samples(&p, STT_CMP_LOWER_BETTER, &b, &c, &r), 0);
	CU_ASSERT_EQUAL(r.verdict, STT_CMP_REGRESSION);
	/* 15 blocks a side: 1/C(30,15) = 6.4e-9; 19: 1/C(38,19) = 2.8e-11 (18: 1.1e-10) */
	b.n = c.n = N;
	p.alpha = 1e-10;
	CU_ASSERT_EQUAL(stt_compare_samples(&p, STT_CMP_LOWER_BETTER, &b, &c, &r), 0);
	CU_ASSERT_EQUAL(r.blocks, STT_COMPARE_BLOCKS);
	CU_ASSERT_EQUAL(r.verdict, STT_CMP_INCONCLUSIVE);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.why, "--blocks 19 (76 or more"));
	p.blocks = 0; /* 60 repetitions a side reach it */
	CU_ASSERT_EQUAL(stt_compare_samples(&p, STT_CMP_LOWER_BETTER, &b, &c, &r), 0);
	CU_ASSERT_EQUAL(r.verdict, STT_CMP_REGRESSION);
}

/* A percentile with fewer than 5 samples beyond it a repetition is not gated. */
static void test_tail(void)
{
	struct docspec bs = {"overlay", 1.0, 1.0, NULL, NULL, 10, true, 1};
	struct docspec cs = {"overlay", 3.0, 1.0, NULL, NULL, 10, true, 2};
	struct json_object *base = make_doc(&bs), *cand = make_doc(&cs);
	const char *start[] = {"*/start/*"};
	struct stt_comparison c;
	struct stt_cmp_params p;

	stt_compare_params_init(&p);
	/* 10 starts a repetition: p50 rests on 5 beyond it (gated), p99 on 0.1 */
	for (int i = 0; i < 2; i++) {
		struct json_object *ph = stt_json_get(i ? cand : base, "backends");
		struct json_object *lat = json_object_new_object();

		ph = stt_json_get(json_object_array_get_idx(ph, 0), "modes.cold.phases.start");
		json_object_object_add(lat, "N", json_object_new_int(100));
		json_object_object_add(ph, "lat_ns", lat);
		json_object_object_add(ph, "p99_ns",
				       json_object_get(json_object_object_get(ph, "p50_ns")));
	}
	CU_ASSERT_EQUAL_FATAL(stt_compare_docs(base, cand, &p, start, 1, &c), 0);
	CU_ASSERT_EQUAL_FATAL(c.n, 2);
	CU_ASSERT_STRING_EQUAL(c.m[0].name, "overlay/cold/start/p50");
	CU_ASSERT_EQUAL(c.m[0].r.verdict, STT_CMP_REGRESSION);
	CU_ASSERT_DOUBLE_EQUAL(c.m[0].per_rep, 10.0, 0);
	CU_ASSERT_STRING_EQUAL(c.m[1].name, "overlay/cold/start/p99");
	CU_ASSERT_EQUAL(c.m[1].r.verdict, STT_CMP_NOT_GATED);
	CU_ASSERT_PTR_NOT_NULL(strstr(c.m[1].r.why, "gateable from --containers 500"));
	CU_ASSERT_EQUAL(c.regressions, 1);
	CU_ASSERT_EQUAL(c.not_gated, 1);
	stt_comparison_release(&c);
	json_object_put(base);
	json_object_put(cand);
}

/* The machine's control of mode cold: 10 repetitions around 1 ms x @ratio, spread @spread. */
static void add_control(struct json_object *doc, double ratio, double spread, uint64_t seed)
{
	struct json_object *be = json_object_array_get_idx(stt_json_get(doc, "backends"), 0);
	double v[10];

	noisy(v, 10, 1e6 * ratio, spread, &seed);
	json_object_object_add(stt_json_get(be, "modes.cold"), "control_ns", summary(v, 10, true));
}

/*
 * Runs the comparison of start p50 at @start with the control at @ctl (its repetitions spread
 * @spread; the rule turned off with @off); its start verdict.
 */
static enum stt_cmp_verdict under_control_p(double start, double ctl, double spread, bool off,
					    struct stt_comparison *c)
{
	struct docspec bs = {"overlay", 1.0, 1.0, NULL, NULL, 10, true, 1};
	struct docspec cs = {"overlay", start, 1.0, NULL, NULL, 10, true, 2};
	struct json_object *base = make_doc(&bs), *cand = make_doc(&cs);
	const char *globs[] = {"*/start/p50"}, *none[] = {"*/nothing"};
	struct stt_cmp_params p;

	stt_compare_params_init(&p);
	p.no_control = off;
	add_control(base, 1.0, spread, 3);
	add_control(cand, ctl, spread, 4);
	/* the control alone is no comparison */
	CU_ASSERT_EQUAL(stt_compare_docs(base, cand, &p, none, 1, c), -ENODATA);
	/* and comes whatever --metric keeps, for the rule */
	CU_ASSERT_EQUAL_FATAL(stt_compare_docs(base, cand, &p, globs, 1, c), 0);
	json_object_put(base);
	json_object_put(cand);
	CU_ASSERT_EQUAL_FATAL(c->n, 2);
	CU_ASSERT_STRING_EQUAL(c->m[1].name, "overlay/cold/control/ns");
	CU_ASSERT(c->m[1].control);
	CU_ASSERT_EQUAL(c->m[1].r.verdict, STT_CMP_NOT_GATED); /* never gates */
	return c->m[0].r.verdict;
}

static enum stt_cmp_verdict under_control(double start, double ctl, double spread,
					  struct stt_comparison *c)
{
	return under_control_p(start, ctl, spread, false, c);
}

static void test_control(void)
{
	struct stt_comparison c;

	/* the machine unchanged: +30% start is a regression, the control says it stands */
	CU_ASSERT_EQUAL(under_control(1.3, 1.0, 0.01, &c), STT_CMP_REGRESSION);
	CU_ASSERT_PTR_NOT_NULL(strstr(c.m[1].r.why, "stand"));
	CU_ASSERT_EQUAL(c.regressions, 1);
	stt_comparison_release(&c);
	/* the machine 20% slower in the candidate: the regression is inconclusive */
	CU_ASSERT_EQUAL(under_control(1.3, 1.2, 0.01, &c), STT_CMP_INCONCLUSIVE);
	CU_ASSERT_PTR_NOT_NULL(strstr(c.m[0].r.why, "20% slower in the candidate"));
	CU_ASSERT_PTR_NOT_NULL(strstr(c.m[0].r.why, "overlay/cold/control/ns"));
	CU_ASSERT_PTR_NOT_NULL(strstr(c.m[1].r.why, "regressions are inconclusive"));
	CU_ASSERT_EQUAL(c.regressions, 0);
	CU_ASSERT_EQUAL(c.inconclusive, 1);
	stt_comparison_release(&c);
	/* 3% slower, significant but inside the 5% threshold: not a changed machine */
	CU_ASSERT_EQUAL(under_control(1.3, 1.03, 0.01, &c), STT_CMP_REGRESSION);
	CU_ASSERT(c.m[1].r.p_worse < 0.05);
	stt_comparison_release(&c);
	/* 12% slower by the estimate, significant, but the bound is not beyond 5%: it stands */
	CU_ASSERT_EQUAL(under_control(1.3, 1.12, 0.08, &c), STT_CMP_REGRESSION);
	CU_ASSERT(c.m[1].r.p_worse < 0.05);
	CU_ASSERT(c.m[1].r.change > 0.05);
	CU_ASSERT(c.m[1].r.lo < 0.05);
	CU_ASSERT_PTR_NOT_NULL(strstr(c.m[1].r.why, "surely"));
	stt_comparison_release(&c);
	/* a faster machine does not explain a slower start, */
	CU_ASSERT_EQUAL(under_control(1.3, 0.8, 0.01, &c), STT_CMP_REGRESSION);
	stt_comparison_release(&c);
	/* but does explain a faster one; a slower machine does not */
	CU_ASSERT_EQUAL(under_control(0.7, 0.8, 0.01, &c), STT_CMP_INCONCLUSIVE);
	CU_ASSERT_PTR_NOT_NULL(strstr(c.m[0].r.why, "20% faster in the candidate"));
	CU_ASSERT_EQUAL(c.improvements, 0);
	stt_comparison_release(&c);
	CU_ASSERT_EQUAL(under_control(0.7, 1.2, 0.01, &c), STT_CMP_IMPROVEMENT);
	stt_comparison_release(&c);
	/* --no-control: the 20% slower machine excuses nothing */
	CU_ASSERT_EQUAL(under_control_p(1.3, 1.2, 0.01, true, &c), STT_CMP_REGRESSION);
	CU_ASSERT_PTR_NOT_NULL(strstr(c.m[1].r.why, "--no-control"));
	stt_comparison_release(&c);
}

/* ---- the control as a covariate ---- */

static const struct stt_cmp_metric *named(const struct stt_comparison *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->m[i].name, name))
			return &c->m[i];
	CU_FAIL_FATAL("metric not compared");
	return NULL;
}

/*
 * @n repetitions of start p50 and of the control, both moved by the machine: in spells of 8
 * repetitions it runs 10% slower, and in the candidate all of it @machine times slower; the
 * candidate's storage makes start @storage times slower, and its control is @own times its
 * own (a jump of the control alone). In the candidate, start follows the spells to the power
 * @follow (1: as in the baseline; below 0: the other way, as a run bound by its device). 1%
 * noise of their own. Compared with @off as --no-control, each repetition a unit (blocks of 8
 * would be the spells themselves: test_blocks).
 */
static void machine_case_follow(double storage, double machine, double own, double follow, size_t n,
				bool off, struct stt_comparison *c)
{
	struct docspec bs = {"overlay", 1.0, 1.0, NULL, NULL, n, true, 1};
	struct docspec cs = {"overlay", 1.0, 1.0, NULL, NULL, n, true, 2};
	struct json_object *doc[2] = {make_doc(&bs), make_doc(&cs)};
	struct stt_cmp_params p;
	uint64_t st = 7;
	double start[64], ctl[64];

	for (int d = 0; d < 2; d++) {
		struct json_object *be =
		    json_object_array_get_idx(stt_json_get(doc[d], "backends"), 0);

		for (size_t i = 0; i < n; i++) {
			double spell = (i / 8) % 2 ? 1.1 : 1.0, m = spell * (d ? machine : 1.0);

			start[i] = 1e6 * (d ? machine * pow(spell, follow) * storage : m) *
				   (1.0 + 0.01 * normal(&st));
			ctl[i] = 1e6 * m * (d ? own : 1.0) * (1.0 + 0.01 * normal(&st));
		}
		json_object_object_add(stt_json_get(be, "modes.cold.phases.start"), "p50_ns",
				       summary(start, n, true));
		json_object_object_add(stt_json_get(be, "modes.cold"), "control_ns",
				       summary(ctl, n, true));
	}
	stt_compare_params_init(&p);
	p.no_control = off;
	p.blocks = 0;
	CU_ASSERT_EQUAL_FATAL(stt_compare_docs(doc[0], doc[1], &p, NULL, 0, c), 0);
	json_object_put(doc[0]);
	json_object_put(doc[1]);
}

static void machine_case(double storage, double machine, size_t n, bool off,
			 struct stt_comparison *c)
{
	machine_case_follow(storage, machine, 1.0, 1.0, n, off, c);
}

static void test_adjust(void)
{
	struct stt_comparison c;
	const struct stt_cmp_metric *m, *ctl;
	struct json_object *j;

	/* the machine 30% slower, the storage the same: the control explains it all */
	machine_case(1.0, 1.3, 40, false, &c);
	m = named(&c, "overlay/cold/start/p50");
	CU_ASSERT(m->adjusted);
	CU_ASSERT(m->slope > 0.9 && m->slope < 1.1);
	CU_ASSERT(fabs(m->r.change) < 0.03);
	CU_ASSERT(m->r.verdict == STT_CMP_NO_CHANGE || m->r.verdict == STT_CMP_WITHIN);
	CU_ASSERT_EQUAL(c.regressions, 0);
	ctl = named(&c, "overlay/cold/control/ns");
	CU_ASSERT(ctl->adjusting && !ctl->adjusted);
	CU_ASSERT_PTR_NOT_NULL(strstr(ctl->r.why, "adjusted for it"));
	/* the other figures of the mode: the storm's rate (no spells in it) adjusted by a slope
	 * near 0, the amplification (bytes, and 0) not at all */
	m = named(&c, "overlay/cold/storm/containers_per_s");
	CU_ASSERT(m->adjusted && fabs(m->slope) < 0.3);
	CU_ASSERT(!named(&c, "overlay/cold/first-read/amplification")->adjusted);
	CU_ASSERT_EQUAL_FATAL(stt_comparison_to_json(&c, &j), 0);
	for (size_t i = 0; i < c.n; i++) {
		struct json_object *s = stt_json_get(
		    json_object_array_get_idx(stt_json_get(j, "metrics"), i), "control_slope");

		if (c.m[i].adjusted) {
			CU_ASSERT_DOUBLE_EQUAL(json_object_get_double(s), c.m[i].slope, 1e-12);
		} else {
			CU_ASSERT_PTR_NULL(s);
		}
	}
	json_object_put(j);
	stt_comparison_release(&c);
	/* without the control, the same +30% is a regression */
	machine_case(1.0, 1.3, 40, true, &c);
	m = named(&c, "overlay/cold/start/p50");
	CU_ASSERT(!m->adjusted);
	CU_ASSERT_EQUAL(m->r.verdict, STT_CMP_REGRESSION);
	CU_ASSERT_PTR_NOT_NULL(strstr(named(&c, "overlay/cold/control/ns")->r.why, "--no-control"));
	stt_comparison_release(&c);
	/* storage 30% slower on the same machine: a regression of +30% */
	machine_case(1.3, 1.0, 40, false, &c);
	m = named(&c, "overlay/cold/start/p50");
	CU_ASSERT(m->adjusted);
	CU_ASSERT_EQUAL(m->r.verdict, STT_CMP_REGRESSION);
	CU_ASSERT(fabs(m->r.change - 0.3) < 0.03);
	stt_comparison_release(&c);
	/* both: still the storage's +30%, not "inconclusive" as without the adjustment */
	machine_case(1.3, 1.3, 40, false, &c);
	m = named(&c, "overlay/cold/start/p50");
	CU_ASSERT_EQUAL(m->r.verdict, STT_CMP_REGRESSION);
	CU_ASSERT(fabs(m->r.change - 0.3) < 0.03);
	stt_comparison_release(&c);
	/*
	 * The control 8% lower in the candidate on its own, the machine and the storage the
	 * same: the adjustment moves start by slope x log(0.92), about +8%, and that move raises
	 * the threshold by STT_COMPARE_ADJUST_HEDGE times itself.
	 */
	machine_case_follow(1.0, 1.0, 0.92, 1.0, 40, false, &c);
	m = named(&c, "overlay/cold/start/p50");
	CU_ASSERT(m->adjusted);
	CU_ASSERT(fabs(m->moved - m->slope * log(0.92)) < 0.01);
	CU_ASSERT(m->r.change > 0.06);
	CU_ASSERT_DOUBLE_EQUAL(m->r.threshold_eff,
			       fmax(log1p(m->threshold), STT_COMPARE_NOISE_FACTOR * m->r.noise) +
				   STT_COMPARE_ADJUST_HEDGE * fabs(m->moved),
			       1e-12);
	/* the adjusted +8% would clear the threshold without the hedge; with it, it does not */
	CU_ASSERT(log1p(m->r.lo) >
		  fmax(log1p(m->threshold), STT_COMPARE_NOISE_FACTOR * m->r.noise));
	CU_ASSERT_EQUAL(m->r.verdict, STT_CMP_WITHIN);
	stt_comparison_release(&c);
	/*
	 * A run bound by its device: the candidate's start 30% slower and going the other way
	 * from its control's spells, its control 20% faster on its own. The pooled slope comes
	 * out below 0 (a slower machine, a shorter start): taken as 0, the +30% stands as
	 * recorded; carried across the runs, it would take about 10% off and hide the slowdown in
	 * the threshold.
	 */
	machine_case_follow(1.3, 1.0, 0.8, -3.0, 40, false, &c);
	m = named(&c, "overlay/cold/start/p50");
	CU_ASSERT(m->adjusted);
	CU_ASSERT_EQUAL(m->slope, 0.0);
	CU_ASSERT_EQUAL(m->moved, 0.0);
	CU_ASSERT_EQUAL(m->r.verdict, STT_CMP_REGRESSION);
	stt_comparison_release(&c);
	/* below STT_COMPARE_ADJUST_MIN_N repetitions: not adjusted, the control excuses */
	machine_case(1.3, 1.3, 16, false, &c);
	m = named(&c, "overlay/cold/start/p50");
	CU_ASSERT(!m->adjusted);
	CU_ASSERT_EQUAL(m->r.verdict, STT_CMP_INCONCLUSIVE);
	stt_comparison_release(&c);
}

static void test_raw(void)
{
	struct docspec bs = {"overlay", 1.0, 1.0, NULL, NULL, 10, true, 1};
	struct json_object *base = make_doc(&bs), *cand = make_doc(&bs);
	const char *raw_only[] = {"raw/*"};
	struct stt_comparison c;
	struct stt_cmp_params p;

	stt_compare_params_init(&p);
	add_raw(base, 20000, 300000);
	add_raw(cand, 17000, 310000); /* IOPS -15%, clat p99 +3.3% */
	CU_ASSERT_EQUAL_FATAL(stt_compare_docs(base, cand, &p, raw_only, 1, &c), 0);
	CU_ASSERT_EQUAL_FATAL(c.n, 2);
	CU_ASSERT_STRING_EQUAL(c.m[0].name, "raw/4k-randread-qd1/iops");
	CU_ASSERT_EQUAL(c.m[0].better, STT_CMP_HIGHER_BETTER);
	CU_ASSERT_EQUAL(c.m[0].r.method, STT_CMP_MEDIANS_FEW); /* one run each */
	CU_ASSERT_EQUAL(c.m[0].r.verdict, STT_CMP_INCONCLUSIVE);
	CU_ASSERT_EQUAL(c.inconclusive, 2);
	CU_ASSERT_EQUAL(c.regressions, 0);
	CU_ASSERT_DOUBLE_EQUAL(c.m[0].r.change, -0.15, 1e-12);
	CU_ASSERT_STRING_EQUAL(c.m[1].name, "raw/4k-randread-qd1/clat_p99");
	CU_ASSERT_EQUAL(c.m[1].better, STT_CMP_LOWER_BETTER);
	CU_ASSERT_EQUAL(c.m[1].r.verdict, STT_CMP_INCONCLUSIVE);
	stt_comparison_release(&c);
	json_object_put(base);
	json_object_put(cand);
}

static void test_docs(void)
{
	struct docspec bs = {"overlay", 1.0, 1.0, NULL, NULL, 10, true, 1};
	struct docspec cs = {"overlay", 1.2, 0.8, NULL, NULL, 10, true, 2};
	struct json_object *base = make_doc(&bs), *cand = make_doc(&cs), *j;
	const char *start_only[] = {"*/start/*"};
	struct stt_comparison c;
	struct stt_cmp_params p;
	char **env;
	size_t nenv;

	stt_compare_params_init(&p);
	CU_ASSERT_EQUAL_FATAL(stt_compare_docs(base, cand, &p, NULL, 0, &c), 0);
	CU_ASSERT_EQUAL_FATAL(c.n, 4);
	CU_ASSERT_STRING_EQUAL(c.m[0].name, "overlay/cold/start/p50");
	CU_ASSERT_STRING_EQUAL(c.m[1].name, "overlay/cold/first-read/p50");
	CU_ASSERT_STRING_EQUAL(c.m[2].name, "overlay/cold/first-read/amplification");
	CU_ASSERT_STRING_EQUAL(c.m[3].name, "overlay/cold/storm/containers_per_s");
	CU_ASSERT_EQUAL(c.m[0].r.verdict, STT_CMP_REGRESSION);
	CU_ASSERT_EQUAL(c.m[1].r.verdict, STT_CMP_NO_CHANGE);
	CU_ASSERT_EQUAL(c.m[2].r.verdict, STT_CMP_NO_CHANGE);
	CU_ASSERT_EQUAL(c.m[3].better, STT_CMP_HIGHER_BETTER);
	CU_ASSERT_EQUAL(c.m[3].r.verdict, STT_CMP_REGRESSION);
	CU_ASSERT_EQUAL(c.regressions, 2);
	CU_ASSERT_EQUAL(stt_comparison_to_json(&c, &j), 0);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(stt_json_get(j, "schema")),
			       STT_COMPARE_SCHEMA);
	CU_ASSERT_EQUAL(json_object_array_length(stt_json_get(j, "metrics")), 4);
	json_object_put(j);
	stt_comparison_release(&c);

	/* a threshold of their own for some metrics: the last matching pattern wins */
	{
		const struct stt_cmp_threshold th[] = {
		    {"*/start/*", 0.5}, {"*/containers_per_s", 0.5}, {"*/storm/*", 0.1}};

		p.per_metric = th;
		p.n_per_metric = 3;
		CU_ASSERT_DOUBLE_EQUAL(stt_compare_threshold(&p, "x/cold/start/p50"), 0.5, 0);
		CU_ASSERT_DOUBLE_EQUAL(stt_compare_threshold(&p, "x/cold/storm/containers_per_s"),
				       0.1, 0);
		CU_ASSERT_DOUBLE_EQUAL(stt_compare_threshold(&p, "x/cold/first-read/p50"), 0.05, 0);
		CU_ASSERT_EQUAL_FATAL(stt_compare_docs(base, cand, &p, NULL, 0, &c), 0);
		CU_ASSERT_DOUBLE_EQUAL(c.m[0].threshold, 0.5, 0);
		CU_ASSERT_EQUAL(c.m[0].r.verdict, STT_CMP_WITHIN);     /* +20% is below 50% */
		CU_ASSERT_EQUAL(c.m[3].r.verdict, STT_CMP_REGRESSION); /* -20% beyond 10% */
		CU_ASSERT_EQUAL(c.regressions, 1);
		stt_comparison_release(&c);
		p.per_metric = NULL;
		p.n_per_metric = 0;
	}

	/* --metric */
	CU_ASSERT_EQUAL_FATAL(stt_compare_docs(base, cand, &p, start_only, 1, &c), 0);
	CU_ASSERT_EQUAL(c.n, 1);
	stt_comparison_release(&c);
	start_only[0] = "nothing/*";
	CU_ASSERT_EQUAL(stt_compare_docs(base, cand, &p, start_only, 1, &c), -ENODATA);

	/* environment: same here; a kernel and a profile apart there */
	CU_ASSERT_EQUAL(stt_compare_env(base, cand, &env, &nenv), 0);
	CU_ASSERT_EQUAL(nenv, 0);
	stt_compare_strings_free(env, nenv);
	json_object_put(cand);
	cs.kernel = "6.18.0-other";
	cs.hash = "fnv1a64:fedcba9876543210";
	cs.reps = 12; /* repetitions are not part of the environment */
	cand = make_doc(&cs);
	CU_ASSERT_EQUAL(stt_compare_env(base, cand, &env, &nenv), 0);
	CU_ASSERT_EQUAL_FATAL(nenv, 2);
	CU_ASSERT_STRING_EQUAL(env[0], "kernel: 6.1.0-test vs 6.18.0-other");
	CU_ASSERT_PTR_NOT_NULL(strstr(env[1], "profile hash"));
	stt_compare_strings_free(env, nenv);

	/* the emulation against the real engine: not one environment */
	json_object_put(cand);
	cs.kernel = "6.1.0-test";
	cs.hash = NULL;
	cand = make_doc(&cs);
	{
		struct json_object *be = json_object_array_get_idx(
				       json_object_object_get(cand, "backends"), 0),
				   *e = json_object_new_object();

		json_object_object_add(e, "name", json_object_new_string("docker"));
		json_object_object_add(be, "engine", e);
	}
	CU_ASSERT_EQUAL(stt_compare_env(base, cand, &env, &nenv), 0);
	CU_ASSERT_EQUAL_FATAL(nenv, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(env[0], "engine: emulated vs docker"));
	stt_compare_strings_free(env, nenv);

	/* no metric in common */
	json_object_put(cand);
	cs.backend = "dm-loop";
	cand = make_doc(&cs);
	CU_ASSERT_EQUAL(stt_compare_docs(base, cand, &p, NULL, 0, &c), -ENODATA);
	json_object_put(cand);
	json_object_put(base);
}

/* ---- the command ---- */

static size_t lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

struct files {
	char dir[64], base[128], cand[128], other[128], junit[128], md[128];
};

static void files_init(struct files *f)
{
	snprintf(f->dir, sizeof(f->dir), "/tmp/stt-unit-compare-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(f->dir));
	snprintf(f->base, sizeof(f->base), "%s/base.json", f->dir);
	snprintf(f->cand, sizeof(f->cand), "%s/cand.json", f->dir);
	snprintf(f->other, sizeof(f->other), "%s/other.json", f->dir);
	snprintf(f->junit, sizeof(f->junit), "%s/junit.xml", f->dir);
	snprintf(f->md, sizeof(f->md), "%s/compare.md", f->dir);
}

static void files_cleanup(struct files *f)
{
	unlink(f->base);
	unlink(f->cand);
	unlink(f->other);
	unlink(f->junit);
	unlink(f->md);
	rmdir(f->dir);
}

static void put_text(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fputs(text, fp);
	fclose(fp);
}

static void put_doc(const char *path, const struct docspec *d)
{
	struct json_object *doc = make_doc(d);

	CU_ASSERT_EQUAL_FATAL(stt_results_write(doc, path), 0);
	json_object_put(doc);
}

static void test_bad_input(void)
{
	struct docspec bs = {"overlay", 1.0, 1.0, NULL, NULL, 10, true, 1};
	struct docspec other = {"dm-loop", 1.0, 1.0, NULL, NULL, 10, true, 3};
	struct json_object *doc;
	struct files f;

	files_init(&f);
	put_doc(f.base, &bs);
	/* not JSON */
	put_text(f.cand, "{ \"schema\": ");
	CU_ASSERT_EQUAL(unit_cmd("stortune", "compare", f.base, f.cand, NULL), 2);
	CU_ASSERT_EQUAL(lines(unit_err), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(unit_err, "not JSON"));
	CU_ASSERT_PTR_NOT_NULL(strstr(unit_err, f.cand));
	/* another schema version */
	put_text(f.cand, "{\"schema\": \"stortune-results\", \"schema_version\": 2, "
			 "\"backends\": []}");
	CU_ASSERT_EQUAL(unit_cmd("stortune", "compare", f.base, f.cand, NULL), 2);
	CU_ASSERT_EQUAL(lines(unit_err), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(unit_err, "schema version 2"));
	/* another schema */
	put_text(f.cand, "{\"schema\": \"stortune-probe\", \"schema_version\": 1}");
	CU_ASSERT_EQUAL(unit_cmd("stortune", "compare", f.base, f.cand, NULL), 2);
	CU_ASSERT_EQUAL(lines(unit_err), 1);
	/* no common metric */
	put_doc(f.other, &other);
	CU_ASSERT_EQUAL(unit_cmd("stortune", "compare", f.base, f.other, NULL), 2);
	CU_ASSERT_EQUAL(lines(unit_err), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(unit_err, "no metric in common"));
	/* a missing file */
	unlink(f.cand);
	CU_ASSERT_EQUAL(unit_cmd("stortune", "compare", f.base, f.cand, NULL), 2);
	CU_ASSERT_EQUAL(lines(unit_err), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(unit_err, "no such file"));
	/* values that are not numbers */
	doc = make_doc(&bs);
	json_object_array_put_idx(
	    stt_json_get(json_object_array_get_idx(stt_json_get(doc, "backends"), 0),
			 "modes.cold.phases.start.p50_ns.values"),
	    1, json_object_new_string("x"));
	CU_ASSERT_EQUAL_FATAL(stt_results_write(doc, f.cand), 0);
	json_object_put(doc);
	CU_ASSERT_EQUAL(unit_cmd("stortune", "compare", f.base, f.cand, NULL), 2);
	CU_ASSERT_EQUAL(lines(unit_err), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(unit_err, "values[1] is not a number"));
	/* nothing was written when the input was bad */
	CU_ASSERT_EQUAL(unit_cmd("stortune", "compare", f.base, f.cand, "--junit", f.junit, NULL), 2);
	CU_ASSERT_NOT_EQUAL(access(f.junit, F_OK), 0);
	/* options */
	CU_ASSERT_EQUAL(unit_cmd("stortune", "compare", f.base, NULL), 2);
	CU_ASSERT_EQUAL(unit_cmd("stortune", "compare", f.base, f.base, "--alpha", "0.6", NULL), 2);
	CU_ASSERT_EQUAL(unit_cmd("stortune", "compare", f.base, f.base, "--threshold", "5", NULL), 2);
	CU_ASSERT_EQUAL(unit_cmd("stortune", "compare", f.base, f.base, "--threshold", "=5%", NULL), 2);
	CU_ASSERT_EQUAL(unit_cmd("stortune", "compare", f.base, f.base, "--threshold", "*/p50=x", NULL),
			2);
	CU_ASSERT_EQUAL(unit_cmd("stortune", "compare", f.base, f.base, "--fail-on", "x", NULL), 2);
	CU_ASSERT_EQUAL(unit_cmd("stortune", "compare", f.base, f.base, "--metric", "zzz", NULL), 2);
	files_cleanup(&f);
}

/* Runs xmllint against the schema; its exit status. */
static int xmllint(const char *xsd, const char *xml)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		int dn = open("/dev/null", O_WRONLY);

		if (dn >= 0) {
			dup2(dn, 1);
			dup2(dn, 2);
		}
		execlp("xmllint", "xmllint", "--noout", "--schema", xsd, xml, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static char *slurp_path(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf = calloc(1, 1 << 16);

	if (fp && buf)
		buf[fread(buf, 1, (1 << 16) - 1, fp)] = '\0';
	if (fp)
		fclose(fp);
	return buf;
}

/* Pipes that are not escaped. */
static size_t pipes(const char *line, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += line[i] == '|' && (i == 0 || line[i - 1] != '\\');
	return n;
}

static void test_outputs(void)
{
	/* a backend name that XML and Markdown must escape */
	struct docspec bs = {"ov<&\"'|>", 1.0, 1.0, NULL, NULL, 10, true, 1};
	struct docspec cs = {"ov<&\"'|>", 1.2, 1.0, NULL, NULL, 10, true, 2};
	char xsd[512], *text, *p;
	size_t rows = 0, want = 0;
	struct json_object *j;
	struct files f;

	files_init(&f);
	snprintf(xsd, sizeof(xsd), "%s/../../tests/data/junit-10.xsd", unit_data_dir());
	if (access(xsd, R_OK))
		snprintf(xsd, sizeof(xsd), "tests/data/junit-10.xsd");
	put_doc(f.base, &bs);
	put_doc(f.cand, &cs);
	CU_ASSERT_EQUAL(unit_cmd("stortune", "compare", f.base, f.cand, "--junit", f.junit, "--markdown",
			    f.md, NULL),
			1);
	CU_ASSERT_PTR_NOT_NULL(strstr(unit_out, "regression"));
	/* JUnit: valid against the schema, one test case per metric, the regression a failure */
	CU_ASSERT_EQUAL(xmllint(xsd, f.junit), 0);
	text = slurp_path(f.junit);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "tests=\"4\" failures=\"1\""));
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(text, "name=\"ov&lt;&amp;&quot;&apos;|&gt;/cold/start/p50\""));
	for (p = text; (p = strstr(p, "<testcase ")); p++)
		rows++;
	CU_ASSERT_EQUAL(rows, 4);
	p = strstr(text, "<failure ");
	CU_ASSERT_PTR_NOT_NULL(p);
	CU_ASSERT_PTR_NOT_NULL(p ? strstr(p, "type=\"regression\"") : NULL);
	free(text);
	/* The schema does refuse what is wrong: a test case without a name. */
	put_text(f.other, "<testsuites><testsuite name=\"x\" tests=\"1\" failures=\"0\" "
			  "errors=\"0\"><testcase classname=\"c\"/></testsuite></testsuites>");
	CU_ASSERT_NOT_EQUAL(xmllint(xsd, f.other), 0);

	/* Markdown: a header, the separator, one row per metric, all with the same columns */
	text = slurp_path(f.md);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	rows = 0;
	for (char *line = text; *line;) {
		size_t len = strcspn(line, "\n");

		if (*line == '|') {
			if (!want)
				want = pipes(line, len);
			CU_ASSERT_EQUAL(pipes(line, len), want);
			rows++;
		}
		line += len + (line[len] == '\n');
	}
	CU_ASSERT_EQUAL(want, 9); /* 8 columns */
	CU_ASSERT_EQUAL(rows, 2 + 4);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "|:--|--:|"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "**regression**"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "ov&lt;&amp;\"'\\|&gt;/cold/start/p50"));
	free(text);

	/* --json, --fail-on, --metric */
	CU_ASSERT_EQUAL(unit_cmd("stortune", "--json", "compare", f.base, f.cand, NULL), 1);
	j = json_tokener_parse(unit_out);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_EQUAL(json_object_get_int(stt_json_get(j, "regressions")), 1);
	CU_ASSERT_TRUE(json_object_get_boolean(stt_json_get(j, "failed")));
	json_object_put(j);
	CU_ASSERT_EQUAL(
	    unit_cmd("stortune", "compare", f.base, f.cand, "--metric", "*/first-read/*", NULL), 0);
	CU_ASSERT_EQUAL(
	    unit_cmd("stortune", "compare", f.base, f.cand, "--fail-on", "improvement", NULL), 0);
	CU_ASSERT_EQUAL(
	    unit_cmd("stortune", "compare", f.cand, f.base, "--fail-on", "improvement", NULL), 1);
	CU_ASSERT_EQUAL(unit_cmd("stortune", "compare", f.cand, f.base, "--fail-on", "any", NULL), 1);
	CU_ASSERT_EQUAL(
	    unit_cmd("stortune", "compare", f.base, f.cand, "--threshold", "*/start/*=50%", NULL), 0);
	CU_ASSERT_EQUAL(unit_cmd("stortune", "compare", f.base, f.base, "--fail-on", "any", NULL), 0);

	/* environments apart: refused with the reason, unless allowed */
	cs.kernel = "6.18.0-other";
	put_doc(f.cand, &cs);
	CU_ASSERT_EQUAL(unit_cmd("stortune", "compare", f.base, f.cand, NULL), 2);
	CU_ASSERT_EQUAL(lines(unit_err), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(unit_err, "kernel: 6.1.0-test vs 6.18.0-other"));
	CU_ASSERT_EQUAL(unit_cmd("stortune", "compare", f.base, f.cand, "--allow-env-mismatch", NULL),
			1);
	CU_ASSERT_PTR_NOT_NULL(strstr(unit_out, "environment differs (allowed): kernel"));

	/* summaries without values: medians, labelled */
	bs.values = cs.values = false;
	cs.kernel = NULL;
	put_doc(f.base, &bs);
	put_doc(f.cand, &cs);
	CU_ASSERT_EQUAL(unit_cmd("stortune", "compare", f.base, f.cand, NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(unit_out, "inconclusive, by medians (no values)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(unit_out, "run bench with --repetitions 10"));
	CU_ASSERT_EQUAL(
	    unit_cmd("stortune", "compare", f.base, f.cand, "--fail-on", "inconclusive", NULL), 1);
	CU_ASSERT_EQUAL(
	    unit_cmd("stortune", "compare", f.base, f.cand, "--noise-factor", "-1", NULL), 2);
	CU_ASSERT_EQUAL(unit_cmd("stortune", "compare", f.base, f.cand, "--blocks", "-1", NULL), 2);
	CU_ASSERT_EQUAL(unit_cmd("stortune", "compare", f.base, f.cand, "--blocks", "101", NULL),
			2);
	CU_ASSERT_EQUAL(unit_cmd("stortune", "compare", f.base, f.cand, "--blocks", "5x", NULL), 2);
	files_cleanup(&f);
}

int unit_register_compare(void)
{
	CU_pSuite s = CU_add_suite("compare", NULL, NULL);

	if (!s)
		return CU_get_error();
	CU_add_test(s, "regression rule over 100 seeds", test_rates);
	CU_add_test(s, "medians fallback and zeros", test_fallbacks);
	CU_add_test(s, "noise-raised threshold, not gated when too noisy", test_noise);
	CU_add_test(s, "block medians: a spell over part of a run is not a shift", test_blocks);
	CU_add_test(s, "an alpha out of the test's reach: inconclusive", test_reach);
	CU_add_test(s, "a percentile needs samples beyond it: not gated", test_tail);
	CU_add_test(s, "documents: figures, globs, environment", test_docs);
	CU_add_test(s, "documents: raw device figures, medians", test_raw);
	CU_add_test(s, "the machine's control: a changed machine is inconclusive", test_control);
	CU_add_test(s, "the machine's control as a covariate: adjusted figures", test_adjust);
	CU_add_test(s, "command: bad input is exit 2 and one line", test_bad_input);
	CU_add_test(s, "command: JUnit (schema), Markdown, JSON, --fail-on", test_outputs);
	return CU_get_error();
}
