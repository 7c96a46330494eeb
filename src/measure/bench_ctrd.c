// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The benchmark's phases through real containerd: a private containerd (src/sys/containerd.c)
 * with its root on the backend's filesystem and the backend's snapshotter, driven with ctr --
 * containerd's API is gRPC, which has no C library in Debian -- one ctr process a call, each
 * timed from its spawn to its exit. What ctr's own start costs (a Go program: about as much as
 * a container's create) is measured beside: `ctr version` against the same socket, once per
 * container, into the engine member ("cli_overhead_ns"), so that a reader can subtract it.
 *
 * The phases, per container (the reader of bench_docker.c, with a ready line):
 *   create       ctr containers create --snapshotter S --mount <the reader> IMAGE ID <reader>
 *   start        ctr tasks start ID, attached (its stdin and output are pipes to us), until
 *                the reader's first line "S": the task created and started, the shell running
 *   first-read,  a letter on ctr's stdin, through the shim's FIFOs to the container, and its
 *   first-write, answer back: the reads or writes inside the container plus one round trip,
 *   cow-write    measured alone as "attach_round_trip_ns"
 *   stop         ctr tasks kill ID (SIGTERM, which ends the reader), until the attached ctr
 *                exited -- it deletes the task (the rootfs unmounted) before it does
 *   remove       ctr containers delete ID (the container and its snapshot)
 */
#include "measure/bench_int.h"

#include "base/err.h"
#include "measure/bench.h"
#include "sys/containerd.h"
#include "sys/exec.h"
#include "sys/fsutil.h"
#include "sys/journal.h"
#include "workload/image.h"

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ANSWER_TIMEOUT_MS 300000
#define OUT_MAX		  4096

struct cctr {
	char id[48];
	bool created;
	pid_t att;	       /* the attached `ctr tasks start`, or 0 */
	unsigned int sock_rec; /* its shim's socket */
	int in, out;
	char buf[8192]; /* its output, not yet returned as lines */
	size_t len;
};

struct stt_bench_ctrd {
	struct stt_journal *j;
	struct stt_containerd *cd;
	const char *snapshotter;
	char dir[PATH_MAX]; /* the reader, the image tar */
	unsigned int dir_rec;
	char mount[PATH_MAX + 64];
	char tar[PATH_MAX];
	bool own_tar;
	char image[256];
	char label[16];
	struct cctr *c;
	unsigned int n;
	struct json_object *info;
	struct stt_bench_samples rtt, cli;
	unsigned int *dm_recs; /* the devices containerd makes in the backend's pool */
	size_t n_dm;
};

static int ctr(struct stt_bench_ctrd *d, const char *const *args)
{
	char out[OUT_MAX];

	return stt_containerd_ctr(d->cd, args, out, sizeof(out));
}

/* The snapshotter section of config.toml for backend @b, into @buf. */
static int plugin_section(struct stt_backend *b, const char *sn, char *buf, size_t len)
{
	if (b->ops->ctrd_section)
		return b->ops->ctrd_section(b, buf, len);
	snprintf(buf, len, "[plugins.\"io.containerd.snapshotter.v1.%s\"]\n", sn);
	return 0;
}

int stt_bench_ctrd_probe(const char *workdir, const char *snapshotter, struct stt_journal *j)
{
	struct stt_containerd_opts o = {0};
	struct stt_containerd *cd = NULL;
	char label[9], dir[PATH_MAX], ns[32], section[512], pool[64];
	const char *tolerated = NULL;
	int r, e, errored = 0;

	stt_bench_label(label, sizeof(label));
	snprintf(ns, sizeof(ns), "stortune-ctrd-probe-%s", label);
	if ((r = stt_fs_mkdir_p(workdir, 0700)))
		return stt_err(r, "%s: cannot create: %s", workdir, strerror(-r));
	snprintf(dir, sizeof(dir), "%s/ctrd-probe-%s", workdir, label);
	section[0] = '\0';
	if (!strcmp(snapshotter, "devmapper")) {
		/*
		 * Its pool is made by the run: here a pool that does not exist, so that the only
		 * error allowed is containerd's failure to find it.
		 */
		snprintf(pool, sizeof(pool), "stortune-probe-%s-pool", label);
		snprintf(section, sizeof(section),
			 "[plugins.\"io.containerd.snapshotter.v1.devmapper\"]\n"
			 "  pool_name = \"%s\"\n  root_path = \"%s/dm\"\n"
			 "  base_image_size = \"64MB\"\n",
			 pool, dir);
		tolerated = pool;
	}
	o.dir = dir;
	o.ns = ns;
	o.plugins_toml = section;
	o.journal = j;
	if ((r = stt_containerd_start(&o, &cd)))
		return r;
	r = stt_containerd_snapshotter_check(cd, snapshotter, tolerated, &errored);
	e = stt_containerd_stop(cd, j);
	return r ? r : e;
}

