// SPDX-License-Identifier: GPL-2.0-or-later
/* The tuning sweep's logic: its lists, its points, and the "tune" member it writes. */
#include "unit.h"

#include "measure/bench.h"
#include "base/err.h"
#include "base/json.h"
#include "advice/results.h"
#include "measure/tune.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_chunks(void)
{
	uint32_t c[STT_TUNE_MAX_CHUNKS];
	size_t n;

	CU_ASSERT_EQUAL(stt_tune_parse_chunks(STT_TUNE_DEFAULT_CHUNKS, c, STT_TUNE_MAX_CHUNKS, &n), 0);
	CU_ASSERT_EQUAL_FATAL(n, 6);
	CU_ASSERT_EQUAL(c[0], 65536);
	CU_ASSERT_EQUAL(c[3], 524288);
	CU_ASSERT_EQUAL(c[5], 2097152);

	/* The order given is kept; units as everywhere (k, KiB, bytes). */
	CU_ASSERT_EQUAL(stt_tune_parse_chunks("2M,64k,192KiB,1G", c, STT_TUNE_MAX_CHUNKS, &n), 0);
	CU_ASSERT_EQUAL_FATAL(n, 4);
	CU_ASSERT_EQUAL(c[0], 2u << 20);
	CU_ASSERT_EQUAL(c[1], 64u << 10);
	CU_ASSERT_EQUAL(c[2], 192u << 10);
	CU_ASSERT_EQUAL(c[3], 1u << 30);

	/* dm-thin's rule: a multiple of 64K from 64K to 1G; each refusal names the value. */
	static const struct {
		const char *list, *named, *why;
	} bad[] = {
		{ "64K,100K", "100K", "multiple of 64K" },
		{ "32K", "32K", "multiple of 64K" },
		{ "2G", "2G", "to 1G" },
		{ "0", "0", "multiple of 64K" },
		{ "64K,lots", "lots", "not a size" },
		{ "64K,64k", "64k", "listed twice" },
		{ "65536,64K", "64K", "listed twice" },
		{ "64K,,128K", "64K,,128K", "empty item" },
		{ "", "--chunk-sizes", "empty" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(stt_tune_parse_chunks(bad[i].list, c, STT_TUNE_MAX_CHUNKS, &n),
				-EINVAL);
		CU_ASSERT_PTR_NOT_NULL(strstr(stt_err_msg(), bad[i].named));
		CU_ASSERT_PTR_NOT_NULL(strstr(stt_err_msg(), bad[i].why));
	}
	/* No more than the caller holds. */
	CU_ASSERT_EQUAL(stt_tune_parse_chunks("64K,128K,192K", c, 2, &n), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(stt_err_msg(), "more than 2"));
}

static void test_zeroing(void)
{
	bool z[2];
	size_t n;

	CU_ASSERT_EQUAL(stt_tune_parse_zeroing("on,off", z, &n), 0);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_TRUE(z[0]);
	CU_ASSERT_FALSE(z[1]);
	CU_ASSERT_EQUAL(stt_tune_parse_zeroing(STT_TUNE_DEFAULT_ZEROING, z, &n), 0);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_FALSE(z[0]);
	CU_ASSERT_TRUE(z[1]);
	CU_ASSERT_EQUAL(stt_tune_parse_zeroing("off", z, &n), 0);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_FALSE(z[0]);
	CU_ASSERT_EQUAL(stt_tune_parse_zeroing("1", z, &n), 0);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_TRUE(z[0]);

	CU_ASSERT_EQUAL(stt_tune_parse_zeroing("on,maybe", z, &n), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(stt_err_msg(), "maybe"));
	CU_ASSERT_EQUAL(stt_tune_parse_zeroing("on,yes", z, &n), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(stt_err_msg(), "listed twice"));
	CU_ASSERT_EQUAL(stt_tune_parse_zeroing("", z, &n), -EINVAL);
	CU_ASSERT_EQUAL(stt_tune_parse_zeroing("on,", z, &n), -EINVAL);
}

static void test_points(void)
{
	const uint32_t chunks[] = { 64u << 10, 512u << 10, 2u << 20 };
	const bool zero[] = { true, false };
	struct stt_tune_point *p;
	size_t n;

	CU_ASSERT_EQUAL_FATAL(stt_tune_points(chunks, 3, zero, 2, &p, &n), 0);
	CU_ASSERT_EQUAL_FATAL(n, 6);
	/* Chunk sizes outer, zeroing inner, in the order given. */
	for (size_t i = 0; i < n; i++) {
		CU_ASSERT_EQUAL(p[i].chunk_bytes, chunks[i / 2]);
		CU_ASSERT_EQUAL(p[i].zeroing, zero[i % 2]);
	}
	free(p);
	CU_ASSERT_EQUAL(stt_tune_points(chunks, 1, zero, 1, &p, &n), 0);
	CU_ASSERT_EQUAL(n, 1);
	free(p);
	CU_ASSERT_EQUAL(stt_tune_points(chunks, 0, zero, 2, &p, &n), -EINVAL);
	CU_ASSERT_PTR_NULL(p);
}

/* A summary over three repetitions whose values are @a, @b, @c. */
static struct json_object *sum3(double a, double b, double c, const char *unit)
{
	double x[3] = { a, b, c };

	return stt_bench_summary_json(x, 3, unit);
}

/* An io --json pass whose write clat has p50 @p50 and mean @mean. */
static struct json_object *pass(double p50, double mean)
{
	char text[256];

	snprintf(text, sizeof(text),
		 "{ \"write\": { \"clat_ns\": { \"mean\": %f, \"percentile\": "
		 "{ \"50.000000\": %f, \"99.000000\": %f } } } }",
		 mean, p50, p50 * 4);
	return json_tokener_parse(text);
}

/*
 * A bench result as stt_bench_run writes it for a thin pool in cold mode, with the members
 * tune reads (and one it does not, to show it is carried along under "bench").
 */
static struct json_object *fake_bench(bool with_provisioning)
{
	struct json_object *b = json_object_new_object(), *cold = json_object_new_object();
	struct json_object *phases = json_object_new_object(), *ph, *dev, *storm, *prov, *modes;

	json_object_object_add(b, "backend", json_object_new_string("dm-loop"));
	ph = json_object_new_object();
	json_object_object_add(ph, "p50_ns", sum3(2e6, 3e6, 4e6, "ns"));
	json_object_object_add(ph, "p99_ns", sum3(5e6, 6e6, 9e6, "ns"));
	json_object_object_add(phases, "start", ph);
	ph = json_object_new_object();
	json_object_object_add(ph, "p50_ns", sum3(7e5, 8e5, 9e5, "ns"));
	json_object_object_add(phases, "first-write", ph);
	ph = json_object_new_object();
	dev = json_object_new_object();
	json_object_object_add(ph, "p50_ns", sum3(1e5, 2e5, 3e5, "ns"));
	/* Four containers: 4 x 64K, 4 x 80K, 4 x 128K written in the phase. */
	json_object_object_add(dev, "write_bytes", sum3(262144, 327680, 524288, "bytes"));
	json_object_object_add(ph, "device", dev);
	json_object_object_add(phases, "cow-write", ph);
	json_object_object_add(cold, "phases", phases);
	storm = json_object_new_object();
	json_object_object_add(storm, "containers_per_s", sum3(10, 12, 11, "containers/s"));
	json_object_object_add(cold, "storm", storm);
	json_object_object_add(cold, "pool_data_per_container_bytes",
			       sum3(1048576, 2097152, 1048576, "bytes"));
	modes = json_object_new_object();
	json_object_object_add(modes, "cold", cold);
	json_object_object_add(b, "modes", modes);
	if (with_provisioning) {
		prov = json_object_new_object();
		json_object_object_add(prov, "first_write", pass(30000, 90000));
		json_object_object_add(prov, "overwrite", pass(10000, 20000));
		json_object_object_add(b, "provisioning", prov);
	}
	json_object_object_add(b, "warnings", json_object_new_array());
	return b;
}

static double num(struct json_object *o, const char *path)
{
	struct json_object *v = stt_json_get(o, path);

	CU_ASSERT_PTR_NOT_NULL(v);
	return v ? json_object_get_double(v) : NAN;
}

static size_t members(struct json_object *o)
{
	size_t n = 0;

	json_object_object_foreach(o, k, v)
	{
		(void)k;
		(void)v;
		n++;
	}
	return n;
}

static void test_layout(void)
{
	const struct stt_tune_info info = { .backend = "dm-loop",
					    .profile = "ci",
					    .containers = 4,
					    .concurrency = 2,
					    .repetitions = 3,
					    .device = NULL };
	const struct stt_tune_point p64 = { 64u << 10, false }, p2m = { 2u << 20, true };
	struct json_object *tune, *bench, *pt, *s;
	size_t ok;
	static const char *const keys[] = {
		"chunk_size_bytes", "zeroing",		  "status",
		"start_p50_ns",	    "start_p99_ns",	  "first_write_p50_ns",
		"cow_write_p50_ns", "cow_write_bytes",	  "storm_containers_per_s",
		"provisioning",	    "pool_data_bytes_per_container", "bench",
	};

	CU_ASSERT_EQUAL_FATAL(stt_tune_new(&info, &tune), 0);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(stt_json_get(tune, "backend")), "dm-loop");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(stt_json_get(tune, "profile")), "ci");
	CU_ASSERT_EQUAL(json_object_get_int(stt_json_get(tune, "containers")), 4);
	CU_ASSERT_EQUAL(json_object_get_int(stt_json_get(tune, "concurrency")), 2);
	CU_ASSERT_EQUAL(json_object_get_int(stt_json_get(tune, "repetitions")), 3);
	/* "device" is there, and null without --device. */
	CU_ASSERT_TRUE(json_object_object_get_ex(tune, "device", &s));
	CU_ASSERT_PTR_NULL(s);

	bench = fake_bench(true);
	CU_ASSERT_EQUAL_FATAL(stt_tune_add_ok(tune, &p64, bench), 0);
	CU_ASSERT_EQUAL(stt_tune_add_failed(tune, &p2m, "thin pool out of data space"), 0);
	CU_ASSERT_EQUAL(stt_tune_count(tune, &ok), 2);
	CU_ASSERT_EQUAL(ok, 1);

	pt = json_object_array_get_idx(stt_json_get(tune, "points"), 0);
	CU_ASSERT_EQUAL(members(pt), sizeof(keys) / sizeof(keys[0]));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		CU_ASSERT_TRUE(json_object_object_get_ex(pt, keys[i], NULL));
	CU_ASSERT_EQUAL(json_object_get_int64(stt_json_get(pt, "chunk_size_bytes")), 65536);
	CU_ASSERT_FALSE(json_object_get_boolean(stt_json_get(pt, "zeroing")));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(stt_json_get(pt, "status")), "ok");
	/* Summaries as the bench made them. */
	CU_ASSERT_DOUBLE_EQUAL(num(pt, "start_p50_ns.median"), 3e6, 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(num(pt, "start_p99_ns.median"), 6e6, 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(num(pt, "first_write_p50_ns.median"), 8e5, 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(num(pt, "cow_write_p50_ns.median"), 2e5, 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(num(pt, "storm_containers_per_s.median"), 11, 1e-9);
	CU_ASSERT_EQUAL(json_object_get_int(stt_json_get(pt, "start_p50_ns.n")), 3);
	/* cow-write bytes per container: the phase's device bytes over the 4 containers. */
	s = stt_json_get(pt, "cow_write_bytes");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(stt_json_get(s, "unit")), "bytes");
	CU_ASSERT_EQUAL(json_object_get_int(stt_json_get(s, "n")), 3);
	CU_ASSERT_DOUBLE_EQUAL(num(s, "median"), 81920, 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(num(s, "mean"), (65536 + 81920 + 131072) / 3.0, 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(json_object_get_double(json_object_array_get_idx(
				       stt_json_get(s, "ci95"), 0)),
			       json_object_get_double(json_object_array_get_idx(
				       stt_json_get(bench, "modes.cold.phases.cow-write.device."
							   "write_bytes.ci95"),
				       0)) / 4,
			       1e-6);
	CU_ASSERT_DOUBLE_EQUAL(num(s, "stddev"),
			       num(bench, "modes.cold.phases.cow-write.device.write_bytes.stddev") /
				       4,
			       1e-6);
	/* The bench's own summary is left as it was. */
	CU_ASSERT_DOUBLE_EQUAL(num(bench, "modes.cold.phases.cow-write.device.write_bytes.median"),
			       327680, 1e-6);
	/* Provisioning: fio's clat p50 and mean of both passes, and their ratios. */
	CU_ASSERT_DOUBLE_EQUAL(num(pt, "provisioning.first_write_clat_p50_ns"), 30000, 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(num(pt, "provisioning.overwrite_clat_p50_ns"), 10000, 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(num(pt, "provisioning.first_write_clat_mean_ns"), 90000, 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(num(pt, "provisioning.overwrite_clat_mean_ns"), 20000, 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(num(pt, "provisioning.clat_p50_ratio"), 3.0, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(num(pt, "provisioning.clat_mean_ratio"), 4.5, 1e-9);
	/* Space: the median of the bench's per-container pool data, a plain number. */
	CU_ASSERT_TRUE(json_object_is_type(stt_json_get(pt, "pool_data_bytes_per_container"),
					   json_type_double));
	CU_ASSERT_DOUBLE_EQUAL(num(pt, "pool_data_bytes_per_container"), 1048576, 1e-6);
	CU_ASSERT_PTR_EQUAL(stt_json_get(pt, "bench"), bench);

	/* A failed point: those four members only. */
	pt = json_object_array_get_idx(stt_json_get(tune, "points"), 1);
	CU_ASSERT_EQUAL(members(pt), 4);
	CU_ASSERT_EQUAL(json_object_get_int64(stt_json_get(pt, "chunk_size_bytes")), 2097152);
	CU_ASSERT_TRUE(json_object_get_boolean(stt_json_get(pt, "zeroing")));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(stt_json_get(pt, "status")), "failed");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(stt_json_get(pt, "reason")),
			       "thin pool out of data space");
	json_object_put(bench);
	json_object_put(tune);
}

/* A bench result without a figure the point needs: refused with the reason, nothing added. */
static void test_incomplete(void)
{
	const struct stt_tune_info info = { "direct-lvm", "ci", 4, 2, 1, "/dev/nvme0n1" };
	const struct stt_tune_point p = { 512u << 10, false };
	struct json_object *tune, *bench;
	size_t ok;

	CU_ASSERT_EQUAL_FATAL(stt_tune_new(&info, &tune), 0);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(stt_json_get(tune, "device")),
			       "/dev/nvme0n1");
	bench = fake_bench(false);
	CU_ASSERT_EQUAL(stt_tune_add_ok(tune, &p, bench), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(stt_err_msg(), "provisioning"));
	CU_ASSERT_EQUAL(stt_tune_count(tune, &ok), 0);
	json_object_put(bench);

	bench = fake_bench(true);
	json_object_object_del(stt_json_get(bench, "modes.cold.phases"), "start");
	CU_ASSERT_EQUAL(stt_tune_add_ok(tune, &p, bench), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(stt_err_msg(), "modes.cold.phases.start.p50_ns"));
	json_object_put(bench);

	bench = fake_bench(true);
	json_object_object_del(stt_json_get(bench, "modes.cold"), "pool_data_per_container_bytes");
	CU_ASSERT_EQUAL(stt_tune_add_ok(tune, &p, bench), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(stt_err_msg(), "pool data per container"));
	CU_ASSERT_EQUAL(stt_tune_count(tune, &ok), 0);
	json_object_put(bench);

	/* Without a cow-write phase (no mid-file write in the profile): nulls. */
	bench = fake_bench(true);
	json_object_object_del(stt_json_get(bench, "modes.cold.phases"), "cow-write");
	CU_ASSERT_EQUAL(stt_tune_add_ok(tune, &p, bench), 0);
	CU_ASSERT_EQUAL(stt_tune_count(tune, &ok), 1);
	CU_ASSERT_EQUAL(ok, 1);
	{
		struct json_object *pt = json_object_array_get_idx(stt_json_get(tune, "points"), 0),
				   *v = (struct json_object *)1;

		CU_ASSERT_TRUE(json_object_object_get_ex(pt, "cow_write_bytes", &v));
		CU_ASSERT_PTR_NULL(v);
	}
	json_object_put(bench);
	json_object_put(tune);
}

/* In a results document, the member survives a write and a read as it was. */
static void test_round_trip(void)
{
	const struct stt_tune_info info = { "dm-loop", "ci", 4, 2, 3, NULL };
	const struct stt_tune_point p = { 128u << 10, true };
	char path[] = "/tmp/stt-unit-tune-XXXXXX";
	struct json_object *doc, *tune, *bench, *back;
	int fd = mkstemp(path);

	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL_FATAL(stt_results_new(NULL, "vm-tcg", &doc), 0);
	CU_ASSERT_EQUAL_FATAL(stt_tune_new(&info, &tune), 0);
	json_object_object_add(doc, "tune", tune);
	bench = fake_bench(true);
	CU_ASSERT_EQUAL(stt_tune_add_ok(tune, &p, bench), 0);
	json_object_put(bench);
	CU_ASSERT_EQUAL(stt_tune_add_failed(tune, &p, "interrupted"), 0);
	CU_ASSERT_EQUAL(stt_results_write(doc, path), 0);
	CU_ASSERT_EQUAL_FATAL(stt_results_load(path, &back), 0);
	CU_ASSERT_TRUE(json_object_equal(doc, back));
	CU_ASSERT_EQUAL(json_object_array_length(stt_json_get(back, "backends")), 0);
	CU_ASSERT_EQUAL(json_object_get_int64(json_object_object_get(
				json_object_array_get_idx(stt_json_get(back, "tune.points"), 0),
				"chunk_size_bytes")),
			131072);
	json_object_put(back);
	json_object_put(doc);
	unlink(path);
}

int unit_register_tune(void)
{
	CU_pSuite s = CU_add_suite("tune", NULL, NULL);

	if (!s)
		return CU_get_error();
	CU_add_test(s, "chunk-size lists: dm-thin's rule, named refusals", test_chunks);
	CU_add_test(s, "zeroing lists", test_zeroing);
	CU_add_test(s, "the points: chunk sizes x zeroing, in order", test_points);
	CU_add_test(s, "the tune member and its points", test_layout);
	CU_add_test(s, "an incomplete bench result is refused", test_incomplete);
	CU_add_test(s, "a results document with a tune member round-trips", test_round_trip);
	return CU_get_error();
}
