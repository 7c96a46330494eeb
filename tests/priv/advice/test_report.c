// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The report, for real: `stortune report` of real `bench` runs (every backend asked for, so
 * that the ones this kernel cannot run are listed as skipped), opened in Debian's headless
 * chromium by tests/browser/check_report.js (playwright-core from report/package-lock.json,
 * executablePath /usr/bin/chromium, never a downloaded browser). It must show no console
 * error and make no network request, draw every chart the results call for with the right
 * number of series and points (read from the chart objects in the page), and show the exact
 * figures of the results files in its tables. Screenshots go to build/report/.
 *
 * The fleet: five bench runs, each in its own UTS namespace with its own host name, and one
 * file given twice (counted once, with a warning). --compare of two of them. Bad input: a
 * newer schema version, another schema, no file.
 *
 * Registered only when node, chromium and the npm packages (make deps) are there.
 */
#include "priv.h"

#include "base/json.h"

#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FLEET 5

static char work[PATH_MAX];

static int suite_clean(void)
{
	priv_sh("rm -rf '%s'", work);
	return 0;
}

/* A real bench run on host name @host (its own UTS namespace) into @name.json. */
static int bench(const char *host, const char *name)
{
	return priv_sh(
	    "unshare --uts sh -c \"hostname '%s' && %s bench --profile ci --containers 4 "
	    "--repetitions 3 --workdir '%s/bench-%s' --journal-dir '%s/j' -q "
	    "-o '%s/%s.json'\" >/dev/null",
	    host, priv_stortune(), work, name, work, work, name);
}

static void test_single(void)
{
	CU_ASSERT_EQUAL_FATAL(priv_sh("mkdir -p '%s' build/report", work), 0);
	CU_ASSERT_EQUAL_FATAL(bench("stt-report-single", "single"), 0);
	CU_ASSERT_EQUAL_FATAL(priv_sh("%s report '%s/single.json' -o '%s/single.html' -q",
				      priv_stortune(), work, work),
			      0);
	/* nothing but the page itself: no reference to another file or host */
	CU_ASSERT_NOT_EQUAL(
	    priv_sh("grep -Eq '<(script|link|img)[^>]+(src|href)=' '%s/single.html'", work), 0);
	CU_ASSERT_EQUAL(priv_sh("node tests/browser/check_report.js '%s/single.html' "
				"build/report/single.png '%s/single.json'",
				work, work),
			0);
}

static void test_fleet(void)
{
	char files[FLEET * (PATH_MAX + 16)] = "", *out = NULL, host[32], name[16];
	struct json_object *agg;
	size_t off = 0;

	for (int i = 0; i < FLEET; i++) {
		snprintf(host, sizeof(host), "stt-report-h%d", i + 1);
		snprintf(name, sizeof(name), "h%d", i + 1);
		CU_ASSERT_EQUAL_FATAL(bench(host, name), 0);
		off +=
		    (size_t)snprintf(files + off, sizeof(files) - off, " '%s/%s.json'", work, name);
	}
	/* h1 given twice: counted once, with a warning naming both */
	CU_ASSERT_EQUAL_FATAL(priv_sh("%s report %s '%s/h1.json' -o '%s/fleet.html' "
				      "2>'%s/fleet.err'",
				      priv_stortune(), files, work, work, work),
			      0);
	CU_ASSERT_EQUAL(priv_sh("grep -q 'h1.json: the same run as .*h1.json.*counted once' "
				"'%s/fleet.err'",
				work),
			0);
	CU_ASSERT_EQUAL_FATAL(priv_capture(&out, "%s report %s '%s/h1.json' --json 2>/dev/null",
					   priv_stortune(), files, work),
			      0);
	agg = json_tokener_parse(out);
	free(out);
	CU_ASSERT_PTR_NOT_NULL_FATAL(agg);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(stt_json_get(agg, "schema")),
			       "stortune-report");
	CU_ASSERT_EQUAL(json_object_array_length(stt_json_get(agg, "runs")), FLEET);
	CU_ASSERT_EQUAL(json_object_get_int(stt_json_get(agg, "duplicates")), 1);
	CU_ASSERT_EQUAL(json_object_get_int(stt_json_get(agg, "fleet.hosts")), FLEET);
	CU_ASSERT_EQUAL(
	    json_object_get_int(stt_json_get(agg, "fleet.recommendation.count")) +
		json_object_array_length(stt_json_get(agg, "fleet.recommendation.differing")),
	    FLEET);
	json_object_put(agg);
	CU_ASSERT_EQUAL(priv_sh("node tests/browser/check_report.js '%s/fleet.html' "
				"build/report/fleet.png %s",
				work, files),
			0);
}