int stt_bench_ctrd_setup(const struct stt_bench_engine_opts *eo, struct stt_backend *b,
			 const struct stt_bench_workload *wl, unsigned int containers,
			 unsigned int total, struct stt_journal *j, struct json_object *res,
			 struct stt_bench_ctrd **out)
{
	struct stt_bench_ctrd *d = calloc(1, sizeof(*d));
	struct stt_containerd_opts o = {0};
	char root[PATH_MAX], cdir[PATH_MAX + 16], ns[32], section[1024];
	struct json_object *info, *opts;
	bool replayer = false;
	int r;

	if (!d)
		return -ENOMEM;
	d->j = j;
	d->dir_rec = STT_JOURNAL_NONE;
	stt_bench_samples_init(&d->rtt);
	stt_bench_samples_init(&d->cli);
	d->n = containers;
	stt_bench_label(d->label, sizeof(d->label));
	d->c = calloc(containers, sizeof(*d->c));
	if (!d->c) {
		r = -ENOMEM;
		goto fail;
	}
	for (unsigned int i = 0; i < containers; i++) {
		d->c[i].in = d->c[i].out = -1;
		d->c[i].sock_rec = STT_JOURNAL_NONE;
		snprintf(d->c[i].id, sizeof(d->c[i].id), "stortune-ctrd-%s-%u", d->label, i);
	}
	d->snapshotter = b ? b->ops->snapshotter : NULL;
	if (!d->snapshotter) {
		r = stt_err(-EOPNOTSUPP, "%s: not a containerd snapshotter",
			    b ? b->ops->name : "--docker-host");
		goto fail;
	}
	if ((r = stt_bench_engine_dir(b, d->dir, sizeof(d->dir), root, sizeof(root))))
		goto fail;
	if ((r = stt_journal_add(j, STT_J_DIR, d->dir, NULL, &d->dir_rec)))
		goto fail;
	if ((r = stt_fs_mkdir_p(d->dir, 0755))) {
		r = stt_err(r, "%s: cannot create: %s", d->dir, strerror(-r));
		goto fail;
	}
	if ((r = stt_bench_reader_make(d->dir, wl, true, &replayer)))
		goto fail;
	snprintf(d->mount, sizeof(d->mount), "type=bind,src=%s/reader,dst=%s,options=rbind:ro",
		 d->dir, STT_READER_MOUNT);
	if ((r = stt_bench_image_tar(eo, d->dir, d->label, d->tar, sizeof(d->tar), &d->own_tar)))
		goto fail;

	/* containerd's root on the backend's filesystem: what it writes is measured. */
	snprintf(cdir, sizeof(cdir), "%s/containerd", root);
	snprintf(ns, sizeof(ns), "stortune-ctrd-%s", d->label);
	if ((r = plugin_section(b, d->snapshotter, section, sizeof(section))))
		goto fail;
	/*
	 * The devices containerd's snapshotter will make in the backend's pool, recorded before
	 * containerd (undone after it is stopped and its mounts are gone, before the pool): its
	 * snapshot ids count from 1, one per layer and one per container.
	 */
	if (b->ops->ctrd_device) {
		d->dm_recs = calloc(wl->layers + total + 1, sizeof(*d->dm_recs));
		if (!d->dm_recs) {
			r = -ENOMEM;
			goto fail;
		}
	}
	for (unsigned long id = 1; b->ops->ctrd_device && id <= wl->layers + total + 1; id++) {
		char dev[192];

		if ((r = b->ops->ctrd_device(b, id, dev, sizeof(dev))) ||
		    (r = stt_journal_add(j, STT_J_DM, dev, NULL, &d->dm_recs[d->n_dm])))
			goto fail;
		d->n_dm++;
	}
	o.dir = cdir;
	o.ns = ns;
	o.plugins_toml = section;
	o.timeout_ms = eo->dockerd_timeout_ms;
	o.journal = j;
	if ((r = stt_containerd_start(&o, &d->cd)))
		goto fail;
	if ((r = stt_containerd_snapshotter_check(d->cd, d->snapshotter, NULL, NULL)))
		goto fail;

