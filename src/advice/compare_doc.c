// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * What compare reads from one results document (see compare.h): its figures, named
 * BACKEND/MODE/PHASE/STAT with their repetitions, and the environment two documents must share
 * to be compared.
 */
#include "advice/compare.h"
#include "advice/results.h"

#include "base/array.h"
#include "base/err.h"
#include "base/json.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Figures of one document ---- */

struct figs {
	struct stt_cmp_metric *m;
	size_t n, cap;
};

static void sample_release(struct stt_cmp_sample *s)
{
	free(s->values);
	s->values = NULL;
}

void stt_compare_metrics_free(struct stt_cmp_metric *m, size_t n)
{
	for (size_t i = 0; m && i < n; i++) {
		free(m[i].name);
		sample_release(&m[i].base);
		sample_release(&m[i].cand);
	}
	free(m);
}

static bool is_number(struct json_object *v)
{
	return json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int);
}

/*
 * Adds the figure @name from @summary ({ n, median, values }): 0 also when the summary has no
 * median (nothing to compare), -EINVAL when it is malformed.
 */
static int add_summary(struct figs *f, const char *name, const char *unit,
		       enum stt_cmp_better better, struct json_object *summary)
{
	struct json_object *med = stt_json_get(summary, "median");
	struct json_object *vals = stt_json_get(summary, "values");
	struct json_object *n = stt_json_get(summary, "n");
	struct stt_cmp_metric *m;

	if (!summary || !med || json_object_is_type(med, json_type_null))
		return 0;
	if (!is_number(med) || !isfinite(json_object_get_double(med)))
		return stt_err(-EINVAL, "%s: \"median\" is not a number", name);
	if (vals && !json_object_is_type(vals, json_type_array))
		return stt_err(-EINVAL, "%s: \"values\" is not an array", name);
	if (vals && json_object_array_length(vals) == 0)
		return stt_err(-EINVAL, "%s: \"values\" is empty", name);
	if (stt_array_reserve(&f->m, &f->cap, f->n, sizeof(*f->m), 64))
		return -ENOMEM;
	m = &f->m[f->n];
	memset(m, 0, sizeof(*m));
	m->unit = unit;
	m->better = better;
	m->base.median = json_object_get_double(med);
	m->base.n = n && is_number(n) && json_object_get_int64(n) > 0
			? (size_t)json_object_get_int64(n)
			: 1;
	if (vals) {
		size_t len = json_object_array_length(vals);

		m->base.values = calloc(len, sizeof(double));
		if (!m->base.values)
			return -ENOMEM;
		for (size_t i = 0; i < len; i++) {
			struct json_object *v = json_object_array_get_idx(vals, i);

			if (!is_number(v) || !isfinite(json_object_get_double(v))) {
				sample_release(&m->base);
				return stt_err(-EINVAL, "%s: values[%zu] is not a number", name, i);
			}
			m->base.values[i] = json_object_get_double(v);
		}
		m->base.n = len;
	}
	m->name = strdup(name);
	if (!m->name) {
		sample_release(&m->base);
		return -ENOMEM;
	}
	f->n++;
	return 0;
}

/* A single value (raw figures are one run each): a summary of n = 1. */
static int add_single(struct figs *f, const char *name, const char *unit,
		      enum stt_cmp_better better, double v)
{
	struct json_object *s = json_object_new_object(), *vals = json_object_new_array();
	int r = -ENOMEM;

	if (s && vals && !json_object_array_add(vals, json_object_new_double(v)) &&
	    !stt_json_add(s, "n", json_object_new_int(1)) &&
	    !stt_json_add(s, "median", json_object_new_double(v)) &&
	    !stt_json_add(s, "values", vals)) {
		vals = NULL;
		r = add_summary(f, name, unit, better, s);
	}
	json_object_put(vals);
	json_object_put(s);
	return r;
}

static const struct {
	const char *key, *stat, *unit;
	enum stt_cmp_better better;
	double quantile; /* of the phase's latencies; 0: not a percentile */
} phase_figs[] = {
    {"p50_ns", "p50", "ns", STT_CMP_LOWER_BETTER, 0.50},
    {"p99_ns", "p99", "ns", STT_CMP_LOWER_BETTER, 0.99},
    {"amplification", "amplification", "ratio", STT_CMP_LOWER_BETTER, 0.0},
};

/* A percentile of the phase's latencies: @total samples over the repetitions. */
static void set_percentile(struct stt_cmp_metric *m, double q, struct json_object *total)
{
	m->quantile = q;
	if (total && is_number(total) && json_object_get_double(total) > 0.0 && m->base.n)
		m->per_rep = json_object_get_double(total) / (double)m->base.n;
}

