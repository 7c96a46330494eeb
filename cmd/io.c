// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * stortune io: one job of the measuring engine (src/measure/engine.h) on one target, with figures
 * in fio's spirit (text) or fio's json+ shapes (--json).
 *
 * Shared with the fio-check command through cmd/io.h.
 *
 * Exit codes: 2 for bad options and for a job the engine refuses before writing anything
 * (stt_engine_check), 1 when the run itself fails.
 */
#include "cmd.h"

#include "io.h"

#include "measure/engine.h"
#include "base/err.h"
#include "base/fmt.h"
#include "base/json.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


int stt_fmt_parse_size(const char *s, uint64_t *bytes);
int stt_fmt_parse_time_ms(const char *s, uint64_t *ms);

/* ---- parsing ---------------------------------------------------------------------------- */

static int bad_value(char *err, size_t len, const char *opt, const char *arg, const char *why)
{
	snprintf(err, len, "--%s '%s': %s", opt, arg, why);
	return -EINVAL;
}

static int parse_count(const char *opt, const char *arg, unsigned int min, unsigned int max,
		       unsigned int *out, char *err, size_t len)
{
	char why[64];
	uint64_t v;

	if (cmd_parse_u64(arg, &v))
		return bad_value(err, len, opt, arg, "not a whole number");
	if (v < min || v > max) {
		snprintf(why, sizeof(why), "must be %u to %u", min, max);
		return bad_value(err, len, opt, arg, why);
	}
	*out = (unsigned int)v;
	return 0;
}

int cmd_io_parse_job_opt(struct stt_engine_job *job, int c, const char *arg, char *err,
			 size_t err_len)
{
	static const char not_size[] = "not a size (a number with an optional k, m, g or t)";
	static const char not_time[] = "not a time (a number with an optional ms, s, m or h)";
	uint64_t v;
	int r = 0;

	switch (c) {
	case CMD_IO_OPT_RW:
		if (stt_engine_rw_parse(arg, &job->rw))
			r = bad_value(err, err_len, "rw", arg,
				      "not one of read, write, randread, randwrite, randrw");
		break;
	case CMD_IO_OPT_BS:
		if (stt_fmt_parse_size(arg, &v))
			r = bad_value(err, err_len, "bs", arg, not_size);
		else if (!v)
			r = bad_value(err, err_len, "bs", arg, "must be above 0");
		else
			job->bs_bytes = v;
		break;
	case CMD_IO_OPT_IODEPTH:
		r = parse_count("iodepth", arg, 1, INT_MAX, &job->iodepth, err, err_len);
		break;
	case CMD_IO_OPT_JOBS:
		r = parse_count("jobs", arg, 1, 4096, &job->jobs, err, err_len);
		break;
	case CMD_IO_OPT_RUNTIME:
		if (stt_fmt_parse_time_ms(arg, &job->runtime_ms))
			r = bad_value(err, err_len, "runtime", arg, not_time);
		break;
	case CMD_IO_OPT_SIZE:
		if (stt_fmt_parse_size(arg, &v))
			r = bad_value(err, err_len, "size", arg, not_size);
		else if (v > (uint64_t)INT64_MAX)
			r = bad_value(err, err_len, "size", arg, "too large");
		else
			job->size_bytes = (int64_t)v;
		break;
	case CMD_IO_OPT_RAMP:
		if (stt_fmt_parse_time_ms(arg, &job->ramp_ms))
			r = bad_value(err, err_len, "ramp", arg, not_time);
		break;
	case CMD_IO_OPT_RWMIX_READ:
		r = parse_count("rwmix-read", arg, 0, 100, &job->rwmix_read, err, err_len);
		break;
	case CMD_IO_OPT_DIRECT:
		if (!strcmp(arg, "0"))
			job->direct = false;
		else if (!strcmp(arg, "1"))
			job->direct = true;
		else
			r = bad_value(err, err_len, "direct", arg, "must be 0 or 1");
		break;
	case CMD_IO_OPT_OFFSET:
		if (stt_fmt_parse_size(arg, &v) || v > (uint64_t)INT64_MAX)
			r = bad_value(err, err_len, "offset", arg, not_size);
		else
			job->offset_bytes = v;
		break;
	case CMD_IO_OPT_DESTROY_DATA:
		if (!*arg)
			r = bad_value(err, err_len, "destroy-data", arg, "empty device path");
		else
			job->destroy_data = arg;
		break;
	case CMD_IO_OPT_TIME_BASED:
		job->time_based = true;
		break;
	case CMD_IO_OPT_SEED:
		if (cmd_parse_u64(arg, &job->seed))
			r = bad_value(err, err_len, "seed", arg, "not a whole number");
		break;
	case CMD_IO_OPT_VERIFY:
		job->verify = true;
		break;
	case CMD_IO_OPT_SUBMIT_BATCH:
		r = parse_count("submit-batch", arg, 0, INT_MAX, &job->submit_batch, err, err_len);
		break;
	case CMD_IO_OPT_REAP_MAX:
		r = parse_count("reap-max", arg, 0, INT_MAX, &job->reap_max, err, err_len);
		break;
	case CMD_IO_OPT_IOMEM:
		if (stt_engine_iomem_parse(arg, &job->iomem))
			r = bad_value(err, err_len, "iomem", arg, "not one of malloc, mmaphuge");
		break;
	default:
		return 0;
	}
	return r ? r : 1;
}

