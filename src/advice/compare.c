// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Comparing two results documents, figure by figure. See compare.h for the rule; the tests
 * behind it are in stats.c (Mann-Whitney U, the Hodges-Lehmann shift and its bounds).
 */
#include "advice/compare.h"

#include "base/err.h"
#include "base/json.h"
#include "base/stats.h"

#include <errno.h>
#include <fnmatch.h>
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *stt_cmp_verdict_name(enum stt_cmp_verdict v)
{
	switch (v) {
	case STT_CMP_REGRESSION:
		return "regression";
	case STT_CMP_IMPROVEMENT:
		return "improvement";
	case STT_CMP_WITHIN:
		return "within threshold";
	default:
		return "no change";
	}
}

const char *stt_cmp_method_name(enum stt_cmp_method m)
{
	switch (m) {
	case STT_CMP_MEDIANS_FEW:
		return "medians (n<5)";
	case STT_CMP_MEDIANS_ONLY:
		return "medians (no values)";
	default:
		return "mann-whitney";
	}
}

void stt_compare_params_init(struct stt_cmp_params *p)
{
	memset(p, 0, sizeof(*p));
	p->alpha = 0.05;
	p->threshold = 0.05;
	p->confidence = 0.90;
}

double stt_compare_threshold(const struct stt_cmp_params *p, const char *name)
{
	for (size_t i = p->n_per_metric; i-- > 0;)
		if (!fnmatch(p->per_metric[i].glob, name, 0))
			return p->per_metric[i].threshold;
	return p->threshold;
}

/* @v relative to @base; from a base of 0 any change is infinite. */
static double relative(double v, double base)
{
	if (base != 0.0)
		return v / fabs(base);
	return v > 0.0 ? INFINITY : v < 0.0 ? -INFINITY : 0.0;
}

static int check_threshold(double t)
{
	if (!(t >= 0.0 && t < 10.0))
		return stt_err(-EINVAL, "threshold %g: must be from 0 to 10 (1000%%)", t);
	return 0;
}

static int check_params(const struct stt_cmp_params *p)
{
	int r;

	if (!(p->alpha > 0.0 && p->alpha < 0.5))
		return stt_err(-EINVAL, "alpha %g: must be above 0 and below 0.5", p->alpha);
	if ((r = check_threshold(p->threshold)))
		return r;
	for (size_t i = 0; i < p->n_per_metric; i++)
		if ((r = check_threshold(p->per_metric[i].threshold)))
			return r;
	if (!(p->confidence > 0.5 && p->confidence < 1.0))
		return stt_err(-EINVAL, "confidence %g: must be above 0.5 and below 1",
			       p->confidence);
	return 0;
}

static int test_samples(const struct stt_cmp_params *p, const struct stt_cmp_sample *base,
			const struct stt_cmp_sample *cand, struct stt_cmp_result *out, double *p_up,
			double *p_down)
{
	double *x = NULL, *y = NULL;
	struct stt_shift sh;
	struct stt_mw mw;
	int r = -ENOMEM;

	out->log_scale = true;
	for (size_t i = 0; i < base->n; i++)
		out->log_scale &= base->values[i] > 0.0;
	for (size_t i = 0; i < cand->n; i++)
		out->log_scale &= cand->values[i] > 0.0;
	x = calloc(base->n, sizeof(*x));
	y = calloc(cand->n, sizeof(*y));
	if (!x || !y)
		goto out;
	for (size_t i = 0; i < base->n; i++)
		x[i] = out->log_scale ? log(base->values[i]) : base->values[i];
	for (size_t i = 0; i < cand->n; i++)
		y[i] = out->log_scale ? log(cand->values[i]) : cand->values[i];
	if ((r = stt_stats_mann_whitney(x, base->n, y, cand->n, &mw)) ||
	    (r = stt_stats_shift(x, base->n, y, cand->n, p->confidence, &sh)))
		goto out;
	*p_up = mw.p_greater;
	*p_down = mw.p_less;
	if (out->log_scale) {
		out->change = expm1(sh.estimate);
		out->lo = expm1(sh.lo);
		out->hi = expm1(sh.hi);
	} else {
		out->change = relative(sh.estimate, base->median);
		out->lo = relative(sh.lo, base->median);
		out->hi = relative(sh.hi, base->median);
	}
out:
	free(x);
	free(y);
	return r;
}

