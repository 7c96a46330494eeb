// SPDX-License-Identifier: GPL-2.0-or-later
#include "advice/qualify.h"

#include "base/json.h"
#include "advice/results.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
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

static const char *const check_phases[] = { "create",	   "start", "first-read", "first-write",
					    "cow-write",   "stop",  "remove" };
#define N_CHECK (sizeof(check_phases) / sizeof(check_phases[0]))

static double p50(struct json_object *be, const char *mode, const char *phase)
{
	char path[128];

	snprintf(path, sizeof(path), "modes.%s.phases.%s.p50_ns.median", mode, phase);
	return med(be, path);
}

struct ranked {
	const char *name;
	double v;
};

static int cmp_ranked(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->v != y->v)
		return x->v < y->v ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* The real engine that ran @be ("docker" when the document does not say). */
static const char *engine_of(struct json_object *be)
{
	const char *e = json_object_get_string(stt_json_get(be, "engine.name"));

	return e ? e : "docker";
}

/* Phases that are one CLI call each under an engine driven through its CLI (containerd, ctr). */
static bool cli_phase(const char *phase)
{
	return !strcmp(phase, "create") || !strcmp(phase, "start") || !strcmp(phase, "stop") ||
	       !strcmp(phase, "remove");
}

/*
 * The ranking of the @n backends @names in every phase, among those the engine @eng ran (all
 * with NULL), into @rank under "<phase>" (@suffix NULL) or "<phase>@<suffix>". Whether all
 * agree into *@all; the phases that do not into @dis. Ties agree with either order.
 */
static void rank_group(struct json_object *emulated, struct json_object *real, const char **names,
		       size_t n, const char *mode, const char *eng, const char *suffix,
		       struct json_object *rank, struct json_object *dis, bool *all)
{
	for (size_t p = 0; p < N_CHECK; p++) {
		struct ranked re[16], rr[16];
		struct json_object *x, *ea, *ra;
		char key[64];
		size_t m = 0;
		bool agree = true;

		for (size_t k = 0; k < n; k++) {
			struct json_object *rb = stt_results_backend_ok(real, names[k]);
			double ev = p50(stt_results_backend_ok(emulated, names[k]), mode,
					check_phases[p]);
			double rv = p50(rb, mode, check_phases[p]);

			if (isnan(ev) || isnan(rv) || (eng && strcmp(engine_of(rb), eng)))
				continue;
			re[m] = (struct ranked){ names[k], ev };
			rr[m] = (struct ranked){ names[k], rv };
			m++;
		}
		if (!m)
			continue;
		/*
		 * The modes disagree when a pair of backends is ordered one way emulated and the
		 * other way real; a tie on either side (the same histogram bucket) orders nothing.
		 */
		for (size_t i = 0; i < m; i++)
			for (size_t k = i + 1; k < m; k++)
				agree &= !((re[i].v < re[k].v && rr[i].v > rr[k].v) ||
					   (re[i].v > re[k].v && rr[i].v < rr[k].v));
		qsort(re, m, sizeof(re[0]), cmp_ranked);
		qsort(rr, m, sizeof(rr[0]), cmp_ranked);
		x = json_object_new_object();
		ea = json_object_new_array();
		ra = json_object_new_array();
		for (size_t k = 0; k < m; k++) {
			json_object_array_add(ea, json_object_new_string(re[k].name));
			json_object_array_add(ra, json_object_new_string(rr[k].name));
		}
		json_object_object_add(x, "engine", json_object_new_string(eng ? eng : "docker"));
		json_object_object_add(x, "emulated", ea);
		json_object_object_add(x, "real", ra);
		json_object_object_add(x, "agree", json_object_new_boolean(agree));
		if (suffix)
			snprintf(key, sizeof(key), "%s@%s", check_phases[p], suffix);
		else
			snprintf(key, sizeof(key), "%s", check_phases[p]);
		json_object_object_add(rank, key, x);
		if (!agree) {
			*all = false;
			json_object_array_add(dis, json_object_new_string(key));
		}
	}
}

int stt_qualify_engine_check(struct json_object *emulated, struct json_object *real,
			     struct json_object **out)
{
	struct json_object *o = json_object_new_object(), *bes = json_object_new_array();
	struct json_object *rank = json_object_new_object(), *dis = json_object_new_array();
	struct json_object *arr = stt_json_get(emulated, "backends"), *rarr;
	const char *names[16], *engines[4];
	const char *mode = "cold";
	size_t n = 0, n_eng = 0;
	bool all = true;