static int backend_figs(struct figs *f, struct json_object *be)
{
	const char *backend = json_object_get_string(stt_json_get(be, "backend"));
	const char *status = json_object_get_string(stt_json_get(be, "status"));
	struct json_object *modes = stt_json_get(be, "modes");
	char name[512];
	int r;

	if (!backend || !status || strcmp(status, "ok") ||
	    !json_object_is_type(modes, json_type_object))
		return 0;
	json_object_object_foreach(modes, mode, m)
	{
		struct json_object *phases = stt_json_get(m, "phases");

		if (json_object_is_type(phases, json_type_object)) {
			json_object_object_foreach(phases, phase, ph)
			{
				for (size_t i = 0; i < sizeof(phase_figs) / sizeof(phase_figs[0]);
				     i++) {
					snprintf(name, sizeof(name), "%s/%s/%s/%s", backend, mode,
						 phase, phase_figs[i].stat);
					size_t had = f->n;

					if ((r = add_summary(f, name, phase_figs[i].unit,
							     phase_figs[i].better,
							     stt_json_get(ph, phase_figs[i].key))))
						return r;
					if (f->n > had && phase_figs[i].quantile > 0.0)
						set_percentile(&f->m[had], phase_figs[i].quantile,
							       stt_json_get(ph, "lat_ns.N"));
				}
			}
		}
		snprintf(name, sizeof(name), "%s/%s/storm/containers_per_s", backend, mode);
		if ((r = add_summary(f, name, "containers/s", STT_CMP_HIGHER_BETTER,
				     stt_json_get(m, "storm.containers_per_s"))))
			return r;
		snprintf(name, sizeof(name), "%s/%s/storm/flush_ms", backend, mode);
		if ((r = add_summary(f, name, "ms", STT_CMP_LOWER_BETTER,
				     stt_json_get(m, "storm.flush_ms"))))
			return r;
		snprintf(name, sizeof(name), "%s/%s/control/ns", backend, mode);
		{
			size_t had = f->n;

			if ((r = add_summary(f, name, "ns", STT_CMP_LOWER_BETTER,
					     stt_json_get(m, "control_ns"))))
				return r;
			if (f->n > had)
				f->m[had].control = true;
		}
	}
	return 0;
}

/* raw_device.jobs[]: an `io --json` result each, one run: IOPS and clat p99. */
static int raw_figs(struct figs *f, struct json_object *raw)
{
	struct json_object *jobs = stt_json_get(raw, "jobs");
	char name[512];
	int r;

	if (!json_object_is_type(jobs, json_type_array))
		return 0;
	for (size_t i = 0; i < json_object_array_length(jobs); i++) {
		struct json_object *job = json_object_array_get_idx(jobs, i);
		const char *jname = json_object_get_string(stt_json_get(job, "name"));
		struct json_object *res = stt_json_get(job, "result"), *main = NULL;
		double iops = 0.0, most = 0.0;
		bool any = false;

		if (!jname || !res)
			continue;
		for (int d = 0; d < 2; d++) {
			struct json_object *dir = stt_json_get(res, d ? "write" : "read");
			double ios = json_object_get_double(stt_json_get(dir, "total_ios"));

			if (!dir || !(ios > 0))
				continue;
			any = true;
			iops += json_object_get_double(stt_json_get(dir, "iops"));
			if (ios > most) {
				most = ios;
				main = dir;
			}
		}
		if (!any)
			continue;
		snprintf(name, sizeof(name), "raw/%s/iops", jname);
		if ((r = add_single(f, name, "iops", STT_CMP_HIGHER_BETTER, iops)))
			return r;
		if (json_object_get_int64(stt_json_get(main, "clat_ns.N")) > 0) {
			struct json_object *pct = stt_json_get(main, "clat_ns.percentile");
			struct json_object *v =
			    pct ? json_object_object_get(pct, "99.000000") : NULL;

			snprintf(name, sizeof(name), "raw/%s/clat_p99", jname);
			if (v && is_number(v) &&
			    (r = add_single(f, name, "ns", STT_CMP_LOWER_BETTER,
					    json_object_get_double(v))))
				return r;
		}
	}
	return 0;
}

int stt_compare_figures(struct json_object *doc, struct stt_cmp_metric **out, size_t *n)
{
	struct json_object *arr = stt_json_get(doc, "backends");
	struct figs f = {0};
	int r = 0;

	for (size_t i = 0;
	     !r && json_object_is_type(arr, json_type_array) && i < json_object_array_length(arr);
	     i++)
		r = backend_figs(&f, json_object_array_get_idx(arr, i));
	if (!r)
		r = raw_figs(&f, stt_json_get(doc, "raw_device"));
	if (r) {
		stt_compare_metrics_free(f.m, f.n);
		return r;
	}
	*out = f.m;
	*n = f.n;
	return 0;
}

/* ---- Environment ---- */

struct strs {
	char **v;
	size_t n;
};

void stt_compare_strings_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

__attribute__((format(printf, 2, 3))) static int push(struct strs *s, const char *fmt, ...)
{
	char **nv = realloc(s->v, (s->n + 1) * sizeof(*nv));
	va_list ap;
	int len;

	if (!nv)
		return -ENOMEM;
	s->v = nv;
	va_start(ap, fmt);
	len = vasprintf(&s->v[s->n], fmt, ap);
	va_end(ap);
	if (len < 0)
		return -ENOMEM;
	s->n++;
	return 0;
}

