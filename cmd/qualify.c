// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * stortune qualify: one-off qualification of a host: probe, raw device figures, every
 * backend, a summary table and a verdict per backend, and the files to attach to a ticket.
 */
#include "cmd.h"

#include "measure/engine.h"
#include "base/err.h"
#include "sys/fsutil.h"
#include "sys/probe.h"
#include "advice/qualify.h"
#include "base/json.h"
#include "advice/results.h"
#include "sys/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { OPT_INCLUDE = CMD_OPT_BENCH_END + 1 };

#define MAX_INCLUDES 8


/*
 * Results of backends run elsewhere (the VM tier) take the place of ours that were skipped,
 * labelled with their environment.
 */
static int include(struct json_object *doc, const char *path)
{
	struct json_object *other, *ours = stt_json_get(doc, "backends"), *theirs;
	int r = stt_results_load(path, &other);

	if (r)
		return r;
	theirs = stt_json_get(other, "backends");
	for (size_t i = 0; i < json_object_array_length(theirs); i++) {
		struct json_object *be = json_object_array_get_idx(theirs, i);
		const char *name = json_object_get_string(stt_json_get(be, "backend"));
		const char *st = json_object_get_string(stt_json_get(be, "status"));

		if (!st || strcmp(st, "ok"))
			continue;
		for (size_t k = 0; k < json_object_array_length(ours); k++) {
			struct json_object *mine = json_object_array_get_idx(ours, k);

			if (strcmp(json_object_get_string(stt_json_get(mine, "backend")), name))
				continue;
			if (!strcmp(json_object_get_string(stt_json_get(mine, "status")), "ok"))
				break; /* a native result wins */
			json_object_object_add(be, "environment",
					       json_object_new_string(stt_results_env_label(other)));
			json_object_object_add(be, "environment_detail",
					       json_object_get(stt_json_get(other, "environment")));
			json_object_object_add(be, "included_from", json_object_new_string(path));
			json_object_array_put_idx(ours, k, json_object_get(be));
			break;
		}
	}
	json_object_put(other);
	return 0;
}

/*
 * Raw figures of the target with the engine: what the device could do, the reference for
 * the backends' figures. Reads only: of the device itself with --device (no data touched),
 * else of a file in the workdir (laid out once, removed after).
 */
static struct json_object *raw_device(struct cmd_ctx *ctx, const struct cmd_target *t,
				      uint64_t runtime_ms)
{
	static const struct {
		const char *name;
		enum stt_engine_rw rw;
		uint64_t bs;
		unsigned int depth;
	} jobs[] = {
		{ "4k-randread-qd1", STT_ENGINE_RANDREAD, 4096, 1 },
		{ "4k-randread-qd32", STT_ENGINE_RANDREAD, 4096, 32 },
		{ "1m-read-qd4", STT_ENGINE_READ, 1 << 20, 4 },
	};
	struct json_object *o = json_object_new_object(), *arr = json_object_new_array();
	struct stt_journal *j = NULL;
	unsigned int rec = STT_JOURNAL_NONE;
	char path[4096];

	if (t->o.device)
		snprintf(path, sizeof(path), "%s", t->o.device);
	else
		snprintf(path, sizeof(path), "%s/raw-reference.dat", t->o.workdir);
	json_object_object_add(o, "target", json_object_new_string(path));
	json_object_object_add(o, "jobs", arr);
	if (!t->o.device) {
		/*
		 * A sparse file: the engine lays it out (writes its holes) before the reads.
		 * Journalled first, so that a run killed here leaves it to `cleanup`.
		 */
		int fd = -1;

		if (stt_journal_open(t->journal_dir, &j) ||
		    stt_journal_add(j, STT_J_FILE, path, NULL, &rec)) {
			json_object_object_add(o, "error", json_object_new_string(stt_err_msg()));
			goto out;
		}
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || ftruncate(fd, 1ll << 30))
			json_object_object_add(o, "error", json_object_new_string(strerror(errno)));
		if (fd >= 0)
			close(fd);
	}
	for (size_t i = 0; i < sizeof(jobs) / sizeof(jobs[0]) && !stt_journal_interrupted();
	     i++) {
		struct stt_engine_result res;
		struct stt_engine_job job;
		struct json_object *jr = NULL, *e = json_object_new_object();

		stt_engine_job_init(&job);
		job.path = path;
		job.rw = jobs[i].rw;
		job.bs_bytes = jobs[i].bs;
		job.iodepth = jobs[i].depth;
		job.runtime_ms = runtime_ms;
		job.time_based = true;
		job.size_bytes = t->o.device ? 0 : (int64_t)(1ull << 30);
		cmd_note(ctx, "qualify: raw %s on %s\n", jobs[i].name, path);
		json_object_object_add(e, "name", json_object_new_string(jobs[i].name));
		if (stt_engine_run(&job, &res)) {
			json_object_object_add(e, "error", json_object_new_string(stt_err_msg()));
		} else {
			if (!stt_engine_result_to_json(&res, &jr))
				json_object_object_add(e, "result", jr);
			stt_engine_result_release(&res);
		}
		json_object_array_add(arr, e);
	}
