// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * stortune selftest: the container lifecycle on each backend, for real, with the checks
 * that make it a qualification of the host: an image of N layers (one deleting a file of
 * a lower layer), M containers made and started, every layer's files visible in each,
 * a write in one container invisible in the others, and everything taken down again.
 * SIGINT/SIGTERM undo what was made; `stortune cleanup` undoes what a killed run left.
 */
#include "cmd.h"

#include "backend/backend.h"
#include "base/err.h"
#include "sys/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { OPT_BACKEND = CMD_OPT_TARGET_END + 1, OPT_LAYERS, OPT_CONTAINERS };

struct selftest {
	const struct cmd_entry *self;
	struct cmd_ctx *ctx;
	unsigned int layers, containers;
};

static int fill(struct stt_layer_writer *w, void *arg)
{
	unsigned int i = *(unsigned int *)arg;
	char path[64], data[32];
	int r;

	snprintf(path, sizeof(path), "layer%u", i);
	snprintf(data, sizeof(data), "layer %u\n", i);
	if ((r = stt_layer_mkdir(w, path, 0755)))
		return r;
	snprintf(path, sizeof(path), "layer%u/file", i);
	if ((r = stt_layer_write(w, path, data, strlen(data), 0644)))
		return r;
	if ((r = stt_layer_write(w, "top", data, strlen(data), 0644)))
		return r;
	/* The third layer deletes the first's file: a whiteout on overlay. */
	if (i == 2 && (r = stt_layer_delete(w, "layer0/file")))
		return r;
	return 0;
}

static bool has(const char *root, const char *rel)
{
	char p[PATH_MAX + 64];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	return lstat(p, &st) == 0;
}

/* What every container must see; NULL when right, else what is wrong. */
static const char *check_view(const char *root, unsigned int layers, bool writer)
{
	static char why[256];
	char rel[64];

	for (unsigned int i = 0; i < layers; i++) {
		bool want = !(i == 0 && layers > 2);

		snprintf(rel, sizeof(rel), "layer%u/file", i);
		if (has(root, rel) != want) {
			snprintf(why, sizeof(why), "%s %s", rel,
				 want ? "missing" : "visible after its deletion");
			return why;
		}
	}
	if (!has(root, ".dockerenv"))
		return ".dockerenv (init layer) missing";
	if (has(root, "selftest-write") != writer)
		return writer ? "own write missing" : "another container's write is visible";
	return NULL;
}

static int progress(struct selftest *st, const char *backend, const char *phase, unsigned int i,
		    unsigned int n)
{
	/* On a terminal one line per phase that counts up; else its first and last step. */
	if (st->ctx->quiet)
		;
	else if (!n)
		fprintf(stderr, "%s: %s\n", backend, phase);
	else if (isatty(STDERR_FILENO))
		fprintf(stderr, "\r%s: %s %u/%u%s", backend, phase, i, n, i == n ? "\n" : "");
	else if (i == 1 || i == n)
		fprintf(stderr, "%s: %s %u/%u\n", backend, phase, i, n);
	if (stt_journal_interrupted())
		return stt_err(-EINTR, "interrupted by signal %d", stt_journal_signal());
	return 0;
}

static int run_one(struct selftest *st, const char *name, const struct stt_backend_opts *o,
		   struct json_object *res)
{
	struct stt_layer **img = calloc(st->layers, sizeof(*img));
	struct stt_container **c = calloc(st->containers, sizeof(*c));
	struct stt_backend *b = NULL;
	const char *why = NULL;
	struct timespec t0, t1;
	unsigned int i;
	int fd, r;

