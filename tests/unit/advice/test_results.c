// SPDX-License-Identifier: GPL-2.0-or-later
/* The results document round-trips, and bad files are refused with the reason. */
#include "unit.h"

#include "base/err.h"
#include "measure/bench.h"
#include "sys/devstat.h"
#include "base/json.h"
#include "advice/results.h"
#include "base/stats.h"

#include <errno.h>
#include <math.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
}

static void test_round_trip(void)
{
	char path[] = "/tmp/stt-unit-results-XXXXXX";
	struct json_object *doc, *back, *b, *arr, *jh;
	struct stt_hist h;
	double reps[5] = { 10, 12, 11, 13, 12 };
	int fd = mkstemp(path);

	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL_FATAL(stt_results_new(NULL, "native", &doc), 0);
	CU_ASSERT_EQUAL_FATAL(stt_hist_init(&h, STT_HIST_SLOW_GROUPS), 0);
	for (uint64_t v = 1000; v < 5000000; v = v * 3 / 2)
		stt_hist_add(&h, v);
	b = json_object_new_object();
	json_object_object_add(b, "backend", json_object_new_string("overlay"));
	CU_ASSERT_EQUAL_FATAL(stt_json_hist(&h, STT_JSON_HIST_DETAIL | STT_JSON_HIST_CLAMPED, &jh),
			      0);
	json_object_object_add(b, "lat_ns", jh);
	json_object_object_add(b, "p50_ns", stt_bench_summary_json(reps, 5, "ns"));
	arr = json_object_object_get(doc, "backends");
	json_object_array_add(arr, b);
	CU_ASSERT_EQUAL(stt_results_write(doc, path), 0);
	CU_ASSERT_EQUAL_FATAL(stt_results_load(path, &back), 0);
	/* Every value written is read back as it was. */
	CU_ASSERT_TRUE(json_object_equal(doc, back));
	b = json_object_array_get_idx(json_object_object_get(back, "backends"), 0);
	CU_ASSERT_EQUAL(json_object_get_int64(json_object_object_get(
				json_object_object_get(b, "lat_ns"), "N")),
			(int64_t)h.n);
	CU_ASSERT_DOUBLE_EQUAL(json_object_get_double(json_object_object_get(
				       json_object_object_get(b, "p50_ns"), "median")),
			       12.0, 1e-9);
	CU_ASSERT_STRING_EQUAL(stt_results_env_label(back), "native");
	json_object_put(doc);
	json_object_put(back);
	stt_hist_release(&h);
	unlink(path);
}

static void test_refused(void)
{
	char path[] = "/tmp/stt-unit-results-XXXXXX";
	struct json_object *doc;
	int fd = mkstemp(path);

	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	put(path, "not json {");
	CU_ASSERT_EQUAL(stt_results_load(path, &doc), -EINVAL);
	put(path, "{\"schema\": \"stortune-probe\", \"schema_version\": 1}");
	CU_ASSERT_EQUAL(stt_results_load(path, &doc), -EINVAL);
	put(path, "{\"schema\": \"stortune-results\", \"schema_version\": 99, \"backends\": []}");
	CU_ASSERT_EQUAL(stt_results_load(path, &doc), -EINVAL);
	put(path, "{\"schema\": \"stortune-results\", \"schema_version\": 1, \"backends\": 3}");
	CU_ASSERT_EQUAL(stt_results_load(path, &doc), -EINVAL);
	/* a null or non-string schema (was strcmp of NULL; tests/unit/data/fuzz/results/) */
	put(path, "{\"schema\": null, \"schema_version\": 1, \"backends\": []}");
	CU_ASSERT_EQUAL(stt_results_load(path, &doc), -EINVAL);
	put(path, "{\"schema\": [\"stortune-results\"], \"schema_version\": 1, \"backends\": []}");
	CU_ASSERT_EQUAL(stt_results_load(path, &doc), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(stt_err_msg(), "not a stortune results file"));
	unlink(path);
	CU_ASSERT_EQUAL(stt_results_load(path, &doc), -ENOENT);
}