/* ---- output ----------------------------------------------------------------------------- */


int cmd_io_job_to_json(const struct stt_engine_job *job, struct json_object **out)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return -ENOMEM;
	if (stt_json_add(o, "target", json_object_new_string(job->path ? job->path : "")) ||
	    stt_json_add(o, "rw", json_object_new_string(stt_engine_rw_name(job->rw))) ||
	    stt_json_add(o, "bs_bytes", json_object_new_int64((int64_t)job->bs_bytes)) ||
	    stt_json_add(o, "iodepth", json_object_new_int64(job->iodepth)) ||
	    stt_json_add(o, "submit_batch", json_object_new_int64(job->submit_batch)) ||
	    stt_json_add(o, "reap_max", json_object_new_int64(job->reap_max)) ||
	    stt_json_add(o, "jobs", json_object_new_int64(job->jobs)) ||
	    stt_json_add(o, "runtime_ms", json_object_new_int64((int64_t)job->runtime_ms)) ||
	    stt_json_add(o, "size_bytes", json_object_new_int64(job->size_bytes)) ||
	    stt_json_add(o, "time_based", json_object_new_boolean(job->time_based)) ||
	    stt_json_add(o, "ramp_ms", json_object_new_int64((int64_t)job->ramp_ms)) ||
	    stt_json_add(o, "rwmix_read", json_object_new_int64(job->rwmix_read)) ||
	    stt_json_add(o, "direct", json_object_new_int64(job->direct)) ||
	    stt_json_add(o, "iomem", json_object_new_string(stt_engine_iomem_name(job->iomem))) ||
	    stt_json_add(o, "offset_bytes", json_object_new_int64((int64_t)job->offset_bytes)) ||
	    stt_json_add(o, "seed", json_object_new_uint64(job->seed)) ||
	    stt_json_add(o, "verify", json_object_new_boolean(job->verify)) ||
	    (job->destroy_data &&
	     stt_json_add(o, "destroy_data", json_object_new_string(job->destroy_data)))) {
		json_object_put(o);
		return -ENOMEM;
	}
	*out = o;
	return 0;
}

/* fio's num2str in short: "1231", "61.7k", "1.23M". */
static const char *fmt_count(double v, char *buf, size_t len)
{
	if (v < 10000.0)
		snprintf(buf, len, "%.0f", v);
	else if (v < 100000.0)
		snprintf(buf, len, "%.1fk", v / 1e3);
	else if (v < 10000000.0)
		snprintf(buf, len, "%.0fk", v / 1e3);
	else
		snprintf(buf, len, "%.2fM", v / 1e6);
	return buf;
}