static void test_compare(void)
{
	char *out = NULL;
	struct json_object *agg;

	CU_ASSERT_EQUAL_FATAL(priv_capture(&out,
					   "%s report --compare '%s/h1.json' '%s/h2.json' "
					   "-o '%s/cmp.html' --json",
					   priv_stortune(), work, work, work),
			      0);
	agg = json_tokener_parse(out);
	free(out);
	CU_ASSERT_PTR_NOT_NULL_FATAL(agg);
	/* every figure of overlay in both: cold and warm, 7 phases, p50 and p99, ... */
	CU_ASSERT(json_object_array_length(stt_json_get(agg, "compare.metrics")) >= 28);
	CU_ASSERT_PTR_NOT_NULL(stt_json_get(agg, "compare.regressions"));
	json_object_put(agg);
	/* the verdicts of compare itself (exit 1 on a regression: both fine here) */
	CU_ASSERT(priv_sh("%s compare '%s/h1.json' '%s/h2.json' --allow-env-mismatch --json "
			  ">'%s/cmp.json'",
			  priv_stortune(), work, work, work) <= 1);
	CU_ASSERT_EQUAL(priv_sh("STT_COMPARE_JSON='%s/cmp.json' node tests/browser/check_report.js "
				"'%s/cmp.html' build/report/compare.png '%s/h1.json' '%s/h2.json'",
				work, work, work, work),
			0);
	CU_ASSERT_EQUAL(priv_sh("grep -q 'id=\"stt-data\"' '%s/cmp.html'", work), 0);
}

static void test_bad_input(void)
{
	/* a newer schema version, another schema, nothing: exit 2 naming the file, no page */
	CU_ASSERT_EQUAL_FATAL(
	    priv_sh("jq '.schema_version = 2' '%s/h1.json' >'%s/newer.json' && "
		    "jq '.schema = \"stortune-probe\"' '%s/h1.json' >'%s/other.json'",
		    work, work, work, work),
	    0);
	CU_ASSERT_EQUAL(priv_sh("%s report '%s/h2.json' '%s/newer.json' -o '%s/bad.html' "
				"2>'%s/bad.err'",
				priv_stortune(), work, work, work, work),
			2);
	CU_ASSERT_EQUAL(priv_sh("grep -q 'newer.json: schema version 2' '%s/bad.err'", work), 0);
	CU_ASSERT_EQUAL(priv_sh("%s report '%s/other.json' -o '%s/bad.html' 2>'%s/bad.err'",
				priv_stortune(), work, work, work),
			2);
	CU_ASSERT_EQUAL(
	    priv_sh("grep -q 'other.json: not a stortune results file' '%s/bad.err'", work), 0);
	CU_ASSERT_EQUAL(priv_sh("%s report -o '%s/bad.html' 2>/dev/null", priv_stortune(), work),
			2);
	CU_ASSERT_NOT_EQUAL(priv_sh("test -e '%s/bad.html'", work), 0);
}

int priv_register_report(void)
{
	CU_pSuite s;

	snprintf(work, sizeof(work), "%s/report", priv_dir());
	if (priv_sh("command -v node >/dev/null && test -x /usr/bin/chromium && "
		    "test -d vendor/npm/node_modules/playwright-core")) {
		fprintf(stderr, "priv: report: skipped: needs node, /usr/bin/chromium and "
				"vendor/npm (make deps)\n");
		return CUE_SUCCESS;
	}
	s = CU_add_suite("report (the HTML page in headless chromium)", NULL, suite_clean);
	if (!s)
		return CU_get_error();
	CU_add_test(s, "one bench run: charts, tables, no error", test_single);
	CU_add_test(s, "a fleet of five hosts and a duplicate", test_fleet);
	CU_add_test(s, "--compare", test_compare);
	CU_add_test(s, "bad input: exit 2, no page", test_bad_input);
	return CU_get_error();
}
