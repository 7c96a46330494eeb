// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * stortune report RESULTS.json [MORE.json ...] -o report.html: one self-contained HTML page of
 * one run or a fleet of them (src/advice/report.c builds the aggregate, report_html.c the page);
 * --json prints the aggregate. This file reads the files, finds the page's assets (the charting
 * library installed by make deps, the page's own script and style) and writes the page.
 */
#include "cmd.h"

#include "advice/compare.h"
#include "advice/daemonjson.h"
#include "advice/report.h"
#include "advice/results.h"
#include "base/err.h"
#include "base/json.h"
#include "sys/sysfs.h"

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef STT_DATADIR
#define STT_DATADIR "/usr/local/share/stortune"
#endif

enum { OPT_COMPARE = 256 };

/* The assets: the name in an assets directory, and the path in the build tree. */
static const struct {
	const char *name, *tree;
} asset_files[] = {
    {"uPlot.iife.min.js", "vendor/npm/node_modules/uplot/dist/uPlot.iife.min.js"},
    {"uPlot.min.css", "vendor/npm/node_modules/uplot/dist/uPlot.min.css"},
    {"uPlot.LICENSE", "vendor/npm/node_modules/uplot/LICENSE"},
    {"report.js", "report/report.js"},
    {"report.css", "report/report.css"},
};
#define NASSETS (sizeof(asset_files) / sizeof(asset_files[0]))

struct assets {
	char *text[NASSETS];
	char where[PATH_MAX];
};

static void assets_release(struct assets *a)
{
	for (size_t i = 0; i < NASSETS; i++)
		free(a->text[i]);
	memset(a, 0, sizeof(*a));
}

static int try_dir(struct assets *a, const char *dir, bool tree)
{
	char path[PATH_MAX + 128];

	for (size_t i = 0; i < NASSETS; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir,
			 tree ? asset_files[i].tree : asset_files[i].name);
		if (stt_sysfs_slurp(path, &a->text[i])) {
			snprintf(a->where, sizeof(a->where), "%s", path);
			for (size_t j = 0; j < i; j++) {
				free(a->text[j]);
				a->text[j] = NULL;
			}
			return -ENOENT;
		}
	}
	snprintf(a->where, sizeof(a->where), "%s", dir);
	return 0;
}

/*
 * The assets from $STT_REPORT_ASSETS, else the build tree this binary was built in (its
 * directory or the one above: ./stortune, build/unit-tests), else DATADIR/report.
 */
static int assets_load(struct assets *a)
{
	const char *env = getenv("STT_REPORT_ASSETS");
	char exe[PATH_MAX], *slash;
	ssize_t n;

	memset(a, 0, sizeof(*a));
	if (env && *env) {
		if (try_dir(a, env, false))
			return stt_err(-ENOENT, "STT_REPORT_ASSETS=%s: %s is missing", env,
				       a->where);
		return 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 4);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			if (!try_dir(a, exe, true))
				return 0;
			strcat(exe, "/..");
			if (!try_dir(a, exe, true))
				return 0;
		}
	}
	if (!try_dir(a, STT_DATADIR "/report", false))
		return 0;
	return stt_err(-ENOENT,
		       "the report's charting library (uPlot) and page script are missing (%s): "
		       "run 'make deps' in the source tree, 'make install', or set "
		       "STT_REPORT_ASSETS to a directory holding them",
		       a->where);
}

