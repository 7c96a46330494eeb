// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The report's aggregate (see report.h): a summary of each run, the detail the page draws for
 * the first runs, and the fleet view over all of them. The HTML page is in report_html.c.
 */
#include "advice/report.h"

#include "base/json.h"
#include "base/stats.h"
#include "advice/compare.h"
#include "advice/qualify.h"
#include "advice/recommend.h"
#include "advice/results.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef STT_VERSION
#define STT_VERSION "0.0.0"
#endif

static const char *const phases[] = {"create",	  "start", "first-read", "first-write",
				     "cow-write", "stop",  "remove"};
static const char *const modes[] = {"cold", "warm"};
#define NPHASES (sizeof(phases) / sizeof(phases[0]))
#define NMODES	(sizeof(modes) / sizeof(modes[0]))

struct stt_report {
	struct json_object *runs;     /* array of run entries */
	struct json_object *seen;     /* "host\nrun id" -> file name */
	struct json_object *metrics;  /* name -> { unit, better, runs: [i], values: [v] } */
	struct json_object *order;    /* metric names in order of first appearance */
	struct json_object *warnings; /* array of strings */
	struct json_object *compare;  /* or NULL */
	size_t duplicates;
};

int stt_report_new(struct stt_report **out)
{
	struct stt_report *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->runs = json_object_new_array();
	r->seen = json_object_new_object();
	r->metrics = json_object_new_object();
	r->order = json_object_new_array();
	r->warnings = json_object_new_array();
	if (!r->runs || !r->seen || !r->metrics || !r->order || !r->warnings) {
		stt_report_free(r);
		return -ENOMEM;
	}
	*out = r;
	return 0;
}

void stt_report_free(struct stt_report *r)
{
	if (!r)
		return;
	json_object_put(r->runs);
	json_object_put(r->seen);
	json_object_put(r->metrics);
	json_object_put(r->order);
	json_object_put(r->warnings);
	json_object_put(r->compare);
	free(r);
}

size_t stt_report_runs(const struct stt_report *r)
{
	return json_object_array_length(r->runs);
}

/* ---- Small helpers: every add checked, errors collected in *err ---- */

static void add(int *err, struct json_object *o, const char *key, struct json_object *v)
{
	if (stt_json_add(o, key, v))
		*err = -ENOMEM;
}

static void push(int *err, struct json_object *a, struct json_object *v)
{
	if (!v || json_object_array_add(a, v)) {
		json_object_put(v);
		*err = -ENOMEM;
	}
}

static void add_str(int *err, struct json_object *o, const char *key, const char *s)
{
	if (s)
		add(err, o, key, json_object_new_string(s));
	else
		json_object_object_add(o, key, NULL);
}

static void add_num(int *err, struct json_object *o, const char *key, double v)
{
	if (isfinite(v))
		add(err, o, key, json_object_new_double(v));
	else
		json_object_object_add(o, key, NULL);
}

