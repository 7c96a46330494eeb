// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * stortune bench on overlay, natively, with the ci profile: the results file is complete and
 * its figures plausible (n per phase = containers x repetitions; cold first-read bytes on the
 * device at least the working set, warm far less); bad profiles are refused with the file,
 * line and key, exit 2; compare reads the results file; nothing is left behind.
 */
#include "priv.h"

#include "base/json.h"
#include "advice/results.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * 20 containers: page cache per container is the system-wide growth over the read phase
 * divided by them, so a neighbour's file I/O must pass 4.6 MB (0.9 x the working set x 20) in
 * two of the three repetitions to fail the sharing check; with 6 it took 1.4 MB (seen failing
 * on a machine busy with other builds).
 */
#define CONTAINERS 20
#define REPS 3

static const char *const phases[] = { "create",	  "start", "first-read", "first-write",
				      "cow-write", "stop",  "remove" };

static double med(struct json_object *o, const char *path)
{
	return json_object_get_double(stt_json_get(o, path));
}

static void test_overlay_ci(void)
{
	char out[512], work[512], jdir[512];
	struct json_object *doc, *be, *m;
	double working_set;

	snprintf(out, sizeof(out), "%s/bench.json", priv_dir());
	snprintf(work, sizeof(work), "%s/bench-work", priv_dir());
	snprintf(jdir, sizeof(jdir), "%s/bench-journal", priv_dir());
	CU_ASSERT_EQUAL_FATAL(priv_sh("%s bench --backend overlay --profile ci --containers %d "
				      "--repetitions %d --workdir '%s' --journal-dir '%s' -q -o "
				      "'%s' >/dev/null",
				      priv_stortune(), CONTAINERS, REPS, work, jdir, out),
			      0);
	CU_ASSERT_EQUAL_FATAL(stt_results_load(out, &doc), 0);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(stt_json_get(doc, "profile.name")), "ci");
	CU_ASSERT_PTR_NOT_NULL(stt_json_get(doc, "environment.host.kernel.release"));
	CU_ASSERT_PTR_NOT_NULL(stt_json_get(doc, "image.digest"));
	be = json_object_array_get_idx(stt_json_get(doc, "backends"), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(be);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(stt_json_get(be, "backend")), "overlay");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(stt_json_get(be, "status")), "ok");
	working_set = json_object_get_double(
		stt_json_get(doc, "image.startup.read_bytes"));
	CU_ASSERT(working_set > 0);

	for (int mode = 0; mode < 2; mode++) {
		m = stt_json_get(be, mode ? "modes.warm" : "modes.cold");
		CU_ASSERT_PTR_NOT_NULL_FATAL(m);
		for (size_t p = 0; p < sizeof(phases) / sizeof(phases[0]); p++) {
			struct json_object *ph = stt_json_get(stt_json_get(m, "phases"),
								 phases[p]);

			CU_ASSERT_PTR_NOT_NULL_FATAL(ph);
			/* Every container of every repetition is in the histogram. */
			CU_ASSERT_EQUAL(json_object_get_int(stt_json_get(ph, "lat_ns.N")),
					CONTAINERS * REPS);
			CU_ASSERT_EQUAL(json_object_get_int(stt_json_get(ph, "p50_ns.n")), REPS);
			CU_ASSERT(med(ph, "p50_ns.median") > 0);
			CU_ASSERT(med(ph, "p99_ns.median") >= med(ph, "p50_ns.median"));
		}
		CU_ASSERT(med(m, "storm.containers_per_s.median") > 0);
	}
	/* Cold: the working set comes from the device at least once; warm: from the cache. */
	m = stt_json_get(be, "modes.cold.phases.first-read.device.read_bytes");
	CU_ASSERT(json_object_get_double(stt_json_get(m, "median")) >= working_set);
	m = stt_json_get(be, "modes.warm.phases.first-read.device.read_bytes");
	CU_ASSERT(json_object_get_double(stt_json_get(m, "median")) < working_set / 10);
	/*
	 * Overlay shares the page cache: the working set comes from the device about once a
	 * repetition, not once a container. (Asked of the loop device's own counters: the page
	 * cache figure is the machine's, and the work of others beside the test adds to it.)
	 */
	m = stt_json_get(be, "modes.cold.phases.first-read.device.read_bytes");
	CU_ASSERT(json_object_get_double(stt_json_get(m, "median")) <
		  working_set * CONTAINERS / 2.0);
	CU_ASSERT_PTR_NOT_NULL(stt_json_get(be, "modes.cold.page_cache_per_container_bytes.median"));
	/* Writes reach the device within their phase. */
	CU_ASSERT(med(be, "modes.cold.phases.first-write.device.write_bytes.median") > 0);
	/* The repetitions are kept; compare reads the file, and a run against itself is no
	 * regression (3 repetitions: inconclusive, shown by the medians). */
	CU_ASSERT_EQUAL(json_object_array_length(
				stt_json_get(be, "modes.cold.phases.start.p50_ns.values")),
			REPS);
	CU_ASSERT_EQUAL(priv_sh("%s compare '%s' '%s' | grep -q '^0 regressions, 0 improvements'",
				priv_stortune(), out, out),
			0);
	json_object_put(doc);

	/* Nothing left: no mount, loop device, file or journal; the scratch directory the run
	 * made is gone too. */
	CU_ASSERT_NOT_EQUAL(priv_sh("grep -q ' %s' /proc/self/mountinfo", work), 0);
	CU_ASSERT_NOT_EQUAL(priv_sh("losetup -a | grep -q '%s'", work), 0);
	CU_ASSERT_NOT_EQUAL(priv_sh("[ -e '%s' ]", work), 0);
	CU_ASSERT_EQUAL(priv_sh("[ -z \"$(ls -A '%s')\" ]", jdir), 0);
	priv_sh("rm -rf '%s' '%s' '%s'", work, jdir, out);
}

