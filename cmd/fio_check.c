// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * stortune fio-check: the same job by fio (ioengine=libaio) and by the own engine
 * (src/measure/engine.h), alternately on the same target, with the medians side by side.
 *
 * The job file is written from the io command's options (cmd/io.h); --fio-option K=V adds
 * lines to it, except those that would silence latency (gtod_reduce, disable_*lat,
 * clat_percentiles=0) or change what the job options already set. fio runs as
 * `fio --output-format=json+ --output=TMP JOBFILE`; its jobs[0] is read with json-c.
 *
 * Exit codes: 0 when both ran (the ratios are information), 2 for bad input (checked,
 * with stt_engine_check, before anything runs), 1 when fio is missing or a run fails.
 */
#include "cmd.h"

#include "io.h"

#include "measure/engine.h"
#include "base/fmt.h"
#include "base/err.h"
#include "base/json.h"
#include "sys/exec.h"
#include "base/stats.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
	OPT_ROUNDS = CMD_IO_OPT_LAST + 1,
	OPT_FIO,
	OPT_KEEP_JOB,
	OPT_FIO_OPTION,
};

#define MAX_ROUNDS 100
#define MAX_FIO_OPTIONS 32

/* The figures compared, per direction; NAN when a side has none. */
enum { F_IOPS, F_BW, F_P50, F_P99, F_P999, F_NDIR };

static const char *const fig_key[F_NDIR] = { "iops", "bw_bytes", "clat_p50_ns", "clat_p99_ns",
					     "clat_p99_9_ns" };
static const char *const fig_label[F_NDIR] = { "IOPS", "bandwidth (MiB/s)", "clat p50 (usec)",
					       "clat p99 (usec)", "clat p99.9 (usec)" };
/* fio's keys of clat_ns.percentile for F_P50 .. F_P999 */
static const char *const pct_key[3] = { "50.000000", "99.000000", "99.900000" };
static const double pct_val[3] = { 50.0, 99.0, 99.9 };
static const char *const dir_name[STT_ENGINE_NDIRS] = { "read", "write" };

struct figures {
	double v[STT_ENGINE_NDIRS][F_NDIR];
	double cpu_per_io_ns;
};

struct round {
	bool fio_first;
	struct figures fio, own;
};

static void figures_clear(struct figures *f)
{
	for (int d = 0; d < STT_ENGINE_NDIRS; d++)
		for (int i = 0; i < F_NDIR; i++)
			f->v[d][i] = NAN;
	f->cpu_per_io_ns = NAN;
}

/* ---- the job file ----------------------------------------------------------------------- */

/* Keys a --fio-option may not set: they silence latency or redo a job option. */
static const char *const silencing[] = { "gtod_reduce", "disable_clat", "disable_lat",
					 "disable_slat" };
static const char *const owned[] = {
	"ioengine", "filename",	 "rw",	   "readwrite", "bs",	     "blocksize",
	"iodepth",  "numjobs",	 "runtime", "size",	 "time_based", "ramp_time",
	"rwmixread", "rwmixwrite", "direct", "offset",	 "group_reporting", "name",
	"iomem",    "mem",
};

