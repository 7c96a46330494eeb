// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * stortune bench: the container-startup benchmark on one or more backends, into a results
 * file. The running of backends is shared with qualify (cmd_bench_run()).
 */
#include "cmd.h"

#include "measure/bench.h"
#include "base/err.h"
#include "sys/host.h"
#include "workload/image.h"
#include "sys/journal.h"
#include "workload/profile.h"
#include "advice/results.h"
#include "measure/docker.h"
#include "sys/containerd.h"
#include "sys/dockerd.h"
#include "sys/http.h"
#include "workload/trace.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define OPT_BACKEND CMD_OPT_BACKEND
#define OPT_PROFILE CMD_OPT_PROFILE
#define OPT_IMAGE CMD_OPT_IMAGE
#define OPT_CONTAINERS CMD_OPT_CONTAINERS
#define OPT_CONCURRENCY CMD_OPT_CONCURRENCY
#define OPT_REPETITIONS CMD_OPT_REPETITIONS
#define OPT_ENV_LABEL CMD_OPT_ENV_LABEL

/* Progress on a terminal: phase, k of n, elapsed and an estimate of what remains. */
struct progress {
	bool on, lines;
	char last[64];
	struct timespec t0;
	unsigned int phases_total, phases_done;
};

double cmd_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void on_progress(const char *backend, const char *what, unsigned int rep, unsigned int k,
			unsigned int n, void *arg)
{
	struct progress *pg = arg;
	double el = cmd_since(&pg->t0), frac;
	char eta[32] = "";

	/* STT_PROGRESS=lines: one line per step on stderr (for the tests that kill it mid-step). */
	if (pg->lines && strcmp(pg->last, what)) {
		snprintf(pg->last, sizeof(pg->last), "%s", what);
		fprintf(stderr, "%s: %s\n", backend, what);
		fflush(stderr);
	}
	if (!pg->on)
		return;
	frac = pg->phases_total ? (pg->phases_done + (n ? (double)k / n : 0)) / pg->phases_total
				: 0;
	if (frac > 0.02)
		snprintf(eta, sizeof(eta), ", ~%.0fs left", el / frac - el);
	if (n)
		fprintf(stderr, "\r\033[K%s rep %u: %s %u/%u  (%.1fs%s)", backend, rep + 1, what, k,
			n, el, eta);
	else
		fprintf(stderr, "\r\033[K%s: %s  (%.1fs)", backend, what, el);
	if (n && k == n && strncmp(what, "import", 6))
		pg->phases_done++;
}

void cmd_bench_workload(struct stt_image *img, struct stt_bench_workload *wl, void **args)
{
	const struct stt_image_startup *s = stt_image_startup_set(img);

	memset(wl, 0, sizeof(*wl));
	wl->layers = stt_image_layer_count(img);
	for (unsigned int i = 0; i < wl->layers; i++)
		args[i] = stt_image_layer_arg(img, i);
	wl->fill = stt_image_fill;
	wl->layer_args = args;
	wl->image_bytes = stt_image_totals(img)->bytes;
	wl->read_paths = s->read_paths;
	wl->n_read = s->n_read;
	wl->read_bytes = s->read_bytes;
	wl->stat_paths = s->stat_paths;
	wl->n_stat = s->n_stat;
	wl->readdir_paths = s->readdir_paths;
	wl->n_readdir = s->n_readdir;
	wl->write_files = s->write_files;
	wl->write_file_bytes = s->write_file_bytes;
	wl->rewrite_paths = s->rewrite_paths;
	wl->n_rewrite = s->n_rewrite;
	wl->rewrite_bytes = s->rewrite_bytes;
	wl->mid_path = s->mid_path;
	wl->mid_file_bytes = s->mid_file_bytes;
}