	info = json_object_new_object();
	opts = json_object_new_array();
	json_object_object_add(info, "name", json_object_new_string("containerd"));
	json_object_object_add(info, "version", json_object_new_string(d->cd->version));
	json_object_object_add(info, "snapshotter", json_object_new_string(d->snapshotter));
	json_object_object_add(info, "driver", json_object_new_string(d->snapshotter));
	json_object_object_add(info, "options", opts);
	json_object_object_add(info, "address", json_object_new_string(d->cd->sock));
	json_object_object_add(info, "namespace", json_object_new_string(d->cd->ns));
	json_object_object_add(info, "root_dir", json_object_new_string(cdir));
	json_object_object_add(info, "private", json_object_new_boolean(true));
	json_object_object_add(info, "cli", json_object_new_string("ctr"));
	json_object_object_add(info, "reader",
			       json_object_new_string("busybox (static) at " STT_READER_MOUNT
						      ", bind-mounted read-only"));
	stt_bench_reader_info(info, wl, replayer);
	json_object_object_add(res, "engine", info);
	d->info = info;
	*out = d;
	return 0;
fail:
	stt_bench_ctrd_abandon(d);
	return r;
}

int stt_bench_ctrd_load(struct stt_bench_ctrd *d)
{
	char *out = malloc(65536), *p;
	const char *args[] = {"images", "import", "--snapshotter", d->snapshotter, d->tar, NULL};
	int r;

	if (!out)
		return -ENOMEM;
	r = stt_containerd_ctr(d->cd, args, out, 65536);
	/* "unpacking docker.io/library/stortune-bench:x (sha256:...)...done" */
	if (!r) {
		p = strstr(out, "unpacking ");
		if (!p) {
			r = stt_err(-EIO, "ctr images import: no image unpacked: %.300s", out);
		} else {
			p += strlen("unpacking ");
			snprintf(d->image, sizeof(d->image), "%.*s", (int)strcspn(p, " \n"), p);
		}
	}
	free(out);
	if (!r && d->own_tar && unlink(d->tar))
		r = stt_err(-errno, "%s: %s", d->tar, strerror(errno));
	return r;
}

/* The next line of the attached ctr's output into @line, waiting at most @timeout_ms. */
static int next_line(struct cctr *c, char *line, size_t len, int timeout_ms)
{
	uint64_t end = stt_bench_now_ns() + (uint64_t)timeout_ms * 1000000ull;

	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		struct pollfd pfd = {.fd = c->out, .events = POLLIN};
		uint64_t now;
		ssize_t n;
		int pr;

		if (nl) {
			size_t k = (size_t)(nl - c->buf);

			snprintf(line, len, "%.*s", (int)k, c->buf);
			memmove(c->buf, nl + 1, c->len - k - 1);
			c->len -= k + 1;
			return 0;
		}
		if (c->len == sizeof(c->buf)) /* a line longer than the buffer: cut */
			c->len = 0;
		now = stt_bench_now_ns();
		if (now >= end)
			return stt_err(-ETIMEDOUT, "no answer within %d s", timeout_ms / 1000);
		pr = poll(&pfd, 1, (int)((end - now) / 1000000ull) + 1);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return stt_err(-errno, "poll: %s", strerror(errno));
		if (!pr)
			continue;
		n = read(c->out, c->buf + c->len, sizeof(c->buf) - c->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return stt_err(-errno, "read: %s", strerror(errno));
		if (!n) {
			c->buf[c->len < sizeof(c->buf) ? c->len : sizeof(c->buf) - 1] = '\0';
			return stt_err(-EPIPE, "ctr tasks start ended%s%s", c->len ? ": " : "",
				       c->buf);
		}
		c->len += (size_t)n;
	}
}

/*
 * write() to the attached ctr's stdin without a SIGPIPE when it has died (EPIPE instead):
 * SIGPIPE blocked in this thread around the call, a pending one taken.
 */