static bool is_off(const char *v)
{
	return v && (!strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no"));
}

/* 0, or -EINVAL with a line in @err. */
static int check_fio_option(const char *kv, char *err, size_t len)
{
	const char *eq = strchr(kv, '=');
	size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
	char key[64];

	if (!klen || klen >= sizeof(key) || strpbrk(kv, "\n\r[]#;")) {
		snprintf(err, len, "--fio-option '%s': not KEY or KEY=VALUE", kv);
		return -EINVAL;
	}
	snprintf(key, sizeof(key), "%.*s", (int)klen, kv);
	for (size_t i = 0; i < sizeof(silencing) / sizeof(silencing[0]); i++)
		if (!strcmp(key, silencing[i]) && !is_off(eq ? eq + 1 : NULL)) {
			snprintf(err, len, "--fio-option '%s': would silence latency; refusing",
				 kv);
			return -EINVAL;
		}
	if (!strcmp(key, "clat_percentiles") && is_off(eq ? eq + 1 : NULL)) {
		snprintf(err, len, "--fio-option '%s': would silence clat percentiles; refusing",
			 kv);
		return -EINVAL;
	}
	for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
		if (!strcmp(key, owned[i])) {
			snprintf(err, len, "--fio-option '%s': %s is set from the job options", kv,
				 key);
			return -EINVAL;
		}
	return 0;
}

static void put_ms(FILE *f, const char *key, uint64_t ms)
{
	fprintf(f, "%s=%llums\n", key, (unsigned long long)ms);
}

/* The job file text, malloc'd, or NULL. */
static char *job_file_text(const struct stt_engine_job *job, const char *const *extra,
			   size_t nextra)
{
	bool rnd = job->rw == STT_ENGINE_RANDREAD || job->rw == STT_ENGINE_RANDWRITE ||
		   job->rw == STT_ENGINE_RANDRW;
	size_t len = 0;
	char *buf = NULL;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fprintf(f, "; written by stortune fio-check %s\n[stortune]\n", STT_VERSION);
	fprintf(f, "ioengine=libaio\nfilename=%s\nrw=%s\n", job->path,
		stt_engine_rw_name(job->rw));
	if (job->rw == STT_ENGINE_RANDRW)
		fprintf(f, "rwmixread=%u\n", job->rwmix_read);
	fprintf(f, "bs=%llu\niodepth=%u\nnumjobs=%u\ndirect=%d\n",
		(unsigned long long)job->bs_bytes, job->iodepth, job->jobs, job->direct ? 1 : 0);
	if (job->iomem != STT_ENGINE_IOMEM_MALLOC)
		fprintf(f, "iomem=%s\n", stt_engine_iomem_name(job->iomem));
	if (job->submit_batch != 1)
		fprintf(f, "iodepth_batch_submit=%u\n",
			job->submit_batch ? job->submit_batch : job->iodepth);
	if (job->reap_max != 1)
		fprintf(f, "iodepth_batch_complete_max=%u\n",
			job->reap_max ? job->reap_max : job->iodepth);
	if (job->offset_bytes)
		fprintf(f, "offset=%llu\n", (unsigned long long)job->offset_bytes);
	if (job->size_bytes)
		fprintf(f, "size=%lld\n", (long long)job->size_bytes);
	if (job->runtime_ms)
		put_ms(f, "runtime", job->runtime_ms);
	/* without --size the engine runs the whole runtime, wrapping: fio's time_based */
	if (job->runtime_ms && (job->time_based || !job->size_bytes))
		fputs("time_based\n", f);
	if (job->ramp_ms)
		put_ms(f, "ramp_time", job->ramp_ms);
	if (rnd)
		fputs("norandommap\n", f); /* the engine's offsets have no map */
	fputs("group_reporting\n", f);
	for (size_t i = 0; i < nextra; i++)
		fprintf(f, "%s\n", extra[i]);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	int r = 0;

	if (!f)
		return -errno;
	if (fputs(text, f) == EOF)
		r = -EIO;
	if (fclose(f) && !r)
		r = -errno;
	return r;
}

static char *read_file(const char *path)
{
	size_t len = 0, cap = 1 << 16, n;
	char *buf = malloc(cap), *nb;
	FILE *f = fopen(path, "r");

	if (!f || !buf) {
		if (f)
			fclose(f);
		free(buf);
		return NULL;
	}
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len < 2) {
			nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
	}
	buf[len] = '\0';
	fclose(f);
	return buf;
}

/* ---- the two sides ---------------------------------------------------------------------- */

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static double get_num(struct json_object *o, const char *key)
{
	struct json_object *v = get(o, key);

	return v ? json_object_get_double(v) : NAN;
}