out:
	if (j) {
		if (stt_journal_undo_one(j, rec))
			json_object_object_add(o, "cleanup_error",
					       json_object_new_string(stt_err_msg()));
		stt_journal_close(j);
	}
	return o;
}

static void print_raw(struct json_object *raw, FILE *f)
{
	struct json_object *arr = stt_json_get(raw, "jobs");

	fprintf(f, "\nraw target (%s): ", json_object_get_string(stt_json_get(raw, "target")));
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		struct json_object *e = json_object_array_get_idx(arr, i);
		struct json_object *r = stt_json_get(e, "result.read");

		if (!r) {
			fprintf(f, "%s%s: %s", i ? "; " : "",
				json_object_get_string(stt_json_get(e, "name")),
				json_object_get_string(stt_json_get(e, "error")));
			continue;
		}
		fprintf(f, "%s%s %.0f IOPS, clat p50 %.0f us", i ? "; " : "",
			json_object_get_string(stt_json_get(e, "name")),
			json_object_get_double(stt_json_get(r, "iops")),
			json_object_get_double(json_object_object_get(
				stt_json_get(r, "clat_ns.percentile"), "50.000000")) /
				1e3);
	}
	fputc('\n', f);
}

/* Emulated and real side by side, per backend and phase, and the ranking agreement. */
static void print_engine_check(struct json_object *doc, FILE *f)
{
	struct json_object *ec = stt_json_get(doc, "engine_check");
	struct json_object *bes = stt_json_get(ec, "backends");
	char line[1024];

	if (!ec)
		return;
	fprintf(f, "\nemulated vs real engine (%s, p50 in ms, median over repetitions)\n",
		json_object_get_string(stt_json_get(ec, "mode")));
	fprintf(f, "%-20s %-10s %-12s %10s %10s %10s\n", "backend", "engine", "phase", "emulated",
		"real", "real/emu");
	for (size_t i = 0; bes && i < json_object_array_length(bes); i++) {
		struct json_object *b = json_object_array_get_idx(bes, i);
		struct json_object *share = stt_json_get(b, "storage_share_of_start");
		struct json_object *cli = stt_json_get(b, "cli_overhead_p50_ns");
		struct json_object *share_cli = stt_json_get(b, "storage_share_of_start_less_cli");
		const char *name = json_object_get_string(stt_json_get(b, "backend"));
		const char *eng = json_object_get_string(stt_json_get(b, "engine"));

		json_object_object_foreach(stt_json_get(b, "phases"), ph, x)
		{
			struct json_object *ratio = stt_json_get(x, "real_over_emulated");

			fprintf(f, "%-20s %-10s %-12s %10.2f %10.2f %9.1fx\n", name,
				eng ? eng : "docker", ph,
				json_object_get_double(stt_json_get(x, "emulated_p50_ns")) / 1e6,
				json_object_get_double(stt_json_get(x, "real_p50_ns")) / 1e6,
				ratio ? json_object_get_double(ratio) : 0.0);
		}
		if (share)
			fprintf(f,
				"%s: storage's share of the real start: (emulated start + "
				"first-read) / real start = %.1f%%\n",
				name, 100 * json_object_get_double(share));
		if (cli)
			fprintf(f,
				"%s: ctr's own start and call (ctr version) p50 %.2f ms, in each of "
				"create, start, stop and remove; without it storage's share of the "
				"start is %.1f%%\n",
				name, json_object_get_double(cli) / 1e6,
				share_cli ? 100 * json_object_get_double(share_cli) : 0.0);
	}
	json_object_object_foreach(stt_json_get(ec, "ranking"), ph, x)
	{
		fprintf(f, "ranking %-21s emulated %s, real %s: %s\n", ph,
			json_object_to_json_string_ext(stt_json_get(x, "emulated"),
						       JSON_C_TO_STRING_PLAIN),
			json_object_to_json_string_ext(stt_json_get(x, "real"),
						       JSON_C_TO_STRING_PLAIN),
			json_object_get_boolean(stt_json_get(x, "agree")) ? "same" : "DIFFERENT");
	}
	stt_qualify_engine_line(doc, line, sizeof(line));
	fprintf(f, "%s\n", line);
}

