// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A results document, read as compare, recommend and the report read it: the checks of
 * stt_results_load, compare's figures, environment and comparison (the document against
 * itself), the rule table and every file it emits (RECOMMENDATION.md, the setup script, ...),
 * and the summary table of bench and qualify.
 */
#include "fuzz.h"

#include "cmd.h"

#include "advice/compare.h"
#include "advice/emit.h"
#include "advice/recommend.h"
#include "advice/results.h"
#include "base/json.h"

#include <json-c/json.h>
#include <stdio.h>

static FILE *devnull;

static void compare(struct json_object *doc)
{
	struct stt_cmp_metric *m = NULL;
	struct stt_comparison c = { 0 };
	struct stt_cmp_params p;
	struct json_object *j = NULL;
	char **env = NULL;
	size_t n = 0, nenv = 0;

	if (!stt_compare_figures(doc, &m, &n))
		stt_compare_metrics_free(m, n);
	if (!stt_compare_env(doc, doc, &env, &nenv)) {
		if (nenv)
			abort(); /* a document differs from itself */
		stt_compare_strings_free(env, nenv);
	}
	stt_compare_params_init(&p);
	if (!stt_compare_docs(doc, doc, &p, NULL, 0, &c)) {
		if (!stt_comparison_to_json(&c, &j))
			json_object_put(j);
	}
	stt_comparison_release(&c);
}

static void recommend(struct json_object *doc)
{
	struct stt_rec_input in = { 0 };
	struct stt_emit_file files[1] = { { "daemon.json", "out/daemon.json", "the daemon" } };
	struct json_object *j = NULL, *v;
	struct stt_rec *r = NULL;
	char *text = NULL;

	in.docs = &doc;
	in.ndocs = 1;
	v = stt_json_get(doc, "environment.host.software.dockerd.version");
	if (v && json_object_is_type(v, json_type_string) &&
	    !stt_docker_version_parse(json_object_get_string(v), &in.docker))
		in.docker_origin = "the results";
	else
		in.docker_origin = "unknown";
	if (stt_recommend(&in, &r))
		return;
	if (!stt_emit_daemon_json(r, r->driver, &j))
		json_object_put(j);
	if (!stt_emit_daemon_json(r, "devicemapper", &j))
		json_object_put(j);
	if (!stt_emit_lvm_profile(r, &text))
		free(text);
	if (!stt_emit_setup_script(r, &text))
		free(text);
	if (!stt_emit_containerd(r, &text))
		free(text);
	if (!stt_emit_markdown(r, files, 1, "merged", &text))
		free(text);
	if (!stt_emit_json(r, &j))
		json_object_put(j);
	stt_rec_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *doc = NULL;

	if (!devnull && !(devnull = fopen("/dev/null", "w")))
		abort();
	if (stt_results_parse((const char *)data, size, "fuzz.json", &doc))
		return 0;
	compare(doc);
	recommend(doc);
	cmd_print_summary(doc, devnull);
	json_object_put(doc);
	return 0;
}