int stt_compare_samples(const struct stt_cmp_params *p, enum stt_cmp_better better,
			const struct stt_cmp_sample *base, const struct stt_cmp_sample *cand,
			struct stt_cmp_result *out)
{
	/* Changes are signed so that "worse" is positive: +1 when lower is better. */
	double s = better == STT_CMP_LOWER_BETTER ? 1.0 : -1.0, p_up, p_down;
	double worse_bound, better_bound;
	int r;

	memset(out, 0, sizeof(*out));
	out->lo = out->hi = out->p_worse = out->p_better = NAN;
	if ((r = check_params(p)))
		return r;
	if (!base->values || !cand->values)
		out->method = STT_CMP_MEDIANS_ONLY;
	else if (base->n < STT_COMPARE_MIN_N || cand->n < STT_COMPARE_MIN_N)
		out->method = STT_CMP_MEDIANS_FEW;
	else
		out->method = STT_CMP_TEST;

	if (out->method != STT_CMP_TEST) {
		if (!isfinite(base->median) || !isfinite(cand->median))
			return stt_err(-EINVAL, "a median is not a finite number");
		out->change = relative(cand->median - base->median, base->median);
		if (s * out->change > p->threshold)
			out->verdict = STT_CMP_REGRESSION;
		else if (s * out->change < -p->threshold)
			out->verdict = STT_CMP_IMPROVEMENT;
		else
			out->verdict = STT_CMP_NO_CHANGE;
		return 0;
	}

	if ((r = test_samples(p, base, cand, out, &p_up, &p_down)))
		return r;
	out->p_worse = s > 0 ? p_up : p_down;
	out->p_better = s > 0 ? p_down : p_up;
	/* The bound nearest "no change", as a size of the change in that direction. */
	worse_bound = s > 0 ? out->lo : -out->hi;
	better_bound = s > 0 ? -out->hi : out->lo;
	if (out->p_worse < p->alpha && worse_bound > p->threshold)
		out->verdict = STT_CMP_REGRESSION;
	else if (out->p_better < p->alpha && better_bound > p->threshold)
		out->verdict = STT_CMP_IMPROVEMENT;
	else if (out->p_worse < p->alpha || out->p_better < p->alpha)
		out->verdict = STT_CMP_WITHIN;
	else
		out->verdict = STT_CMP_NO_CHANGE;
	return 0;
}

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
	if (f->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 64;
		struct stt_cmp_metric *nm = realloc(f->m, cap * sizeof(*nm));

		if (!nm)
			return -ENOMEM;
		f->m = nm;
		f->cap = cap;
	}
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
} phase_figs[] = {
    {"p50_ns", "p50", "ns", STT_CMP_LOWER_BETTER},
    {"p99_ns", "p99", "ns", STT_CMP_LOWER_BETTER},
    {"amplification", "amplification", "ratio", STT_CMP_LOWER_BETTER},
};

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
					if ((r = add_summary(f, name, phase_figs[i].unit,
							     phase_figs[i].better,
							     stt_json_get(ph, phase_figs[i].key))))
						return r;
				}
			}
		}
		snprintf(name, sizeof(name), "%s/%s/storm/containers_per_s", backend, mode);
		if ((r = add_summary(f, name, "containers/s", STT_CMP_HIGHER_BETTER,
				     stt_json_get(m, "storm.containers_per_s"))))
			return r;
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

static struct json_object *backend_named(struct json_object *doc, const char *name)
{
	struct json_object *arr = stt_json_get(doc, "backends");

	for (size_t i = 0;
	     json_object_is_type(arr, json_type_array) && i < json_object_array_length(arr); i++) {
		struct json_object *be = json_object_array_get_idx(arr, i);
		const char *n = json_object_get_string(stt_json_get(be, "backend"));
		const char *st = json_object_get_string(stt_json_get(be, "status"));

		if (n && st && !strcmp(n, name) && !strcmp(st, "ok"))
			return be;
	}
	return NULL;
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

