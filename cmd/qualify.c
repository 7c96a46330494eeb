// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * stortune qualify: one-off qualification of a host: probe, raw device figures, every
 * backend, a summary table and a verdict per backend, and the files to attach to a ticket.
 */
#include "cmd.h"

#include "err.h"
#include "fsutil.h"
#include "probe.h"
#include "qualify.h"
#include "results.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_INCLUDE = CMD_OPT_BENCH_END + 1 };

#define MAX_INCLUDES 8


/*
 * Results of backends run elsewhere (the VM tier) take the place of ours that were skipped,
 * labelled with their environment.
 */
static int include(struct json_object *doc, const char *path)
{
	struct json_object *other, *ours = stt_results_get(doc, "backends"), *theirs;
	int r = stt_results_load(path, &other);

	if (r)
		return r;
	theirs = stt_results_get(other, "backends");
	for (size_t i = 0; i < json_object_array_length(theirs); i++) {
		struct json_object *be = json_object_array_get_idx(theirs, i);
		const char *name = json_object_get_string(stt_results_get(be, "backend"));
		const char *st = json_object_get_string(stt_results_get(be, "status"));

		if (!st || strcmp(st, "ok"))
			continue;
		for (size_t k = 0; k < json_object_array_length(ours); k++) {
			struct json_object *mine = json_object_array_get_idx(ours, k);

			if (strcmp(json_object_get_string(stt_results_get(mine, "backend")), name))
				continue;
			if (!strcmp(json_object_get_string(stt_results_get(mine, "status")), "ok"))
				break; /* a native result wins */
			json_object_object_add(be, "environment",
					       json_object_new_string(stt_results_env_label(other)));
			json_object_object_add(be, "environment_detail",
					       json_object_get(stt_results_get(other, "environment")));
			json_object_object_add(be, "included_from", json_object_new_string(path));
			json_object_array_put_idx(ours, k, json_object_get(be));
			break;
		}
	}
	json_object_put(other);
	return 0;
}

static void verdicts(struct json_object *doc, FILE *f)
{
	struct json_object *arr = stt_results_get(doc, "backends");

	fprintf(f, "\nverdict\n");
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
		{ "output", required_argument, NULL, 'o' },
		{ "include", required_argument, NULL, OPT_INCLUDE },
		{ NULL, 0, NULL, 0 },
	};
	const char *outdir = NULL, *includes[MAX_INCLUDES];
	struct stt_probe_target *target = NULL;
	struct json_object *doc = NULL, *jt;
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

	cmd_note(ctx, "qualify: probing %s\n", cb.t.o.device ? cb.t.o.device : cb.t.o.workdir);
	target = calloc(1, sizeof(*target));
	if (!target || stt_fs_mkdir_p(cb.t.o.workdir, 0700) ||
	    stt_probe_path(cb.t.o.device ? cb.t.o.device : cb.t.o.workdir, target)) {
		r = cmd_fail(self, CMD_EXIT_FAILURE, "probe: %s", stt_err_msg());
		goto out;
	}

	r = cmd_bench_run(self, ctx, &cb, &doc);
	if (!doc)
		goto out;
	if (!stt_probe_to_json(target, &jt))
		json_object_object_add(stt_results_get(doc, "environment"), "target", jt);
	if (cb.t.o.device == NULL && !ctx->quiet)
		cmd_note(ctx, "qualify: raw device figures: see 'stortune io' (scratch target)\n");
	for (int i = 0; i < ninc; i++)
		if (include(doc, includes[i]))
			fprintf(stderr, "stortune qualify: --include %s\n", stt_err_msg());

	if (outdir) {
		char path[4096];
		FILE *f;
		int e = stt_fs_mkdir_p(outdir, 0755);

		snprintf(path, sizeof(path), "%s/results.json", outdir);
		if (e || stt_results_write(doc, path)) {
			fprintf(stderr, "stortune qualify: %s: %s\n", outdir,
				e ? strerror(-e) : stt_err_msg());
			r = CMD_EXIT_FAILURE;
		}
		snprintf(path, sizeof(path), "%s/summary.txt", outdir);
		f = fopen(path, "w");
		if (f) {
			cmd_print_summary(doc, f);
			verdicts(doc, f);
			fclose(f);
		}
		cmd_note(ctx, "qualify: wrote %s/results.json and %s/summary.txt\n", outdir,
			 outdir);
	}
	if (ctx->json) {
		cmd_print_json(doc);
	} else {
		printf("stortune qualify (%s, profile %s)\n\n",
		       cb.t.o.device ? cb.t.o.device : "scratch target", cb.profile_name);
		cmd_print_summary(doc, stdout);
		verdicts(doc, stdout);
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
		"device-mapper), labelled with that environment.\n"
		"\noptions:\n"
		"  -o, --output DIR        where results.json and summary.txt go\n"
		"  --include FILE          results of backends run elsewhere (up to 8)\n"
		"  bench options: --backend, --profile (default ci), --image, --containers,\n"
		"                 --concurrency, --repetitions, --env-label\n\n" CMD_TARGET_HELP
		"\nexamples:\n"
		"  stortune qualify -o qualify/\n"
		"  stortune qualify --device /dev/nvme1n1 --destroy-data /dev/nvme1n1 "
		"--profile debian-service -o out/\n",
	.run = cmd_qualify,
};