/* Figures of fio's json+ document; -EINVAL when it has no jobs[0]. */
static int fio_figures(struct json_object *doc, struct figures *f)
{
	struct json_object *jobs = get(doc, "jobs"), *j;
	double ios = 0, cpu, rt;

	figures_clear(f);
	if (!jobs || !json_object_is_type(jobs, json_type_array) ||
	    !json_object_array_length(jobs))
		return -EINVAL;
	j = json_object_array_get_idx(jobs, 0);
	rt = 0;
	for (int d = 0; d < STT_ENGINE_NDIRS; d++) {
		struct json_object *s = get(j, dir_name[d]);
		struct json_object *pct = get(get(s, "clat_ns"), "percentile");
		double n = get_num(s, "total_ios");

		if (!(n > 0))
			continue;
		ios += n;
		if (get_num(s, "runtime") > rt)
			rt = get_num(s, "runtime");
		f->v[d][F_IOPS] = get_num(s, "iops");
		f->v[d][F_BW] = get_num(s, "bw_bytes");
		for (int i = 0; i < 3; i++)
			f->v[d][F_P50 + i] = get_num(pct, pct_key[i]);
	}
	cpu = get_num(j, "usr_cpu") + get_num(j, "sys_cpu");
	if (get(j, "job_runtime"))
		rt = get_num(j, "job_runtime");
	if (ios > 0 && isfinite(cpu) && rt > 0)
		f->cpu_per_io_ns = cpu / 100.0 * rt * 1e6 / ios;
	return 0;
}

static void own_figures(const struct stt_engine_result *res, struct figures *f)
{
	uint64_t ios = 0, vals[3];

	figures_clear(f);
	for (int d = 0; d < STT_ENGINE_NDIRS; d++) {
		const struct stt_engine_dir_result *dr = &res->dir[d];

		if (!dr->total_ios)
			continue;
		ios += dr->total_ios;
		f->v[d][F_IOPS] = dr->iops;
		f->v[d][F_BW] = (double)dr->bw_bytes;
		if (!stt_hist_percentiles(&dr->clat, pct_val, 3, vals))
			for (int i = 0; i < 3; i++)
				f->v[d][F_P50 + i] = (double)vals[i];
	}
	if (ios)
		f->cpu_per_io_ns = stt_engine_cpu_per_io_ns(res);
}

struct fio_run {
	const char *fio;
	char job_path[256];
	char out_path[256];
};

static int run_fio(const struct cmd_entry *self, const struct fio_run *fr, struct figures *f)
{
	char output[64], msg[4096];
	const char *argv[] = { fr->fio, "--output-format=json+", output, fr->job_path, NULL };
	struct json_object *doc = NULL;
	char *text = NULL, *start;
	int r, st;

	snprintf(output, sizeof(output), "--output=%s", fr->out_path);
	r = stt_exec_capture(argv, msg, sizeof(msg), &st);
	if (r)
		return cmd_fail(self, CMD_EXIT_FAILURE, "%s: cannot run: %s", fr->fio,
				strerror(-r));
	if (st) {
		msg[strcspn(msg, "\n")] = '\0';
		return cmd_fail(self, CMD_EXIT_FAILURE, "%s: exit %d: %s", fr->fio, st, msg);
	}
	text = read_file(fr->out_path);
	start = text ? strchr(text, '{') : NULL;
	doc = start ? json_tokener_parse(start) : NULL;
	if (!doc || fio_figures(doc, f))
		r = cmd_fail(self, CMD_EXIT_FAILURE, "%s: no json+ job in fio's output",
			     fr->out_path);
	else
		r = CMD_CONTINUE;
	json_object_put(doc);
	free(text);
	return r;
}

static int run_own(const struct cmd_entry *self, const struct stt_engine_job *job,
		   struct figures *f, char *note, size_t note_len)
{
	struct stt_engine_result res = { 0 };

	stt_err_clear();
	if (stt_engine_run(job, &res))
		return cmd_fail(self, CMD_EXIT_FAILURE, "%s", stt_err_msg());
	own_figures(&res, f);
	if (res.note[0])
		snprintf(note, note_len, "%s", res.note);
	stt_engine_result_release(&res);
	return CMD_CONTINUE;
}

/* ---- medians and output ----------------------------------------------------------------- */

static double median_of(const double *x, size_t n)
{
	double vals[MAX_ROUNDS];
	struct stt_summary s;
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (isfinite(x[i]))
			vals[k++] = x[i];
	if (!k || stt_stats_summarize(vals, k, &s, NULL))
		return NAN;
	return s.median;
}

static void medians(const struct round *rs, unsigned int n, bool fio, struct figures *m)
{
	double x[MAX_ROUNDS];

	for (int d = 0; d < STT_ENGINE_NDIRS; d++)
		for (int i = 0; i < F_NDIR; i++) {
			for (unsigned int k = 0; k < n; k++)
				x[k] = fio ? rs[k].fio.v[d][i] : rs[k].own.v[d][i];
			m->v[d][i] = median_of(x, n);
		}
	for (unsigned int k = 0; k < n; k++)
		x[k] = fio ? rs[k].fio.cpu_per_io_ns : rs[k].own.cpu_per_io_ns;
	m->cpu_per_io_ns = median_of(x, n);
}