/* A value as people read it: strings as they are, null or missing as @none. */
static const char *show(struct json_object *v, const char *none)
{
	if (!v || json_object_is_type(v, json_type_null))
		return none;
	if (json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

/*
 * A difference at @path, worded as @what; @none stands for a missing value (so that a
 * missing value and its default are the same).
 */
static int diff_at(struct strs *s, struct json_object *base, struct json_object *cand,
		   const char *path, const char *what, const char *none)
{
	struct json_object *a = stt_json_get(base, path), *b = stt_json_get(cand, path);
	char *sa = strdup(show(a, none)); /* show() may hand out json-c's buffer */
	int r;

	if (!sa)
		return -ENOMEM;
	r = strcmp(sa, show(b, none)) ? push(s, "%s: %s vs %s", what, sa, show(b, none)) : 0;
	free(sa);
	return r;
}

static void major(struct json_object *doc, char *buf, size_t len)
{
	const char *v = json_object_get_string(stt_json_get(doc, "tool.version"));

	snprintf(buf, len, "%.*s", v ? (int)strcspn(v, ".") : 7, v ? v : "unknown");
}

/* Options that do not change what is measured, only how precisely. */
static bool option_ignored(const char *key)
{
	return !strcmp(key, "repetitions") || !strcmp(key, "backends");
}

static int diff_options(struct strs *s, struct json_object *base, struct json_object *cand)
{
	struct json_object *oa = stt_json_get(base, "options"), *ob = stt_json_get(cand, "options");
	char what[128], path[128];
	int r;

	if (!oa != !ob)
		return push(s, "options: %s vs %s", oa ? "recorded" : "none",
			    ob ? "recorded" : "none");
	for (int side = 0; side < 2; side++) {
		struct json_object *o = side ? ob : oa;

		if (!json_object_is_type(o, json_type_object))
			continue;
		json_object_object_foreach(o, key, v)
		{
			(void)v;
			/* keys of both: once, from the baseline's side */
			if (option_ignored(key) ||
			    (side && oa && json_object_object_get_ex(oa, key, NULL)))
				continue;
			snprintf(what, sizeof(what), "option %s", key);
			snprintf(path, sizeof(path), "options.%s", key);
			if ((r = diff_at(s, base, cand, path, what, "none")))
				return r;
		}
	}
	return 0;
}

/* dockerd's version: "not installed" when the host was probed without it, else "unknown". */
static const char *docker_version(struct json_object *doc)
{
	if (!stt_json_get(doc, "environment.host"))
		return "unknown";
	return show(stt_json_get(doc, "environment.host.software.dockerd.version"),
		    "not installed");
}

static int diff_docker(struct strs *s, struct json_object *base, struct json_object *cand)
{
	char *a = strdup(docker_version(base));
	int r;

	if (!a)
		return -ENOMEM;
	r = strcmp(a, docker_version(cand))
		? push(s, "Docker version: %s vs %s", a, docker_version(cand))
		: 0;
	free(a);
	return r;
}

int stt_compare_env(struct json_object *base, struct json_object *cand, char ***out, size_t *n)
{
	struct strs s = {0};
	char ma[32], mb[32];
	struct json_object *arr = stt_json_get(base, "backends");
	int r;

	if ((r = diff_at(&s, base, cand, "environment.label", "environment", "native")) ||
	    (r = diff_at(&s, base, cand, "environment.kernel", "kernel", "unknown")))
		goto fail;
	if ((stt_json_get(base, "environment.target.model") ||
	     stt_json_get(cand, "environment.target.model")) &&
	    (r = diff_at(&s, base, cand, "environment.target.model", "device model", "none")))
		goto fail;
	if ((r = diff_at(&s, base, cand, "profile.hash", "profile hash", "none")) ||
	    (r = diff_options(&s, base, cand)))
		goto fail;
	if ((r = diff_docker(&s, base, cand)))
		goto fail;
	major(base, ma, sizeof(ma));
	major(cand, mb, sizeof(mb));
	if (strcmp(ma, mb) && (r = push(&s, "tool major version: %s vs %s", ma, mb)))
		goto fail;
	for (size_t i = 0;
	     json_object_is_type(arr, json_type_array) && i < json_object_array_length(arr); i++) {
		struct json_object *a = json_object_array_get_idx(arr, i), *b;
		const char *name = json_object_get_string(stt_json_get(a, "backend"));
		char what[128];

		if (!name || stt_results_backend_ok(base, name) != a || !(b = stt_results_backend_ok(cand, name)))
			continue;
		snprintf(what, sizeof(what), "%s environment", name);
		if ((r = diff_at(&s, a, b, "environment", what, "native")))
			goto fail;
		/* The emulation and a real engine measure different things. */
		snprintf(what, sizeof(what), "%s engine", name);
		if ((r = diff_at(&s, a, b, "engine.name", what, "emulated")))
			goto fail;
	}
	*out = s.v;
	*n = s.n;
	return 0;
fail:
	stt_compare_strings_free(s.v, s.n);
	return r;
}
