// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * stortune trace: which files of an image a command reads when it starts, with offsets and
 * lengths, recorded under the real engine (src/measure/tracer.h) into a trace file that a
 * profile's `[startup] trace = FILE` replays.
 */
#include "cmd.h"

#include "base/err.h"
#include "base/fmt.h"
#include "measure/tracer.h"
#include "sys/dockerd.h"
#include "sys/fsutil.h"
#include "sys/journal.h"
#include "workload/image.h"
#include "workload/trace.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_SECONDS = CMD_OPT_BENCH_END + 1, OPT_DOCKERD_TIMEOUT };

/* Docker's default PATH, where a command without a '/' is looked for. */
#define IMAGE_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Whether @cmd names a regular file in @img (found in IMAGE_PATH when it has no '/'). */
static int find_command(struct stt_image *img, const char *cmd, char *found, size_t len)
{
	char path[4096];
	const char *p = IMAGE_PATH;

	if (strchr(cmd, '/'))
		return stt_image_resolve(img, cmd, found, len, NULL) == STT_IMAGE_FILE ? 0
										       : -ENOENT;
	while (*p) {
		size_t n = strcspn(p, ":");

		snprintf(path, sizeof(path), "%.*s/%s", (int)n, p, cmd);
		if (stt_image_resolve(img, path, found, len, NULL) == STT_IMAGE_FILE)
			return 0;
		p += n;
		if (*p)
			p++;
	}
	return -ENOENT;
}

static int cmp_bytes(const void *a, const void *b)
{
	const struct stt_trace_file *x = *(const struct stt_trace_file *const *)a;
	const struct stt_trace_file *y = *(const struct stt_trace_file *const *)b;
	uint64_t u = stt_trace_file_unique_bytes(x), v = stt_trace_file_unique_bytes(y);

	return u < v ? 1 : u > v ? -1 : strcmp(x->path, y->path);
}

static void print_summary(const struct stt_trace *t, struct json_object *doc, unsigned int top)
{
	struct json_object *tot = json_object_object_get(doc, "totals");
	const struct stt_trace_file **v = calloc(t->n_files + 1, sizeof(*v));
	char a[32], b[32], c[32];

	if (!v)
		return;
	for (size_t i = 0; i < t->n_files; i++)
		v[i] = &t->files[i];
	qsort(v, t->n_files, sizeof(*v), cmp_bytes);
	printf("%-56s %10s %10s %10s %6s\n", "file (largest first)", "read", "unique", "cached",
	       "ranges");
	for (size_t i = 0; i < t->n_files && i < top; i++)
		printf("%-56.56s %10s %10s %10s %6zu\n", v[i]->path,
		       stt_fmt_bytes(stt_trace_file_read_bytes(v[i]), a, sizeof(a)),
		       stt_fmt_bytes(stt_trace_file_unique_bytes(v[i]), b, sizeof(b)),
		       stt_fmt_bytes(v[i]->cached_bytes, c, sizeof(c)), v[i]->n_ranges);
	if (t->n_files > top)
		printf("... %zu more files\n", t->n_files - top);
	printf("%zu files; read %s (%s distinct), %s brought into the page cache; "
	       "%lld events, %lld outside the image\n",
	       t->n_files,
	       stt_fmt_bytes(
		   (uint64_t)json_object_get_int64(json_object_object_get(tot, "read_bytes")), a,
		   sizeof(a)),
	       stt_fmt_bytes(
		   (uint64_t)json_object_get_int64(json_object_object_get(tot, "unique_bytes")), b,
		   sizeof(b)),
	       stt_fmt_bytes(
		   (uint64_t)json_object_get_int64(json_object_object_get(tot, "cached_bytes")), c,
		   sizeof(c)),
	       (long long)t->events, (long long)t->events_outside);
	free(v);
}