static int write_html(const struct cmd_entry *self, struct json_object *agg, const char *out)
{
	struct stt_report_assets ra;
	struct assets a;
	char *html = NULL;
	int r;

	if (assets_load(&a))
		return cmd_fail(self, CMD_EXIT_FAILURE, "%s", stt_err_msg());
	ra = (struct stt_report_assets){
	    .chart_js = a.text[0],
	    .chart_css = a.text[1],
	    .chart_license = a.text[2],
	    .chart_name = "uPlot (https://github.com/leeoniya/uPlot, MIT licence)",
	    .page_js = a.text[3],
	    .page_css = a.text[4],
	};
	r = stt_report_html(agg, &ra, &html);
	if (r) {
		assets_release(&a);
		return cmd_fail(self, CMD_EXIT_FAILURE,
				r == -EINVAL ? "an asset in %s would end its element early"
					     : "out of memory (%s)",
				a.where);
	}
	assets_release(&a);
	r = stt_daemonjson_write(out, html, NULL, 0);
	free(html);
	if (r)
		return cmd_fail(self, CMD_EXIT_FAILURE, "%s", stt_err_msg());
	return CMD_EXIT_OK;
}

/* Adds the comparison of @base against @cand to @rep. An exit code. */
static int add_compare(const struct cmd_entry *self, struct stt_report *rep, const char *bp,
		       const char *cp)
{
	struct json_object *base = NULL, *cand = NULL, *j = NULL, *envj;
	struct stt_comparison cmp = {0};
	struct stt_cmp_params p;
	char **env = NULL;
	size_t nenv = 0;
	int r;

	stt_compare_params_init(&p);
	if (stt_results_load(bp, &base) || stt_results_load(cp, &cand)) {
		r = cmd_fail(self, CMD_EXIT_USAGE, "%s", stt_err_msg());
		goto out;
	}
	if (stt_compare_env(base, cand, &env, &nenv)) {
		r = cmd_fail(self, CMD_EXIT_FAILURE, "out of memory");
		goto out;
	}
	if ((r = stt_compare_docs(base, cand, &p, NULL, 0, &cmp))) {
		r = cmd_fail(self, r == -ENOMEM ? CMD_EXIT_FAILURE : CMD_EXIT_USAGE, "%s vs %s: %s",
			     bp, cp, stt_err_msg());
		goto out;
	}
	envj = json_object_new_array();
	if (stt_comparison_to_json(&cmp, &j) || stt_json_add(j, "environment_differences", envj) ||
	    stt_report_set_compare(rep, j, bp, cp)) {
		j = NULL;
		r = cmd_fail(self, CMD_EXIT_FAILURE, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nenv; i++)
		json_object_array_add(envj, json_object_new_string(env[i]));
	j = NULL;
	r = CMD_EXIT_OK;
out:
	json_object_put(j);
	json_object_put(base);
	json_object_put(cand);
	stt_compare_strings_free(env, nenv);
	stt_comparison_release(&cmp);
	return r;
}

int cmd_report_files(const struct cmd_entry *self, struct cmd_ctx *ctx, const char *const *files,
		     size_t n, const char *cmp_base, const char *cmp_cand, const char *out)
{
	struct json_object *agg = NULL, *w;
	struct stt_report *rep = NULL;
	int r;

	if (!n && !cmp_base)
		return cmd_fail(self, CMD_EXIT_USAGE, "no results file given: an empty fleet");
	if (stt_report_new(&rep))
		return cmd_fail(self, CMD_EXIT_FAILURE, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct json_object *doc;

		if (stt_results_load(files[i], &doc)) {
			r = cmd_fail(self, CMD_EXIT_USAGE, "%s", stt_err_msg());
			goto out;
		}
		r = stt_report_add(rep, doc, files[i]);
		json_object_put(doc);
		if (r) {
			r = r == -ENOMEM
				? cmd_fail(self, CMD_EXIT_FAILURE, "out of memory")
				: cmd_fail(self, CMD_EXIT_USAGE, "%s: %s", files[i], stt_err_msg());
			goto out;
		}
	}
	if (cmp_base && (r = add_compare(self, rep, cmp_base, cmp_cand)) != CMD_EXIT_OK)
		goto out;
	r = stt_report_build(rep, &agg);
	if (r) {
		r = r == -ENODATA ? cmd_fail(self, CMD_EXIT_USAGE, "no run in the files given")
				  : cmd_fail(self, CMD_EXIT_FAILURE, "out of memory");
		goto out;
	}
	w = stt_json_get(agg, "warnings");
	for (size_t i = 0; w && i < json_object_array_length(w); i++)
		fprintf(stderr, "warning: %s\n",
			json_object_get_string(json_object_array_get_idx(w, i)));
	if (out && (r = write_html(self, agg, out)) != CMD_EXIT_OK)
		goto out;
	if (ctx->json)
		cmd_print_json(agg);
	else if (out)
		cmd_note(ctx, "report: %s (%zu run%s)\n", out, stt_report_runs(rep),
			 stt_report_runs(rep) == 1 ? "" : "s");
	r = CMD_EXIT_OK;
out:
	json_object_put(agg);
	stt_report_free(rep);
	return r;
}

static int cmd_report(const struct cmd_entry *self, struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
	    CMD_COMMON_OPTIONS,
	    {"output", required_argument, NULL, 'o'},
	    {"compare", no_argument, NULL, OPT_COMPARE},
	    {0},
	};
	const char *out = NULL, *base = NULL, *cand = NULL;
	const char *const *files;
	bool compare = false;
	size_t n;
	int c, r;

	/* CMD_COMMON_SHORT without its '+': options may follow the files */
	while ((c = getopt_long(argc, argv, "hjqo:", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case OPT_COMPARE:
			compare = true;
			break;
		default:
			if ((r = cmd_common_opt(self, ctx, c)) != CMD_CONTINUE)
				return r;
		}
	}
	if (!out && !ctx->json)
		return cmd_usage_error(self, "nothing to write: give -o report.html or --json");
	files = (const char *const *)argv + optind;
	n = (size_t)(argc - optind);
	if (compare) {
		if (n != 2)
			return cmd_usage_error(self, "--compare needs two results files: BASELINE "
						     "CANDIDATE");
		base = files[0];
		cand = files[1];
	}
	return cmd_report_files(self, ctx, files, n, base, cand, out);
}

const struct cmd_entry cmd_report_entry = {
    .name = "report",
    .summary = "one self-contained HTML page of results files: one run, a comparison or a fleet",
    .synopsis = "report RESULTS.json [MORE.json ...] -o report.html [--json] | "
		"report --compare BASELINE.json CANDIDATE.json -o report.html",
    .help = "Writes one HTML file that opens offline (script, style and the charting library,\n"
	    "uPlot, inlined; the page fetches nothing): host and environment, each backend's\n"
	    "verdict, per phase the latency CDF of every backend (log time axis, from the\n"
	    "stored histogram bins), the phase breakdown of a container's start, device I/O\n"
	    "and amplification, page cache per container, the thin-pool sweep when a tune run\n"
	    "is given, the raw device, the recommendation with its evidence, every skipped\n"
	    "backend with its reason; tables beside the charts with n and 95% intervals.\n"
	    "Detail is drawn for the first 12 runs. With several runs, the fleet view: one row\n"
	    "per run, the outliers of each figure (modified z-score > 3.5) and the runs whose\n"
	    "recommendation differs from the majority. The same run (host and run id) given\n"
	    "twice is counted once, with a warning.\n"
	    "\noptions:\n"
	    "  -o, --output FILE   the HTML page (written atomically)\n"
	    "  --compare           the two files are a baseline and a candidate: adds compare's\n"
	    "                      verdict per metric with its interval, regressions first\n"
	    "  --json              print the aggregate (\"schema\": \"stortune-report\")\n"
	    "\nThe charting library comes from $STT_REPORT_ASSETS, the build tree (make deps),\n"
	    "or " STT_DATADIR "/report (make install).\n"
	    "\nexit codes: 0 written, 1 failure (assets missing, write error), 2 bad input (a\n"
	    "file missing, not JSON, another schema or a newer schema version, no file)\n"
	    "\nexamples:\n"
	    "  stortune report build/run/results.json -o report.html\n"
	    "  stortune report hosts/*.json -o fleet.html\n"
	    "  stortune report --compare base.json new.json -o cmp.html\n",
    .run = cmd_report,
};
