// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * src/stats: fio's bucket layout checked against a restatement written here, percentiles
 * against the sorted samples, merge against one histogram of everything, Welford against
 * two passes, and the summary against hand-worked arrays and the binomial rule; for two
 * samples, the Mann-Whitney distribution against enumeration of every ordering and the
 * Hodges-Lehmann shift and its bounds against the sorted pairwise differences.
 */
#include "unit.h"

#include "base/stats.h"

#include <CUnit/CUnit.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NSAMPLES 100000

/* ---- deterministic samples ---- */

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Uniform in (0, 1]. */
static double unif(uint64_t *state)
{
	return ((double)(splitmix64(state) >> 11) + 1.0) * 0x1.0p-53;
}

/* Standard normal, Box-Muller (one value of the pair). */
static double gauss(uint64_t *state)
{
	double u1 = unif(state), u2 = unif(state);

	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static uint64_t to_ns(double v)
{
	return v <= 0.0 ? 0 : (uint64_t)llround(v);
}

enum dist { DIST_LOGNORMAL, DIST_BIMODAL, DIST_UNIFORM };

static void fill(uint64_t *v, size_t n, enum dist d, uint64_t seed)
{
	uint64_t st = seed;

	for (size_t i = 0; i < n; i++) {
		switch (d) {
		case DIST_LOGNORMAL: /* median 200 us, wide */
			v[i] = to_ns(exp(log(200000.0) + 1.5 * gauss(&st)));
			break;
		case DIST_BIMODAL: /* 70% near 50 us, 30% near 5 ms */
			if (unif(&st) <= 0.7)
				v[i] = to_ns(50000.0 + 5000.0 * gauss(&st));
			else
				v[i] = to_ns(5e6 + 5e5 * gauss(&st));
			break;
		case DIST_UNIFORM: /* 0 to 4 ms, so the exact buckets get some too */
			v[i] = splitmix64(&st) % 4000000;
			break;
		}
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static bool rel_close(double got, double want, double tol)
{
	if (want == 0.0)
		return fabs(got) <= tol;
	return fabs(got - want) <= tol * fabs(want);
}

/* ---- the layout restated: 128 exact buckets, then 64 per power of two ---- */

static unsigned int ref_msb(uint64_t v)
{
	unsigned int msb = 0;

	while (v > 1) {
		v >>= 1;
		msb++;
	}
	return msb;
}

static size_t ref_idx(uint64_t v, unsigned int groups)
{
	size_t last = (size_t)groups * 64 - 1, idx;
	unsigned int msb = ref_msb(v);

	if (v < 128)
		idx = (size_t)v;
	else /* group msb - 5, and the 6 bits below the leading one */
		idx = (size_t)(msb - 5) * 64 + (size_t)((v - (UINT64_C(1) << msb)) >> (msb - 6));
	return idx < last ? idx : last;
}

/* Lowest value of bucket @idx, and its width (both for idx >= 128 in at most 58 groups). */
static uint64_t ref_lo(size_t idx)
{
	size_t g = idx / 64, k = idx % 64;

	if (idx < 128)
		return idx;
	return (UINT64_C(1) << (g + 5)) + k * (UINT64_C(1) << (g - 1));
}

static uint64_t ref_width(size_t idx)
{
	return idx < 128 ? 1 : UINT64_C(1) << (idx / 64 - 1);
}

static uint64_t ref_mid(size_t idx)
{
	if (idx < 128)
		return idx;
	return ref_lo(idx) + ref_width(idx) / 2;
}

static void test_idx_facts(void)
{
	const unsigned int g = STT_HIST_IO_GROUPS;

	CU_ASSERT_EQUAL(stt_hist_nbuckets(g), 1856);
	CU_ASSERT_EQUAL(stt_hist_idx(0, g), 0);
	CU_ASSERT_EQUAL(stt_hist_idx(1, g), 1);
	CU_ASSERT_EQUAL(stt_hist_idx(64, g), 64);
	CU_ASSERT_EQUAL(stt_hist_idx(127, g), 127);
	CU_ASSERT_EQUAL(stt_hist_idx(128, g), 128);
	CU_ASSERT_EQUAL(stt_hist_idx(129, g), 128);
	CU_ASSERT_EQUAL(stt_hist_idx(130, g), 129);
	CU_ASSERT_EQUAL(stt_hist_idx(255, g), 191);
	CU_ASSERT_EQUAL(stt_hist_idx(256, g), 192);
	CU_ASSERT_EQUAL(stt_hist_idx(259, g), 192);
	CU_ASSERT_EQUAL(stt_hist_idx(260, g), 193);
	/* the last group of 29 is [2^33, 2^34) */
	CU_ASSERT_EQUAL(stt_hist_idx(UINT64_C(1) << 33, g), 1792);
	CU_ASSERT_EQUAL(stt_hist_idx((UINT64_C(1) << 34) - 1, g), 1855);
	CU_ASSERT_EQUAL(stt_hist_idx(UINT64_C(1) << 34, g), 1855);
	CU_ASSERT_EQUAL(stt_hist_idx(UINT64_MAX, g), 1855);
	CU_ASSERT_EQUAL(stt_hist_idx(UINT64_MAX, STT_HIST_MAX_GROUPS),
			stt_hist_nbuckets(STT_HIST_MAX_GROUPS) - 1);
	CU_ASSERT_EQUAL(stt_hist_idx((UINT64_C(1) << 63) - 1, STT_HIST_MAX_GROUPS),
			stt_hist_nbuckets(STT_HIST_MAX_GROUPS) - 1);

	CU_ASSERT_EQUAL(stt_hist_midpoint(0), 0);
	CU_ASSERT_EQUAL(stt_hist_midpoint(127), 127);
	CU_ASSERT_EQUAL(stt_hist_midpoint(128), 129); /* 128 + 0.5 * 2 */
	CU_ASSERT_EQUAL(stt_hist_midpoint(191), 255); /* 128 + 63.5 * 2 */
	CU_ASSERT_EQUAL(stt_hist_midpoint(192), 258); /* 256 + 0.5 * 4 */
	CU_ASSERT_EQUAL(stt_hist_midpoint(1855), (UINT64_C(1) << 33) + 127 * (UINT64_C(1) << 26));
}

static void test_idx_powers(void)
{
	for (unsigned int k = 7; k <= 40; k++) {
		uint64_t p = UINT64_C(1) << k;
		size_t grp = (size_t)(k - 5) * 64; /* first bucket of 2^k's group */
		size_t last = stt_hist_nbuckets(STT_HIST_IO_GROUPS) - 1;

		CU_ASSERT_EQUAL(stt_hist_idx(p, STT_HIST_MAX_GROUPS), grp);
		CU_ASSERT_EQUAL(stt_hist_idx(p + 1, STT_HIST_MAX_GROUPS), grp);
		CU_ASSERT_EQUAL(stt_hist_idx(p - 1, STT_HIST_MAX_GROUPS), grp - 1);
		CU_ASSERT_EQUAL(stt_hist_idx(p, STT_HIST_IO_GROUPS), grp < last ? grp : last);
		CU_ASSERT_EQUAL(stt_hist_idx(p + 1, STT_HIST_IO_GROUPS), grp < last ? grp : last);
		CU_ASSERT_EQUAL(stt_hist_idx(p - 1, STT_HIST_IO_GROUPS),
				grp - 1 < last ? grp - 1 : last);
		CU_ASSERT_EQUAL(stt_hist_idx(p, STT_HIST_IO_GROUPS),
				ref_idx(p, STT_HIST_IO_GROUPS));
		CU_ASSERT_EQUAL(stt_hist_idx(p + 1, STT_HIST_IO_GROUPS),
				ref_idx(p + 1, STT_HIST_IO_GROUPS));
		CU_ASSERT_EQUAL(stt_hist_idx(p - 1, STT_HIST_IO_GROUPS),
				ref_idx(p - 1, STT_HIST_IO_GROUPS));
	}
}

/* The top value of each group is the last bucket of that group; beyond the groups, clamp. */
static void test_idx_group_tops(void)
{
	const unsigned int g = STT_HIST_IO_GROUPS;
	size_t last = stt_hist_nbuckets(g) - 1;

	CU_ASSERT_EQUAL(stt_hist_idx(63, g), 63);
	for (unsigned int grp = 1; grp < STT_HIST_MAX_GROUPS; grp++) {
		uint64_t top = (UINT64_C(1) << (grp + 6)) - 1;
		size_t want = (size_t)grp * 64 + 63;

		CU_ASSERT_EQUAL(stt_hist_idx(top, STT_HIST_MAX_GROUPS), want);
		if (grp + 1 < STT_HIST_MAX_GROUPS)
			CU_ASSERT_EQUAL(stt_hist_idx(top + 1, STT_HIST_MAX_GROUPS), want + 1);
		CU_ASSERT_EQUAL(stt_hist_idx(top, g), grp < g ? want : last);
	}
	/* every value beyond group 28 of 29 clamps */
	for (unsigned int k = 34; k < 64; k++) {
		CU_ASSERT_EQUAL(stt_hist_idx(UINT64_C(1) << k, g), last);
		CU_ASSERT_EQUAL(stt_hist_idx((UINT64_C(1) << k) + 12345, g), last);
	}
}

static void test_idx_reference(void)
{
	static const unsigned int groups[] = { 1, 2, 3, STT_HIST_IO_GROUPS, STT_HIST_SLOW_GROUPS,
					       STT_HIST_MAX_GROUPS };
	uint64_t st = 42, v;
	size_t bad = 0;

	for (size_t gi = 0; gi < sizeof(groups) / sizeof(groups[0]); gi++) {
		unsigned int g = groups[gi];

		for (v = 0; v < (1u << 16); v++)
			bad += stt_hist_idx(v, g) != ref_idx(v, g);
		for (int i = 0; i < 200000; i++) {
			/* spread over all magnitudes: a random value shifted right 0..63 bits */
			uint64_t r = splitmix64(&st);

			v = r >> (splitmix64(&st) % 64);
			if (stt_hist_idx(v, g) != ref_idx(v, g)) {
				if (!bad)
					fprintf(stderr, "idx(%llu, %u) = %zu, want %zu\n",
						(unsigned long long)v, g, stt_hist_idx(v, g),
						ref_idx(v, g));
				bad++;
			}
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
}

/*
 * Every bucket of the largest histogram: the midpoint matches the restatement, both ends of
 * the bucket map to it and their neighbours do not, and the midpoint is within 1/128 of both.
 */
static void test_midpoint(void)
{
	size_t nb = stt_hist_nbuckets(STT_HIST_MAX_GROUPS), bad_mid = 0, bad_map = 0;
	size_t bad_err = 0;

	for (size_t idx = 0; idx < nb; idx++) {
		uint64_t lo = ref_lo(idx), hi = lo + ref_width(idx) - 1;
		uint64_t mid = stt_hist_midpoint(idx);
		uint64_t ends[2] = { lo, hi };

		bad_mid += mid != ref_mid(idx);
		bad_map += stt_hist_idx(lo, STT_HIST_MAX_GROUPS) != idx;
		bad_map += stt_hist_idx(hi, STT_HIST_MAX_GROUPS) != idx;
		if (idx > 0)
			bad_map += stt_hist_idx(lo - 1, STT_HIST_MAX_GROUPS) != idx - 1;
		if (idx + 1 < nb)
			bad_map += stt_hist_idx(hi + 1, STT_HIST_MAX_GROUPS) != idx + 1;
		CU_ASSERT_TRUE(mid >= lo && mid <= hi);
		for (int e = 0; e < 2; e++) {
			uint64_t v = ends[e], d = mid > v ? mid - v : v - mid;

			/* d <= 2^55 here, so d * 128 cannot overflow */
			bad_err += d * 128 > v;
		}
	}
	CU_ASSERT_EQUAL(bad_mid, 0);
	CU_ASSERT_EQUAL(bad_map, 0);
	CU_ASSERT_EQUAL(bad_err, 0);
	/* the top bucket of the largest layout reaches 2^63 - 1 */
	CU_ASSERT_EQUAL(ref_lo(nb - 1) + ref_width(nb - 1) - 1, (UINT64_C(1) << 63) - 1);
}

/* ---- percentiles ---- */

static void check_percentiles(enum dist d, uint64_t seed)
{
	uint64_t *v = calloc(NSAMPLES, sizeof(*v));
	uint64_t out[32];
	struct stt_hist h;
	size_t np = stt_stats_default_npcts;

	CU_ASSERT_FATAL(v != NULL);
	CU_ASSERT_EQUAL_FATAL(stt_hist_init(&h, STT_HIST_IO_GROUPS), 0);
	fill(v, NSAMPLES, d, seed);
	for (size_t i = 0; i < NSAMPLES; i++)
		stt_hist_add(&h, v[i]);
	qsort(v, NSAMPLES, sizeof(*v), cmp_u64);
	CU_ASSERT_EQUAL(h.clamped, 0);
	CU_ASSERT_EQUAL(h.min_ns, v[0]);
	CU_ASSERT_EQUAL(h.max_ns, v[NSAMPLES - 1]);

	CU_ASSERT_EQUAL_FATAL(np, 17);
	CU_ASSERT_EQUAL(stt_hist_percentiles(&h, stt_stats_default_pcts, np, out), 0);
	for (size_t j = 0; j < np; j++) {
		double p = stt_stats_default_pcts[j];
		size_t rank = (size_t)ceil(p / 100.0 * (double)NSAMPLES);
		uint64_t exact = v[rank - 1];
		uint64_t diff = out[j] > exact ? out[j] - exact : exact - out[j];

		CU_ASSERT_TRUE(diff * 128 <= exact);
		CU_ASSERT_EQUAL(out[j], ref_mid(ref_idx(exact, STT_HIST_IO_GROUPS)));
		if (diff * 128 > exact)
			fprintf(stderr, "p%g: %llu, exact %llu\n", p, (unsigned long long)out[j],
				(unsigned long long)exact);
	}
	stt_hist_release(&h);
	free(v);
}

static void test_pct_lognormal(void)
{
	check_percentiles(DIST_LOGNORMAL, 1);
}

static void test_pct_bimodal(void)
{
	check_percentiles(DIST_BIMODAL, 2);
}

static void test_pct_uniform(void)
{
	check_percentiles(DIST_UNIFORM, 3);
}

/* Hand-made: the rule is "first bucket whose cumulative count reaches p/100 * n". */
static void test_pct_small(void)
{
	static const double pcts[] = { 100.0, 50.0, 10.0, 10.000001, 90.0, 90.000001 };
	uint64_t out[6];
	struct stt_hist h;

	CU_ASSERT_EQUAL_FATAL(stt_hist_init(&h, STT_HIST_IO_GROUPS), 0);
	/* ten samples: 1..9 and 1000 (msb 9, error bits 3: bucket 256 + 61, midpoint 1004) */
	for (uint64_t i = 1; i <= 9; i++)
		stt_hist_add(&h, i);
	stt_hist_add(&h, 1000);
	CU_ASSERT_EQUAL(stt_hist_percentiles(&h, pcts, 6, out), 0);
	CU_ASSERT_EQUAL(out[0], 1004);
	CU_ASSERT_EQUAL(out[1], 5);
	CU_ASSERT_EQUAL(out[2], 1);
	CU_ASSERT_EQUAL(out[3], 2);
	CU_ASSERT_EQUAL(out[4], 9);
	CU_ASSERT_EQUAL(out[5], 1004);
	stt_hist_release(&h);
}

/* Results come back in the caller's order, whatever it is. */
static void test_pct_order(void)
{
	size_t np = stt_stats_default_npcts;
	double rev[32];
	uint64_t fwd_out[32], rev_out[32], *v = calloc(NSAMPLES, sizeof(*v));
	struct stt_hist h;

	CU_ASSERT_FATAL(v != NULL);
	CU_ASSERT_EQUAL_FATAL(stt_hist_init(&h, STT_HIST_IO_GROUPS), 0);
	fill(v, NSAMPLES, DIST_LOGNORMAL, 7);
	for (size_t i = 0; i < NSAMPLES; i++)
		stt_hist_add(&h, v[i]);
	for (size_t j = 0; j < np; j++)
		rev[j] = stt_stats_default_pcts[np - 1 - j];
	CU_ASSERT_EQUAL(stt_hist_percentiles(&h, stt_stats_default_pcts, np, fwd_out), 0);
	CU_ASSERT_EQUAL(stt_hist_percentiles(&h, rev, np, rev_out), 0);
	for (size_t j = 0; j < np; j++) {
		CU_ASSERT_EQUAL(rev_out[j], fwd_out[np - 1 - j]);
		if (j > 0)
			CU_ASSERT_TRUE(fwd_out[j] >= fwd_out[j - 1]);
	}
	CU_ASSERT_TRUE(fwd_out[0] < fwd_out[np - 1]);
	stt_hist_release(&h);
	free(v);
}

static void test_pct_errors(void)
{
	static const double bad_lo[] = { 0.0 }, bad_hi[] = { 100.5 }, bad_nan[] = { NAN };
	uint64_t out[32] = { 0 };
	struct stt_hist h;

	CU_ASSERT_EQUAL_FATAL(stt_hist_init(&h, STT_HIST_IO_GROUPS), 0);
	CU_ASSERT_EQUAL(stt_hist_percentiles(&h, stt_stats_default_pcts, stt_stats_default_npcts,
					     out),
			-ENODATA);
	stt_hist_add(&h, 5);
	CU_ASSERT_EQUAL(stt_hist_percentiles(&h, bad_lo, 1, out), -EINVAL);
	CU_ASSERT_EQUAL(stt_hist_percentiles(&h, bad_hi, 1, out), -EINVAL);
	CU_ASSERT_EQUAL(stt_hist_percentiles(&h, bad_nan, 1, out), -EINVAL);
	CU_ASSERT_EQUAL(stt_hist_percentiles(&h, stt_stats_default_pcts, stt_stats_default_npcts,
					     out),
			0);
	CU_ASSERT_EQUAL(out[0], 5);
	CU_ASSERT_EQUAL(out[16], 5);
	stt_hist_reset(&h);
	CU_ASSERT_EQUAL(h.n, 0);
	CU_ASSERT_EQUAL(h.bins[5], 0);
	CU_ASSERT_EQUAL(stt_hist_percentiles(&h, stt_stats_default_pcts, 1, out), -ENODATA);
	stt_hist_release(&h);
	CU_ASSERT_PTR_NULL(h.bins);
	CU_ASSERT_EQUAL(h.groups, 0);

	CU_ASSERT_EQUAL(stt_hist_init(&h, 0), -EINVAL);
	CU_ASSERT_EQUAL(stt_hist_init(&h, STT_HIST_MAX_GROUPS + 1), -EINVAL);
}

/* ---- merge, mean and stddev ---- */

/* Two-pass mean and sample stddev in long double. */
static void two_pass(const uint64_t *v, size_t n, double *mean, double *sd)
{
	long double s = 0.0L, ss = 0.0L, m;

	for (size_t i = 0; i < n; i++)
		s += (long double)v[i];
	m = s / (long double)n;
	for (size_t i = 0; i < n; i++) {
		long double d = (long double)v[i] - m;

		ss += d * d;
	}
	*mean = (double)m;
	*sd = n > 1 ? (double)sqrtl(ss / (long double)(n - 1)) : 0.0;
}

static void test_merge_halves(void)
{
	uint64_t *v = calloc(NSAMPLES, sizeof(*v));
	struct stt_hist a, b, all;
	size_t half = NSAMPLES / 3; /* unequal halves */

	CU_ASSERT_FATAL(v != NULL);
	fill(v, NSAMPLES, DIST_LOGNORMAL, 11);
	/* a few beyond 29 groups, in both parts, so that clamped counts are merged too */
	v[10] = UINT64_C(1) << 40;
	v[NSAMPLES - 10] = UINT64_C(1) << 36;
	v[NSAMPLES - 11] = 0;
	CU_ASSERT_EQUAL_FATAL(stt_hist_init(&a, STT_HIST_IO_GROUPS), 0);
	CU_ASSERT_EQUAL_FATAL(stt_hist_init(&b, STT_HIST_IO_GROUPS), 0);
	CU_ASSERT_EQUAL_FATAL(stt_hist_init(&all, STT_HIST_IO_GROUPS), 0);
	for (size_t i = 0; i < NSAMPLES; i++) {
		stt_hist_add(i < half ? &a : &b, v[i]);
		stt_hist_add(&all, v[i]);
	}
	CU_ASSERT_EQUAL(a.clamped, 1);
	CU_ASSERT_EQUAL(b.clamped, 1);
	CU_ASSERT_EQUAL(stt_hist_merge(&a, &b), 0);
	CU_ASSERT_EQUAL(memcmp(a.bins, all.bins, stt_hist_nbuckets(a.groups) * sizeof(*a.bins)),
			0);
	CU_ASSERT_EQUAL(a.n, NSAMPLES);
	CU_ASSERT_EQUAL(a.n, all.n);
	CU_ASSERT_EQUAL(a.min_ns, all.min_ns);
	CU_ASSERT_EQUAL(a.min_ns, 0);
	CU_ASSERT_EQUAL(a.max_ns, all.max_ns);
	CU_ASSERT_EQUAL(a.max_ns, UINT64_C(1) << 40);
	CU_ASSERT_EQUAL(a.clamped, all.clamped);
	CU_ASSERT_EQUAL(a.clamped, 2);
	CU_ASSERT_TRUE(rel_close(a.mean_ns, all.mean_ns, 1e-9));
	CU_ASSERT_TRUE(rel_close(stt_hist_stddev(&a), stt_hist_stddev(&all), 1e-9));
	/* and the merged figures are the true ones */
	{
		double mean, sd;

		two_pass(v, NSAMPLES, &mean, &sd);
		CU_ASSERT_TRUE(rel_close(a.mean_ns, mean, 1e-9));
		CU_ASSERT_TRUE(rel_close(stt_hist_stddev(&a), sd, 1e-9));
	}
	stt_hist_release(&a);
	stt_hist_release(&b);
	stt_hist_release(&all);
	free(v);
}

/* Parts of different shapes, so that the difference of their means carries weight. */
static void test_merge_unlike(void)
{
	uint64_t *v = calloc(2 * NSAMPLES, sizeof(*v));
	struct stt_hist a, b;
	double mean, sd;

	CU_ASSERT_FATAL(v != NULL);
	fill(v, NSAMPLES, DIST_LOGNORMAL, 21);
	fill(v + NSAMPLES, NSAMPLES / 10, DIST_BIMODAL, 22);
	CU_ASSERT_EQUAL_FATAL(stt_hist_init(&a, STT_HIST_IO_GROUPS), 0);
	CU_ASSERT_EQUAL_FATAL(stt_hist_init(&b, STT_HIST_IO_GROUPS), 0);
	for (size_t i = 0; i < NSAMPLES; i++)
		stt_hist_add(&a, v[i]);
	for (size_t i = NSAMPLES; i < NSAMPLES + NSAMPLES / 10; i++)
		stt_hist_add(&b, v[i]);
	CU_ASSERT_EQUAL(stt_hist_merge(&b, &a), 0);
	two_pass(v, NSAMPLES + NSAMPLES / 10, &mean, &sd);
	CU_ASSERT_EQUAL(b.n, NSAMPLES + NSAMPLES / 10);
	CU_ASSERT_TRUE(rel_close(b.mean_ns, mean, 1e-9));
	CU_ASSERT_TRUE(rel_close(stt_hist_stddev(&b), sd, 1e-9));
	stt_hist_release(&a);
	stt_hist_release(&b);
	free(v);
}

static void test_merge_edges(void)
{
	struct stt_hist a, b, c;

	CU_ASSERT_EQUAL_FATAL(stt_hist_init(&a, STT_HIST_IO_GROUPS), 0);
	CU_ASSERT_EQUAL_FATAL(stt_hist_init(&b, STT_HIST_IO_GROUPS), 0);
	CU_ASSERT_EQUAL_FATAL(stt_hist_init(&c, STT_HIST_SLOW_GROUPS), 0);
	stt_hist_add(&c, 1000);
	CU_ASSERT_EQUAL(stt_hist_merge(&a, &c), -EINVAL);
	CU_ASSERT_EQUAL(stt_hist_merge(&c, &a), -EINVAL);
	CU_ASSERT_EQUAL(a.n, 0);
	CU_ASSERT_EQUAL(c.n, 1);

	/* into an empty one: a copy */
	stt_hist_add(&b, 300);
	stt_hist_add(&b, 500);
	CU_ASSERT_EQUAL(stt_hist_merge(&a, &b), 0);
	CU_ASSERT_EQUAL(a.n, 2);
	CU_ASSERT_EQUAL(a.min_ns, 300);
	CU_ASSERT_EQUAL(a.max_ns, 500);
	CU_ASSERT_DOUBLE_EQUAL(a.mean_ns, 400.0, 1e-12);
	CU_ASSERT_DOUBLE_EQUAL(stt_hist_stddev(&a), sqrt(20000.0), 1e-9);
	/* from an empty one: nothing changes */
	stt_hist_reset(&b);
	CU_ASSERT_EQUAL(stt_hist_merge(&a, &b), 0);
	CU_ASSERT_EQUAL(a.n, 2);
	CU_ASSERT_EQUAL(a.min_ns, 300);
	CU_ASSERT_DOUBLE_EQUAL(a.mean_ns, 400.0, 1e-12);
	/* two single samples: M2 comes only from the difference of the means */
	stt_hist_reset(&b);
	stt_hist_release(&c);
	CU_ASSERT_EQUAL_FATAL(stt_hist_init(&c, STT_HIST_IO_GROUPS), 0);
	stt_hist_add(&b, 100);
	stt_hist_add(&c, 400);
	CU_ASSERT_EQUAL(stt_hist_merge(&b, &c), 0);
	CU_ASSERT_EQUAL(b.n, 2);
	CU_ASSERT_DOUBLE_EQUAL(b.mean_ns, 250.0, 1e-12);
	CU_ASSERT_DOUBLE_EQUAL(stt_hist_stddev(&b), sqrt(45000.0), 1e-9);
	stt_hist_reset(&b);
	/* stddev of fewer than two */
	CU_ASSERT_DOUBLE_EQUAL(stt_hist_stddev(&b), 0.0, 0.0);
	stt_hist_add(&b, 7);
	CU_ASSERT_DOUBLE_EQUAL(stt_hist_stddev(&b), 0.0, 0.0);
	CU_ASSERT_EQUAL(b.min_ns, 7);
	CU_ASSERT_EQUAL(b.max_ns, 7);
	stt_hist_release(&a);
	stt_hist_release(&b);
	stt_hist_release(&c);
}

static void check_mean_stddev(const uint64_t *v, size_t n, double tol)
{
	struct stt_hist h;
	double mean, sd;

	CU_ASSERT_EQUAL_FATAL(stt_hist_init(&h, STT_HIST_SLOW_GROUPS), 0);
	for (size_t i = 0; i < n; i++)
		stt_hist_add(&h, v[i]);
	two_pass(v, n, &mean, &sd);
	CU_ASSERT_TRUE(rel_close(h.mean_ns, mean, tol));
	CU_ASSERT_TRUE(rel_close(stt_hist_stddev(&h), sd, tol));
	if (!rel_close(stt_hist_stddev(&h), sd, tol) || !rel_close(h.mean_ns, mean, tol))
		fprintf(stderr, "mean %.17g want %.17g, sd %.17g want %.17g\n", h.mean_ns, mean,
			stt_hist_stddev(&h), sd);
	stt_hist_release(&h);
}

static void test_mean_stddev(void)
{
	uint64_t *v = calloc(NSAMPLES, sizeof(*v));
	uint64_t st = 99;

	CU_ASSERT_FATAL(v != NULL);
	fill(v, NSAMPLES, DIST_LOGNORMAL, 5);
	check_mean_stddev(v, NSAMPLES, 1e-12);
	fill(v, NSAMPLES, DIST_BIMODAL, 6);
	check_mean_stddev(v, NSAMPLES, 1e-12);
	/*
	 * 1 s +- 300 ns: sum of squares minus n * mean^2 would keep about 3 digits here.
	 * Welford keeps about 10: each update of a mean near 1e9 rounds by up to 6e-8, and that
	 * error reaches M2 (about 4e-11 relative on this data), hence the looser bound.
	 */
	for (size_t i = 0; i < NSAMPLES; i++)
		v[i] = UINT64_C(1000000000) + splitmix64(&st) % 1000;
	check_mean_stddev(v, NSAMPLES, 1e-9);
	free(v);
}

/* ---- summary ---- */

static void test_summary_median(void)
{
	const double odd[] = { 5.0, 1.0, 3.0 }, even[] = { 4.0, 1.0, 3.0, 2.0 }, one[] = { 7.0 };
	const double five[] = { 3.0, 9.0, 1.0, 7.0, 5.0 };
	struct stt_summary s;

	CU_ASSERT_EQUAL(stt_stats_summarize(odd, 3, &s, NULL), 0);
	CU_ASSERT_EQUAL(s.n, 3);
	CU_ASSERT_DOUBLE_EQUAL(s.median, 3.0, 0.0);
	CU_ASSERT_DOUBLE_EQUAL(s.mean, 3.0, 1e-15);
	CU_ASSERT_DOUBLE_EQUAL(s.stddev, 2.0, 1e-15);
	CU_ASSERT_DOUBLE_EQUAL(s.ci_lo, 1.0, 0.0);
	CU_ASSERT_DOUBLE_EQUAL(s.ci_hi, 5.0, 0.0);

	CU_ASSERT_EQUAL(stt_stats_summarize(even, 4, &s, NULL), 0);
	CU_ASSERT_DOUBLE_EQUAL(s.median, 2.5, 0.0);
	CU_ASSERT_DOUBLE_EQUAL(s.ci_lo, 1.0, 0.0);
	CU_ASSERT_DOUBLE_EQUAL(s.ci_hi, 4.0, 0.0);

	CU_ASSERT_EQUAL(stt_stats_summarize(one, 1, &s, NULL), 0);
	CU_ASSERT_DOUBLE_EQUAL(s.median, 7.0, 0.0);
	CU_ASSERT_DOUBLE_EQUAL(s.ci_lo, 7.0, 0.0);
	CU_ASSERT_DOUBLE_EQUAL(s.ci_hi, 7.0, 0.0);
	CU_ASSERT_DOUBLE_EQUAL(s.stddev, 0.0, 0.0);
	CU_ASSERT_EQUAL(s.n_outliers, 0);

	CU_ASSERT_EQUAL(stt_stats_summarize(five, 5, &s, NULL), 0);
	CU_ASSERT_DOUBLE_EQUAL(s.median, 5.0, 0.0);
	CU_ASSERT_DOUBLE_EQUAL(s.ci_lo, 1.0, 0.0);
	CU_ASSERT_DOUBLE_EQUAL(s.ci_hi, 9.0, 0.0);
	CU_ASSERT_TRUE(s.ci_lo <= s.median && s.median <= s.ci_hi);
}

/*
 * The rank j of the interval [x_(j), x_(n+1-j)], worked out here with the binomial pmf by
 * recurrence in long double: the largest j >= 1 with 1 - 2 * P(B <= j-1) >= 0.95, else 0.
 */
static size_t ref_ci_rank(size_t n)
{
	long double pmf = ldexpl(1.0L, -(int)n), cdf = 0.0L;
	size_t j = 0;

	for (size_t i = 0; i <= n / 2; i++) {
		cdf += pmf; /* P(B <= i) */
		if (1.0L - 2.0L * cdf < 0.95L)
			break;
		j = i + 1;
		pmf = pmf * (long double)(n - i) / (long double)(i + 1);
	}
	return j;
}

static void test_summary_ci(void)
{
	double x[300];
	struct stt_summary s;
	uint64_t st = 5;
	size_t bad = 0;

	/* known table values */
	CU_ASSERT_EQUAL(ref_ci_rank(5), 0);
	CU_ASSERT_EQUAL(ref_ci_rank(6), 1);
	CU_ASSERT_EQUAL(ref_ci_rank(10), 2);
	CU_ASSERT_EQUAL(ref_ci_rank(100), 40);

	/* n = 100: the values are their ranks, shuffled */
	for (size_t i = 0; i < 100; i++)
		x[i] = (double)(i + 1);
	for (size_t i = 99; i > 0; i--) {
		size_t k = splitmix64(&st) % (i + 1);
		double t = x[i];

		x[i] = x[k];
		x[k] = t;
	}
	CU_ASSERT_EQUAL(stt_stats_summarize(x, 100, &s, NULL), 0);
	CU_ASSERT_DOUBLE_EQUAL(s.median, 50.5, 0.0);
	CU_ASSERT_DOUBLE_EQUAL(s.ci_lo, 40.0, 0.0);
	CU_ASSERT_DOUBLE_EQUAL(s.ci_hi, 61.0, 0.0);
	CU_ASSERT_DOUBLE_EQUAL(s.mean, 50.5, 1e-12);
	CU_ASSERT_DOUBLE_EQUAL(s.stddev, sqrt(100.0 * 101.0 / 12.0), 1e-12);
	CU_ASSERT_EQUAL(s.n_outliers, 0);

	/* every n up to 300 against the rule, the values again being their ranks */
	for (size_t n = 1; n <= 300; n++) {
		size_t j = ref_ci_rank(n);
		double lo = j ? (double)j : 1.0, hi = j ? (double)(n + 1 - j) : (double)n;

		for (size_t i = 0; i < n; i++)
			x[i] = (double)(n - i);
		if (stt_stats_summarize(x, n, &s, NULL) != 0 || s.ci_lo != lo || s.ci_hi != hi ||
		    s.ci_lo > s.median || s.ci_hi < s.median) {
			if (!bad)
				fprintf(stderr, "n %zu: ci [%g, %g], want [%g, %g]\n", n, s.ci_lo,
					s.ci_hi, lo, hi);
			bad++;
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
}

static void test_summary_outliers(void)
{
	double x[21], saved[21];
	bool out[21];
	const double flat[] = { 5.0, 5.0, 5.0, 5.0, 6.0 };
	bool flat_out[5];
	struct stt_summary s;

	/* 20 points from 95 to 105 in steps of 0.5, and one at 1000 in the middle */
	for (size_t i = 0; i < 21; i++)
		x[i] = 95.0 + 0.5 * (double)i;
	x[10] = 1000.0;
	memcpy(saved, x, sizeof(x));
	memset(out, 1, sizeof(out));
	CU_ASSERT_EQUAL(stt_stats_summarize(x, 21, &s, out), 0);
	CU_ASSERT_EQUAL(memcmp(saved, x, sizeof(x)), 0);
	CU_ASSERT_EQUAL(s.n_outliers, 1);
	for (size_t i = 0; i < 21; i++)
		CU_ASSERT_EQUAL(out[i], i == 10);
	CU_ASSERT_DOUBLE_EQUAL(s.median, 100.5, 0.0);

	/* MAD 0: anything off the median is an outlier */
	CU_ASSERT_EQUAL(stt_stats_summarize(flat, 5, &s, flat_out), 0);
	CU_ASSERT_EQUAL(s.n_outliers, 1);
	CU_ASSERT_FALSE(flat_out[0]);
	CU_ASSERT_FALSE(flat_out[3]);
	CU_ASSERT_TRUE(flat_out[4]);

	/* just inside and just outside 3.5: median 0, MAD 1, threshold 3.5 / 0.6745 */
	{
		const double t = 3.5 / 0.6745;
		const double y[] = { -1.0, -1.0, 0.0, 1.0, 1.0, 0.0, 0.0, t - 1e-6, -t - 1e-6 };
		bool yo[9];

		CU_ASSERT_EQUAL(stt_stats_summarize(y, 9, &s, yo), 0);
		CU_ASSERT_DOUBLE_EQUAL(s.median, 0.0, 0.0);
		CU_ASSERT_FALSE(yo[7]);
		CU_ASSERT_TRUE(yo[8]);
		CU_ASSERT_EQUAL(s.n_outliers, 1);
	}
}

static void test_summary_errors(void)
{
	const double x[] = { 1.0, NAN, 3.0 }, y[] = { 1.0, INFINITY };
	struct stt_summary s;

	CU_ASSERT_EQUAL(stt_stats_summarize(x, 0, &s, NULL), -EINVAL);
	CU_ASSERT_EQUAL(stt_stats_summarize(x, 3, &s, NULL), -EINVAL);
	CU_ASSERT_EQUAL(stt_stats_summarize(y, 2, &s, NULL), -EINVAL);
	CU_ASSERT_EQUAL(stt_stats_summarize(NULL, 2, &s, NULL), -EINVAL);
	CU_ASSERT_EQUAL(stt_stats_summarize(x, 1, NULL, NULL), -EINVAL);
}

/* ---- the spread of one repetition, from the steps between neighbours ---- */

static void test_spread(void)
{
	/* steps 1 -2 3 -4 5 -6 7 -8 9, sorted -8 -6 -4 -2 1 3 5 7 9: q10 -6.4, q90 7.4 */
	const double zig[10] = { 0, 1, -1, 2, -2, 3, -3, 4, -4, 5 };
	/* the same values in order: every step 1, so q90 - q10 is 0 */
	const double ramp[10] = { -4, -3, -2, -1, 0, 1, 2, 3, 4, 5 };
	/*
	 * Two levels, flipping at every repetition: seen. The same two levels in halves: one
	 * step of 19 between them, beyond q90, so not (the run's median averages that drift).
	 */
	const double flip[8] = { 10, 20, 10, 20, 10, 20, 10, 20 };
	const double halves[20] = { 10, 10, 10, 10, 10, 10, 10, 10, 10, 10,
				    20, 20, 20, 20, 20, 20, 20, 20, 20, 20 };
	const double bad[3] = { 1, -1, 2 };
	double w;

	CU_ASSERT_EQUAL(stt_stats_spread(zig, 10, false, 10.0, &w), 0);
	CU_ASSERT_DOUBLE_EQUAL(w, (7.4 + 6.4) / (2 * 1.2816 * M_SQRT2) / 10.0, 1e-12);
	CU_ASSERT_EQUAL(stt_stats_spread(ramp, 10, false, 1.0, &w), 0);
	CU_ASSERT_DOUBLE_EQUAL(w, 0.0, 0);
	CU_ASSERT_EQUAL(stt_stats_spread(flip, 8, true, 0, &w), 0);
	/* 7 steps +-log 2, four up: q10 -log 2, q90 +log 2 */
	CU_ASSERT_DOUBLE_EQUAL(w, 2 * M_LN2 / (2 * 1.2816 * M_SQRT2), 1e-12);
	CU_ASSERT_EQUAL(stt_stats_spread(halves, 20, true, 0, &w), 0);
	CU_ASSERT_DOUBLE_EQUAL(w, 0.0, 1e-12);
	/* relative to a zero reference: infinite unless every value is equal */
	CU_ASSERT_EQUAL(stt_stats_spread(zig, 10, false, 0.0, &w), 0);
	CU_ASSERT_TRUE(isinf(w));
	CU_ASSERT_EQUAL(stt_stats_spread(ramp, 1, false, 0.0, &w), 0);
	CU_ASSERT_DOUBLE_EQUAL(w, 0.0, 0);
	CU_ASSERT_EQUAL(stt_stats_spread(bad, 3, true, 1.0, &w), -EINVAL);
	CU_ASSERT_EQUAL(stt_stats_spread(zig, 0, false, 1.0, &w), -EINVAL);
}

/* Blocks in run order, sizes 2, 2, 3 for 7 values in 3; the median of each, even and odd. */
static void test_block_medians(void)
{
	double x[7] = {5, 1, 9, 3, 8, 2, 7}, one[3] = {4, 6, 5};

	CU_ASSERT_EQUAL(stt_stats_block_medians(x, 7, 3), 3);
	CU_ASSERT_DOUBLE_EQUAL(x[0], 3.0, 0); /* 5 1 */
	CU_ASSERT_DOUBLE_EQUAL(x[1], 6.0, 0); /* 9 3 */
	CU_ASSERT_DOUBLE_EQUAL(x[2], 7.0, 0); /* 8 2 7 */
	CU_ASSERT_EQUAL(stt_stats_block_medians(one, 3, 1), 1);
	CU_ASSERT_DOUBLE_EQUAL(one[0], 5.0, 0);
}

static void test_pooled_slope(void)
{
	/* slope 2 in each group; the groups 100 apart: that offset is not the slope */
	const double c1[3] = {0, 1, 2}, y1[3] = {0, 2, 4};
	const double c2[3] = {10, 11, 12}, y2[3] = {100, 102, 104};
	/* slopes 1 and 3 over equal scatter of c: pooled 2; y2 flat: pooled 0.5 */
	const double y3[3] = {5, 6, 7}, y4[3] = {0, 3, 6}, flat[3] = {9, 9, 9};
	const double cconst[3] = {4, 4, 4}, bad[3] = {0, NAN, 2};
	double b;

	CU_ASSERT_EQUAL(stt_stats_pooled_slope(y1, c1, 3, y2, c2, 3, &b), 0);
	CU_ASSERT_DOUBLE_EQUAL(b, 2.0, 1e-12);
	CU_ASSERT_EQUAL(stt_stats_pooled_slope(y3, c1, 3, y4, c2, 3, &b), 0);
	CU_ASSERT_DOUBLE_EQUAL(b, 2.0, 1e-12);
	CU_ASSERT_EQUAL(stt_stats_pooled_slope(y1, c1, 3, flat, c2, 3, &b), 0);
	CU_ASSERT_DOUBLE_EQUAL(b, 1.0, 1e-12);
	/* one group's c constant: the other alone makes the slope */
	CU_ASSERT_EQUAL(stt_stats_pooled_slope(y1, c1, 3, y4, cconst, 3, &b), 0);
	CU_ASSERT_DOUBLE_EQUAL(b, 2.0, 1e-12);
	/* c constant in both, a group of one, a value not finite */
	CU_ASSERT_EQUAL(stt_stats_pooled_slope(y1, cconst, 3, y2, cconst, 3, &b), -EINVAL);
	CU_ASSERT_EQUAL(stt_stats_pooled_slope(y1, c1, 1, y2, c2, 3, &b), -EINVAL);
	CU_ASSERT_EQUAL(stt_stats_pooled_slope(bad, c1, 3, y2, c2, 3, &b), -EINVAL);
	CU_ASSERT_EQUAL(stt_stats_pooled_slope(y1, c1, 3, y2, bad, 3, &b), -EINVAL);
}

static int cmp_dbl2(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* ---- two samples: Mann-Whitney U, the Hodges-Lehmann shift and its bounds ---- */

/* U of every ordering of m x's and n y's, by enumerating the positions of the x's. */
static void enumerate_u(size_t m, size_t n, double *count)
{
	size_t total = m + n;

	memset(count, 0, (m * n + 1) * sizeof(*count));
	for (unsigned long mask = 0; mask < (1ul << total); mask++) {
		size_t xs = 0, u = 0;

		if ((size_t)__builtin_popcountl(mask) != m)
			continue;
		/* scanning from the smallest: each y is above the x's seen so far */
		for (size_t k = 0; k < total; k++) {
			if (mask & (1ul << k))
				xs++;
			else
				u += xs;
		}
		count[u]++;
	}
}

static void test_mw_distribution(void)
{
	static const size_t sizes[][2] = { { 1, 1 }, { 2, 3 }, { 4, 5 }, { 6, 6 }, { 3, 9 } };
	double cdf[100], count[100];

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		size_t m = sizes[s][0], n = sizes[s][1];
		double total = 0.0, cum = 0.0;

		CU_ASSERT_EQUAL_FATAL(stt_stats_mw_cdf(m, n, cdf), 0);
		enumerate_u(m, n, count);
		for (size_t u = 0; u <= m * n; u++)
			total += count[u];
		for (size_t u = 0; u <= m * n; u++) {
			cum += count[u];
			CU_ASSERT_DOUBLE_EQUAL(cdf[u], cum / total, 1e-12);
		}
	}
	/* Tables of the rank-sum test, m = n = 10: one-sided 0.05 -> 27, 0.025 -> 23. */
	CU_ASSERT_EQUAL(stt_stats_mw_critical(10, 10, 0.05), 27);
	CU_ASSERT_EQUAL(stt_stats_mw_critical(10, 10, 0.025), 23);
	CU_ASSERT_EQUAL(stt_stats_mw_critical(5, 5, 0.05), 4);
	/* P(U <= 0) = 1/C(6,3) = 0.05 exactly: reachable at 0.05, not below */
	CU_ASSERT_EQUAL(stt_stats_mw_critical(3, 3, 0.05), 0);
	CU_ASSERT_EQUAL(stt_stats_mw_critical(3, 3, 0.04), -1);
	/*
	 * Beyond the exact sizes, the normal approximation: floor(mn/2 - 1/2 - z sigma), which at
	 * 50 x 50 (where both exist) is within 2 of the exact value.
	 */
	CU_ASSERT_EQUAL(stt_stats_mw_critical(60, 60, 0.05),
			(long)floor(1800 - 0.5 - 1.6448536269514722 * sqrt(3600.0 * 121 / 12)));
	CU_ASSERT(labs(stt_stats_mw_critical(50, 50, 0.05) -
		       (long)floor(1250 - 0.5 - 1.6448536269514722 * sqrt(2500.0 * 101 / 12))) <= 2);
	CU_ASSERT_EQUAL(stt_stats_mw_cdf(0, 3, cdf), -EINVAL);
	CU_ASSERT_EQUAL(stt_stats_mw_cdf(51, 3, cdf), -EINVAL);
}

static void test_norm(void)
{
	CU_ASSERT_DOUBLE_EQUAL(stt_stats_norm_cdf(0.0), 0.5, 1e-15);
	CU_ASSERT_DOUBLE_EQUAL(stt_stats_norm_cdf(1.959963984540054), 0.975, 1e-12);
	CU_ASSERT_DOUBLE_EQUAL(stt_stats_norm_quantile(0.95), 1.6448536269514722, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(stt_stats_norm_quantile(0.05), -1.6448536269514722, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(stt_stats_norm_quantile(0.5), 0.0, 1e-12);
}

/* p-values of U by brute force over all orderings (no ties). */
static void test_mann_whitney(void)
{
	double x[] = { 1.1, 2.3, 3.5, 4.0 }, y[] = { 2.0, 3.9, 5.1, 6.2, 7.7 };
	double count[32], total = 0.0, le = 0.0, ge = 0.0;
	double t1[] = { 1, 2, 2, 3, 3, 3 }, t2[] = { 3, 4, 4, 5, 5, 6 }, same[] = { 7, 7, 7 };
	struct stt_mw mw;
	long u_obs = 0;

	for (size_t j = 0; j < 5; j++)
		for (size_t i = 0; i < 4; i++)
			u_obs += y[j] > x[i];
	CU_ASSERT_EQUAL_FATAL(stt_stats_mann_whitney(x, 4, y, 5, &mw), 0);
	CU_ASSERT_DOUBLE_EQUAL(mw.u, (double)u_obs, 1e-12);
	CU_ASSERT_TRUE(mw.exact);
	CU_ASSERT_FALSE(mw.ties);
	enumerate_u(4, 5, count);
	for (size_t u = 0; u <= 20; u++) {
		total += count[u];
		if ((long)u <= u_obs)
			le += count[u];
		if ((long)u >= u_obs)
			ge += count[u];
	}
	CU_ASSERT_DOUBLE_EQUAL(mw.p_less, le / total, 1e-12);
	CU_ASSERT_DOUBLE_EQUAL(mw.p_greater, ge / total, 1e-12);

	/* Ties: mid-ranks, the normal approximation. U counts a tie as one half. */
	CU_ASSERT_EQUAL_FATAL(stt_stats_mann_whitney(t1, 6, t2, 6, &mw), 0);
	CU_ASSERT_TRUE(mw.ties);
	CU_ASSERT_FALSE(mw.exact);
	/* pairs: y=3 ties three x=3 (1.5) and beats 3 others (3); 4,4,5,5,6 beat all 6 (30) */
	CU_ASSERT_DOUBLE_EQUAL(mw.u, 34.5, 1e-12);
	CU_ASSERT(mw.p_greater < 0.01);
	CU_ASSERT(mw.p_less > 0.99);
	/* Everything equal: no evidence either way. */
	CU_ASSERT_EQUAL(stt_stats_mann_whitney(same, 3, same, 3, &mw), 0);
	CU_ASSERT_DOUBLE_EQUAL(mw.p_greater, 1.0, 0);
	CU_ASSERT_DOUBLE_EQUAL(mw.p_less, 1.0, 0);
	CU_ASSERT_EQUAL(stt_stats_mann_whitney(x, 0, y, 5, &mw), -EINVAL);
	y[2] = NAN;
	CU_ASSERT_EQUAL(stt_stats_mann_whitney(x, 4, y, 5, &mw), -EINVAL);
}

static void test_shift(void)
{
	double x[10], y[10], d[100];
	uint64_t st = 42;
	struct stt_shift sh;
	size_t k = 0;

	for (size_t i = 0; i < 10; i++) {
		x[i] = 100.0 * (1.0 + 0.1 * gauss(&st));
		y[i] = 120.0 * (1.0 + 0.1 * gauss(&st));
	}
	for (size_t j = 0; j < 10; j++)
		for (size_t i = 0; i < 10; i++)
			d[k++] = y[j] - x[i];
	qsort(d, 100, sizeof(d[0]), cmp_dbl2);
	CU_ASSERT_EQUAL_FATAL(stt_stats_shift(x, 10, y, 10, 0.95, &sh), 0);
	CU_ASSERT_DOUBLE_EQUAL(sh.estimate, (d[49] + d[50]) / 2.0, 1e-12);
	/* one-sided 95%: c = 27, so the 28th smallest and the 28th largest */
	CU_ASSERT_EQUAL(sh.rank, 28);
	CU_ASSERT_DOUBLE_EQUAL(sh.lo, d[27], 0);
	CU_ASSERT_DOUBLE_EQUAL(sh.hi, d[72], 0);
	CU_ASSERT_EQUAL(stt_stats_shift(x, 10, y, 10, 0.90, &sh), 0);
	CU_ASSERT_EQUAL(sh.rank, 33); /* P(U <= 32) <= 0.10 < P(U <= 33) */
	/* Too few values for the level: no bound. */
	CU_ASSERT_EQUAL(stt_stats_shift(x, 2, y, 2, 0.95, &sh), 0);
	CU_ASSERT_EQUAL(sh.rank, 0);
	CU_ASSERT_TRUE(isinf(sh.lo) && sh.lo < 0);
	CU_ASSERT_TRUE(isinf(sh.hi) && sh.hi > 0);
	CU_ASSERT_EQUAL(stt_stats_shift(x, 10, y, 10, 0.4, &sh), -EINVAL);
}

int unit_register_stats(void)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{ "bucket index: fixed values", test_idx_facts },
		{ "bucket index: powers of two", test_idx_powers },
		{ "bucket index: group tops, clamping", test_idx_group_tops },
		{ "bucket index: against restatement", test_idx_reference },
		{ "bucket midpoint: every bucket", test_midpoint },
		{ "percentiles: lognormal", test_pct_lognormal },
		{ "percentiles: bimodal", test_pct_bimodal },
		{ "percentiles: uniform", test_pct_uniform },
		{ "percentiles: hand-made", test_pct_small },
		{ "percentiles: caller's order", test_pct_order },
		{ "percentiles: errors, reset", test_pct_errors },
		{ "merge: two parts equal the whole", test_merge_halves },
		{ "merge: parts of different shapes", test_merge_unlike },
		{ "merge: empty, single, mismatched", test_merge_edges },
		{ "mean and stddev: two-pass", test_mean_stddev },
		{ "summary: median", test_summary_median },
		{ "summary: median interval", test_summary_ci },
		{ "summary: outliers", test_summary_outliers },
		{ "summary: errors", test_summary_errors },
		{ "spread: steps between neighbours", test_spread },
		{ "block medians in run order", test_block_medians },
		{ "pooled slope within two groups", test_pooled_slope },
		{ "Mann-Whitney: distribution against enumeration", test_mw_distribution },
		{ "normal distribution and quantile", test_norm },
		{ "Mann-Whitney: p-values, ties", test_mann_whitney },
		{ "shift: Hodges-Lehmann and Moses bounds", test_shift },
	};
	CU_pSuite suite = CU_add_suite("stats", NULL, NULL);

	if (!suite)
		return CU_get_error();
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		if (!CU_add_test(suite, tests[i].name, tests[i].fn))
			return CU_get_error();
	}
	return CU_get_error();
}