static ssize_t write_nosigpipe(int fd, const void *buf, size_t len)
{
	struct timespec zero = {0, 0};
	sigset_t pipe_set, old;
	ssize_t n;
	int saved;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	n = write(fd, buf, len);
	saved = errno;
	if (n < 0 && saved == EPIPE)
		while (sigtimedwait(&pipe_set, NULL, &zero) > 0)
			;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = saved;
	return n;
}

static int ask(struct cctr *c, const char *cmd, const char *want)
{
	char line[1024], err[1024] = "";
	int r;

	if (cmd && write_nosigpipe(c->in, cmd, strlen(cmd)) != (ssize_t)strlen(cmd))
		return stt_err(-EPIPE, "container %s: cannot write to ctr: %s", c->id,
			       strerror(errno));
	for (;;) {
		if ((r = next_line(c, line, sizeof(line), ANSWER_TIMEOUT_MS)))
			return stt_err(r, "container %s: %s%s%s", c->id, stt_err_msg(),
				       *err ? ": " : "", err);
		if (!strcmp(line, want))
			return 0;
		if (line[0] == 'E' && (!line[1] || line[1] == ' '))
			return stt_err(-EIO, "container %s: the reader failed: %s", c->id,
				       *err ? err : line);
		snprintf(err, sizeof(err), "%s", line);
	}
}

static void close_att(struct cctr *c)
{
	if (c->in >= 0)
		close(c->in);
	if (c->out >= 0)
		close(c->out);
	c->in = c->out = -1;
	c->len = 0;
}

/* Waits for the attached ctr to end: its output to EOF, then its exit. */
static int wait_att(struct cctr *c)
{
	char line[1024];
	int st = 0, r;

	while (!(r = next_line(c, line, sizeof(line), ANSWER_TIMEOUT_MS)))
		;
	if (r != -EPIPE)
		return r;
	close_att(c);
	r = stt_exec_wait(c->att, &st);
	c->att = 0;
	if (r)
		return stt_err(r, "container %s: waitpid: %s", c->id, strerror(-r));
	/* The reader ends with 0 on SIGTERM; ctr passes its code on. */
	if (st)
		return stt_err(-EIO, "container %s: ctr tasks start: exit %d", c->id, st);
	return 0;
}

int stt_bench_ctrd_pre(struct stt_bench_ctrd *d, enum stt_bench_phase p, unsigned int i)
{
	static const char *const version[] = {"version", NULL};
	struct cctr *c = &d->c[i];
	uint64_t t0;
	int r;

	switch (p) {
	case STT_PHASE_CREATE:
		/*
		 * The socket its shim will make (containerd 1.6: /run/containerd/s/ and the
		 * SHA-256 of "<containerd's socket>/<namespace>/<id>"), which a killed shim leaves.
		 */
		if (c->sock_rec == STT_JOURNAL_NONE) {
			char key[PATH_MAX + 128], hex[65], path[128];

			snprintf(key, sizeof(key), "%s/%s/%s", d->cd->sock, d->cd->ns, c->id);
			if ((r = stt_image_sha256_hex(key, strlen(key), hex)))
				return r;
			snprintf(path, sizeof(path), "/run/containerd/s/%s", hex);
			if ((r = stt_journal_add(d->j, STT_J_FILE, path, NULL, &c->sock_rec)))
				return r;
		}
		/* What ctr's own start and one call cost, beside the timed calls. */
		t0 = stt_bench_now_ns();
		if ((r = ctr(d, version)))
			return r;
		return stt_bench_samples_add(&d->cli, (double)(stt_bench_now_ns() - t0));
	case STT_PHASE_READ:
		t0 = stt_bench_now_ns();
		if ((r = ask(c, "n\n", "N")))
			return r;
		return stt_bench_samples_add(&d->rtt, (double)(stt_bench_now_ns() - t0));
	default:
		return 0;
	}
}

