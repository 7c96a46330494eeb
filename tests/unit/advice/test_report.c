// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The report's aggregate on synthetic results documents: the CDF from histogram bins, the
 * fleet's outliers (modified z-score) and the runs whose recommendation differs from the
 * majority, a run given twice, an empty fleet; the page's escaping; the command's bad input.
 */
#include "unit.h"

#include "advice/report.h"
#include "base/json.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A results document of one backend, its cold start p50 @start_ns over 3 repetitions. */
static struct json_object *doc(const char *host, const char *run, const char *backend,
			       double start_ns)
{
	char text[4096];
	struct json_object *d;

	snprintf(
	    text, sizeof(text),
	    "{ \"schema\": \"stortune-results\", \"schema_version\": 1, \"run_id\": \"%s\","
	    "  \"created\": \"2026-12-05T12:00:00Z\", \"tool\": { \"version\": \"0.1.0\" },"
	    "  \"environment\": { \"label\": \"native\", \"hostname\": \"%s\","
	    "    \"kernel\": \"6.1.0\", \"host\": { \"software\": { \"dockerd\":"
	    "      { \"installed\": true, \"version\": \"20.10.24\" } } } },"
	    "  \"backends\": [ { \"backend\": \"%s\", \"status\": \"ok\", \"modes\": { \"cold\": {"
	    "    \"phases\": { \"start\": {"
	    "      \"lat_ns\": { \"N\": 4, \"percentile\": { \"50.000000\": %.0f,"
	    "                    \"99.000000\": %.0f },"
	    "                  \"bins\": { \"3000\": 2, \"1000\": 1, \"2000\": 1 } },"
	    "      \"p50_ns\": { \"unit\": \"ns\", \"n\": 3, \"median\": %.0f,"
	    "                  \"ci95\": [%.0f, %.0f], \"values\": [%.0f, %.0f, %.0f] } } },"
	    "    \"storm\": { \"containers_per_s\": { \"n\": 3, \"median\": 20,"
	    "                  \"values\": [19, 20, 21] } } } } },"
	    "    { \"backend\": \"dm-loop\", \"status\": \"skipped\", \"reason\": \"no dm\" } ],"
	    "  \"warnings\": [] }",
	    run, host, backend, start_ns, 2 * start_ns, start_ns, 0.9 * start_ns, 1.1 * start_ns,
	    0.9 * start_ns, start_ns, 1.1 * start_ns);
	d = json_tokener_parse(text);
	CU_ASSERT_PTR_NOT_NULL(d);
	return d;
}

static int add(struct stt_report *r, const char *host, const char *run, const char *backend,
	       double start_ns)
{
	struct json_object *d = doc(host, run, backend, start_ns);
	char name[64];
	int e;

	snprintf(name, sizeof(name), "%s-%s.json", host, run);
	e = stt_report_add(r, d, name);
	json_object_put(d);
	return e;
}

static void test_cdf(void)
{
	struct json_object *agg, *s, *x, *y;
	struct stt_report *r;

	CU_ASSERT_EQUAL_FATAL(stt_report_new(&r), 0);
	CU_ASSERT_EQUAL_FATAL(add(r, "a", "1", "overlay", 1e6), 0);
	CU_ASSERT_EQUAL_FATAL(stt_report_build(r, &agg), 0);
	/* phase 1 is start; its one series is overlay cold */
	s = json_object_array_get_idx(
	    stt_json_get(json_object_array_get_idx(
			     stt_json_get(json_object_array_get_idx(stt_json_get(agg, "runs"), 0),
					  "detail.latency"),
			     1),
			 "series"),
	    0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	x = stt_json_get(s, "x_ns");
	y = stt_json_get(s, "cdf");
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(x), 3);
	/* bins sorted by value, cumulative fractions */
	CU_ASSERT_DOUBLE_EQUAL(json_object_get_double(json_object_array_get_idx(x, 0)), 1000, 0);
	CU_ASSERT_DOUBLE_EQUAL(json_object_get_double(json_object_array_get_idx(x, 2)), 3000, 0);
	CU_ASSERT_DOUBLE_EQUAL(json_object_get_double(json_object_array_get_idx(y, 0)), 0.25,
			       1e-12);
	CU_ASSERT_DOUBLE_EQUAL(json_object_get_double(json_object_array_get_idx(y, 1)), 0.5, 1e-12);
	CU_ASSERT_DOUBLE_EQUAL(json_object_get_double(json_object_array_get_idx(y, 2)), 1.0, 1e-12);
	CU_ASSERT_DOUBLE_EQUAL(json_object_get_double(stt_json_get(s, "p99_ns")), 2e6, 0);
	CU_ASSERT_DOUBLE_EQUAL(json_object_get_double(stt_json_get(s, "p50_reps.lo")), 0.9e6, 0);
	/* the skipped backend with its reason */
	CU_ASSERT_STRING_EQUAL(
	    json_object_get_string(stt_json_get(
		json_object_array_get_idx(
		    stt_json_get(json_object_array_get_idx(stt_json_get(agg, "runs"), 0),
				 "backends"),
		    1),
		"reason")),
	    "no dm");
	json_object_put(agg);
	stt_report_free(r);
}

