// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * stortune tune: the thin-pool sweep. For each chunk size and zeroing setting the pool is made
 * afresh, the profile's image imported, the cold startup storm and the provisioning test run
 * (stt_bench_run), the pool's data per container read, and the pool taken down; the trade-off
 * goes into the "tune" member of a results document (src/measure/tune.h), which recommend reads.
 */
#include "cmd.h"

#include "measure/bench.h"
#include "base/err.h"
#include "base/fmt.h"
#include "workload/image.h"
#include "sys/journal.h"
#include "base/json.h"
#include "workload/profile.h"
#include "advice/results.h"
#include "measure/tune.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
	OPT_CHUNK_SIZES = CMD_OPT_BENCH_END + 1,
	OPT_TUNE_ZEROING,
};

/* Progress for people, on stderr: the point, then the bench's phase on a terminal. */
struct progress {
	bool tty, quiet;
	size_t k, n;
	char point[64];
	struct timespec t0;
};

static void on_progress(const char *backend, const char *what, unsigned int rep, unsigned int k,
			unsigned int n, void *arg)
{
	struct progress *pg = arg;

	(void)backend;
	if (!pg->tty || pg->quiet)
		return;
	if (n)
		fprintf(stderr, "\r\033[K[%zu/%zu] %s: rep %u %s %u/%u (%.1fs)", pg->k + 1, pg->n,
			pg->point, rep + 1, what, k, n, cmd_since(&pg->t0));
	else
		fprintf(stderr, "\r\033[K[%zu/%zu] %s: %s (%.1fs)", pg->k + 1, pg->n, pg->point, what,
			cmd_since(&pg->t0));
}

static void chunk_str(uint64_t bytes, char *buf, size_t len)
{
	if (bytes >= (1u << 20) && !(bytes % (1u << 20)))
		snprintf(buf, len, "%luM", (unsigned long)(bytes >> 20));
	else
		snprintf(buf, len, "%luK", (unsigned long)(bytes >> 10));
}

static double median_at(struct json_object *o, const char *key)
{
	return cmd_median(json_object_object_get(o, key));
}

static double number_at(struct json_object *o, const char *path)
{
	struct json_object *v = stt_json_get(o, path);

	return v ? json_object_get_double(v) : NAN;
}

/* The sweep table of a "tune" member. */
static void print_table(struct json_object *tune, FILE *f)
{
	struct json_object *pts = json_object_object_get(tune, "points");

	fprintf(f, "tune %s, profile %s: %d containers, %d at a time, %d repetition(s), cold\n",
		json_object_get_string(json_object_object_get(tune, "backend")),
		json_object_get_string(json_object_object_get(tune, "profile")),
		json_object_get_int(json_object_object_get(tune, "containers")),
		json_object_get_int(json_object_object_get(tune, "concurrency")),
		json_object_get_int(json_object_object_get(tune, "repetitions")));
	fprintf(f, "%6s %-7s %15s %14s %13s %18s %8s %10s\n", "chunk", "zeroing", "start p50/p99",
		"first-write", "cow-write/ctr", "prov first/over", "storm/s", "pool/ctr");
	fprintf(f, "%6s %-7s %15s %14s %13s %18s %8s %10s\n", "", "", "ms", "p50 ms", "bytes",
		"p50 (mean)", "", "bytes");
	for (size_t i = 0; pts && i < json_object_array_length(pts); i++) {
		struct json_object *p = json_object_array_get_idx(pts, i);
		const char *st = json_object_get_string(json_object_object_get(p, "status"));
		char chunk[16], a[16], b[16], start[40], fw[16], cow[16], prov[40], space[16];

		chunk_str((uint64_t)json_object_get_int64(json_object_object_get(p, "chunk_size_bytes")),
			  chunk, sizeof(chunk));
		fprintf(f, "%6s %-7s", chunk,
			json_object_get_boolean(json_object_object_get(p, "zeroing")) ? "on" : "off");
		if (!st || strcmp(st, "ok")) {
			fprintf(f, " %s: %s\n", st ? st : "?",
				json_object_get_string(json_object_object_get(p, "reason")));
			continue;
		}
		cmd_fmt_ms(a, sizeof(a), median_at(p, "start_p50_ns"));
		cmd_fmt_ms(b, sizeof(b), median_at(p, "start_p99_ns"));
		snprintf(start, sizeof(start), "%s/%s", a, b);
		cmd_fmt_ms(fw, sizeof(fw), median_at(p, "first_write_p50_ns"));
		cmd_fmt_bytes(cow, sizeof(cow), median_at(p, "cow_write_bytes"));
		snprintf(prov, sizeof(prov), "%.2f (%.2f)",
			 number_at(p, "provisioning.clat_p50_ratio"),
			 number_at(p, "provisioning.clat_mean_ratio"));
		cmd_fmt_bytes(space, sizeof(space), number_at(p, "pool_data_bytes_per_container"));
		fprintf(f, " %15s %14s %13s %18s %8.2f %10s\n", start, fw, cow, prov,
			median_at(p, "storm_containers_per_s"), space);
	}
}