static void verdicts(struct json_object *doc, FILE *f)
{
	struct json_object *arr = stt_json_get(doc, "backends");
	struct json_object *agree = stt_json_get(doc, "engine_check.rankings_agree");
	char eline[1024];

	/* When the two modes disagree, the real engine's figures decide. */
	if (agree && !json_object_get_boolean(agree))
		arr = stt_json_get(doc, "engine_check.real");
	fprintf(f, "\nverdict\n");
	stt_qualify_engine_line(doc, eline, sizeof(eline));
	if (*eline)
		fprintf(f, "  %s\n", eline);
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		struct json_object *be = json_object_array_get_idx(arr, i);
		char line[512];

		stt_qualify_verdict(be, line, sizeof(line));
		fprintf(f, "  %s\n", line);
	}
}

static int cmd_qualify(const struct cmd_entry *self, struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		CMD_COMMON_OPTIONS,
		CMD_TARGET_OPTIONS,
		CMD_BENCH_OPTIONS,
		CMD_ENGINE_OPTIONS,
		{ "output", required_argument, NULL, 'o' },
		{ "include", required_argument, NULL, OPT_INCLUDE },
		{ NULL, 0, NULL, 0 },
	};
	const char *outdir = NULL, *includes[MAX_INCLUDES];
	char rec_line[4096 + 256] = "";
	struct stt_probe_target *target = NULL;
	struct json_object *doc = NULL, *jt, *raw;
	int c, r = CMD_CONTINUE, ninc = 0;
	struct cmd_bench cb;

	cmd_bench_init(&cb);
	while ((c = getopt_long(argc, argv, CMD_COMMON_SHORT "o:", opts, NULL)) != -1) {
		if (c == 'o') {
			outdir = optarg;
			continue;
		}
		if (c == OPT_INCLUDE) {
			if (ninc == MAX_INCLUDES)
				return cmd_usage_error(self, "--include: at most %d files",
						       MAX_INCLUDES);
			includes[ninc++] = optarg;
			continue;
		}
		if (c >= CMD_OPT_WORKDIR && c < CMD_OPT_BENCH_END)
			r = cmd_bench_opt(self, &cb, c, optarg);
		else
			r = cmd_common_opt(self, ctx, c);
		if (r != CMD_CONTINUE)
			return r;
		if (c == CMD_OPT_PROFILE)
			cb.profile_given = true;
	}
	if (optind < argc)
		return cmd_usage_error(self, "unexpected argument '%s'", argv[optind]);
	/* Included files are checked before anything runs. */
	for (int i = 0; i < ninc; i++) {
		struct json_object *tmp;

		if (stt_results_load(includes[i], &tmp))
			return cmd_fail(self, CMD_EXIT_USAGE, "--include %s", stt_err_msg());
		json_object_put(tmp);
	}
	if ((r = cmd_bench_setup(self, ctx, &cb)) != CMD_CONTINUE) {
		cmd_bench_release(&cb);
		return r;
	}

	/* the scratch directory is this run's from here: the raw figures are made in it too */
	if ((r = cmd_target_lock(self, &cb.t)) != CMD_CONTINUE)
		goto out;
	cmd_note(ctx, "qualify: probing %s\n", cb.t.o.device ? cb.t.o.device : cb.t.o.workdir);
	target = calloc(1, sizeof(*target));
	if (!target ||
	    stt_probe_path(cb.t.o.device ? cb.t.o.device : cb.t.o.workdir, target)) {
		r = cmd_fail(self, CMD_EXIT_FAILURE, "probe: %s", stt_err_msg());
		goto out;
	}

	stt_journal_catch_signals();
	raw = raw_device(ctx, &cb.t, 3000);
	if (cb.engine == CMD_ENGINE_BOTH)
		cmd_note(ctx, "qualify: the emulation first, then the real engine\n");
	r = cmd_bench_run(self, ctx, &cb, &doc);
	if (doc && cb.engine == CMD_ENGINE_BOTH && !stt_journal_interrupted()) {
		struct json_object *real = NULL, *ec = NULL;
		int r2;

		cb.params.engine = &cb.eng;
		r2 = cmd_bench_run(self, ctx, &cb, &real);
		if (r2 > r)
			r = r2;
		if (real && !stt_qualify_engine_check(doc, real, &ec)) {
			json_object_object_add(doc, "engine_check", ec);
			json_object_object_add(stt_json_get(doc, "options"), "engine",
					       json_object_new_string("both"));
		}
		json_object_put(real);
	}
	if (!doc) {
		json_object_put(raw);
		goto out;
	}
	json_object_object_add(doc, "raw_device", raw);
	if (!stt_probe_to_json(target, &jt))
		json_object_object_add(stt_json_get(doc, "environment"), "target", jt);
	for (int i = 0; i < ninc; i++)
		if (include(doc, includes[i]))
			fprintf(stderr, "stortune qualify: --include %s\n", stt_err_msg());

	if (outdir) {
		char path[4096], *text = NULL;
		size_t len = 0;
		FILE *f;
		int e = stt_fs_mkdir_p(outdir, 0755);

		snprintf(path, sizeof(path), "%s/results.json", outdir);
		if (e || stt_results_write(doc, path)) {
			fprintf(stderr, "stortune qualify: %s: %s\n", outdir,
				e ? strerror(-e) : stt_err_msg());
			r = CMD_EXIT_FAILURE;
		}
		snprintf(path, sizeof(path), "%s/summary.txt", outdir);
		f = open_memstream(&text, &len);
		if (f) {
			cmd_print_summary(doc, f);
			print_engine_check(doc, f);
			print_raw(raw, f);
			verdicts(doc, f);
		}
		if (!f || fclose(f) || stt_fs_write_atomic(path, text, len, 0644)) {
			fprintf(stderr, "stortune qualify: %s: %s\n", path,
				f ? stt_err_msg() : "out of memory");
			r = CMD_EXIT_FAILURE;
		}
		free(text);
		text = NULL;
		cmd_note(ctx, "qualify: wrote %s/results.json and %s/summary.txt\n", outdir,
			 outdir);
		/* the recommendation of these results, beside them */
		{
			struct cmd_rec_opts ro = { .outdir = outdir };
			const char *name = path;
			struct json_object *jr = NULL;

			snprintf(path, sizeof(path), "%s/results.json", outdir);
			if (cmd_recommend_outputs(self, ctx, &doc, &name, 1, &ro, &jr) ==
			    CMD_EXIT_OK) {
				size_t off = (size_t)snprintf(
					rec_line, sizeof(rec_line),
					"\nrecommendation (%s/RECOMMENDATION.md): storage-driver %s; "
					"files:",
					outdir, json_object_get_string(stt_json_get(jr, "driver")));

				json_object_object_foreach(stt_json_get(jr, "files"), k, v)
				{
					(void)v;
					if (off < sizeof(rec_line))
						off += (size_t)snprintf(rec_line + off,
									sizeof(rec_line) - off,
									" %s", k);
				}
				if (off < sizeof(rec_line) - 1)
					strcat(rec_line, "\n");
				cmd_note(ctx, "qualify: wrote the recommendation into %s\n", outdir);
			} else {
				r = CMD_EXIT_FAILURE;
			}
			json_object_put(jr);
		}
		/* the report page of these results, beside them */
		{
			struct cmd_ctx rctx = { .json = false, .quiet = true };
			char html[4096];
			const char *name = path;

			snprintf(path, sizeof(path), "%s/results.json", outdir);
			snprintf(html, sizeof(html), "%s/report.html", outdir);
			if (cmd_report_files(self, &rctx, &name, 1, NULL, NULL, html) == CMD_EXIT_OK) {
				size_t off = strlen(rec_line);

				snprintf(rec_line + off, sizeof(rec_line) - off, "report: %s\n", html);
				cmd_note(ctx, "qualify: wrote %s\n", html);
			} else {
				r = CMD_EXIT_FAILURE;
			}
		}
	}
	if (ctx->json) {
		cmd_print_json(doc);
	} else {
		printf("stortune qualify (%s, profile %s)\n\n",
		       cb.t.o.device ? cb.t.o.device : "scratch target", cb.profile_name);
		cmd_print_summary(doc, stdout);
		print_engine_check(doc, stdout);
		print_raw(raw, stdout);
		verdicts(doc, stdout);
		fputs(rec_line, stdout);
	}