static bool wanted(const char *list, const char *name)
{
	size_t n = strlen(name);

	if (!strcmp(list, "all"))
		return true;
	for (const char *p = list; (p = strstr(p, name)); p += n)
		if ((p == list || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

static int cmd_bench_check_backends(const struct cmd_entry *self, const char *list)
{
	char buf[256], *tok, *save = NULL;

	if (!strcmp(list, "all"))
		return CMD_CONTINUE;
	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (!stt_backend_lookup(tok))
			return cmd_usage_error(self, "--backend %s: no such backend (overlay, "
						     "dm-loop, direct-lvm, containerd-overlayfs, "
						     "containerd-devmapper, all)",
					       tok);
	return CMD_CONTINUE;
}

struct json_object *cmd_bench_options_json(const struct cmd_bench *cb)
{
	struct json_object *jo = json_object_new_object();

	json_object_object_add(jo, "backends", json_object_new_string(cb->backends));
	json_object_object_add(jo, "containers", json_object_new_int((int)cb->params.containers));
	json_object_object_add(jo, "concurrency", json_object_new_int((int)cb->params.concurrency));
	json_object_object_add(jo, "repetitions", json_object_new_int((int)cb->params.repetitions));
	json_object_object_add(jo, "cold", json_object_new_boolean(cb->params.cold));
	json_object_object_add(jo, "warm", json_object_new_boolean(cb->params.warm));
	json_object_object_add(jo, "workdir", json_object_new_string(cb->t.o.workdir));
	json_object_object_add(jo, "device", cb->t.o.device ? json_object_new_string(cb->t.o.device)
							    : NULL);
	json_object_object_add(jo, "fs", json_object_new_string(cb->t.o.fs));
	json_object_object_add(jo, "fs_given", json_object_new_boolean(cb->t.o.fs_given));
	json_object_object_add(jo, "chunk_size_bytes", json_object_new_int64(cb->t.o.chunk_bytes));
	json_object_object_add(jo, "zeroing", json_object_new_boolean(cb->t.o.zeroing));
	json_object_object_add(jo, "loop_direct_io", json_object_new_boolean(cb->t.o.loop_direct_io));
	json_object_object_add(jo, "base_size_bytes",
			       json_object_new_int64((int64_t)cb->t.o.base_bytes));
	json_object_object_add(jo, "data_size_bytes",
			       json_object_new_int64((int64_t)cb->t.o.data_bytes));
	json_object_object_add(jo, "scratch_size_bytes",
			       json_object_new_int64((int64_t)cb->t.o.scratch_bytes));
	json_object_object_add(jo, "deferred_removal",
			       json_object_new_boolean(cb->t.o.deferred_removal));
	json_object_object_add(jo, "deferred_deletion",
			       json_object_new_boolean(cb->t.o.deferred_deletion));
	/* Its records are synced inside the timed operations: where it lives shows in them. */
	json_object_object_add(jo, "journal_dir", json_object_new_string(cb->t.journal_dir));
	json_object_object_add(jo, "engine",
			       json_object_new_string(!cb->params.engine		 ? "emulated"
						      : cb->engine == CMD_ENGINE_DOCKER	 ? "docker"
						      : cb->engine == CMD_ENGINE_CONTAINERD ? "containerd"
											 : "real"));
	json_object_object_add(jo, "docker_host", cb->docker_host
							  ? json_object_new_string(cb->docker_host)
							  : NULL);
	return jo;
}

/*
 * Why backend @ops does not run under the real engine of @cb, into @reason ("" when it does):
 * Docker's graph drivers run under dockerd, containerd's snapshotters under containerd.
 */
static void real_engine_reason(const struct cmd_bench *cb, const struct stt_backend_ops *ops,
			       char *reason, size_t len)
{
	reason[0] = '\0';
	if (cb->engine == CMD_ENGINE_DOCKER && ops->snapshotter)
		snprintf(reason, len,
			 "containerd's %s snapshotter: its real engine is containerd (--engine "
			 "containerd)",
			 ops->snapshotter);
	else if (cb->engine == CMD_ENGINE_CONTAINERD && !ops->snapshotter)
		snprintf(reason, len,
			 "one of Docker's storage drivers: its real engine is dockerd (--engine "
			 "docker)");
	else if (!ops->snapshotter && !cb->docker_host && !ops->root_dir && !ops->engine_config)
		snprintf(reason, len, "the real engine does not run on this backend yet");
	else if (ops->snapshotter && !ops->root_dir)
		snprintf(reason, len, "the real containerd on its %s snapshotter: not built",
			 ops->snapshotter);
}

/*
 * Before measuring with containerd: what `ctr plugins ls` of a private containerd reports for
 * each snapshotter to run. A backend named in --backend whose snapshotter is not there: exit 2
 * (nothing is left, the journal undid the probe); with --backend all it is skipped, the reason
 * in @failed (indexed as stt_backends).
 */
static int probe_snapshotters(const struct cmd_entry *self, struct cmd_ctx *ctx,
			      struct cmd_bench *cb, struct stt_journal *j, char (*failed)[512])
{
	bool named = strcmp(cb->backends, "all") != 0;

	if (!(cb->engine == CMD_ENGINE_CONTAINERD ||
	      (cb->engine == CMD_ENGINE_BOTH && !cb->params.engine)))
		return CMD_CONTINUE;
	for (const struct stt_backend_ops *const *ops = stt_backends; *ops; ops++) {
		char reason[256] = "";
		int r;

		if (ops - stt_backends >= 8 || !(*ops)->snapshotter ||
		    !wanted(cb->backends, (*ops)->name) ||
		    (!named && (*ops)->available(&cb->t.o, reason, sizeof(reason))))
			continue;
		cmd_note(ctx, "%s: asking containerd for its %s snapshotter\n", (*ops)->name,
			 (*ops)->snapshotter);
		r = stt_bench_ctrd_probe(cb->t.o.workdir, (*ops)->snapshotter, j);
		if (!r)
			continue;
		if ((r == -ENOTSUP || r == -ENOENT) && !named) {
			snprintf(failed[ops - stt_backends], 512, "%s", stt_err_msg());
			continue;
		}
		if (r == -ENOTSUP)
			return cmd_fail(self, CMD_EXIT_USAGE, "%s: %s", (*ops)->name, stt_err_msg());
		if (r != -ENOTSUP)
			return cmd_fail(self, r == -ENOENT ? CMD_EXIT_USAGE : CMD_EXIT_FAILURE,
					"%s: containerd: %s", (*ops)->name, stt_err_msg());
	}
	return CMD_CONTINUE;
}

int cmd_bench_run(const struct cmd_entry *self, struct cmd_ctx *ctx, struct cmd_bench *cb,
		  struct json_object **out)
{
	struct stt_bench_workload wl;
	struct stt_journal *j = NULL;
	struct json_object *doc = NULL, *arr, *jo;
	struct progress pg = { .on = !ctx->quiet && isatty(STDERR_FILENO) };
	const char *pl = getenv("STT_PROGRESS");

	pg.lines = pl && !strcmp(pl, "lines");
	void **args;
	int r, failed = 0, ran = 0;

	args = calloc(stt_image_layer_count(cb->img) + 1, sizeof(*args));
	if (!args)
		return cmd_fail(self, CMD_EXIT_FAILURE, "out of memory");
	cmd_bench_workload(cb->img, &wl, args);
	wl.fsync_writes = cb->profile->startup.fsync_writes;
	if (cb->trace) {
		wl.trace = cb->trace;
		wl.read_bytes += stt_trace_read_bytes(cb->trace);
	}

	if ((r = stt_results_new(cb->host, cb->env_label, &doc))) {
		free(args);
		return cmd_fail(self, CMD_EXIT_FAILURE, "out of memory");
	}
	if (!stt_profile_to_json(cb->profile, &jo))
		json_object_object_add(doc, "profile", jo);
	if (!stt_image_to_json(cb->img, &jo))
		json_object_object_add(doc, "image", jo);
	json_object_object_add(doc, "options", cmd_bench_options_json(cb));
	if (cb->trace) {
		struct json_object *tj = json_object_new_object(), *m;

		json_object_object_add(tj, "file", json_object_new_string(
							cb->profile->startup.trace));
		if ((m = json_object_object_get(cb->trace->meta, "command")))
			json_object_object_add(tj, "command", json_object_get(m));
		json_object_object_add(tj, "files", json_object_new_int64((int64_t)cb->trace->n_files));
		json_object_object_add(tj, "read_bytes", json_object_new_int64((int64_t)
									stt_trace_read_bytes(cb->trace)));
		json_object_object_add(doc, "trace", tj);
	}
	arr = json_object_object_get(doc, "backends");

	stt_journal_catch_signals();
	if ((r = cmd_target_begin(self, &cb->t, &j)) != CMD_CONTINUE) {
		json_object_put(doc);
		free(args);
		return r;
	}
	cb->t.o.journal = j;
	/* A private engine takes the dm backends' pools empty; --docker-host uses none of ours. */
	cb->t.o.engine_pool = cb->params.engine && !cb->docker_host;
	if ((r = probe_snapshotters(self, ctx, cb, j, cb->probe_failed)) != CMD_CONTINUE) {
		cmd_journal_finish(self, NULL, &cb->t, j);
		json_object_put(doc);
		free(args);
		return r;
	}
	clock_gettime(CLOCK_MONOTONIC, &pg.t0);
	for (const struct stt_backend_ops *const *ops = stt_backends; *ops; ops++) {
		char reason[256] = "";

		if (wanted(cb->backends, (*ops)->name) &&
		    !(*ops)->available(&cb->t.o, reason, sizeof(reason)))
			pg.phases_total += cb->params.repetitions *
					   ((cb->params.cold ? 1 : 0) + (cb->params.warm ? 1 : 0)) *
					   STT_NPHASES;
	}
	for (const struct stt_backend_ops *const *ops = stt_backends; *ops; ops++) {
		char reason[256] = "";
		struct json_object *res = NULL;

		if (!wanted(cb->backends, (*ops)->name))
			continue;
		if (cb->params.engine)
			real_engine_reason(cb, *ops, reason, sizeof(reason));
		if (!*reason && cb->params.engine && cb->probe_failed[ops - stt_backends][0])
			snprintf(reason, sizeof(reason), "%s", cb->probe_failed[ops - stt_backends]);
		if (*reason || (*ops)->available(&cb->t.o, reason, sizeof(reason))) {
			res = json_object_new_object();
			json_object_object_add(res, "backend", json_object_new_string((*ops)->name));
			json_object_object_add(res, "status", json_object_new_string("skipped"));
			json_object_object_add(res, "reason", json_object_new_string(reason));
			json_object_array_add(arr, res);
			cmd_note(ctx, "%s: skipped: %s\n", (*ops)->name, reason);
			if (strcmp(cb->backends, "all")) {
				char why[320];

				failed++;
				snprintf(why, sizeof(why), "%s: skipped: %s", (*ops)->name, reason);
				stt_results_mark_incomplete(doc, why);
			}
			continue;
		}
		ran++;
		cb->eng.kind = (*ops)->snapshotter ? STT_BENCH_ENGINE_CONTAINERD
						   : STT_BENCH_ENGINE_DOCKER;
		r = stt_bench_run((*ops)->name, &cb->t.o, &wl, &cb->params, on_progress, &pg, &res);
		if (pg.on)
			fputs("\r\033[K", stderr);
		if (r) {
			char why[600];

			failed++;
			fprintf(stderr, "stortune %s: %s: %s\n", self->name, (*ops)->name,
				stt_err_msg());
			snprintf(why, sizeof(why), "%s: %s", (*ops)->name, stt_err_msg());
			stt_results_mark_incomplete(doc, why);
			/* res: NULL, or the fault of the thin pool ({"fault": ...}) */
			if (!res)
				res = json_object_new_object();
			json_object_object_add(res, "backend", json_object_new_string((*ops)->name));
			json_object_object_add(res, "status", json_object_new_string("failed"));
			json_object_object_add(res, "reason", json_object_new_string(stt_err_msg()));
			json_object_array_add(arr, res);
			stt_journal_undo_all(j, cmd_report_undo, NULL);
			if (stt_journal_interrupted())
				break;
			continue;
		}
		json_object_object_add(res, "status", json_object_new_string("ok"));
		json_object_object_add(res, "environment",
				       json_object_new_string(cb->env_label));
		if (!json_object_object_get(res, "engine")) {
			struct json_object *e = json_object_new_object();

			json_object_object_add(e, "name", json_object_new_string("emulated"));
			json_object_object_add(e, "version", json_object_new_string(STT_VERSION));
			json_object_object_add(res, "engine", e);
		}
		json_object_array_add(arr, res);
		cmd_note(ctx, "%s: done (%u containers x %u repetitions)\n", (*ops)->name,
			 cb->params.containers, cb->params.repetitions);
	}
	cmd_journal_finish(self, NULL, &cb->t, j);
	free(args);
	*out = doc;
	if (stt_journal_interrupted()) {
		char why[64];

		snprintf(why, sizeof(why), "interrupted by signal %d", stt_journal_signal());
		stt_results_mark_incomplete(doc, why);
	}
	if (!ran && !failed)
		stt_results_mark_incomplete(doc, "no backend available");
	if (stt_journal_interrupted())
		return cmd_fail(self, CMD_EXIT_FAILURE, "interrupted; everything made was undone");
	if (!ran && !failed)
		return cmd_fail(self, CMD_EXIT_FAILURE, "no backend available");
	return failed ? CMD_EXIT_FAILURE : CMD_EXIT_OK;
}

int cmd_bench_opt(const struct cmd_entry *self, struct cmd_bench *cb, int c, const char *arg)
{
	switch (c) {
	case OPT_BACKEND:
		cb->backends = arg;
		return cmd_bench_check_backends(self, arg);
	case OPT_PROFILE:
		cb->profile_name = arg;
		return CMD_CONTINUE;
	case OPT_IMAGE:
		cb->image_tar = arg;
		return CMD_CONTINUE;
	case OPT_ENV_LABEL:
		cb->env_label = arg;
		return CMD_CONTINUE;
	case CMD_OPT_ENGINE:
		if (!strcmp(arg, "emulated"))
			cb->engine = CMD_ENGINE_EMULATED;
		else if (!strcmp(arg, "docker"))
			cb->engine = CMD_ENGINE_DOCKER;
		else if (!strcmp(arg, "containerd"))
			cb->engine = CMD_ENGINE_CONTAINERD;
		else if (!strcmp(arg, "both") && !strcmp(self->name, "qualify"))
			cb->engine = CMD_ENGINE_BOTH;
		else
			return cmd_usage_error(self, "--engine %s: must be emulated, docker or containerd%s",
					       arg,
					       strcmp(self->name, "qualify") ? "" : " or both");
		return CMD_CONTINUE;
	case CMD_OPT_DOCKER_HOST:
		cb->docker_host = arg;
		return CMD_CONTINUE;
	case CMD_OPT_DOCKERD_TIMEOUT:
		if (cmd_parse_uint(arg, 1, 3600, &cb->dockerd_timeout_s))
			return cmd_usage_error(
			    self, "--dockerd-timeout %s: must be 1 to 3600 (seconds)", arg);
		return CMD_CONTINUE;
	case OPT_CONTAINERS:
	case OPT_CONCURRENCY:
	case OPT_REPETITIONS:
		if (cmd_parse_uint(arg, 1, 100000,
				   c == OPT_CONTAINERS	  ? &cb->containers
				   : c == OPT_CONCURRENCY ? &cb->concurrency
							  : &cb->repetitions))
			return cmd_usage_error(self, "--%s %s: must be 1 to 100000",
					       c == OPT_CONTAINERS    ? "containers"
					       : c == OPT_CONCURRENCY ? "concurrency"
								      : "repetitions",
					       arg);
		return CMD_CONTINUE;
	default:
		return cmd_target_opt(self, &cb->t, c, arg);
	}
}

/*
 * With the real engine: what it needs, checked before anything is made (exit 2): dockerd
 * installed (or the --docker-host daemon answering), the static busybox of the reader.
 */
int cmd_bench_engine_check(const struct cmd_entry *self, struct cmd_bench *cb)
{
	char version[64];
	int r;

	cb->eng.docker_host = cb->docker_host;
	cb->eng.img = cb->img;
	cb->eng.image_tar = cb->image_tar;
	cb->eng.dockerd_timeout_ms = cb->dockerd_timeout_s * 1000u;
	cb->params.engine =
		cb->engine == CMD_ENGINE_DOCKER || cb->engine == CMD_ENGINE_CONTAINERD ? &cb->eng
										       : NULL;
	cb->eng.kind = cb->engine == CMD_ENGINE_CONTAINERD ? STT_BENCH_ENGINE_CONTAINERD
							   : STT_BENCH_ENGINE_DOCKER;
	if (cb->engine == CMD_ENGINE_CONTAINERD && (cb->docker_host || cb->dockerd_timeout_s))
		return cmd_usage_error(self, "--%s is for --engine docker",
				       cb->docker_host ? "docker-host" : "dockerd-timeout");
	if (cb->engine == CMD_ENGINE_EMULATED) {
		if (cb->docker_host || cb->dockerd_timeout_s)
			return cmd_usage_error(self, "--%s needs --engine docker",
					       cb->docker_host ? "docker-host" : "dockerd-timeout");
		return CMD_CONTINUE;
	}
	if (access("/bin/busybox", X_OK))
		return cmd_fail(self, CMD_EXIT_USAGE,
				"/bin/busybox: not installed; the real engine's in-container reader "
				"is a static busybox (Debian: apt-get install busybox-static)");
	if (cb->docker_host) {
		struct stt_http *h = NULL;

		if (cb->dockerd_timeout_s)
			return cmd_usage_error(self, "--dockerd-timeout is for the private dockerd, "
						     "not --docker-host");
		r = stt_http_open(cb->docker_host, &h);
		if (!r)
			r = stt_docker_ping(h, 5000);
		stt_http_close(h);
		if (r)
			return cmd_fail(self, CMD_EXIT_USAGE, "--docker-host %s: unreachable: %s",
					cb->docker_host, stt_err_msg());
		return CMD_CONTINUE;
	}
	if (cb->engine != CMD_ENGINE_CONTAINERD &&
	    (r = stt_dockerd_find(NULL, 0, version, sizeof(version))))
		return cmd_fail(self, r == -ENOENT ? CMD_EXIT_USAGE : CMD_EXIT_FAILURE, "%s",
				stt_err_msg());
	if (cb->engine == CMD_ENGINE_CONTAINERD &&
	    (r = stt_containerd_find(NULL, 0, version, sizeof(version))))
		return cmd_fail(self, r == -ENOENT ? CMD_EXIT_USAGE : CMD_EXIT_FAILURE, "%s",
				stt_err_msg());
	return CMD_CONTINUE;
}

void cmd_bench_init(struct cmd_bench *cb)
{
	memset(cb, 0, sizeof(*cb));
	cmd_target_init(&cb->t);
	cb->backends = "all";
	cb->profile_name = "ci";
	cb->env_label = "native";
}

/*
 * The profile's trace: read, and held to the image, which must be the traced one (every traced
 * file there, at its traced size), given with --image.
 */
static int bench_trace(const struct cmd_entry *self, struct cmd_bench *cb)
{
	const char *file = cb->profile->startup.trace;
	struct json_object *src = NULL;
	int r;

	if ((r = stt_trace_load(file, &cb->trace)))
		return cmd_fail(self, r == -EINVAL || r == -ENOENT ? CMD_EXIT_USAGE : CMD_EXIT_FAILURE,
				"profile %s: [startup] trace: %s", cb->profile->name, stt_err_msg());
	json_object_object_get_ex(json_object_object_get(cb->trace->meta, "image"), "source", &src);
	if (!cb->image_tar)
		return cmd_fail(self, CMD_EXIT_USAGE,
				"profile %s replays the trace %s of the image %s: give that image "
				"with --image (scripts/trace-image.sh builds the shipped ones; see "
				"README \"trace\")",
				cb->profile->name, file, src ? json_object_get_string(src) : "?");
	for (size_t i = 0; i < cb->trace->n_files; i++) {
		const struct stt_trace_file *f = &cb->trace->files[i];
		uint64_t size = 0;

		r = stt_image_resolve(cb->img, f->path, NULL, 0, &size);
		if (r != STT_IMAGE_FILE || size != f->size_bytes)
			return cmd_fail(self, CMD_EXIT_USAGE,
					"--image %s: /%s: %s; not the image the trace %s was made "
					"of",
					cb->image_tar, f->path,
					r != STT_IMAGE_FILE ? "not a regular file of the image"
							    : "another size than traced",
					file);
	}
	return CMD_CONTINUE;
}

int cmd_bench_setup(const struct cmd_entry *self, struct cmd_ctx *ctx, struct cmd_bench *cb)
{
	int r;

	(void)ctx;
	if ((r = cmd_target_check(self, &cb->t)) != CMD_CONTINUE)
		return r;
	cb->profile = calloc(1, sizeof(*cb->profile));
	cb->host = calloc(1, sizeof(*cb->host));
	if (!cb->profile || !cb->host)
		return cmd_fail(self, CMD_EXIT_FAILURE, "out of memory");
	r = stt_profile_load(cb->profile_name, cb->profile);
	if (r)
		return cmd_fail(self, r == -EINVAL || r == -ENOENT ? CMD_EXIT_USAGE : CMD_EXIT_FAILURE,
				"%s", stt_err_msg());
	if (cb->image_tar) {
		r = stt_image_open_docker_save(cb->image_tar, &cb->img);
		if (!r)
			r = stt_image_apply_startup(cb->img, cb->profile_given ? cb->profile : NULL);
	} else {
		r = stt_image_generate(cb->profile, &cb->img);
	}
	if (r)
		return cmd_fail(self, r == -EINVAL || r == -ENOENT ? CMD_EXIT_USAGE : CMD_EXIT_FAILURE,
				"%s", stt_err_msg());
	if (cb->profile->startup.trace && (r = bench_trace(self, cb)) != CMD_CONTINUE)
		return r;
	cb->params.containers = cb->containers ? cb->containers : cb->profile->run.containers;
	cb->params.concurrency = cb->concurrency ? cb->concurrency : cb->profile->run.concurrency;
	cb->params.repetitions = cb->repetitions ? cb->repetitions : cb->profile->run.repetitions;
	cb->params.cold = cb->profile->run.cold;
	cb->params.warm = cb->profile->run.warm;
	if (cb->params.concurrency > cb->params.containers)
		cb->params.concurrency = cb->params.containers;
	if ((r = cmd_bench_engine_check(self, cb)) != CMD_CONTINUE)
		return r;
	stt_host_probe(cb->host, NULL);
	return CMD_CONTINUE;
}

void cmd_bench_release(struct cmd_bench *cb)
{
	stt_trace_free(cb->trace);
	stt_image_free(cb->img);
	if (cb->profile)
		stt_profile_release(cb->profile);
	free(cb->profile);
	free(cb->host);
	cmd_target_unlock(&cb->t);
}

static int cmd_bench(const struct cmd_entry *self, struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		CMD_COMMON_OPTIONS,
		CMD_TARGET_OPTIONS,
		CMD_BENCH_OPTIONS,
		CMD_ENGINE_OPTIONS,
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	struct json_object *doc = NULL;
	const char *output = NULL;
	struct cmd_bench cb;
	int c, r, w;

	cmd_bench_init(&cb);
	while ((c = getopt_long(argc, argv, CMD_COMMON_SHORT "o:", opts, NULL)) != -1) {
		if (c == 'o')
			output = optarg;
		else if (c >= CMD_OPT_WORKDIR && c < CMD_OPT_BENCH_END)
			r = cmd_bench_opt(self, &cb, c, optarg);
		else
			r = cmd_common_opt(self, ctx, c);
		if (c != 'o' && r != CMD_CONTINUE)
			return r;
		if (c == OPT_PROFILE)
			cb.profile_given = true;
	}
	if (optind < argc)
		return cmd_usage_error(self, "unexpected argument '%s'", argv[optind]);
	if ((r = cmd_bench_setup(self, ctx, &cb)) != CMD_CONTINUE) {
		cmd_bench_release(&cb);
		return r;
	}
	r = cmd_bench_run(self, ctx, &cb, &doc);
	if (doc && output && (w = stt_results_write(doc, output))) {
		fprintf(stderr, "stortune bench: %s\n", stt_err_msg());
		r = CMD_EXIT_FAILURE;
	}
	if (doc && ctx->json)
		cmd_print_json(doc);
	else if (doc)
		cmd_print_summary(doc, stdout);
	if (output && !ctx->quiet && doc)
		fprintf(stderr, "results: %s\n", output);
	json_object_put(doc);
	cmd_bench_release(&cb);
	return r;
}

const struct cmd_entry cmd_bench_entry = {
	.name = "bench",
	.summary = "measure container start on the backends, phase by phase, into a results file",
	.synopsis = "bench [--backend LIST] [--profile NAME|FILE] [--image FILE.tar] "
		    "[--containers N] [--concurrency C] [--repetitions R] "
		    "[--engine emulated|docker [--docker-host URL]] [target options] "
		    "[-o results.json]",
	.help = "Imports the profile's image (generated from its seed, or a `docker save` tar)\n"
		"into each backend, then per repetition takes N containers, C at a time, through\n"
		"create, start, first-read (the startup working set), first-write (new files and\n"
		"whole-file rewrites), cow-write (4 bytes into the middle of the largest lower\n"
		"file), stop and remove -- cold (caches dropped before the reads) and warm. Each\n"
		"phase is a barrier, so the device I/O and page-cache growth of a phase are its own.\n"
		"\noptions:\n"
		"  --backend LIST        overlay, dm-loop, direct-lvm, containerd-overlayfs,\n"
		"                        containerd-devmapper, comma-separated, or all\n"
		"  --profile NAME|FILE   workload profile (default ci; see profiles/)\n"
		"  --image FILE.tar      a `docker save` tar instead of the generated image\n"
		"  --containers N, --concurrency C, --repetitions R   override the profile's [run]\n"
		"  -o, --output FILE     write the results document (JSON) to FILE\n"
		"  --env-label LABEL     environment label in the results (default native)\n"
		CMD_ENGINE_HELP "\n" CMD_TARGET_HELP "\nexamples:\n"
		"  stortune bench --backend overlay --profile ci -o new.json\n"
		"  stortune bench --engine docker --backend overlay --profile ci -o real.json\n"
		"  stortune bench --backend direct-lvm --device /dev/nvme1n1 "
		"--destroy-data /dev/nvme1n1 --profile python-app\n",
	.run = cmd_bench,
};