static void test_fleet(void)
{
	static const double start_ms[] = {1.0, 1.1, 0.9, 1.05, 0.95, 1.02, 10.0};
	struct json_object *agg, *m = NULL, *o, *ms, *diff;
	struct stt_report *r;
	char host[8];

	CU_ASSERT_EQUAL_FATAL(stt_report_new(&r), 0);
	for (int i = 0; i < 7; i++) {
		snprintf(host, sizeof(host), "h%d", i);
		CU_ASSERT_EQUAL_FATAL(add(r, host, "r", "overlay", start_ms[i] * 1e6), 0);
	}
	/* a host where only devicemapper ran: recommends devicemapper, not the majority's */
	CU_ASSERT_EQUAL_FATAL(add(r, "dm-host", "r", "direct-lvm", 1e6), 0);
	/* the same run again: counted once */
	CU_ASSERT_EQUAL_FATAL(add(r, "h1", "r", "overlay", 5e6), 0);
	CU_ASSERT_EQUAL(stt_report_runs(r), 8);
	CU_ASSERT_EQUAL_FATAL(stt_report_build(r, &agg), 0);
	CU_ASSERT_EQUAL(json_object_get_int(stt_json_get(agg, "duplicates")), 1);
	CU_ASSERT_EQUAL(json_object_array_length(stt_json_get(agg, "warnings")), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(
	    json_object_get_string(json_object_array_get_idx(stt_json_get(agg, "warnings"), 0)),
	    "counted once"));
	CU_ASSERT_EQUAL(json_object_get_int(stt_json_get(agg, "fleet.hosts")), 8);
	/* only the first STT_REPORT_DETAIL_MAX runs carry detail; all carry figures */
	CU_ASSERT_PTR_NOT_NULL(
	    stt_json_get(json_object_array_get_idx(stt_json_get(agg, "runs"), 7), "figures"));

	ms = stt_json_get(agg, "fleet.metrics");
	for (size_t i = 0; i < json_object_array_length(ms); i++)
		if (!strcmp(json_object_get_string(
				stt_json_get(json_object_array_get_idx(ms, i), "name")),
			    "overlay/cold/start/p50"))
			m = json_object_array_get_idx(ms, i);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(json_object_get_int(stt_json_get(m, "n")), 7);
	/* the 10 ms host and only it: |10 - 1.02| / MAD(0.05) * 0.6745 >> 3.5 */
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(stt_json_get(m, "mad_outliers")), 1);
	o = json_object_array_get_idx(stt_json_get(m, "mad_outliers"), 0);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(stt_json_get(o, "host")), "h6");
	CU_ASSERT(json_object_get_double(stt_json_get(o, "z")) > 3.5);
	/* the storm is 20/s everywhere: no outlier */
	for (size_t i = 0; i < json_object_array_length(ms); i++) {
		struct json_object *e = json_object_array_get_idx(ms, i);

		if (strstr(json_object_get_string(stt_json_get(e, "name")), "containers_per_s"))
			CU_ASSERT_EQUAL(json_object_array_length(stt_json_get(e, "mad_outliers")),
					0);
	}
	/* the key figures of the host table */
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_array_get_idx(
				   stt_json_get(agg, "fleet.key_metrics"), 0)),
			       "overlay/cold/start/p50");

	CU_ASSERT_STRING_EQUAL(
	    json_object_get_string(stt_json_get(agg, "fleet.recommendation.majority")), "overlay2");
	CU_ASSERT_EQUAL(json_object_get_int(stt_json_get(agg, "fleet.recommendation.count")), 7);
	diff = stt_json_get(agg, "fleet.recommendation.differing");
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(diff), 1);
	CU_ASSERT_STRING_EQUAL(
	    json_object_get_string(stt_json_get(json_object_array_get_idx(diff, 0), "host")),
	    "dm-host");
	CU_ASSERT_PTR_NOT_NULL(strstr(
	    json_object_get_string(stt_json_get(json_object_array_get_idx(diff, 0), "signature")),
	    "devicemapper"));
	json_object_put(agg);
	stt_report_free(r);
}

