// SPDX-License-Identifier: GPL-2.0-or-later
#include "advice/qualify.h"

#include "base/json.h"
#include "advice/results.h"

#include <json-c/json.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>


static double med(struct json_object *o, const char *path)
{
	struct json_object *m = stt_json_get(o, path);

	return m ? json_object_get_double(m) : NAN;
}

void stt_qualify_verdict(struct json_object *be, char *line, size_t len)
{
	const char *name = json_object_get_string(stt_json_get(be, "backend"));
	const char *st = json_object_get_string(stt_json_get(be, "status"));
	const char *env = json_object_get_string(stt_json_get(be, "environment"));
	struct json_object *mode;
	const char *mname = "cold";
	bool vm;
	int n;

	if (!name)
		name = "?";
	if (!st || strcmp(st, "ok")) {
		snprintf(line, len, "%s: not run: %s", name,
			 json_object_get_string(stt_json_get(be, "reason")) ?: "no reason given");
		return;
	}
	vm = env && strcmp(env, "native");
	mode = stt_json_get(be, "modes.cold");
	if (!mode) {
		mode = stt_json_get(be, "modes.warm");
		mname = "warm";
	}
	n = snprintf(line, len, "%s: works%s%s%s: start p50 %.2f ms, first-read p50 %.2f ms (%s), "
				"%.1f containers/s",
		     name, vm ? " in " : "", vm ? env : "", vm ? " (functional only)" : "",
		     med(mode, "phases.start.p50_ns.median") / 1e6,
		     med(mode, "phases.first-read.p50_ns.median") / 1e6, mname,
		     med(mode, "storm.containers_per_s.median"));
	if (n < 0 || (size_t)n >= len)
		return;
	if (!strcmp(name, "dm-loop"))
		snprintf(line + n, len - (size_t)n,
			 "; loop-lvm is for testing only, never production (Docker's advice)");
	else if (vm)
		snprintf(line + n, len - (size_t)n,
			 "; emulated NVMe under TCG: not this host's speed");
}