/* A scratch directory that was there before the run stays, as it was (empty here). */
static void test_workdir_kept(void)
{
	char work[512];

	snprintf(work, sizeof(work), "%s/bench-kept", priv_dir());
	CU_ASSERT_EQUAL_FATAL(priv_sh("mkdir -m 0700 '%s'", work), 0);
	CU_ASSERT_EQUAL(priv_sh("%s bench --backend overlay --profile ci --containers 2 "
				"--repetitions 1 --workdir '%s' -q -o /dev/null >/dev/null",
				priv_stortune(), work),
			0);
	CU_ASSERT_EQUAL(priv_sh("[ -d '%s' ] && [ -z \"$(ls -A '%s')\" ]", work, work), 0);
	priv_sh("rmdir '%s'", work);
}

static void test_bad_profiles(void)
{
	static const struct {
		const char *file, *want;
	} cases[] = {
		{ "unknown-key", "unknown-key.ini:4: [image] fils: unknown key" },
		{ "bad-number", "bad-number.ini:4: [image] files: not a number" },
		{ "unknown-section", "unknown-section.ini:3: [imgae]: unknown section" },
		{ "missing-section", "missing-section.ini: missing section [run]" },
		{ "working-set", "working-set.ini:10: [startup] read_bytes: " },
		{ "out-of-range", "out-of-range.ini:3: [image] layers: 200 out of range" },
	};
	char *out = NULL;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL(priv_capture(&out,
					     "%s bench --profile tests/unit/data/profiles/%s.ini "
					     "--workdir '%s/badprof' 2>&1",
					     priv_stortune(), cases[i].file, priv_dir()),
				2);
		CU_ASSERT_PTR_NOT_NULL(out ? strstr(out, cases[i].want) : NULL);
		free(out);
	}
	CU_ASSERT_EQUAL(priv_capture(&out, "%s bench --profile no-such-profile 2>&1",
				     priv_stortune()),
			2);
	CU_ASSERT_PTR_NOT_NULL(out ? strstr(out, "profile no-such-profile: not found") : NULL);
	free(out);
	/* Refused before anything was made. */
	CU_ASSERT_NOT_EQUAL(priv_sh("[ -e '%s/badprof' ]", priv_dir()), 0);
}

int priv_register_bench(void)
{
	CU_pSuite s = CU_add_suite("bench", NULL, NULL);

	if (!s)
		return CU_get_error();
	CU_add_test(s, "overlay, ci profile: complete, plausible, nothing left", test_overlay_ci);
	CU_add_test(s, "a scratch directory that was there stays", test_workdir_kept);
	CU_add_test(s, "bad profiles: file, line, key; exit 2", test_bad_profiles);
	return CU_get_error();
}