int stt_bench_ctrd_op(struct stt_bench_ctrd *d, enum stt_bench_phase p, unsigned int i)
{
	struct cctr *c = &d->c[i];
	const char *argv[48];
	size_t n;
	int r;

	switch (p) {
	case STT_PHASE_CREATE: {
		const char *args[] = {"containers",
				      "create",
				      "--snapshotter",
				      d->snapshotter,
				      "--mount",
				      d->mount,
				      d->image,
				      c->id,
				      STT_READER_MOUNT "/busybox",
				      "sh",
				      STT_READER_MOUNT "/startup.sh",
				      NULL};

		if ((r = ctr(d, args)))
			return r;
		c->created = true;
		return 0;
	}
	case STT_PHASE_START:
		n = stt_containerd_ctr_argv(d->cd, argv);
		argv[n++] = "tasks";
		argv[n++] = "start";
		argv[n++] = "--fifo-dir";
		argv[n++] = d->cd->fifo;
		argv[n++] = c->id;
		argv[n] = NULL;
		c->len = 0;
		if ((r = stt_exec_spawn(argv, &c->in, &c->out, &c->att)))
			return stt_err(r, "ctr tasks start: %s", strerror(-r));
		return ask(c, NULL, "S");
	case STT_PHASE_READ:
		return ask(c, "r\n", "R");
	case STT_PHASE_WRITE:
		return ask(c, "w\n", "W");
	case STT_PHASE_COW:
		return ask(c, "c\n", "C");
	case STT_PHASE_STOP: {
		const char *args[] = {"tasks", "kill", c->id, NULL};

		if ((r = ctr(d, args)))
			return r;
		return wait_att(c);
	}
	case STT_PHASE_REMOVE: {
		const char *args[] = {"containers", "delete", c->id, NULL};

		if ((r = ctr(d, args)))
			return r;
		c->created = false;
		return 0;
	}
	default:
		return -EINVAL;
	}
}

/* Whatever state they are in: its tasks killed, its containers deleted. Best effort. */
static int remove_ours(struct stt_bench_ctrd *d)
{
	int first = 0;

	for (unsigned int i = 0; d->cd && d->c && i < d->n; i++) {
		struct cctr *c = &d->c[i];
		const char *kill[] = {"tasks", "kill", "-s", "SIGKILL", c->id, NULL};
		const char *del[] = {"containers", "delete", c->id, NULL};
		int r;

		if (c->att) {
			(void)!ctr(d, kill);
			close_att(c);
			(void)!stt_exec_wait(c->att, &r);
			c->att = 0;
		}
		if (c->created && (r = ctr(d, del)) && !first)
			first = r;
		c->created = false;
	}
	return first;
}

static void free_ctrs(struct stt_bench_ctrd *d)
{
	for (unsigned int i = 0; d->c && i < d->n; i++) {
		close_att(&d->c[i]);
		if (d->c[i].att) {
			int st;

			kill(d->c[i].att, SIGKILL);
			(void)!stt_exec_wait(d->c[i].att, &st);
		}
	}
	free(d->c);
	d->c = NULL;
}

int stt_bench_ctrd_teardown(struct stt_bench_ctrd *d)
{
	int r, e;

	stt_bench_samples_json(&d->rtt, d->info, "attach_round_trip_ns");
	stt_bench_samples_json(&d->cli, d->info, "cli_overhead_ns");
	r = remove_ours(d);
	for (unsigned int i = 0; d->c && i < d->n; i++)
		if ((e = stt_journal_undo_one(d->j, d->c[i].sock_rec)) && !r)
			r = e;
	free_ctrs(d);
	if ((e = stt_containerd_stop(d->cd, d->j)) && !r)
		r = e;
	d->cd = NULL;
	/* What containerd left active in the pool (the image's devices are inactive). */
	while (d->n_dm)
		if ((e = stt_journal_undo_one(d->j, d->dm_recs[--d->n_dm])) && !r)
			r = e;
	free(d->dm_recs);
	if ((e = stt_journal_undo_one(d->j, d->dir_rec)) && !r)
		r = e;
	stt_bench_samples_release(&d->rtt);
	stt_bench_samples_release(&d->cli);
	free(d);
	return r;
}

void stt_bench_ctrd_abandon(struct stt_bench_ctrd *d)
{
	char msg[2048];

	if (!d)
		return;
	snprintf(msg, sizeof(msg), "%s", stt_err_msg());
	/* Its tasks ended through containerd, so that the shims leave nothing in /run. */
	(void)remove_ours(d);
	free_ctrs(d);
	/* containerd, the directories, the devices: the run's journal undoes them. */
	free(d->cd);
	free(d->dm_recs);
	stt_bench_samples_release(&d->rtt);
	stt_bench_samples_release(&d->cli);
	free(d);
	stt_err_set("%s", msg);
}