/* The bench's warnings of a point, into the document's, prefixed with the point. */
static void take_warnings(struct json_object *doc, const char *point, struct json_object *res)
{
	struct json_object *w = json_object_object_get(res, "warnings");
	struct json_object *dw = json_object_object_get(doc, "warnings");
	char msg[1024];

	if (!dw) {
		dw = json_object_new_array();
		json_object_object_add(doc, "warnings", dw);
	}
	for (size_t i = 0; w && dw && i < json_object_array_length(w); i++) {
		snprintf(msg, sizeof(msg), "%s: %s", point,
			 json_object_get_string(json_object_array_get_idx(w, i)));
		json_object_array_add(dw, json_object_new_string(msg));
	}
}

struct tune_run {
	struct cmd_bench cb;
	const struct stt_backend_ops *ops;
	struct stt_tune_point *points;
	size_t npoints;
	const char *output;
};

/* Runs every point; *@doc gets the "tune" member. Returns the exit code. */
static int sweep(const struct cmd_entry *self, struct cmd_ctx *ctx, struct tune_run *t,
		 struct json_object *doc)
{
	struct stt_bench_params params = t->cb.params;
	struct stt_tune_info info = {
		.backend = t->ops->name,
		.profile = t->cb.profile->name,
		.containers = params.containers,
		.concurrency = params.concurrency,
		.repetitions = params.repetitions,
		.device = t->cb.t.o.device,
	};
	struct progress pg = { .tty = isatty(STDERR_FILENO), .quiet = ctx->quiet, .n = t->npoints };
	struct stt_bench_workload wl;
	struct stt_journal *j = NULL;
	struct json_object *tune = NULL;
	void **args;
	size_t failed = 0;
	int r;

	if (stt_tune_new(&info, &tune))
		return cmd_fail(self, CMD_EXIT_FAILURE, "out of memory");
	json_object_object_add(doc, "tune", tune);
	args = calloc(stt_image_layer_count(t->cb.img) + 1, sizeof(*args));
	if (!args)
		return cmd_fail(self, CMD_EXIT_FAILURE, "out of memory");
	cmd_bench_workload(t->cb.img, &wl, args);
	/* The startup storm, cold: caches dropped before the reads, as a container start finds them. */
	params.cold = true;
	params.warm = false;

