/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_REPORT_H
#define STT_REPORT_H

/*
 * The report: results documents into one aggregate (the "stortune-report" document, what
 * `report --json` prints) and that aggregate into one self-contained HTML page.
 *
 * Documents are added one at a time and may be freed after stt_report_add(): the aggregate
 * keeps a summary of each run (host, run id, verdicts, the recommended driver, the figures
 * the fleet view compares) and, for the first STT_REPORT_DETAIL_MAX runs, what the page
 * draws (latency CDFs from the histogram bins, phase breakdown, device I/O, page cache, the
 * tuning sweep, the raw device, the recommendation with its evidence). So a fleet of
 * thousands of files needs the memory of one document at a time plus the summaries.
 *
 * A run is a host name and run id ("environment.hostname", "run_id"; files written before
 * those existed: the file name and "created"). The same run given twice is counted once,
 * with a warning in the aggregate's "warnings".
 *
 * The fleet view (more than one run): a host table, the outliers of each figure among the
 * runs (modified z-score above 3.5, stt_stats_summarize()), the majority recommendation and
 * the runs whose recommendation differs from it.
 *
 * No printing; reading files is the caller's (stt_results_load()).
 */

#include <stddef.h>

struct json_object;

#define STT_REPORT_SCHEMA     "stortune-report"
#define STT_REPORT_VERSION    1
#define STT_REPORT_DETAIL_MAX 12

struct stt_report;

__attribute__((warn_unused_result)) int stt_report_new(struct stt_report **out);
void stt_report_free(struct stt_report *r);

/*
 * Adds the results document @doc (checked by stt_results_load()) read from @name. @doc is
 * borrowed. 0 (also for a duplicate run, which is skipped with a warning), -ENOMEM.
 */
__attribute__((warn_unused_result)) int stt_report_add(struct stt_report *r,
						       struct json_object *doc, const char *name);

/* Runs added (duplicates not counted). */
size_t stt_report_runs(const struct stt_report *r);

/*
 * Adds a comparison (stt_comparison_to_json()) of @base_name against @cand_name; @cmp is
 * taken in any case. 0 or -ENOMEM.
 */
__attribute__((warn_unused_result)) int stt_report_set_compare(struct stt_report *r,
							       struct json_object *cmp,
							       const char *base_name,
							       const char *cand_name);

/*
 * The aggregate:
 * { "schema": "stortune-report", "schema_version": 1, "created", "tool_version",
 *   "runs": [ { "file", "host", "run_id", "created", "label", "kernel", "cpu", "cores",
 *               "memory_bytes", "tool_version", "docker_version", "profile", "target",
 *               "backends": [ { "backend", "status", "environment", "verdict", "reason" } ],
 *               "recommendation": { "driver", "chunk_size", "zeroing", "signature" },
 *               "figures": { "<metric>": median },
 *               "detail": { ... } (the first STT_REPORT_DETAIL_MAX runs) } ],
 *   "detail_runs", "duplicates",
 *   "fleet": { "runs", "hosts", "key_metrics": [names],
 *              "metrics": [ { "name", "unit", "better", "n", "median", "mad_outliers":
 *                             [ { "run", "host", "value", "z" } ] } ],
 *              "recommendation": { "majority", "count", "differing": [ { "run", "host",
 *                                  "signature" } ] } },
 *   "compare": { "baseline", "candidate", <stortune-compare document> } | null,
 *   "warnings": [ ... ] }
 * -ENODATA when no run was added (an empty fleet), -ENOMEM. @r stays usable.
 */
__attribute__((warn_unused_result)) int stt_report_build(struct stt_report *r,
							 struct json_object **out);

/* What the page inlines: the charting library, its licence, the page's own script and style. */
struct stt_report_assets {
	const char *chart_js, *chart_css, *chart_license, *chart_name;
	const char *page_js, *page_css;
};

/*
 * The HTML page of the aggregate @report: everything inlined, the aggregate as a JSON data
 * block the page's script draws from. *@html is malloc'd. -EINVAL when an asset would end
 * its <script> or <style> element early, -ENOMEM.
 */
__attribute__((warn_unused_result)) int
stt_report_html(struct json_object *report, const struct stt_report_assets *a, char **html);

#endif