out:
	json_object_put(doc);
	free(target);
	cmd_bench_release(&cb);
	return r;
}

const struct cmd_entry cmd_qualify_entry = {
	.name = "qualify",
	.summary = "qualify a host: probe, every backend, a summary and a verdict per backend",
	.synopsis = "qualify [--device DEV --destroy-data DEV] [--profile NAME|FILE] [-o DIR] "
		    "[--include RESULTS.json] [bench and target options]",
	.help = "Probes the target, runs the benchmark on every backend this host can run, and\n"
		"prints a table (backend x phase p50/p99, storm containers/s, amplification,\n"
		"page cache per container) and a verdict line per backend. With -o DIR it writes\n"
		"DIR/results.json and DIR/summary.txt. --include adds the backends of a results\n"
		"file made elsewhere (e.g. the VM tier, for the dm backends on a kernel without\n"
		"device-mapper), labelled with that environment. -o DIR also gets the\n"
		"recommendation of the results, as `stortune recommend DIR/results.json -o DIR`\n"
		"writes it (daemon.json, RECOMMENDATION.md, setup-direct-lvm.sh, ...), and\n"
		"DIR/report.html, the page `stortune report DIR/results.json` writes.\n"
		"\noptions:\n"
		"  -o, --output DIR        where results.json, summary.txt, report.html and the\n"
		"                          recommended configuration go\n"
		"  --include FILE          results of backends run elsewhere (up to 8)\n"
		"  bench options: --backend, --profile (default ci), --image, --containers,\n"
		"                 --concurrency, --repetitions, --env-label\n"
		CMD_ENGINE_HELP
		"  --engine both         the emulation and the real engine, side by side per backend\n"
		"                        and phase, storage's share of the real start, and whether\n"
		"                        both rank the backends the same (if not, the verdicts and\n"
		"                        the recommendation follow the real engine)\n\n"
		CMD_TARGET_HELP
		"\nexamples:\n"
		"  stortune qualify -o qualify/\n"
		"  stortune qualify --device /dev/nvme1n1 --destroy-data /dev/nvme1n1 "
		"--profile debian-service -o out/\n"
		"  stortune qualify --engine both --backend overlay -o out/\n",
	.run = cmd_qualify,
};