static const char *str_at(struct json_object *o, const char *path)
{
	struct json_object *v = stt_json_get(o, path);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static double num_at(struct json_object *o, const char *path)
{
	struct json_object *v = stt_json_get(o, path);

	if (!v ||
	    !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
		return NAN;
	return json_object_get_double(v);
}

/* The percentile @key ("99.000000") of an fio-shaped histogram (its keys hold dots). */
static double pct_at(struct json_object *lat, const char *key)
{
	struct json_object *pc = stt_json_get(lat, "percentile"), *v;

	if (!pc || !json_object_object_get_ex(pc, key, &v))
		return NAN;
	return json_object_get_double(v);
}

/* A copy of @v (a deep one), or a JSON null when @v is absent. */
static void add_copy(int *err, struct json_object *o, const char *key, struct json_object *v)
{
	struct json_object *c = NULL;

	if (v && json_object_deep_copy(v, &c, NULL)) {
		*err = -ENOMEM;
		return;
	}
	json_object_object_add(o, key, c);
}

/* A summary ({ n, median, ci95, noisy }) as { median, lo, hi, n, noisy }, or null. */
static struct json_object *fig(int *err, struct json_object *summary)
{
	struct json_object *f, *ci = stt_json_get(summary, "ci95");
	double med = num_at(summary, "median");

	if (!summary || !isfinite(med))
		return NULL;
	f = json_object_new_object();
	if (!f) {
		*err = -ENOMEM;
		return NULL;
	}
	add_num(err, f, "median", med);
	add_num(err, f, "lo",
		ci && json_object_array_length(ci) == 2
		    ? json_object_get_double(json_object_array_get_idx(ci, 0))
		    : NAN);
	add_num(err, f, "hi",
		ci && json_object_array_length(ci) == 2
		    ? json_object_get_double(json_object_array_get_idx(ci, 1))
		    : NAN);
	add_num(err, f, "n", num_at(summary, "n"));
	add(err, f, "noisy",
	    json_object_new_boolean(json_object_get_boolean(stt_json_get(summary, "noisy"))));
	return f;
}

static void add_fig(int *err, struct json_object *o, const char *key, struct json_object *summary)
{
	json_object_object_add(o, key, fig(err, summary));
}

/* ---- Detail of one run: what the page draws ---- */

struct bin {
	double ns;
	double count;
};

static int bin_cmp(const void *a, const void *b)
{
	const struct bin *x = a, *y = b;

	return x->ns < y->ns ? -1 : x->ns > y->ns;
}

/* The CDF of a histogram's "bins": x = bucket midpoints in ns, y = fraction at or below. */
static void add_cdf(int *err, struct json_object *o, struct json_object *lat)
{
	struct json_object *bins = stt_json_get(lat, "bins"), *xs, *ys;
	struct bin *b = NULL;
	size_t n = 0, i = 0;
	double total = 0, cum = 0;

	xs = json_object_new_array();
	ys = json_object_new_array();
	if (!xs || !ys)
		goto nomem;
	if (bins && json_object_is_type(bins, json_type_object))
		n = (size_t)json_object_object_length(bins);
	if (n) {
		b = calloc(n, sizeof(*b));
		if (!b)
			goto nomem;
		json_object_object_foreach(bins, k, v)
		{
			b[i].ns = strtod(k, NULL);
			b[i].count = json_object_get_double(v);
			total += b[i].count;
			i++;
		}
		qsort(b, n, sizeof(*b), bin_cmp);
	}
	for (i = 0; i < n && total > 0; i++) {
		cum += b[i].count;
		push(err, xs, json_object_new_double(b[i].ns));
		push(err, ys, json_object_new_double(cum / total));
	}
	free(b);
	add(err, o, "x_ns", xs);
	add(err, o, "cdf", ys);
	return;
nomem:
	json_object_put(xs);
	json_object_put(ys);
	*err = -ENOMEM;
}

static bool backend_ok(struct json_object *be)
{
	const char *st = str_at(be, "status");

	return !st || !strcmp(st, "ok");
}

/* "latency": per phase, one series per backend and mode. */
static struct json_object *detail_latency(int *err, struct json_object *backends)
{
	struct json_object *out = json_object_new_array();

	for (size_t p = 0; out && p < NPHASES; p++) {
		struct json_object *ph = json_object_new_object(),
				   *series = json_object_new_array();

		add_str(err, ph, "phase", phases[p]);
		add(err, ph, "series", series);
		push(err, out, ph);
		if (!ph || !series)
			break;
		for (size_t b = 0; b < json_object_array_length(backends); b++) {
			struct json_object *be = json_object_array_get_idx(backends, b);

			if (!backend_ok(be))
				continue;
			for (size_t m = 0; m < NMODES; m++) {
				char path[96];
				struct json_object *pho, *s, *lat;

				snprintf(path, sizeof(path), "modes.%s.phases.%s", modes[m],
					 phases[p]);
				pho = stt_json_get(be, path);
				lat = stt_json_get(pho, "lat_ns");
				if (!lat)
					continue;
				s = json_object_new_object();
				push(err, series, s);
				if (!s)
					return out;
				add_str(err, s, "backend", str_at(be, "backend"));
				add_str(err, s, "environment", str_at(be, "environment"));
				add_str(err, s, "mode", modes[m]);
				add_num(err, s, "N", num_at(lat, "N"));
				add_num(err, s, "p50_ns", pct_at(lat, "50.000000"));
				add_num(err, s, "p99_ns", pct_at(lat, "99.000000"));
				add_fig(err, s, "p50_reps", stt_json_get(pho, "p50_ns"));
				add_fig(err, s, "p99_reps", stt_json_get(pho, "p99_ns"));
				add_cdf(err, s, lat);
			}
		}
	}
	if (!out)
		*err = -ENOMEM;
	return out;
}

/* "phases" (breakdown) and "device": per backend and mode, one row per phase. */
static struct json_object *detail_phases(int *err, struct json_object *backends)
{
	struct json_object *out = json_object_new_array();

	for (size_t b = 0; out && b < json_object_array_length(backends); b++) {
		struct json_object *be = json_object_array_get_idx(backends, b);

		if (!backend_ok(be))
			continue;
		for (size_t m = 0; m < NMODES; m++) {
			struct json_object *mo, *row, *rows;
			char path[32];

			snprintf(path, sizeof(path), "modes.%s", modes[m]);
			mo = stt_json_get(be, path);
			if (!mo)
				continue;
			row = json_object_new_object();
			rows = json_object_new_array();
			push(err, out, row);
			add(err, row, "phases", rows);
			if (!row || !rows)
				return out;
			add_str(err, row, "backend", str_at(be, "backend"));
			add_str(err, row, "environment", str_at(be, "environment"));
			add_str(err, row, "mode", modes[m]);
			add_fig(err, row, "containers_per_s",
				stt_json_get(mo, "storm.containers_per_s"));
			add_fig(err, row, "page_cache_per_container_bytes",
				stt_json_get(mo, "page_cache_per_container_bytes"));
			add_fig(err, row, "pool_data_per_container_bytes",
				stt_json_get(mo, "pool_data_per_container_bytes"));
			for (size_t p = 0; p < NPHASES; p++) {
				struct json_object *pho, *ph = json_object_new_object();

				snprintf(path, sizeof(path), "phases.%s", phases[p]);
				pho = stt_json_get(mo, path);
				push(err, rows, ph);
				if (!ph)
					return out;
				add_str(err, ph, "phase", phases[p]);
				add_fig(err, ph, "p50_ns", stt_json_get(pho, "p50_ns"));
				add_fig(err, ph, "mean_ns", stt_json_get(pho, "mean_ns"));
				add_fig(err, ph, "read_bytes",
					stt_json_get(pho, "device.read_bytes"));
				add_fig(err, ph, "write_bytes",
					stt_json_get(pho, "device.write_bytes"));
				add_fig(err, ph, "read_ios", stt_json_get(pho, "device.read_ios"));
				add_fig(err, ph, "write_ios",
					stt_json_get(pho, "device.write_ios"));
				add_num(err, ph, "requested_bytes", num_at(pho, "requested_bytes"));
				add_fig(err, ph, "amplification",
					stt_json_get(pho, "amplification"));
			}
		}
	}
	if (!out)
		*err = -ENOMEM;
	return out;
}

/* "tune": the sweep's points, or null. */
static struct json_object *detail_tune(int *err, struct json_object *doc)
{
	struct json_object *tune = stt_json_get(doc, "tune"), *out, *pts, *src;

	if (!tune)
		return NULL;
	out = json_object_new_object();
	pts = json_object_new_array();
	add(err, out, "points", pts);
	if (!out || !pts) {
		*err = -ENOMEM;
		return out;
	}
	add_str(err, out, "backend", str_at(tune, "backend"));
	add_num(err, out, "containers", num_at(tune, "containers"));
	add_num(err, out, "repetitions", num_at(tune, "repetitions"));
	src = stt_json_get(tune, "points");
	for (size_t i = 0; src && i < json_object_array_length(src); i++) {
		struct json_object *s = json_object_array_get_idx(src, i);
		struct json_object *p = json_object_new_object();

		push(err, pts, p);
		if (!p)
			return out;
		add_num(err, p, "chunk_size_bytes", num_at(s, "chunk_size_bytes"));
		add(err, p, "zeroing",
		    json_object_new_boolean(json_object_get_boolean(stt_json_get(s, "zeroing"))));
		add_str(err, p, "status", str_at(s, "status"));
		add_str(err, p, "reason", str_at(s, "reason"));
		add_fig(err, p, "start_p50_ns", stt_json_get(s, "start_p50_ns"));
		add_fig(err, p, "first_write_p50_ns", stt_json_get(s, "first_write_p50_ns"));
		add_fig(err, p, "cow_write_p50_ns", stt_json_get(s, "cow_write_p50_ns"));
		add_fig(err, p, "storm_containers_per_s",
			stt_json_get(s, "storm_containers_per_s"));
		add_num(err, p, "pool_data_bytes_per_container",
			num_at(s, "pool_data_bytes_per_container"));
		add_num(err, p, "provisioning_clat_p50_ratio",
			num_at(s, "provisioning.clat_p50_ratio"));
	}
	return out;
}

/* "raw": qualify's raw device jobs, or null. */
static struct json_object *detail_raw(int *err, struct json_object *doc)
{
	struct json_object *jobs = stt_json_get(doc, "raw_device.jobs"), *out;

	if (!jobs || !json_object_is_type(jobs, json_type_array))
		return NULL;
	out = json_object_new_array();
	for (size_t i = 0; out && i < json_object_array_length(jobs); i++) {
		struct json_object *j = json_object_array_get_idx(jobs, i);
		struct json_object *job = stt_json_get(j, "result.jobs");
		struct json_object *rd, *row = json_object_new_object();

		push(err, out, row);
		if (!row)
			break;
		add_str(err, row, "name", str_at(j, "name"));
		add_str(err, row, "error", str_at(j, "error"));
		if (job && json_object_is_type(job, json_type_array))
			job = json_object_array_get_idx(job, 0);
		rd = stt_json_get(job, "read");
		if (rd && num_at(rd, "io_bytes") == 0)
			rd = stt_json_get(job, "write");
		add_num(err, row, "iops", num_at(rd, "iops"));
		add_num(err, row, "bw_bytes", num_at(rd, "bw_bytes"));
		add_num(err, row, "clat_p50_ns", pct_at(stt_json_get(rd, "clat_ns"), "50.000000"));
		add_num(err, row, "clat_p99_ns", pct_at(stt_json_get(rd, "clat_ns"), "99.000000"));
	}
	if (!out)
		*err = -ENOMEM;
	return out;
}

/* The recommendation of one document, with the Docker version it recorded. */
static int recommend_one(struct json_object *doc, const char *name, struct stt_rec **rec,
			 const char **origin)
{
	const char *ver = str_at(doc, "environment.host.software.dockerd.version");
	struct stt_rec_input in = {
	    .docs = &doc,
	    .names = &name,
	    .ndocs = 1,
	};

	*origin = "unknown (none recorded in the results): the newest rules apply";
	if (ver && !stt_docker_version_parse(ver, &in.docker))
		*origin = "the dockerd version recorded in the results";
	else
		memset(&in.docker, 0, sizeof(in.docker));
	in.docker_origin = *origin;
	return stt_recommend(&in, rec);
}

static struct json_object *detail_recommendation(int *err, const struct stt_rec *rec,
						 const char *origin)
{
	struct json_object *out = json_object_new_object(), *ds = json_object_new_array();
	struct json_object *nm = json_object_new_array();
	char ver[64];

	add(err, out, "decisions", ds);
	add(err, out, "not_measured", nm);
	if (!out || !ds || !nm) {
		*err = -ENOMEM;
		return out;
	}
	if (rec->docker.known)
		snprintf(ver, sizeof(ver), "%d.%d.%d", rec->docker.major, rec->docker.minor,
			 rec->docker.patch);
	add_str(err, out, "docker_version", rec->docker.known ? ver : NULL);
	add_str(err, out, "docker_origin", origin);
	add_str(err, out, "driver", rec->driver);
	for (size_t i = 0; i < rec->n; i++) {
		const struct stt_rec_decision *d = &rec->d[i];
		struct json_object *o = json_object_new_object();

		push(err, ds, o);
		if (!o)
			return out;
		add_str(err, o, "key", d->key);
		add_str(err, o, "value", d->value[0] ? d->value : NULL);
		add_str(err, o, "source", stt_rec_source_name(d->source));
		add_str(err, o, "scope", stt_rec_scope_name(d->scope));
		add_str(err, o, "evidence", d->evidence);
	}
	for (size_t i = 0; i < rec->nnot; i++)
		push(err, nm, json_object_new_string(rec->not_measured[i]));
	return out;
}

static struct json_object *detail(int *err, struct json_object *doc, const struct stt_rec *rec,
				  const char *origin)
{
	struct json_object *d = json_object_new_object(), *backends = stt_json_get(doc, "backends");

	if (!d) {
		*err = -ENOMEM;
		return NULL;
	}
	add_copy(err, d, "options", stt_json_get(doc, "options"));
	add_copy(err, d, "image", stt_json_get(doc, "image.startup"));
	add(err, d, "latency", detail_latency(err, backends));
	add(err, d, "modes", detail_phases(err, backends));
	json_object_object_add(d, "tune", detail_tune(err, doc));
	json_object_object_add(d, "raw", detail_raw(err, doc));
	add(err, d, "recommendation", detail_recommendation(err, rec, origin));
	add_copy(err, d, "warnings", stt_json_get(doc, "warnings"));
	return d;
}

/* ---- One run's summary ---- */

static void run_key(struct json_object *doc, const char *name, char *host, size_t hlen, char *id,
		    size_t ilen)
{
	const char *h = str_at(doc, "environment.hostname"), *r = str_at(doc, "run_id");
	const char *base = strrchr(name, '/');

	snprintf(host, hlen, "%s", h ? h : base ? base + 1 : name);
	snprintf(id, ilen, "%s", r ? r : str_at(doc, "created") ?: "?");
}

static const char *const key_stats[] = {"cold/start/p50", "cold/first-read/p50",
					"cold/storm/containers_per_s"};

/* Records each figure of @doc against run @idx for the fleet view. */
static int fleet_add(struct stt_report *r, struct json_object *figures,
		     const struct stt_cmp_metric *m, size_t n, size_t idx)
{
	int err = 0;

	for (size_t i = 0; i < n; i++) {
		struct json_object *e;

		add_num(&err, figures, m[i].name, m[i].base.median);
		if (!json_object_object_get_ex(r->metrics, m[i].name, &e)) {
			e = json_object_new_object();
			add(&err, r->metrics, m[i].name, e);
			if (err)
				return err;
			add_str(&err, e, "unit", m[i].unit);
			add_str(&err, e, "better",
				m[i].better == STT_CMP_HIGHER_BETTER ? "higher" : "lower");
			add(&err, e, "runs", json_object_new_array());
			add(&err, e, "values", json_object_new_array());
			push(&err, r->order, json_object_new_string(m[i].name));
			if (err)
				return err;
		}
		push(&err, stt_json_get(e, "runs"), json_object_new_int64((int64_t)idx));
		push(&err, stt_json_get(e, "values"), json_object_new_double(m[i].base.median));
	}
	return err;
}

int stt_report_add(struct stt_report *r, struct json_object *doc, const char *name)
{
	struct json_object *run = NULL, *bes, *src, *recj, *figures;
	struct stt_cmp_metric *m = NULL;
	struct stt_rec *rec = NULL;
	char host[256], id[128], key[400], sig[256];
	const char *origin;
	size_t idx = stt_report_runs(r), nm = 0;
	int err = 0;

	run_key(doc, name, host, sizeof(host), id, sizeof(id));
	snprintf(key, sizeof(key), "%s\n%s", host, id);
	if (json_object_object_get_ex(r->seen, key, &src)) {
		char w[1024];

		snprintf(w, sizeof(w), "%s: the same run as %s (host %s, run %s); counted once",
			 name, json_object_get_string(src), host, id);
		r->duplicates++;
		push(&err, r->warnings, json_object_new_string(w));
		return err;
	}
	err = stt_compare_figures(doc, &m, &nm);
	if (err)
		return err;
	err = recommend_one(doc, name, &rec, &origin);
	if (err)
		goto out;
	run = json_object_new_object();
	bes = json_object_new_array();
	recj = json_object_new_object();
	figures = json_object_new_object();
	add(&err, run, "backends", bes);
	add(&err, run, "recommendation", recj);
	add(&err, run, "figures", figures);
	if (err || !run)
		goto nomem;
	add_str(&err, run, "file", name);
	add_str(&err, run, "host", host);
	add_str(&err, run, "run_id", id);
	add_str(&err, run, "created", str_at(doc, "created"));
	add_str(&err, run, "label", stt_results_env_label(doc));
	add_str(&err, run, "kernel", str_at(doc, "environment.kernel"));
	add_str(&err, run, "cpu", str_at(doc, "environment.cpu.model"));
	add_num(&err, run, "cores", num_at(doc, "environment.cpu.cores"));
	add_num(&err, run, "memory_bytes", num_at(doc, "environment.memory_bytes"));
	add_str(&err, run, "tool_version", str_at(doc, "tool.version"));
	add_str(&err, run, "tool_git_revision", str_at(doc, "tool.git_revision"));
	add_str(&err, run, "docker_version",
		str_at(doc, "environment.host.software.dockerd.version"));
	add_str(&err, run, "profile", str_at(doc, "profile.name"));
	add_str(&err, run, "profile_hash", str_at(doc, "profile.hash"));
	add_str(&err, run, "command", str_at(doc, "command"));
	{
		struct json_object *t = json_object_new_object(),
				   *tgt = stt_json_get(doc, "environment.target");

		add(&err, run, "target", t);
		if (t) {
			add_str(&err, t, "path", str_at(tgt, "path"));
			add_str(&err, t, "kind", str_at(tgt, "kind"));
			add_str(&err, t, "fstype", str_at(tgt, "fstype"));
			add_str(&err, t, "block_device", str_at(tgt, "block_device"));
			add_str(&err, t, "model", str_at(tgt, "model"));
			add_num(&err, t, "size_bytes", num_at(tgt, "size_bytes"));
			add_str(&err, t, "workdir", str_at(doc, "options.workdir"));
			add_str(&err, t, "device", str_at(doc, "options.device"));
			add_str(&err, t, "fs", str_at(doc, "options.fs"));
		}
	}
	src = stt_json_get(doc, "backends");
	for (size_t i = 0; i < json_object_array_length(src); i++) {
		struct json_object *be = json_object_array_get_idx(src, i);
		struct json_object *o = json_object_new_object();
		char line[1024];

		push(&err, bes, o);
		if (!o)
			goto nomem;
		stt_qualify_verdict(be, line, sizeof(line));
		add_str(&err, o, "backend", str_at(be, "backend"));
		add_str(&err, o, "status", str_at(be, "status") ?: "ok");
		add_str(&err, o, "environment", str_at(be, "environment"));
		add_str(&err, o, "verdict", line);
		add_str(&err, o, "reason", str_at(be, "reason"));
	}
	{
		const struct stt_rec_decision *cs = stt_rec_get(rec, "pool.chunk_size");
		const struct stt_rec_decision *z = stt_rec_get(rec, "pool.zeroing");
		bool dm = rec->driver && !strcmp(rec->driver, "devicemapper");

		add_str(&err, recj, "driver", rec->driver);
		add_str(&err, recj, "chunk_size", cs && cs->value[0] ? cs->value : NULL);
		add_str(&err, recj, "zeroing", z && z->value[0] ? z->value : NULL);
		/* the chunk size and zeroing only matter where the driver uses the pool */
		snprintf(sig, sizeof(sig), "%s%s%s%s%s", rec->driver ?: "none",
			 dm && cs ? " chunk " : "", dm && cs ? cs->value : "",
			 dm && z ? " zeroing " : "", dm && z ? z->value : "");
		add_str(&err, recj, "signature", sig);
	}
	if (idx < STT_REPORT_DETAIL_MAX)
		add(&err, run, "detail", detail(&err, doc, rec, origin));
	if (!err)
		err = fleet_add(r, figures, m, nm, idx);
	if (err)
		goto nomem;
	add_str(&err, r->seen, key, name);
	push(&err, r->runs, run);
	run = NULL;
	if (err)
		goto nomem;
	goto out;
nomem:
	err = -ENOMEM;
out:
	json_object_put(run);
	stt_rec_free(rec);
	stt_compare_metrics_free(m, nm);
	return err;
}

int stt_report_set_compare(struct stt_report *r, struct json_object *cmp, const char *base_name,
			   const char *cand_name)
{
	int err = 0;

	json_object_put(r->compare);
	r->compare = cmp;
	if (!cmp)
		return -ENOMEM;
	add_str(&err, cmp, "baseline_file", base_name);
	add_str(&err, cmp, "candidate_file", cand_name);
	return err;
}

/* ---- The fleet view ---- */

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median_of(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), dbl_cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One metric over the runs: n, median, the outliers by modified z-score. */
static int fleet_metric(struct stt_report *r, const char *name, struct json_object *e,
			struct json_object *out)
{
	struct json_object *runs = stt_json_get(e, "runs"), *vals = stt_json_get(e, "values");
	size_t n = json_object_array_length(vals);
	struct json_object *o, *outl;
	double *x = NULL, *dev = NULL, med, mad;
	bool *flag = NULL;
	struct stt_summary s;
	int err = 0;

	x = malloc(n * sizeof(*x));
	dev = malloc(n * sizeof(*dev));
	flag = calloc(n, sizeof(*flag));
	o = json_object_new_object();
	outl = json_object_new_array();
	add(&err, o, "mad_outliers", outl);
	push(&err, out, o);
	if (!x || !dev || !flag || err)
		goto nomem;
	for (size_t i = 0; i < n; i++)
		x[i] = json_object_get_double(json_object_array_get_idx(vals, i));
	add_str(&err, o, "name", name);
	add_str(&err, o, "unit", str_at(e, "unit"));
	add_str(&err, o, "better", str_at(e, "better"));
	add_num(&err, o, "n", (double)n);
	if (stt_stats_summarize(x, n, &s, flag))
		goto out; /* a value not finite: no statistics, no outliers */
	add_num(&err, o, "median", s.median);
	med = s.median;
	for (size_t i = 0; i < n; i++)
		dev[i] = fabs(x[i] - med);
	mad = median_of(dev, n);
	add_num(&err, o, "mad", mad);
	for (size_t i = 0; n >= 3 && i < n; i++) {
		size_t run = (size_t)json_object_get_int64(json_object_array_get_idx(runs, i));
		struct json_object *ro = json_object_array_get_idx(r->runs, run), *p;

		if (!flag[i])
			continue;
		p = json_object_new_object();
		push(&err, outl, p);
		if (!p)
			goto nomem;
		add_num(&err, p, "run", (double)run);
		add_str(&err, p, "host", str_at(ro, "host"));
		add_num(&err, p, "value", x[i]);
		add_num(&err, p, "z", mad > 0 ? 0.6745 * (x[i] - med) / mad : NAN);
	}
	goto out;
nomem:
	err = -ENOMEM;
out:
	free(x);
	free(dev);
	free(flag);
	return err;
}

static int fleet(struct stt_report *r, struct json_object **out)
{
	struct json_object *f = json_object_new_object(), *ms = json_object_new_array();
	struct json_object *keys = json_object_new_array(), *rec = json_object_new_object();
	struct json_object *diff = json_object_new_array(), *count = json_object_new_object();
	struct json_object *hosts = json_object_new_object();
	size_t nruns = stt_report_runs(r), best = 0;
	const char *majority = NULL;
	int err = 0;

	add(&err, f, "metrics", ms);
	add(&err, f, "key_metrics", keys);
	add(&err, f, "recommendation", rec);
	add(&err, rec, "differing", diff);
	if (err || !f || !count || !hosts)
		goto nomem;
	for (size_t i = 0; i < json_object_array_length(r->order); i++) {
		const char *name = json_object_get_string(json_object_array_get_idx(r->order, i));
		struct json_object *e = NULL;

		json_object_object_get_ex(r->metrics, name, &e);
		err = fleet_metric(r, name, e, ms);
		if (err)
			goto nomem;
	}
	/* key figures: each backend's cold start and first-read p50 and containers/s */
	for (size_t k = 0; k < sizeof(key_stats) / sizeof(key_stats[0]); k++)
		for (size_t i = 0; i < json_object_array_length(r->order); i++) {
			const char *name =
			    json_object_get_string(json_object_array_get_idx(r->order, i));
			const char *slash = strchr(name, '/');

			if (slash && !strcmp(slash + 1, key_stats[k]))
				push(&err, keys, json_object_new_string(name));
		}
	for (size_t i = 0; i < nruns; i++) {
		struct json_object *run = json_object_array_get_idx(r->runs, i), *c;
		const char *sig = str_at(run, "recommendation.signature");
		int64_t v = 1;

		if (json_object_object_get_ex(count, sig, &c))
			v = json_object_get_int64(c) + 1;
		add(&err, count, sig, json_object_new_int64(v));
		add(&err, hosts, str_at(run, "host"), json_object_new_boolean(1));
		if ((size_t)v > best) {
			best = (size_t)v;
			majority = sig;
		}
	}
	if (err)
		goto nomem;
	add_str(&err, rec, "majority", majority);
	add_num(&err, rec, "count", (double)best);
	add(&err, rec, "signatures", count);
	count = NULL;
	for (size_t i = 0; majority && i < nruns; i++) {
		struct json_object *run = json_object_array_get_idx(r->runs, i), *d;
		const char *sig = str_at(run, "recommendation.signature");

		if (!strcmp(sig, majority))
			continue;
		d = json_object_new_object();
		push(&err, diff, d);
		if (!d)
			goto nomem;
		add_num(&err, d, "run", (double)i);
		add_str(&err, d, "host", str_at(run, "host"));
		add_str(&err, d, "signature", sig);
	}
	add_num(&err, f, "runs", (double)nruns);
	add_num(&err, f, "hosts", (double)json_object_object_length(hosts));
	if (err)
		goto nomem;
	json_object_put(hosts);
	*out = f;
	return 0;
nomem:
	json_object_put(f);
	json_object_put(count);
	json_object_put(hosts);
	return -ENOMEM;
}

int stt_report_build(struct stt_report *r, struct json_object **out)
{
	struct json_object *doc, *fl = NULL, *c = NULL;
	size_t n = stt_report_runs(r);
	char when[32];
	time_t now = time(NULL);
	struct tm tm;
	int err = 0;

	if (!n)
		return -ENODATA;
	doc = json_object_new_object();
	if (!doc)
		return -ENOMEM;
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	add_str(&err, doc, "schema", STT_REPORT_SCHEMA);
	add(&err, doc, "schema_version", json_object_new_int(STT_REPORT_VERSION));
	add_str(&err, doc, "created", when);
	add_str(&err, doc, "tool_version", STT_VERSION);
	add_num(&err, doc, "detail_runs",
		(double)(n < STT_REPORT_DETAIL_MAX ? n : STT_REPORT_DETAIL_MAX));
	add_num(&err, doc, "duplicates", (double)r->duplicates);
	json_object_get(r->runs);
	add(&err, doc, "runs", r->runs);
	if (!err)
		err = fleet(r, &fl);
	add(&err, doc, "fleet", fl);
	if (r->compare && json_object_deep_copy(r->compare, &c, NULL))
		err = -ENOMEM;
	json_object_object_add(doc, "compare", c);
	json_object_get(r->warnings);
	add(&err, doc, "warnings", r->warnings);
	if (err) {
		json_object_put(doc);
		return -ENOMEM;
	}
	*out = doc;
	return 0;
}