		if (!name || backend_named(base, name) != a || !(b = backend_named(cand, name)))
			continue;
		snprintf(what, sizeof(what), "%s environment", name);
		if ((r = diff_at(&s, a, b, "environment", what, "native")))
			goto fail;
	}
	*out = s.v;
	*n = s.n;
	return 0;
fail:
	stt_compare_strings_free(s.v, s.n);
	return r;
}

/* ---- Two documents ---- */

static bool selected(const char *name, const char *const *globs, size_t nglobs)
{
	if (!nglobs)
		return true;
	for (size_t i = 0; i < nglobs; i++)
		if (!fnmatch(globs[i], name, 0))
			return true;
	return false;
}

static struct stt_cmp_metric *find(struct stt_cmp_metric *m, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (m[i].name && !strcmp(m[i].name, name))
			return &m[i];
	return NULL;
}

static int push_name(char ***v, size_t *n, const char *name)
{
	struct strs s = {*v, *n};
	int r = push(&s, "%s", name);

	*v = s.v;
	*n = s.n;
	return r;
}

void stt_comparison_release(struct stt_comparison *c)
{
	stt_compare_metrics_free(c->m, c->n);
	stt_compare_strings_free(c->only_base, c->n_only_base);
	stt_compare_strings_free(c->only_cand, c->n_only_cand);
	memset(c, 0, sizeof(*c));
}

int stt_compare_docs(struct json_object *base, struct json_object *cand,
		     const struct stt_cmp_params *p, const char *const *globs, size_t nglobs,
		     struct stt_comparison *out)
{
	struct stt_cmp_metric *bm = NULL, *cm = NULL;
	struct stt_cmp_params one = *p;
	size_t nb = 0, nc = 0;
	int r;

	memset(out, 0, sizeof(*out));
	out->params = *p;
	if ((r = check_params(p)) || (r = stt_compare_figures(base, &bm, &nb)))
		return r;
	if ((r = stt_compare_figures(cand, &cm, &nc)))
		goto out;
	out->m = calloc(nb ? nb : 1, sizeof(*out->m));
	if (!out->m) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nb; i++) {
		struct stt_cmp_metric *b = &bm[i], *c, *m;

		if (!selected(b->name, globs, nglobs) || find(out->m, out->n, b->name))
			continue;
		c = find(cm, nc, b->name);
		if (!c) {
			if ((r = push_name(&out->only_base, &out->n_only_base, b->name)))
				goto out;
			continue;
		}
		m = &out->m[out->n++];
		*m = *b;
		m->cand = c->base;
		memset(&c->base, 0, sizeof(c->base));
		memset(b, 0, sizeof(*b));
		one.threshold = m->threshold = stt_compare_threshold(p, m->name);
		if ((r = stt_compare_samples(&one, m->better, &m->base, &m->cand, &m->r))) {
			r = stt_err(r, "%s: %s", m->name, stt_err_msg());
			goto out;
		}
		if (m->r.verdict == STT_CMP_REGRESSION)
			out->regressions++;
		else if (m->r.verdict == STT_CMP_IMPROVEMENT)
			out->improvements++;
	}
	for (size_t i = 0; i < nc; i++) {
		const char *name = cm[i].name;

		if (!name || !selected(name, globs, nglobs) || find(out->m, out->n, name) ||
		    find(cm, i, name))
			continue;
		if ((r = push_name(&out->only_cand, &out->n_only_cand, name)))
			goto out;
	}
	if (!out->n)
		r = stt_err(-ENODATA, nglobs ? "no metric in common matches the --metric patterns"
					     : "no metric in common");
out:
	stt_compare_metrics_free(bm, nb);
	stt_compare_metrics_free(cm, nc);
	if (r)
		stt_comparison_release(out);
	return r;
}

/* ---- JSON ---- */

static struct json_object *jnum(double v)
{
	return isfinite(v) ? json_object_new_double(v) : NULL;
}

static struct json_object *side_json(const struct stt_cmp_sample *s)
{
	struct json_object *o = json_object_new_object();