static int cmd_trace(const struct cmd_entry *self, struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    CMD_COMMON_OPTIONS,
	    CMD_TARGET_OPTIONS,
	    {"output", required_argument, NULL, 'o'},
	    {"seconds", required_argument, NULL, OPT_SECONDS},
	    {"dockerd-timeout", required_argument, NULL, OPT_DOCKERD_TIMEOUT},
	    {NULL, 0, NULL, 0},
	};
	struct stt_tracer_opts to = {0};
	struct cmd_target tg;
	struct stt_journal *j = NULL;
	struct stt_image *img = NULL;
	struct stt_trace *t = NULL;
	struct json_object *doc = NULL;
	const char *output = NULL, *tar;
	char found[4096], version[64];
	unsigned int v;
	int c, r, n_opts = argc, rc;

	cmd_target_init(&tg);
	to.seconds = 10;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			n_opts = i;
			break;
		}
	while ((c = getopt_long(n_opts, argv, "hjqo:", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case OPT_SECONDS:
			if (cmd_parse_uint(optarg, 1, 3600, &to.seconds))
				return cmd_usage_error(self, "--seconds %s: must be 1 to 3600",
						       optarg);
			break;
		case OPT_DOCKERD_TIMEOUT:
			if (cmd_parse_uint(optarg, 1, 3600, &v))
				return cmd_usage_error(self,
						       "--dockerd-timeout %s: must be 1 to 3600 "
						       "(seconds)",
						       optarg);
			to.dockerd_timeout_ms = v * 1000u;
			break;
		default:
			if (c >= CMD_OPT_WORKDIR && c < CMD_OPT_TARGET_END)
				r = cmd_target_opt(self, &tg, c, optarg);
			else
				r = cmd_common_opt(self, ctx, c);
			if (r != CMD_CONTINUE)
				return r;
		}
	}
	if (optind >= n_opts)
		return cmd_usage_error(self, "no image given (a `docker save` tar)");
	if (optind + 1 < n_opts)
		return cmd_usage_error(self, "unexpected argument '%s' (the command goes after --)",
				       argv[optind + 1]);
	tar = argv[optind];
	if (n_opts >= argc - 1)
		return cmd_usage_error(self, "no command given (after --)");
	to.argv = (const char *const *)&argv[n_opts + 1];
	to.image_tar = tar;

	/* Bad input, before anything is made. */
	if ((r = stt_image_open_docker_save(tar, &img)))
		return cmd_fail(self,
				r == -EINVAL || r == -ENOENT ? CMD_EXIT_USAGE : CMD_EXIT_FAILURE,
				"%s", stt_err_msg());
	to.img = img;
	if (find_command(img, to.argv[0], found, sizeof(found))) {
		rc = cmd_fail(self, CMD_EXIT_USAGE,
			      "%s: not in the image %s (%s%s); nothing was run", to.argv[0], tar,
			      strchr(to.argv[0], '/') ? "no such regular file" : "looked in ",
			      strchr(to.argv[0], '/') ? "" : IMAGE_PATH);
		goto out;
	}
	if ((r = stt_dockerd_find(NULL, 0, version, sizeof(version)))) {
		rc = cmd_fail(self, r == -ENOENT ? CMD_EXIT_USAGE : CMD_EXIT_FAILURE, "%s",
			      stt_err_msg());
		goto out;
	}
	if ((rc = cmd_target_check(self, &tg)) != CMD_CONTINUE)
		goto out;

	stt_journal_catch_signals();
	if ((rc = cmd_target_begin(self, &tg, &j)) != CMD_CONTINUE)
		goto out;
	tg.o.journal = j;
	to.target = &tg.o;
	cmd_note(ctx, "trace: %s in %s for up to %u s (found /%s)\n", to.argv[0], tar, to.seconds,
		 found);
	r = stt_tracer_run(&to, &t);
	if (r) {
		char msg[2048];

		snprintf(msg, sizeof(msg), "%s", stt_err_msg());
		cmd_journal_finish(self, ctx, &tg, j);
		rc = cmd_fail(
		    self, r == -ENOEXEC || r == -ENOENT ? CMD_EXIT_USAGE : CMD_EXIT_FAILURE, "%s%s",
		    msg, stt_journal_interrupted() ? "; everything made was undone" : "");
		goto out;
	}
	cmd_journal_finish(self, ctx, &tg, j);
	if ((r = stt_trace_to_json(t, &doc))) {
		rc = cmd_fail(self, CMD_EXIT_FAILURE, "out of memory");
		goto out;
	}
	if (output) {
		const char *text = json_object_to_json_string_ext(
		    doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
			     JSON_C_TO_STRING_NOSLASHESCAPE);

		if ((r = stt_fs_write_atomic(output, text, strlen(text), 0644))) {
			rc = cmd_fail(self, CMD_EXIT_FAILURE, "%s", stt_err_msg());
			goto out;
		}
	}
	if (ctx->json)
		cmd_print_json(doc);
	else
		print_summary(t, doc, 20);
	if (output && !ctx->quiet)
		fprintf(stderr, "trace: %s\n", output);
	rc = CMD_EXIT_OK;
out:
	json_object_put(doc);
	stt_trace_free(t);
	stt_image_free(img);
	cmd_target_unlock(&tg);
	return rc;
}

const struct cmd_entry cmd_trace_entry = {
    .name = "trace",
    .summary = "record which files of an image a command reads at start, for a profile",
    .synopsis = "trace IMAGE.tar [-o FILE] [--seconds N] [target options] -- CMD [ARG...]",
    .help = "Loads the `docker save` tar IMAGE.tar into a private dockerd (Debian's\n"
	    "docker.io, on the overlay backend's scratch filesystem), runs CMD in a container\n"
	    "(no network) and records, for the first N seconds or until it exits, every file of\n"
	    "the image it reads -- by read() and by page faults on mappings (shared libraries) --\n"
	    "with the offsets and lengths in order, from the kernel's page-cache tracepoints\n"
	    "(tracefs, an instance of its own) filtered by that filesystem's device. The caches\n"
	    "are dropped first, so what the start brings from storage is recorded too.\n"
	    "Everything made is undone at the end, on a failure and on SIGINT/SIGTERM.\n"
	    "\noptions:\n"
	    "  -o, --output FILE     write the trace (JSON, schema stortune-trace) to FILE\n"
	    "  --seconds N           how long to record (default 10; 1 to 3600)\n"
	    "  --dockerd-timeout S   seconds for the private dockerd to answer (default 60)\n"
	    "  --json                print the trace on stdout instead of the summary\n"
	    "\nA profile replays it with `[startup] trace = FILE` (bench --image IMAGE.tar).\n"
	    "Exit 2 when IMAGE.tar is not a docker save, CMD is not in the image, or dockerd\n"
	    "is not installed (nothing is made).\n\n" CMD_TARGET_HELP "\nexamples:\n"
	    "  stortune trace debian-python.tar -o python-http.trace.json -- \\\n"
	    "      python3 -c 'import http.server'\n"
	    "  stortune trace app.tar --seconds 5 --json -- /usr/bin/java -version\n",
    .run = cmd_trace,
};