	if (!img || !c) {
		r = -ENOMEM;
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((r = progress(st, name, "prepare", 0, 0)) || (r = stt_backend_open(name, o, &b)))
		goto out;
	for (i = 0; i < st->layers; i++) {
		if ((r = progress(st, name, "import layer", i + 1, st->layers)) ||
		    (r = stt_backend_layer_create(b, i ? img[i - 1] : NULL, fill, &i, &img[i])))
			goto out;
	}
	for (i = 0; i < st->containers; i++) {
		if ((r = progress(st, name, "create and start", i + 1, st->containers)) ||
		    (r = stt_backend_container_create(b, img[st->layers - 1], &c[i])) ||
		    (r = stt_backend_container_start(b, c[i])))
			goto out;
	}
	{
		char p[PATH_MAX + 32];

		snprintf(p, sizeof(p), "%s/selftest-write", c[0]->rootfs);
		fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0) {
			r = stt_err(-errno, "%s: cannot write: %s", p, strerror(errno));
			goto out;
		}
		close(fd);
	}
	for (i = 0; i < st->containers && !why; i++) {
		if ((r = progress(st, name, "check", i + 1, st->containers)))
			goto out;
		why = check_view(c[i]->rootfs, st->layers, i == 0);
	}
	if (why) {
		r = stt_err(-EIO, "%s: container %u: %s", name, i - 1, why);
		goto out;
	}
	for (i = 0; i < st->containers; i++) {
		if ((r = progress(st, name, "stop and remove", i + 1, st->containers)) ||
		    (r = stt_backend_container_remove(b, c[i])))
			goto out;
		c[i] = NULL;
	}
	for (i = st->layers; i-- > 0;) {
		if ((r = progress(st, name, "remove layer", st->layers - i, st->layers)) ||
		    (r = stt_backend_layer_remove(b, img[i])))
			goto out;
		img[i] = NULL;
	}
	if ((r = progress(st, name, "teardown", 0, 0)))
		goto out;
	r = stt_backend_close(b);
	b = NULL;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (!r)
		json_object_object_add(res, "elapsed_ms",
				       json_object_new_int64((t1.tv_sec - t0.tv_sec) * 1000 +
							     (t1.tv_nsec - t0.tv_nsec) / 1000000));
out:
	/* On failure the caller's journal undo takes everything down: forget it here. */
	if (r)
		stt_backend_abandon(b);
	free(img);
	free(c);
	return r;
}