	if (o && (stt_json_add(o, "n", json_object_new_int64((int64_t)s->n)) ||
		  stt_json_add(o, "median", json_object_new_double(s->median)))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* Appends @v to @arr, taking it in any case (NULL: a failed allocation). */
static int array_add(struct json_object *arr, struct json_object *v)
{
	if (!v || json_object_array_add(arr, v)) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static struct json_object *strings_json(char **v, size_t n)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < n; i++) {
		if (array_add(a, json_object_new_string(v[i]))) {
			json_object_put(a);
			return NULL;
		}
	}
	return a;
}

static struct json_object *metric_json(const struct stt_cmp_metric *m)
{
	struct json_object *o = json_object_new_object();
	const struct stt_cmp_result *r = &m->r;

	if (!o)
		return NULL;
	if (stt_json_add(o, "name", json_object_new_string(m->name)) ||
	    stt_json_add(o, "unit", json_object_new_string(m->unit)) ||
	    stt_json_add(
		o, "better",
		json_object_new_string(m->better == STT_CMP_LOWER_BETTER ? "lower" : "higher")) ||
	    stt_json_add(o, "threshold", json_object_new_double(m->threshold)) ||
	    stt_json_add(o, "method", json_object_new_string(stt_cmp_method_name(r->method))) ||
	    stt_json_add(o, "scale",
			 json_object_new_string(r->method != STT_CMP_TEST ? "medians"
						: r->log_scale		  ? "log"
									  : "linear")) ||
	    stt_json_add(o, "baseline", side_json(&m->base)) ||
	    stt_json_add(o, "candidate", side_json(&m->cand)) ||
	    json_object_object_add(o, "change", jnum(r->change)) ||
	    json_object_object_add(o, "change_lo", jnum(r->lo)) ||
	    json_object_object_add(o, "change_hi", jnum(r->hi)) ||
	    json_object_object_add(o, "p_worse", jnum(r->p_worse)) ||
	    json_object_object_add(o, "p_better", jnum(r->p_better)) ||
	    stt_json_add(o, "verdict", json_object_new_string(stt_cmp_verdict_name(r->verdict)))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

int stt_comparison_to_json(const struct stt_comparison *c, struct json_object **out)
{
	struct json_object *o = json_object_new_object(), *params = json_object_new_object();
	struct json_object *arr = json_object_new_array(), *th = json_object_new_array();

	if (!o || !params || !arr || !th)
		goto fail;
	for (size_t i = 0; i < c->params.n_per_metric; i++) {
		struct json_object *t = json_object_new_object();

		if (array_add(th, t) ||
		    stt_json_add(t, "glob", json_object_new_string(c->params.per_metric[i].glob)) ||
		    stt_json_add(t, "threshold",
				 json_object_new_double(c->params.per_metric[i].threshold)))
			goto fail;
	}
	if (stt_json_add(params, "thresholds", th)) {
		th = NULL;
		goto fail;
	}
	th = NULL;
	if (stt_json_add(params, "alpha", json_object_new_double(c->params.alpha)) ||
	    stt_json_add(params, "threshold", json_object_new_double(c->params.threshold)) ||
	    stt_json_add(params, "confidence", json_object_new_double(c->params.confidence)) ||
	    stt_json_add(params, "min_repetitions", json_object_new_int(STT_COMPARE_MIN_N)))
		goto fail;
	for (size_t i = 0; i < c->n; i++)
		if (array_add(arr, metric_json(&c->m[i])))
			goto fail;
	if (stt_json_add(o, "schema", json_object_new_string(STT_COMPARE_SCHEMA)) ||
	    stt_json_add(o, "schema_version", json_object_new_int(STT_COMPARE_VERSION)))
		goto fail;
	if (stt_json_add(o, "params", params)) {
		params = NULL;
		goto fail;
	}
	params = NULL;
	if (stt_json_add(o, "metrics", arr)) {
		arr = NULL;
		goto fail;
	}
	arr = NULL;
	if (stt_json_add(o, "only_in_baseline", strings_json(c->only_base, c->n_only_base)) ||
	    stt_json_add(o, "only_in_candidate", strings_json(c->only_cand, c->n_only_cand)) ||
	    stt_json_add(o, "regressions", json_object_new_int64((int64_t)c->regressions)) ||
	    stt_json_add(o, "improvements", json_object_new_int64((int64_t)c->improvements)))
		goto fail;
	*out = o;
	return 0;
fail:
	json_object_put(th);
	json_object_put(arr);
	json_object_put(params);
	json_object_put(o);
	return -ENOMEM;
}