static double ratio(double own, double fio)
{
	return isfinite(own) && isfinite(fio) && fio != 0 ? own / fio : NAN;
}

static void ratios(const struct figures *own, const struct figures *fio, struct figures *r)
{
	for (int d = 0; d < STT_ENGINE_NDIRS; d++)
		for (int i = 0; i < F_NDIR; i++)
			r->v[d][i] = ratio(own->v[d][i], fio->v[d][i]);
	r->cpu_per_io_ns = ratio(own->cpu_per_io_ns, fio->cpu_per_io_ns);
}

/* (max - min) / median of one side's IOPS in direction @d over the rounds, in percent. */
static double iops_spread(const struct round *rs, unsigned int n, bool fio, int d)
{
	double x[MAX_ROUNDS], lo = INFINITY, hi = -INFINITY, med;

	if (n < 2 || n > MAX_ROUNDS)
		return NAN;
	for (unsigned int k = 0; k < n; k++) {
		x[k] = fio ? rs[k].fio.v[d][F_IOPS] : rs[k].own.v[d][F_IOPS];
		if (isfinite(x[k])) {
			lo = fmin(lo, x[k]);
			hi = fmax(hi, x[k]);
		}
	}
	med = median_of(x, n);
	return isfinite(med) && med > 0 ? 100.0 * (hi - lo) / med : NAN;
}

static bool dir_used(const struct figures *a, const struct figures *b, int d)
{
	return isfinite(a->v[d][F_IOPS]) || isfinite(b->v[d][F_IOPS]);
}


/* @v, or null when it is not finite. */
static int add_num(struct json_object *o, const char *key, double v)
{
	if (!isfinite(v))
		return json_object_object_add(o, key, NULL) ? -ENOMEM : 0;
	return stt_json_add(o, key, json_object_new_double(v));
}

static struct json_object *figures_json(const struct figures *f, const char *cpu_key)
{
	struct json_object *o = json_object_new_object(), *dir;

	if (!o)
		return NULL;
	for (int d = 0; d < STT_ENGINE_NDIRS; d++) {
		dir = json_object_new_object();
		if (!dir || stt_json_add(o, dir_name[d], dir))
			goto fail;
		for (int i = 0; i < F_NDIR; i++)
			if (add_num(dir, fig_key[i], f->v[d][i]))
				goto fail;
	}
	if (add_num(o, cpu_key, f->cpu_per_io_ns))
		goto fail;
	return o;
fail:
	json_object_put(o);
	return NULL;
}

static int print_json(const char *version, const char *job_text, const struct round *rs,
		      unsigned int n, const struct figures *mf, const struct figures *mo,
		      const struct figures *rt)
{
	struct json_object *o = json_object_new_object(), *a, *x, *m;
	int r = -ENOMEM;

	if (!o || stt_json_add(o, "fio_version", json_object_new_string(version)) ||
	    stt_json_add(o, "job_file", json_object_new_string(job_text)))
		goto out;
	a = json_object_new_array();
	if (!a || stt_json_add(o, "rounds", a))
		goto out;
	for (unsigned int k = 0; k < n; k++) {
		x = json_object_new_object();
		if (!x || json_object_array_add(a, x)) {
			json_object_put(x);
			goto out;
		}
		if (stt_json_add(x, "order", json_object_new_string(rs[k].fio_first ? "fio,own"
									   : "own,fio")) ||
		    stt_json_add(x, "fio", figures_json(&rs[k].fio, "cpu_per_io_ns")) ||
		    stt_json_add(x, "own", figures_json(&rs[k].own, "cpu_per_io_ns")))
			goto out;
	}
	x = json_object_new_object();
	if (!x || stt_json_add(o, "iops_spread_pct", x))
		goto out;
	for (int side = 0; side < 2; side++) {
		struct json_object *sp = json_object_new_object();

		if (!sp || stt_json_add(x, side ? "own" : "fio", sp))
			goto out;
		for (int d = 0; d < STT_ENGINE_NDIRS; d++)
			if (add_num(sp, dir_name[d], iops_spread(rs, n, !side, d)))
				goto out;
	}
	m = json_object_new_object();
	if (!m || stt_json_add(o, "median", m) ||
	    stt_json_add(m, "fio", figures_json(mf, "cpu_per_io_ns")) ||
	    stt_json_add(m, "own", figures_json(mo, "cpu_per_io_ns")) ||
	    stt_json_add(o, "ratio", figures_json(rt, "cpu_per_io")))
		goto out;
	cmd_print_json(o);
	r = 0;
out:
	json_object_put(o);
	return r;
}

