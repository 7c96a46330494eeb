// SPDX-License-Identifier: GPL-2.0-or-later
/* The summary table of a results document, shared by bench and qualify. */
#include "cmd.h"

#include "measure/bench.h"

#include "base/json.h"
#include "advice/results.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <string.h>


double cmd_median(struct json_object *summary)
{
	struct json_object *m = stt_json_get(summary, "median");

	return m ? json_object_get_double(m) : NAN;
}

void cmd_fmt_ms(char *buf, size_t len, double ns)
{
	if (isnan(ns))
		snprintf(buf, len, "-");
	else if (ns < 1e6)
		snprintf(buf, len, "%.2f", ns / 1e6);
	else
		snprintf(buf, len, "%.1f", ns / 1e6);
}

void cmd_fmt_bytes(char *buf, size_t len, double b)
{
	if (isnan(b))
		snprintf(buf, len, "-");
	else if (b < 1024 * 1024)
		snprintf(buf, len, "%.0fK", b / 1024);
	else
		snprintf(buf, len, "%.1fM", b / 1048576);
}

void cmd_print_summary(struct json_object *doc, FILE *f)
{
	struct json_object *arr = stt_json_array(doc, "backends");
	static const enum stt_bench_phase cols[] = { STT_PHASE_CREATE, STT_PHASE_START,
						     STT_PHASE_READ,   STT_PHASE_WRITE,
						     STT_PHASE_COW,    STT_PHASE_STOP,
						     STT_PHASE_REMOVE };
	struct json_object *w;

	fprintf(f, "phase latency p50/p99 in ms (median over repetitions); storm in containers/s\n");
	fprintf(f, "%-20s %-4s", "backend", "mode");
	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
		fprintf(f, " %13s", stt_bench_phase_name(cols[i]));
	fprintf(f, " %8s %9s %9s %8s\n", "storm/s", "rd-ampl", "cow-ampl", "pc/ctr");
	for (size_t b = 0; arr && b < json_object_array_length(arr); b++) {
		struct json_object *be = json_object_array_get_idx(arr, b), *modes;
		const char *name = json_object_get_string(stt_json_get(be, "backend")) ?: "?";
		const char *st = json_object_get_string(stt_json_get(be, "status"));
		const char *env = json_object_get_string(stt_json_get(be, "environment"));
		char label[64];

		snprintf(label, sizeof(label), "%s%s%s%s", name, env && strcmp(env, "native") ? " (" : "",
			 env && strcmp(env, "native") ? env : "",
			 env && strcmp(env, "native") ? ")" : "");
		if (!st || strcmp(st, "ok")) {
			fprintf(f, "%-20s %s: %s\n", label, st ? st : "?",
				json_object_get_string(stt_json_get(be, "reason")) ?: "no reason given");
			continue;
		}
		modes = stt_json_object(be, "modes");
		if (!modes) {
			fprintf(f, "%-20s no modes\n", label);
			continue;
		}
		json_object_object_foreach(modes, mode, m)
		{
			char a[16], c[16], cell[40];

			fprintf(f, "%-20s %-4s", label, mode);
			for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
				struct json_object *ph = stt_json_get(stt_json_get(m, "phases"),
							     stt_bench_phase_name(cols[i]));

				cmd_fmt_ms(a, sizeof(a), cmd_median(stt_json_get(ph, "p50_ns")));
				cmd_fmt_ms(c, sizeof(c), cmd_median(stt_json_get(ph, "p99_ns")));
				snprintf(cell, sizeof(cell), "%s/%s", a, c);
				fprintf(f, " %13s", ph ? cell : "-");
			}
			fprintf(f, " %8.1f", cmd_median(stt_json_get(m, "storm.containers_per_s")));
			fprintf(f, " %9.2f",
				cmd_median(stt_json_get(m, "phases.first-read.amplification")));
			fprintf(f, " %9.0f", cmd_median(stt_json_get(m, "phases.cow-write.amplification")));
			cmd_fmt_bytes(a, sizeof(a), cmd_median(stt_json_get(m, "page_cache_per_container_bytes")));
			fprintf(f, " %8s\n", a);
		}
	}
	for (size_t b = 0; arr && b < json_object_array_length(arr); b++) {
		struct json_object *be = json_object_array_get_idx(arr, b);
		struct json_object *pr = stt_json_get(be, "provisioning");
		double fw, ow;

		if (!pr)
			continue;
		fw = json_object_get_double(stt_json_get(pr, "first_write.write.clat_ns.mean"));
		ow = json_object_get_double(stt_json_get(pr, "overwrite.write.clat_ns.mean"));
		fprintf(f, "%s: 4k writes to a fresh thin device: first write %.0f us, overwrite %.0f "
			   "us (%.1fx: block provisioning)\n",
			json_object_get_string(stt_json_get(be, "backend")), fw / 1e3, ow / 1e3,
			ow > 0 ? fw / ow : 0);
	}
	w = stt_json_array(doc, "warnings");
	for (size_t b = 0; arr && b < json_object_array_length(arr); b++) {
		struct json_object *bw = stt_json_array(json_object_array_get_idx(arr, b), "warnings");

		for (size_t i = 0; bw && i < json_object_array_length(bw); i++)
			fprintf(f, "warning: %s\n",
				json_object_get_string(json_object_array_get_idx(bw, i)));
	}
	for (size_t i = 0; w && i < json_object_array_length(w); i++)
		fprintf(f, "warning: %s\n", json_object_get_string(json_object_array_get_idx(w, i)));
}