static void test_empty(void)
{
	struct json_object *agg = NULL;
	struct stt_report *r;

	CU_ASSERT_EQUAL_FATAL(stt_report_new(&r), 0);
	CU_ASSERT_EQUAL(stt_report_build(r, &agg), -ENODATA);
	CU_ASSERT_PTR_NULL(agg);
	stt_report_free(r);
	stt_report_free(NULL);
}

static void test_html(void)
{
	struct stt_report_assets a = {
	    .chart_js = "var uPlot = 1;",
	    .chart_css = ".u{}",
	    .chart_license = "The MIT License <x> & y",
	    .chart_name = "uPlot",
	    .page_js = "draw();",
	    .page_css = "body{}",
	};
	struct json_object *agg;
	struct stt_report *r;
	char *html = NULL;

	CU_ASSERT_EQUAL_FATAL(stt_report_new(&r), 0);
	CU_ASSERT_EQUAL_FATAL(add(r, "evil</script><b>", "1", "overlay", 1e6), 0);
	CU_ASSERT_EQUAL_FATAL(stt_report_build(r, &agg), 0);
	CU_ASSERT_EQUAL_FATAL(stt_report_html(agg, &a, &html), 0);
	/* the host name cannot end the data block: '<' is \u003c inside it */
	CU_ASSERT_PTR_NULL(strstr(html, "evil</script>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(html, "evil\\u003c\\/script\\u003e"));
	CU_ASSERT_PTR_NOT_NULL(strstr(html, "The MIT License &lt;x&gt; &amp; y"));
	CU_ASSERT_PTR_NOT_NULL(strstr(html, "default-src 'none'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(html, "var uPlot = 1;"));
	free(html);
	html = NULL;
	a.page_js = "x = '</SCRIPT>';";
	CU_ASSERT_EQUAL(stt_report_html(agg, &a, &html), -EINVAL);
	CU_ASSERT_PTR_NULL(html);
	json_object_put(agg);
	stt_report_free(r);
}

static void test_cmd(void)
{
	char dir[] = "/tmp/stt-unit-report-XXXXXX", f[128], out[128];
	struct json_object *d;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(out, sizeof(out), "%s/r.html", dir);
	/* nothing to write, an empty fleet */
	CU_ASSERT_EQUAL(unit_cmd("stortune", "report", NULL), 2);
	CU_ASSERT_EQUAL(unit_cmd("stortune", "report", "-o", out, NULL), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(unit_err, "empty fleet"));
	/* a newer schema version: exit 2 naming the file */
	d = doc("a", "1", "overlay", 1e6);
	json_object_object_add(d, "schema_version", json_object_new_int(2));
	snprintf(f, sizeof(f), "%s/newer.json", dir);
	CU_ASSERT_EQUAL_FATAL(json_object_to_file(f, d), 0);
	json_object_put(d);
	CU_ASSERT_EQUAL(unit_cmd("stortune", "report", f, "-o", out, NULL), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(unit_err, "newer.json: schema version 2"));
	/* another schema */
	d = doc("a", "1", "overlay", 1e6);
	json_object_object_add(d, "schema", json_object_new_string("stortune-compare"));
	snprintf(f, sizeof(f), "%s/other.json", dir);
	CU_ASSERT_EQUAL_FATAL(json_object_to_file(f, d), 0);
	json_object_put(d);
	CU_ASSERT_EQUAL(unit_cmd("stortune", "report", f, "-o", out, NULL), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(unit_err, "other.json: not a stortune results file"));
	/* --compare needs exactly two */
	CU_ASSERT_EQUAL(unit_cmd("stortune", "report", "--compare", f, "--json", NULL), 2);
	CU_ASSERT_NOT_EQUAL(access(out, F_OK), 0);
	unlink(f);
	snprintf(f, sizeof(f), "%s/newer.json", dir);
	unlink(f);
	rmdir(dir);
}

int unit_register_report(void)
{
	CU_pSuite s = CU_add_suite("report (aggregate, fleet view, page)", NULL, NULL);

	if (!s)
		return CU_get_error();
	CU_add_test(s, "latency CDF from the histogram bins", test_cdf);
	CU_add_test(s, "fleet: outliers, differing recommendation, a duplicate", test_fleet);
	CU_add_test(s, "empty fleet", test_empty);
	CU_add_test(s, "the page: escaping, inlined assets", test_html);
	CU_add_test(s, "the command: bad input", test_cmd);
	return CU_get_error();
}