/* @v scaled by @scale with @prec decimals, or "-". */
static const char *cell(double v, double scale, int prec, char *buf, size_t len)
{
	if (!isfinite(v))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.*f", prec, v / scale);
	return buf;
}

static void print_row(const char *label, double fio, double own, double r, double scale,
		      int prec)
{
	char a[32], b[32], c[32];

	printf("  %-26s %12s %12s %8s\n", label, cell(fio, scale, prec, a, sizeof(a)),
	       cell(own, scale, prec, b, sizeof(b)), cell(r, 1.0, 3, c, sizeof(c)));
}

/* Each side's IOPS spread over the rounds, and what to do when it is wide. */
static void print_spread(const struct round *rs, unsigned int n, const struct figures *mf,
			 const struct figures *mo)
{
	double worst = 0;
	char label[64];

	if (n < 2)
		return;
	for (int d = 0; d < STT_ENGINE_NDIRS; d++) {
		double sf = iops_spread(rs, n, true, d), so = iops_spread(rs, n, false, d);

		if (!dir_used(mf, mo, d))
			continue;
		snprintf(label, sizeof(label), "%s IOPS spread (%%)", dir_name[d]);
		print_row(label, sf, so, NAN, 1.0, 1);
		worst = fmax(worst, fmax(isfinite(sf) ? sf : 0, isfinite(so) ? so : 0));
	}
	if (worst > 10)
		printf("  the rounds differ by up to %.0f%% (max - min over the median): a ratio\n"
		       "  closer to 1 than that is noise; run more rounds (and for large blocks,\n"
		       "  see --iomem mmaphuge)\n",
		       worst);
}

static void print_text(const char *target, const char *version, const char *job_text,
		       const struct round *rs, unsigned int n, const struct figures *mf,
		       const struct figures *mo, const struct figures *rt)
{
	static const double scale[F_NDIR] = { 1.0, 1048576.0, 1e3, 1e3, 1e3 };
	static const int prec[F_NDIR] = { 0, 1, 1, 1, 1 };
	const char *p = job_text, *e;
	char label[64];

	printf("%s: %s against the own engine, medians of %u rounds\n", target, version,
	       n);
	printf("  %-26s %12s %12s %8s\n", "", "fio", "own", "own/fio");
	for (int d = 0; d < STT_ENGINE_NDIRS; d++) {
		if (!dir_used(mf, mo, d))
			continue;
		for (int i = 0; i < F_NDIR; i++) {
			snprintf(label, sizeof(label), "%s %s", dir_name[d], fig_label[i]);
			print_row(label, mf->v[d][i], mo->v[d][i], rt->v[d][i], scale[i],
				  prec[i]);
		}
	}
	print_row("CPU per I/O (usec)", mf->cpu_per_io_ns, mo->cpu_per_io_ns, rt->cpu_per_io_ns,
		  1e3, 2);
	print_spread(rs, n, mf, mo);
	printf("job file:\n");
	for (; *p; p = *e ? e + 1 : e) {
		e = strchr(p, '\n');
		if (!e)
			e = p + strlen(p);
		printf("  %.*s\n", (int)(e - p), p);
	}
}

/* ---- the command ------------------------------------------------------------------------ */