	stt_journal_catch_signals();
	if ((r = cmd_target_begin(self, &t->cb.t, &j)) != CMD_CONTINUE) {
		free(args);
		return r;
	}
	for (size_t k = 0; k < t->npoints && !stt_journal_interrupted(); k++) {
		const struct stt_tune_point *p = &t->points[k];
		struct stt_backend_opts o = t->cb.t.o;
		struct json_object *res = NULL;
		char chunk[16], reason[512];

		chunk_str(p->chunk_bytes, chunk, sizeof(chunk));
		snprintf(pg.point, sizeof(pg.point), "chunk %s, zeroing %s", chunk,
			 p->zeroing ? "on" : "off");
		pg.k = k;
		clock_gettime(CLOCK_MONOTONIC, &pg.t0);
		o.chunk_bytes = p->chunk_bytes;
		o.zeroing = p->zeroing;
		o.journal = j;
		r = stt_bench_run(t->ops->name, &o, &wl, &params, on_progress, &pg, &res);
		if (pg.tty && !ctx->quiet)
			fputs("\r\033[K", stderr);
		if (!r && (r = stt_tune_add_ok(tune, p, res)))
			snprintf(reason, sizeof(reason), "%s", stt_err_msg());
		else if (r)
			snprintf(reason, sizeof(reason), "%s", stt_err_msg());
		if (r) {
			failed++;
			cmd_note(ctx, "[%zu/%zu] %s: failed after %.1fs: %s\n", k + 1, t->npoints,
				 pg.point, cmd_since(&pg.t0), reason);
			if (stt_tune_add_failed(tune, p, reason))
				fprintf(stderr, "stortune %s: out of memory\n", self->name);
			stt_journal_undo_all(j, cmd_report_undo, NULL);
		} else {
			struct json_object *pt = json_object_array_get_idx(
				json_object_object_get(tune, "points"), k);
			char start[16], space[16];

			cmd_fmt_ms(start, sizeof(start), median_at(pt, "start_p50_ns"));
			cmd_fmt_bytes(space, sizeof(space),
				  number_at(pt, "pool_data_bytes_per_container"));
			cmd_note(ctx,
				 "[%zu/%zu] %s: ok in %.1fs (start p50 %s ms, pool data per "
				 "container %s)\n",
				 k + 1, t->npoints, pg.point, cmd_since(&pg.t0), start, space);
			take_warnings(doc, pg.point, res);
		}
		json_object_put(res);
	}
	/* Points an interruption left out are in the document too, so the sweep reads as partial. */
	for (size_t k = json_object_array_length(json_object_object_get(tune, "points"));
	     k < t->npoints; k++) {
		failed++;
		if (stt_tune_add_failed(tune, &t->points[k], "not run: the sweep was interrupted"))
			break;
	}
	cmd_journal_finish(self, NULL, &t->cb.t, j);
	free(args);
	if (stt_journal_interrupted()) {
		char why[64];

		snprintf(why, sizeof(why), "interrupted by signal %d", stt_journal_signal());
		stt_results_mark_incomplete(doc, why);
	} else if (failed) {
		char why[96];

		snprintf(why, sizeof(why), "%zu of %zu points failed", failed, t->npoints);
		stt_results_mark_incomplete(doc, why);
	}
	if (stt_journal_interrupted())
		return cmd_fail(self, CMD_EXIT_FAILURE, "interrupted; everything made was undone");
	if (failed)
		return cmd_fail(self, CMD_EXIT_FAILURE, "%zu of %zu points failed", failed,
				t->npoints);
	return CMD_EXIT_OK;
}

/* The document, before the sweep: environment, profile, image, options. */
static int new_doc(struct tune_run *t, struct json_object **out)
{
	struct json_object *doc, *jo, *opts;

	if (stt_results_new(t->cb.host, t->cb.env_label, &doc))
		return -ENOMEM;
	if (!stt_profile_to_json(t->cb.profile, &jo))
		json_object_object_add(doc, "profile", jo);
	if (!stt_image_to_json(t->cb.img, &jo))
		json_object_object_add(doc, "image", jo);
	opts = cmd_bench_options_json(&t->cb);
	if (opts) {
		/* Swept: in each point, not one setting for the run. */
		json_object_object_del(opts, "chunk_size_bytes");
		json_object_object_del(opts, "zeroing");
		json_object_object_add(opts, "cold", json_object_new_boolean(true));
		json_object_object_add(opts, "warm", json_object_new_boolean(false));
		json_object_object_add(doc, "options", opts);
	}
	*out = doc;
	return 0;
}