	if (!o || !bes || !rank || !dis) {
		json_object_put(o);
		json_object_put(bes);
		json_object_put(rank);
		json_object_put(dis);
		return -ENOMEM;
	}
	for (size_t i = 0; arr && i < json_object_array_length(arr) && n < 16; i++) {
		struct json_object *e = json_object_array_get_idx(arr, i), *r;
		const char *name = json_object_get_string(stt_json_get(e, "backend"));
		size_t k;

		if (!name || !stt_results_backend_ok(emulated, name) ||
		    !(r = stt_results_backend_ok(real, name)))
			continue;
		if (!stt_json_get(e, "modes.cold") || !stt_json_get(r, "modes.cold"))
			mode = "warm";
		names[n++] = name;
		for (k = 0; k < n_eng && strcmp(engines[k], engine_of(r)); k++)
			;
		if (k == n_eng && n_eng < 4)
			engines[n_eng++] = engine_of(r);
	}
	for (size_t k = 0; k < n; k++) {
		struct json_object *e = stt_results_backend_ok(emulated, names[k]);
		struct json_object *r = stt_results_backend_ok(real, names[k]);
		struct json_object *b = json_object_new_object(), *ph = json_object_new_object();
		double es = p50(e, mode, "start"), ef = p50(e, mode, "first-read");
		double rs = p50(r, mode, "start");
		double cli = med(r, "engine.cli_overhead_ns.median");

		json_object_object_add(b, "backend", json_object_new_string(names[k]));
		json_object_object_add(b, "engine", json_object_new_string(engine_of(r)));
		for (size_t p = 0; p < N_CHECK; p++) {
			struct json_object *x = json_object_new_object();
			double ev = p50(e, mode, check_phases[p]), rv = p50(r, mode, check_phases[p]);

			if (isnan(ev) || isnan(rv)) {
				json_object_put(x);
				continue;
			}
			json_object_object_add(x, "emulated_p50_ns", json_object_new_double(ev));
			json_object_object_add(x, "real_p50_ns", json_object_new_double(rv));
			json_object_object_add(x, "real_over_emulated",
					       ev > 0 ? json_object_new_double(rv / ev) : NULL);
			if (!isnan(cli) && cli_phase(check_phases[p]))
				json_object_object_add(x, "real_less_cli_p50_ns",
						       json_object_new_double(rv - cli));
			json_object_object_add(ph, check_phases[p], x);
		}
		json_object_object_add(b, "phases", ph);
		json_object_object_add(b, "storage_share_of_start",
				       !isnan(es) && !isnan(ef) && rs > 0
					       ? json_object_new_double((es + ef) / rs)
					       : NULL);
		if (!isnan(cli)) {
			json_object_object_add(b, "cli_overhead_p50_ns", json_object_new_double(cli));
			json_object_object_add(b, "storage_share_of_start_less_cli",
					       !isnan(es) && !isnan(ef) && rs - cli > 0
						       ? json_object_new_double((es + ef) / (rs - cli))
						       : NULL);
		}
		json_object_array_add(bes, b);
	}
	/*
	 * Backends are ranked among those the same engine ran: a start through ctr (a process a
	 * call) and one through dockerd's API are not the same measure.
	 */
	if (n_eng <= 1)
		rank_group(emulated, real, names, n, mode, n_eng ? engines[0] : NULL, NULL, rank,
			   dis, &all);
	else
		for (size_t g = 0; g < n_eng; g++)
			rank_group(emulated, real, names, n, mode, engines[g],
				   strcmp(engines[g], "docker") ? engines[g] : NULL, rank, dis,
				   &all);
	json_object_object_add(o, "mode", json_object_new_string(mode));
	json_object_object_add(o, "backends_compared", json_object_new_int((int)n));
	json_object_object_add(o, "backends", bes);
	json_object_object_add(o, "ranking", rank);
	json_object_object_add(o, "rankings_agree", json_object_new_boolean(all));
	json_object_object_add(o, "disagree_phases", dis);
	json_object_object_add(o, "follow", json_object_new_string(all ? "either" : "real"));
	rarr = stt_json_get(real, "backends");
	json_object_object_add(o, "real", rarr ? json_object_get(rarr) : json_object_new_array());
	*out = o;
	return 0;
}

void stt_qualify_engine_line(struct json_object *doc, char *line, size_t len)
{
	struct json_object *ec = stt_json_get(doc, "engine_check"), *dis;
	size_t used, group = 0;
	int n;

	line[0] = '\0';
	if (!ec)
		return;
	n = json_object_get_int(stt_json_get(ec, "backends_compared"));
	dis = stt_json_get(ec, "disagree_phases");
	if (!n) {
		snprintf(line, len, "engine check: no backend ran both emulated and real");
		return;
	}
	/* Backends are ranked among those one engine ran: the largest such group. */
	json_object_object_foreach(stt_json_get(ec, "ranking"), ph, x)
	{
		size_t m = json_object_array_length(stt_json_get(x, "real"));

		(void)ph;
		if (m > group)
			group = m;
	}
	if (!dis || !json_object_array_length(dis)) {
		snprintf(line, len,
			 "engine check: the emulation and the real engine rank the %d backend%s the "
			 "same in every phase%s",
			 n, n == 1 ? "" : "s",
			 n == 1	       ? " (one backend: nothing to rank; the side-by-side figures are "
				  "what it checks)"
			 : group <= 1 ? " (one backend per engine, ranked among those the same engine "
					"ran: nothing to rank; the side-by-side figures are what it "
					"checks)"
				      : "");
		return;
	}
	used = (size_t)snprintf(line, len,
				"engine check: the emulation and the real engine rank the backends "
				"differently in");
	for (size_t i = 0; i < json_object_array_length(dis) && used < len; i++)
		used += (size_t)snprintf(line + used, len - used, "%s %s", i ? "," : "",
					 json_object_get_string(json_object_array_get_idx(dis, i)));
	if (used < len)
		snprintf(line + used, len - used,
			 "; the verdicts and the recommendation follow the real engine");
}