static int fio_version(const char *fio, char *buf, size_t len)
{
	const char *argv[] = { fio, "--version", NULL };
	int st;

	if (stt_exec_capture(argv, buf, len, &st) || st)
		return -ENOENT;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int cmd_fio_check(const struct cmd_entry *self, struct cmd_ctx *ctx, int argc,
			 char **argv)
{
	static const struct option opts[] = {
		CMD_COMMON_OPTIONS,
		CMD_IO_JOB_OPTIONS,
		{ "rounds", required_argument, NULL, OPT_ROUNDS },
		{ "fio", required_argument, NULL, OPT_FIO },
		{ "keep-job", required_argument, NULL, OPT_KEEP_JOB },
		{ "fio-option", required_argument, NULL, OPT_FIO_OPTION },
		{ NULL, 0, NULL, 0 },
	};
	const char *extra[MAX_FIO_OPTIONS], *keep_job = NULL;
	struct fio_run fr = { .fio = "fio" };
	struct figures mf, mo, rt;
	struct round *rs = NULL;
	unsigned int rounds = 3;
	size_t nextra = 0;
	struct stt_engine_job job;
	char err[256], version[128], note[320] = "", *job_text = NULL;
	bool job_tmp = false, out_tmp = false;
	uint64_t laid_out = 0;
	int c, r, fd;

	stt_engine_job_init(&job);
	while ((c = getopt_long(argc, argv, CMD_COMMON_SHORT + 1, opts, NULL)) != -1) {
		r = cmd_io_parse_job_opt(&job, c, optarg, err, sizeof(err));
		if (r < 0)
			return cmd_fail(self, CMD_EXIT_USAGE, "%s", err);
		if (r > 0)
			continue;
		switch (c) {
		case OPT_ROUNDS:
			if (cmd_parse_uint(optarg, 1, MAX_ROUNDS, &rounds))
				return cmd_fail(self, CMD_EXIT_USAGE,
						"--rounds '%s': must be 1 to %d", optarg,
						MAX_ROUNDS);
			continue;
		case OPT_FIO:
			if (!*optarg)
				return cmd_fail(self, CMD_EXIT_USAGE, "--fio: empty path");
			fr.fio = optarg;
			continue;
		case OPT_KEEP_JOB:
			if (!*optarg)
				return cmd_fail(self, CMD_EXIT_USAGE, "--keep-job: empty path");
			keep_job = optarg;
			continue;
		case OPT_FIO_OPTION:
			if (check_fio_option(optarg, err, sizeof(err)))
				return cmd_fail(self, CMD_EXIT_USAGE, "%s", err);
			if (nextra == MAX_FIO_OPTIONS)
				return cmd_fail(self, CMD_EXIT_USAGE,
						"--fio-option: at most %d", MAX_FIO_OPTIONS);
			extra[nextra++] = optarg;
			continue;
		}
		r = cmd_common_opt(self, ctx, c);
		if (r != CMD_CONTINUE)
			return r;
	}
	if (optind < argc && strpbrk(argv[optind], "\n:"))
		return cmd_fail(self, CMD_EXIT_USAGE, "%s: fio cannot take this name",
				argv[optind]);
	if (job.verify)
		return cmd_fail(self, CMD_EXIT_USAGE,
				"--verify: fio's verify differs; not comparable");
	if ((r = cmd_io_finish_job(self, &job, argc, argv)) != CMD_CONTINUE)
		return r;
	if (!stt_exec_found(fr.fio) || fio_version(fr.fio, version, sizeof(version)))
		return cmd_fail(self, CMD_EXIT_FAILURE,
				"%s: fio is not installed or does not run (apt-get install fio, "
				"or give --fio PATH)",
				fr.fio);

	job_text = job_file_text(&job, extra, nextra);
	rs = calloc(rounds, sizeof(*rs));
	if (!job_text || !rs) {
		r = cmd_fail(self, CMD_EXIT_FAILURE, "out of memory");
		goto out;
	}
	if (keep_job) {
		snprintf(fr.job_path, sizeof(fr.job_path), "%s", keep_job);
	} else {
		snprintf(fr.job_path, sizeof(fr.job_path), "/tmp/stortune-fio-XXXXXX.fio");
		fd = mkstemps(fr.job_path, 4);
		if (fd < 0) {
			r = cmd_fail(self, CMD_EXIT_FAILURE, "%s: %s", fr.job_path,
				     strerror(errno));
			goto out;
		}
		close(fd);
		job_tmp = true;
	}
	r = write_file(fr.job_path, job_text);
	if (r) {
		r = cmd_fail(self, CMD_EXIT_FAILURE, "%s: cannot write: %s", fr.job_path,
			     strerror(-r));
		goto out;
	}
	snprintf(fr.out_path, sizeof(fr.out_path), "/tmp/stortune-fio-XXXXXX.json");
	fd = mkstemps(fr.out_path, 5);
	if (fd < 0) {
		r = cmd_fail(self, CMD_EXIT_FAILURE, "%s: %s", fr.out_path, strerror(errno));
		goto out;
	}
	close(fd);
	out_tmp = true;

	/* a file is laid out before fio's first round, or fio would read its holes */
	stt_err_clear();
	if (stt_engine_prepare(&job, &laid_out)) {
		r = cmd_fail(self, CMD_EXIT_FAILURE, "%s", stt_err_msg());
		goto out;
	}
	if (laid_out)
		cmd_note(ctx, "%s: laid out %s before the rounds\n", job.path,
			 stt_fmt_bytes(laid_out, err, sizeof(err)));
	for (unsigned int k = 0; k < rounds; k++) {
		struct round *rd = &rs[k];

		rd->fio_first = k % 2 == 0; /* rounds 1, 3, ...: fio first */
		for (int side = 0; side < 2; side++) {
			bool fio = rd->fio_first == (side == 0);

			cmd_note(ctx, "round %u/%u: %s\n", k + 1, rounds, fio ? "fio" : "own");
			r = fio ? run_fio(self, &fr, &rd->fio)
				: run_own(self, &job, &rd->own, note, sizeof(note));
			if (r != CMD_CONTINUE)
				goto out;
		}
	}
	if (note[0])
		cmd_note(ctx, "note: %s\n", note);
	medians(rs, rounds, true, &mf);
	medians(rs, rounds, false, &mo);
	ratios(&mo, &mf, &rt);
	if (ctx->json) {
		if (print_json(version, job_text, rs, rounds, &mf, &mo, &rt)) {
			r = cmd_fail(self, CMD_EXIT_FAILURE, "no memory for the json output");
			goto out;
		}
	} else {
		print_text(job.path, version, job_text, rs, rounds, &mf, &mo, &rt);
	}
	if (keep_job)
		cmd_note(ctx, "job file kept: %s\n", keep_job);
	r = CMD_EXIT_OK;
out:
	if (out_tmp)
		unlink(fr.out_path);
	if (job_tmp)
		unlink(fr.job_path);
	free(rs);
	free(job_text);
	return r;
}

const struct cmd_entry cmd_fio_check_entry = {
	.name = "fio-check",
	.summary = "run one job by fio and by the own engine, and compare their figures",
	.synopsis = "fio-check TARGET [io job options] [--rounds N] [--fio PATH] "
		    "[--keep-job FILE] [--fio-option K=V]",
	.help = "Writes the fio job file equivalent to the io options (ioengine=libaio,\n"
		"group_reporting, latency on), then runs fio and the own engine alternately on\n"
		"TARGET for N rounds (fio first in odd rounds, own first in even ones) and prints\n"
		"the medians of IOPS, bandwidth, clat p50/p99/p99.9 and CPU per I/O of both, with\n"
		"the ratio own/fio, each side's IOPS spread over the rounds, fio's version and the\n"
		"job file. A regular file is laid out first (as io does), so that no round reads\n"
		"holes. --json: {fio_version, job_file, rounds, iops_spread_pct, median, ratio}.\n"
		"Exit 0 when both ran: the ratios are information.\n"
		"\n"
		"CPU per I/O at low iodepth also holds the idle exits a tickless kernel charges\n"
		"to the woken engine, more or less often by what else has timers on its CPU;\n"
		"compare engines with the scheduler tick held (README, \"Reading CPU per I/O\").\n"
		"With large blocks the physical pages each process happens to get can move IOPS\n"
		"by tens of percent; --iomem mmaphuge takes that out for both (README, \"Reading\n"
		"large blocks\").\n"
		"\n"
		"options:\n" CMD_IO_JOB_HELP
		"  --rounds N        rounds of both (default 3)\n"
		"  --fio PATH        the fio binary (default fio, from PATH)\n"
		"  --keep-job FILE   write the job file to FILE and keep it\n"
		"  --fio-option K=V  one more line for the job file (repeatable); options that\n"
		"                    silence latency (gtod_reduce, disable_clat, disable_lat,\n"
		"                    disable_slat, clat_percentiles=0) are refused\n",
	.run = cmd_fio_check,
};