static void test_devstat(void)
{
	struct stt_devstat a, b, d;
	uint64_t cached;

	/* A 6.x kernel's line: 17 fields. */
	CU_ASSERT_EQUAL(stt_devstat_parse("49838371  1191457 1683909826 13341364 24376539    31597 "
					  "219032559  7690245       29  1578932 21044878    28348 "
					  "      47 25983752     6091    31499     7178",
					  &a),
			0);
	CU_ASSERT_EQUAL(a.read_ios, 49838371);
	CU_ASSERT_EQUAL(a.read_bytes, 1683909826ull * 512);
	CU_ASSERT_EQUAL(a.write_ios, 24376539);
	CU_ASSERT_EQUAL(a.write_bytes, 219032559ull * 512);
	CU_ASSERT_EQUAL(a.discard_ios, 28348);
	CU_ASSERT_EQUAL(a.discard_bytes, 25983752ull * 512);
	/* An old kernel's 11 fields: no discards. */
	CU_ASSERT_EQUAL(stt_devstat_parse("10 0 80 5 4 0 16 2 0 7 7", &b), 0);
	CU_ASSERT_EQUAL(b.read_bytes, 80 * 512);
	CU_ASSERT_EQUAL(b.discard_ios, 0);
	CU_ASSERT_EQUAL(stt_devstat_parse("1 2 3", &b), -EINVAL);
	CU_ASSERT_EQUAL(stt_devstat_parse("10 0 80 5 4 0 16 2 0 7 7", &a), 0);
	CU_ASSERT_EQUAL(stt_devstat_parse("15 0 100 5 6 0 40 2 0 7 7", &b), 0);
	stt_devstat_delta(&a, &b, &d);
	CU_ASSERT_EQUAL(d.read_ios, 5);
	CU_ASSERT_EQUAL(d.read_bytes, 20 * 512);
	CU_ASSERT_EQUAL(d.write_bytes, 24 * 512);
	CU_ASSERT_EQUAL(stt_devstat_parse_cached("MemTotal: 100 kB\nCached:   2048 kB\n", &cached),
			0);
	CU_ASSERT_EQUAL(cached, 2048 * 1024);
	CU_ASSERT_EQUAL(stt_devstat_parse_cached("MemTotal: 100 kB\n", &cached), -EINVAL);
}

static void test_summary(void)
{
	/* noisy is compare's "not gated": 3 x the spread of one repetition reaches 1 */
	double quiet[6] = { 100, 101, 99, 100, 102, 100 }, loud[6] = { 30, 200, 100, 60, 150, 95 };
	double fair[6] = { 50, 150, 100, 80, 120, 95 }; /* spreads +-32%: gateable */
	double spread;
	struct json_object *s, *vals;

	s = stt_bench_summary_json(quiet, 6, "ns");
	CU_ASSERT_FALSE(json_object_get_boolean(json_object_object_get(s, "noisy")));
	CU_ASSERT_EQUAL(json_object_get_int(json_object_object_get(s, "n")), 6);
	/* the repetitions themselves, in run order */
	vals = json_object_object_get(s, "values");
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(vals), 6);
	for (size_t i = 0; i < 6; i++)
		CU_ASSERT_DOUBLE_EQUAL(json_object_get_double(json_object_array_get_idx(vals, i)),
				       quiet[i], 0);
	json_object_put(s);
	s = stt_bench_summary_json(loud, 6, "ns");
	CU_ASSERT_TRUE(json_object_get_boolean(json_object_object_get(s, "noisy")));
	CU_ASSERT_EQUAL(stt_stats_spread(loud, 6, true, 97.5, &spread), 0);
	CU_ASSERT_DOUBLE_EQUAL(json_object_get_double(json_object_object_get(s, "spread")), spread,
			       1e-12);
	CU_ASSERT(spread * STT_STATS_NOISE_FACTOR >= 1.0);
	json_object_put(s);
	s = stt_bench_summary_json(fair, 6, "ns");
	CU_ASSERT_FALSE(json_object_get_boolean(json_object_object_get(s, "noisy")));
	CU_ASSERT_DOUBLE_EQUAL(json_object_get_double(json_object_object_get(s, "spread")),
			       /* log steps, sorted: -0.41 -0.23 -0.22 0.41 1.10 */
			       (log(1.5) + 0.6 * (log(3) - log(1.5)) - log(100.0 / 150) -
				0.4 * (log(95.0 / 120) - log(100.0 / 150))) /
				   (2.5632 * M_SQRT2),
			       1e-12);
	json_object_put(s);
}

/* A run that failed or was interrupted says so; the first reason stays; the file reads back. */
static void test_incomplete(void)
{
	char path[] = "/tmp/stt-unit-results-XXXXXX";
	struct json_object *doc, *back, *v;
	int fd = mkstemp(path);

	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL_FATAL(stt_results_new(NULL, "native", &doc), 0);
	CU_ASSERT_FALSE(stt_results_incomplete(doc));
	CU_ASSERT_TRUE(json_object_object_get_ex(doc, "incomplete", &v));
	stt_results_mark_incomplete(doc, "overlay: no space left on device (ENOSPC) in import");
	stt_results_mark_incomplete(doc, "interrupted by signal 15");
	CU_ASSERT_TRUE(stt_results_incomplete(doc));
	CU_ASSERT_EQUAL_FATAL(stt_results_write(doc, path), 0);
	CU_ASSERT_EQUAL_FATAL(stt_results_load(path, &back), 0);
	CU_ASSERT_TRUE(stt_results_incomplete(back));
	CU_ASSERT_TRUE(json_object_object_get_ex(back, "incomplete_reason", &v));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(v),
			       "overlay: no space left on device (ENOSPC) in import");
	json_object_put(back);
	json_object_put(doc);
	unlink(path);
}

int unit_register_results(void)
{
	CU_pSuite s = CU_add_suite("results", NULL, NULL);

	if (!s)
		return CU_get_error();
	CU_add_test(s, "write and read back", test_round_trip);
	CU_add_test(s, "bad files refused", test_refused);
	CU_add_test(s, "device counters and page cache", test_devstat);
	CU_add_test(s, "summaries flag noise", test_summary);
	CU_add_test(s, "a failed run's document is marked incomplete", test_incomplete);
	return CU_get_error();
}