static int cmd_selftest(const struct cmd_entry *self, struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		CMD_COMMON_OPTIONS,
		CMD_TARGET_OPTIONS,
		{ "backend", required_argument, NULL, OPT_BACKEND },
		{ "layers", required_argument, NULL, OPT_LAYERS },
		{ "containers", required_argument, NULL, OPT_CONTAINERS },
		{ NULL, 0, NULL, 0 },
	};
	struct selftest st = { .self = self, .ctx = ctx, .layers = 5, .containers = 20 };
	struct json_object *root, *arr;
	const char *backend = "all";
	struct cmd_target t;
	struct stt_journal *j = NULL;
	int c, r, failed = 0, ran = 0;

	cmd_target_init(&t);
	while ((c = getopt_long(argc, argv, CMD_COMMON_SHORT, opts, NULL)) != -1) {
		if (c >= CMD_OPT_WORKDIR && c < CMD_OPT_TARGET_END) {
			if ((r = cmd_target_opt(self, &t, c, optarg)) != CMD_CONTINUE)
				return r;
			continue;
		}
		switch (c) {
		case OPT_BACKEND:
			if (strcmp(optarg, "all") && !stt_backend_lookup(optarg))
				return cmd_usage_error(self, "--backend %s: no such backend "
							     "(overlay, dm-loop, direct-lvm, containerd-overlayfs, "
							     "containerd-devmapper, all)",
						       optarg);
			backend = optarg;
			break;
		case OPT_LAYERS:
		case OPT_CONTAINERS:
			if (cmd_parse_uint(optarg, 1, c == OPT_LAYERS ? 120 : 10000,
					   c == OPT_LAYERS ? &st.layers : &st.containers))
				return cmd_usage_error(self, "--%s %s: must be 1 to %u",
						       c == OPT_LAYERS ? "layers" : "containers",
						       optarg, c == OPT_LAYERS ? 120 : 10000);
			break;
		default:
			if ((r = cmd_common_opt(self, ctx, c)) != CMD_CONTINUE)
				return r;
		}
	}
	if (optind < argc)
		return cmd_usage_error(self, "unexpected argument '%s'", argv[optind]);
	if ((r = cmd_target_check(self, &t)) != CMD_CONTINUE)
		return r;

	root = json_object_new_object();
	arr = json_object_new_array();
	json_object_object_add(root, "schema", json_object_new_string("stortune-selftest"));
	json_object_object_add(root, "schema_version", json_object_new_int(1));
	json_object_object_add(root, "backends", arr);

	stt_journal_catch_signals();
	if ((r = cmd_target_begin(self, &t, &j)) != CMD_CONTINUE) {
		json_object_put(root);
		return r;
	}
	t.o.journal = j;
	for (const struct stt_backend_ops *const *ops = stt_backends; *ops; ops++) {
		struct json_object *res = json_object_new_object();
		char reason[256] = "";

		if (strcmp(backend, "all") && strcmp(backend, (*ops)->name)) {
			json_object_put(res);
			continue;
		}
		json_object_object_add(res, "backend", json_object_new_string((*ops)->name));
		json_object_array_add(arr, res);
		if ((*ops)->available(&t.o, reason, sizeof(reason))) {
			json_object_object_add(res, "result", json_object_new_string("unavailable"));
			json_object_object_add(res, "reason", json_object_new_string(reason));
			cmd_note(ctx, "%s: unavailable: %s\n", (*ops)->name, reason);
			if (strcmp(backend, "all"))
				failed++;
			continue;
		}
		ran++;
		r = run_one(&st, (*ops)->name, &t.o, res);
		if (r) {
			failed++;
			fprintf(stderr, "\n%s: FAILED: %s\n", (*ops)->name, stt_err_msg());
			json_object_object_add(res, "result", json_object_new_string("failed"));
			json_object_object_add(res, "reason", json_object_new_string(stt_err_msg()));
			if (stt_journal_pending(j))
				cmd_note(ctx, "undoing what was made:\n");
			stt_journal_undo_all(j, cmd_report_undo, ctx);
			if (stt_journal_interrupted())
				break;
			continue;
		}
		json_object_object_add(res, "result", json_object_new_string("ok"));
		cmd_note(ctx, "%s: ok: %u layers, %u containers\n", (*ops)->name, st.layers,
			 st.containers);
	}
	cmd_journal_finish(self, ctx, &t, j);
	if (ctx->json)
		cmd_print_json(root);
	json_object_put(root);
	if (stt_journal_interrupted())
		return CMD_EXIT_FAILURE;
	if (!ran && !failed)
		return cmd_fail(self, CMD_EXIT_FAILURE, "no backend available");
	return failed ? CMD_EXIT_FAILURE : CMD_EXIT_OK;
}

const struct cmd_entry cmd_selftest_entry = {
	.name = "selftest",
	.summary = "run the container lifecycle on each backend for real and check it",
	.synopsis = "selftest [--backend NAME|all] [--layers N] [--containers N] [target options]",
	.help = "Builds an image of N layers (the third deletes a file of the first) and M\n"
		"containers on each backend, starts them, checks that every container sees\n"
		"every layer, not the deleted file, its init layer, and its own writes only;\n"
		"then stops, removes and tears down. A failed or interrupted run (SIGINT,\n"
		"SIGTERM) undoes everything it made; a killed run is undone by 'stortune cleanup'.\n"
		"\noptions:\n"
		"  --backend NAME      overlay, dm-loop, direct-lvm, containerd-overlayfs,\n"
		"                      containerd-devmapper or all (default all available)\n"
		"  --layers N          image layers (default 5)\n"
		"  --containers N      containers (default 20)\n\n" CMD_TARGET_HELP
		"\nexamples:\n"
		"  stortune selftest --backend overlay\n"
		"  stortune selftest --backend direct-lvm --device /dev/nvme1n1 "
		"--destroy-data /dev/nvme1n1\n",
	.run = cmd_selftest,
};