/* "241MiB" with @base 1024 and binary prefixes, "253MB" with 1000. */
static const char *fmt_size(double v, double base, char *buf, size_t len)
{
	static const char *const bin[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	static const char *const dec[] = { "B", "kB", "MB", "GB", "TB", "PB" };
	const char *const *u = base == 1024.0 ? bin : dec;
	size_t i = 0;

	while (v >= base && i < 5) {
		v /= base;
		i++;
	}
	if (v < 10.0 && i)
		snprintf(buf, len, "%.2f%s", v, u[i]);
	else if (v < 100.0 && i)
		snprintf(buf, len, "%.1f%s", v, u[i]);
	else
		snprintf(buf, len, "%.0f%s", v, u[i]);
	return buf;
}

static void print_lat(FILE *f, const char *name, const struct stt_hist *h)
{
	if (!h->n)
		return;
	fprintf(f, "    %4s (usec): min=%.0f, max=%.0f, avg=%.2f, stdev=%.2f\n", name,
		(double)h->min_ns / 1e3, (double)h->max_ns / 1e3, h->mean_ns / 1e3,
		stt_hist_stddev(h) / 1e3);
}

static void print_pcts(FILE *f, const struct stt_hist *h)
{
	size_t np = stt_stats_default_npcts;
	uint64_t vals[32];

	if (np > sizeof(vals) / sizeof(vals[0]))
		np = sizeof(vals) / sizeof(vals[0]);
	if (stt_hist_percentiles(h, stt_stats_default_pcts, np, vals))
		return;
	fputs("    clat percentiles (usec):\n", f);
	for (size_t i = 0; i < np; i++) {
		/* fio rounds up to the next usec */
		unsigned long long us = (unsigned long long)((vals[i] + 999) / 1000);

		fprintf(f, "%s%5.2fth=[%5llu]%s", i % 4 ? " " : "     | ",
			stt_stats_default_pcts[i], us,
			i + 1 == np  ? "\n"
			: i % 4 == 3 ? ",\n"
				     : ",");
	}
}

void cmd_io_print_result(FILE *f, const struct stt_engine_result *res)
{
	static const char *const names[STT_ENGINE_NDIRS] = { "read", "write" };
	char a[32], b[32], c[32], d[32];
	uint64_t ios = 0;

	for (unsigned int i = 0; i < STT_ENGINE_NDIRS; i++) {
		const struct stt_engine_dir_result *dr = &res->dir[i];

		if (!dr->total_ios)
			continue;
		ios += dr->total_ios;
		fprintf(f, "  %5s: IOPS=%s, BW=%s/s (%s/s)(%s/%llumsec)\n", names[i],
			fmt_count(dr->iops, a, sizeof(a)),
			fmt_size((double)dr->bw_bytes, 1024.0, b, sizeof(b)),
			fmt_size((double)dr->bw_bytes, 1000.0, c, sizeof(c)),
			fmt_size((double)dr->io_bytes, 1024.0, d, sizeof(d)),
			(unsigned long long)dr->runtime_ms);
		print_lat(f, "slat", &dr->slat);
		print_lat(f, "clat", &dr->clat);
		print_lat(f, "lat", &dr->lat);
		print_pcts(f, &dr->clat);
	}
	if (!ios) {
		fputs("  no I/O was counted\n", f);
		return;
	}
	fprintf(f, "  cpu          : usr=%.2f%%, sys=%.2f%%, %.2f usec per I/O\n",
		res->job_window_ns ? 100.0 * (double)res->usr_ns / (double)res->job_window_ns : 0.0,
		res->job_window_ns ? 100.0 * (double)res->sys_ns / (double)res->job_window_ns : 0.0,
		stt_engine_cpu_per_io_ns(res) / 1e3);
	fprintf(f, "  I/O          : %s, at most %u in flight per job\n",
		!(res->flags & STT_ENGINE_F_DIRECT)	 ? "buffered (page cache)"
		: res->flags & STT_ENGINE_F_NOT_HONOURED ? "O_DIRECT, not honoured"
							 : "O_DIRECT",
		res->max_inflight);
}

/* ---- the command ------------------------------------------------------------------------ */

static int print_json(const struct stt_engine_job *job, const struct stt_engine_result *res)
{
	struct json_object *o = NULL, *j = NULL;
	int r;

	r = stt_engine_result_to_json(res, &o);
	if (r)
		goto out;
	r = cmd_io_job_to_json(job, &j);
	if (r)
		goto out;
	r = stt_json_add(o, "job", j);
	if (r)
		goto out;
	cmd_print_json(o);
out:
	json_object_put(o);
	return r;
}

int cmd_io_finish_job(const struct cmd_entry *self, struct stt_engine_job *job, int argc,
		      char **argv)
{
	if (optind >= argc)
		return cmd_usage_error(self, "no target given");
	if (argc - optind > 1)
		return cmd_usage_error(self, "takes one target, got %d", argc - optind);
	job->path = argv[optind];
	if (!job->runtime_ms && !job->size_bytes)
		return cmd_fail(self, CMD_EXIT_USAGE, "give --runtime, --size or both");
	stt_err_clear();
	if (stt_engine_check(job))
		return cmd_fail(self, CMD_EXIT_USAGE, "%s", stt_err_msg());
	return CMD_CONTINUE;
}

static int cmd_io(const struct cmd_entry *self, struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		CMD_COMMON_OPTIONS,
		CMD_IO_JOB_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct stt_engine_result res = { 0 };
	struct stt_engine_job job;
	char err[256], a[32];
	int c, r;

	stt_engine_job_init(&job);
	/* without the leading '+': options may follow TARGET, as in the synopsis */
	while ((c = getopt_long(argc, argv, CMD_COMMON_SHORT + 1, opts, NULL)) != -1) {
		r = cmd_io_parse_job_opt(&job, c, optarg, err, sizeof(err));
		if (r < 0)
			return cmd_fail(self, CMD_EXIT_USAGE, "%s", err);
		if (r > 0)
			continue;
		r = cmd_common_opt(self, ctx, c);
		if (r != CMD_CONTINUE)
			return r;
	}
	if ((r = cmd_io_finish_job(self, &job, argc, argv)) != CMD_CONTINUE)
		return r;

	if (!ctx->json)
		cmd_note(ctx, "%s: %s, bs %s, iodepth %u, jobs %u ...\n", job.path,
			 stt_engine_rw_name(job.rw),
			 fmt_size((double)job.bs_bytes, 1024.0, a, sizeof(a)), job.iodepth,
			 job.jobs);
	r = stt_engine_run(&job, &res);
	if (r)
		return cmd_fail(self, CMD_EXIT_FAILURE, "%s", stt_err_msg());

	if (res.laid_out_bytes)
		cmd_note(ctx, "%s: laid out %s before measuring\n", job.path,
			 fmt_size((double)res.laid_out_bytes, 1024.0, a, sizeof(a)));
	if (res.note[0])
		cmd_note(ctx, "note: %s\n", res.note);

	if (ctx->json) {
		r = print_json(&job, &res);
		if (r) {
			r = cmd_fail(self, CMD_EXIT_FAILURE, "no memory for the json output");
			goto out;
		}
	} else {
		printf("%s: rw=%s, bs=%llu, iodepth=%u, jobs=%u, range=%s at offset %llu\n",
		       job.path, stt_engine_rw_name(job.rw), (unsigned long long)job.bs_bytes,
		       job.iodepth, job.jobs,
		       fmt_size((double)res.range_bytes, 1024.0, a, sizeof(a)),
		       (unsigned long long)job.offset_bytes);
		cmd_io_print_result(stdout, &res);
	}
	r = CMD_EXIT_OK;
out:
	stt_engine_result_release(&res);
	return r;
}

const struct cmd_entry cmd_io_entry = {
	.name = "io",
	.summary = "measure one I/O job on a file or block device, as fio would",
	.synopsis = "io TARGET [--rw R] [--bs N] [--iodepth N] [--jobs N] [--runtime T] "
		    "[--size N] [--ramp T] [--rwmix-read P] [--direct 0|1] [--offset N] "
		    "[--destroy-data DEV]",
	.help = "Runs one job of the built-in libaio engine on TARGET (a regular file, created\n"
		"and laid out when missing, or a block device) and prints IOPS, bandwidth,\n"
		"slat/clat/lat and clat percentiles as fio defines them; --json prints fio's\n"
		"json+ shapes (read, write, usr_cpu, sys_cpu) plus the job.\n"
		"\n"
		"options:\n" CMD_IO_JOB_HELP,
	.run = cmd_io,
};