static int cmd_tune(const struct cmd_entry *self, struct cmd_ctx *ctx, int argc, char **argv)
{
	/*
	 * tune's own --zeroing (a list) comes before the target options' --zeroing[=0|1]:
	 * getopt_long takes the first entry whose name matches exactly.
	 */
	static const struct option opts[] = {
		CMD_COMMON_OPTIONS,
		{ "chunk-sizes", required_argument, NULL, OPT_CHUNK_SIZES },
		{ "zeroing", required_argument, NULL, OPT_TUNE_ZEROING },
		CMD_TARGET_OPTIONS,
		CMD_BENCH_OPTIONS,
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	const char *chunks_arg = STT_TUNE_DEFAULT_CHUNKS, *zero_arg = STT_TUNE_DEFAULT_ZEROING;
	const char *backend = NULL;
	uint32_t chunks[STT_TUNE_MAX_CHUNKS];
	bool zeroing[2];
	size_t nc, nz;
	struct tune_run t = { 0 };
	struct json_object *doc = NULL;
	char reason[256] = "";
	int c, r = CMD_CONTINUE;

	cmd_bench_init(&t.cb);
	while ((c = getopt_long(argc, argv, CMD_COMMON_SHORT "o:", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			t.output = optarg;
			continue;
		case OPT_CHUNK_SIZES:
			chunks_arg = optarg;
			continue;
		case OPT_TUNE_ZEROING:
			zero_arg = optarg;
			continue;
		case CMD_OPT_CHUNK_SIZE:
			return cmd_usage_error(self, "--chunk-size %s: tune sweeps chunk sizes; use "
						     "--chunk-sizes LIST",
					       optarg);
		case CMD_OPT_BACKEND:
			backend = optarg;
			if (strcmp(optarg, "dm-loop") && strcmp(optarg, "direct-lvm") &&
			    strcmp(optarg, "containerd-devmapper"))
				return cmd_usage_error(self, "--backend %s: tune sweeps a thin pool: "
							     "dm-loop, direct-lvm or "
							     "containerd-devmapper",
						       optarg);
			t.cb.backends = optarg;
			continue;
		default:
			if (c >= CMD_OPT_WORKDIR && c < CMD_OPT_BENCH_END)
				r = cmd_bench_opt(self, &t.cb, c, optarg);
			else
				r = cmd_common_opt(self, ctx, c);
			if (r != CMD_CONTINUE)
				return r;
			if (c == CMD_OPT_PROFILE)
				t.cb.profile_given = true;
		}
	}
	if (optind < argc)
		return cmd_usage_error(self, "unexpected argument '%s'", argv[optind]);
	if (!backend)
		return cmd_usage_error(self, "--backend: required (dm-loop, direct-lvm or "
					     "containerd-devmapper)");
	if (stt_tune_parse_chunks(chunks_arg, chunks, STT_TUNE_MAX_CHUNKS, &nc) ||
	    stt_tune_parse_zeroing(zero_arg, zeroing, &nz))
		return cmd_usage_error(self, "%s", stt_err_msg());
	if (stt_tune_points(chunks, nc, zeroing, nz, &t.points, &t.npoints))
		return cmd_fail(self, CMD_EXIT_FAILURE, "%s", stt_err_msg());
	t.ops = stt_backend_lookup(backend);

	if ((r = cmd_bench_setup(self, ctx, &t.cb)) != CMD_CONTINUE)
		goto out;
	if (new_doc(&t, &doc)) {
		r = cmd_fail(self, CMD_EXIT_FAILURE, "out of memory");
		goto out;
	}
	/* As bench: an unavailable backend is recorded as skipped, and the run fails. */
	t.cb.t.o.chunk_bytes = t.points[0].chunk_bytes;
	if (t.ops->available(&t.cb.t.o, reason, sizeof(reason))) {
		struct json_object *res = json_object_new_object();

		json_object_object_add(res, "backend", json_object_new_string(t.ops->name));
		json_object_object_add(res, "status", json_object_new_string("skipped"));
		json_object_object_add(res, "reason", json_object_new_string(reason));
		json_object_array_add(json_object_object_get(doc, "backends"), res);
		r = cmd_fail(self, CMD_EXIT_FAILURE, "%s: unavailable: %s", t.ops->name, reason);
		stt_results_mark_incomplete(doc, "the backend is unavailable (see \"backends\")");
	} else {
		cmd_note(ctx, "tune %s: %zu points (%zu chunk sizes x %zu zeroing), %u containers "
			      "x %u repetition(s) each\n",
			 t.ops->name, t.npoints, nc, nz, t.cb.params.containers,
			 t.cb.params.repetitions);
		r = sweep(self, ctx, &t, doc);
	}
	if (t.output && stt_results_write(doc, t.output)) {
		fprintf(stderr, "stortune %s: %s\n", self->name, stt_err_msg());
		r = CMD_EXIT_FAILURE;
	} else if (t.output && !ctx->quiet) {
		fprintf(stderr, "results: %s\n", t.output);
	}
	if (ctx->json)
		cmd_print_json(doc);
	else if (json_object_object_get(doc, "tune"))
		print_table(json_object_object_get(doc, "tune"), stdout);
out:
	json_object_put(doc);
	free(t.points);
	cmd_bench_release(&t.cb);
	return r;
}

const struct cmd_entry cmd_tune_entry = {
	.name = "tune",
	.summary = "sweep thin-pool chunk size and zeroing: start latency, first writes, space",
	.synopsis = "tune --backend dm-loop|direct-lvm|containerd-devmapper [--chunk-sizes LIST] [--zeroing on,off] "
		    "[--profile NAME|FILE] [--containers N] [--concurrency C] [--repetitions R] "
		    "[target options] [-o results.json]",
	.help = "For each chunk size and each zeroing setting (the points), makes the thin pool\n"
		"afresh, imports the profile's image, runs the cold startup storm (bench's phases)\n"
		"and the provisioning test (4 KiB first writes vs overwrites on a fresh thin\n"
		"device), reads how much of the pool the containers took, and takes the pool down.\n"
		"A point that fails is recorded with its reason and the sweep goes on. Prints the\n"
		"trade-off table; -o writes a results document with a \"tune\" member, which\n"
		"`stortune recommend` reads to choose the chunk size and zeroing.\n"
		"\noptions:\n"
		"  --backend NAME        dm-loop, direct-lvm or containerd-devmapper (required)\n"
		"  --chunk-sizes LIST    chunk sizes to try, multiples of 64K from 64K to 1G\n"
		"                        (default " STT_TUNE_DEFAULT_CHUNKS ")\n"
		"  --zeroing LIST        on, off, or on,off (default " STT_TUNE_DEFAULT_ZEROING ")\n"
		"  --profile NAME|FILE   workload profile (default ci); --image FILE.tar as bench\n"
		"  --containers N, --concurrency C, --repetitions R   override the profile's [run]\n"
		"  -o, --output FILE     write the results document (JSON) to FILE\n"
		"  --env-label LABEL     environment label in the results (default native)\n\n"
		CMD_TARGET_HELP "  (--chunk-size and --zeroing[=0|1] are replaced by the lists above)\n"
		"\nexit codes: 0 every point ran, 1 a point failed or the backend is unavailable,\n"
		"2 bad input (nothing was made)\n"
		"\nexamples:\n"
		"  stortune tune --backend dm-loop --profile ci -o tune.json\n"
		"  stortune tune --backend direct-lvm --device /dev/nvme1n1 --destroy-data "
		"/dev/nvme1n1 --chunk-sizes 64K,512K,2M --zeroing off\n",
	.run = cmd_tune,
};
