// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The benchmark's phases through the real engine: dockerd (a private one on the backend's
 * filesystem, or the daemon of --docker-host) driven through its API, one HTTP connection per
 * container, each phase timed at the API call.
 *
 * The reader. Each container runs a small static program, busybox (Debian's busybox-static),
 * bind-mounted read-only with its script at /.stortune from outside the measured filesystem:
 * the image stays the profile's image, and the reader's own pages are not read from the
 * storage under test. The script waits on stdin; over the attach connection (opened untimed
 * before the start) the benchmark sends one letter per phase and the container answers one
 * line when it is done:
 *
 *   r  first-read:  stat the stat set, list the readdir set, cat the read set   -> "R"
 *   w  first-write: the new files and the whole-file rewrites (sync each with fsync_writes) -> "W"
 *   c  cow-write:   4 bytes into the middle of the largest lower file (dd)        -> "C"
 *
 * (-> "E" and the applet's message on a failure). So first-read is the time from the request
 * to the answer through dockerd's attach stream: the reads inside the container, plus one
 * round trip through dockerd and containerd's shim that the emulation does not have. SIGTERM
 * ends the script (a trap), so stop is Docker's own stop: the signal, the exit, the unmount.
 */
#include "measure/bench_int.h"

#include "base/err.h"
#include "base/fmt.h"
#include "base/stats.h"
#include "measure/docker.h"
#include "sys/dockerd.h"
#include "sys/fsutil.h"
#include "sys/http.h"
#include "sys/journal.h"
#include "workload/image.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define READER_MOUNT	  STT_READER_MOUNT
#define ANSWER_TIMEOUT_MS 300000
#define STOP_TIMEOUT_S	  10

struct ctr {
	char id[65];
	struct stt_http *api; /* REST calls, kept alive across phases */
	struct stt_http *att; /* the attach stream while it runs */
	struct stt_docker_stream st;
};

struct stt_bench_docker {
	struct stt_journal *j;
	struct stt_dockerd *dockerd; /* a private one, or NULL with --docker-host */
	struct stt_http *h;
	char address[PATH_MAX];
	char dir[PATH_MAX]; /* the reader, the image tar */
	unsigned int dir_rec;
	char bind[PATH_MAX + 32];
	char tar[PATH_MAX]; /* the image to load */
	bool own_tar;	    /* written by us */
	char image[256];    /* its name once loaded */
	bool loaded;
	char label[16]; /* stortune.run=<label> on its containers */
	bool replayer;	/* a trace is replayed by stortune-replay (else by dd) */
	struct stt_backend_engine eng; /* the private dockerd's driver and options */
	struct ctr *c;
	unsigned int n;
	struct json_object *info;     /* the "engine" member (res holds it) */
	struct stt_bench_samples rtt; /* attach round trips with no work, one per container */
};

int stt_bench_docker_setup(const struct stt_bench_engine_opts *eo, struct stt_backend *b,
			   const struct stt_bench_workload *wl, unsigned int containers,
			   struct stt_journal *j, struct json_object *res,
			   struct stt_bench_docker **out)
{
	struct stt_bench_docker *d = calloc(1, sizeof(*d));
	struct json_object *info = NULL, *opts;
	char root[PATH_MAX], ddir[PATH_MAX + 16];
	int r;

	if (!d)
		return -ENOMEM;
	d->j = j;
	d->dir_rec = STT_JOURNAL_NONE;
	stt_bench_samples_init(&d->rtt);
	d->n = containers;
	stt_bench_label(d->label, sizeof(d->label));
	d->c = calloc(containers, sizeof(*d->c));
	if (!d->c) {
		r = -ENOMEM;
		goto fail;
	}
	/*
	 * Where the reader and the image tar go: beside the backend's filesystem, not on it. The
	 * dm backends give the engine a directory of their own and its storage driver and options
	 * (the pool they made, empty); overlay the filesystem its data root goes on.
	 */
	if (b && b->ops->engine_config) {
		if ((r = b->ops->engine_config(b, &d->eng)))
			goto fail;
		snprintf(root, sizeof(root), "%s", d->eng.dir);
		snprintf(d->dir, sizeof(d->dir), "%s/engine", d->eng.dir);
		/*
		 * Docker's devicemapper refuses to run without udev sync, which libdevmapper
		 * cannot have where no udev runs (a container, an initramfs): there the private
		 * dockerd is told to go on. Never in generated configuration: a host with udev.
		 */
		if (access("/run/udev/control", F_OK) && d->eng.n_opts < STT_ENGINE_MAX_OPTS)
			snprintf(d->eng.opts[d->eng.n_opts++], sizeof(d->eng.opts[0]),
				 "dm.override_udev_sync_check=true");
	} else if (b) {
		if ((r = stt_bench_engine_dir(b, d->dir, sizeof(d->dir), root, sizeof(root)))) {
			if (r == -EOPNOTSUPP)
				r = stt_err(r, "%s: no real engine runs on this backend",
					    b->ops->name);
			goto fail;
		}
		snprintf(d->eng.driver, sizeof(d->eng.driver), "overlay2");
	} else {
		snprintf(d->dir, sizeof(d->dir), "%s/stortune-engine-%s", "/var/tmp", d->label);
	}
	if ((r = stt_journal_add(j, STT_J_DIR, d->dir, NULL, &d->dir_rec)))
		goto fail;
	if ((r = stt_fs_mkdir_p(d->dir, 0755))) {
		r = stt_err(r, "%s: cannot create: %s", d->dir, strerror(-r));
		goto fail;
	}
	if ((r = stt_bench_reader_make(d->dir, wl, false, &d->replayer)))
		goto fail;
	snprintf(d->bind, sizeof(d->bind), "%s/reader:%s:ro", d->dir, READER_MOUNT);

	if ((r = stt_bench_image_tar(eo, d->dir, d->label, d->tar, sizeof(d->tar), &d->own_tar)))
		goto fail;

	if (eo->docker_host) {
		snprintf(d->address, sizeof(d->address), "%s", eo->docker_host);
	} else {
		struct stt_dockerd_opts o = {0};
		const char *sopts[STT_ENGINE_MAX_OPTS + 1];

		for (size_t i = 0; i < d->eng.n_opts; i++)
			sopts[i] = d->eng.opts[i];
		sopts[d->eng.n_opts] = NULL;
		snprintf(ddir, sizeof(ddir), "%s/dockerd", root);
		o.dir = ddir;
		o.storage_driver = d->eng.driver;
		o.storage_opts = sopts;
		o.timeout_ms = eo->dockerd_timeout_ms;
		o.journal = j;
		if ((r = stt_dockerd_start(&o, &d->dockerd)))
			goto fail;
		snprintf(d->address, sizeof(d->address), "%s", d->dockerd->address);
	}
	if ((r = stt_http_open(d->address, &d->h)))
		goto fail;
	if ((r = stt_docker_ping(d->h, 10000))) {
		if (eo->docker_host)
			r = stt_err(-EHOSTUNREACH, "--docker-host %s: no Docker daemon answers: %s",
				    eo->docker_host, stt_err_msg());
		goto fail;
	}
	if ((r = stt_docker_info(d->h, &info)))
		goto fail;
	opts = json_object_new_array();
	for (size_t i = 0; !eo->docker_host && i < d->eng.n_opts; i++)
		json_object_array_add(opts, json_object_new_string(d->eng.opts[i]));
	json_object_object_add(info, "options", opts);
	json_object_object_add(info, "address", json_object_new_string(d->address));
	json_object_object_add(info, "private", json_object_new_boolean(!eo->docker_host));
	json_object_object_add(
	    info, "reader",
	    json_object_new_string("busybox (static) at " READER_MOUNT ", bind-mounted read-only"));
	stt_bench_reader_info(info, wl, d->replayer);
	json_object_object_add(info, "http_client",
			       json_object_new_string(stt_http_library_version()));
	json_object_object_add(res, "engine", info);
	d->info = info;
	/* One connection per container, connected before anything is timed. */
	for (unsigned int i = 0; i < d->n; i++)
		if ((r = stt_http_open(d->address, &d->c[i].api)) ||
		    (r = stt_docker_ping(d->c[i].api, 10000)))
			goto fail;
	*out = d;
	return 0;
fail:
	stt_bench_docker_abandon(d);
	return r;
}

int stt_bench_docker_load(struct stt_bench_docker *d)
{
	char *before = NULL, id[160] = "", line[170];
	int r;

	/* An image the daemon had already (--docker-host) is not ours to remove at the end. */
	if ((r = stt_docker_image_ids(d->h, &before)))
		return r;
	r = stt_docker_load(d->h, d->tar, d->image, sizeof(d->image));
	if (!r)
		r = stt_docker_image_id(d->h, d->image, id, sizeof(id));
	snprintf(line, sizeof(line), "%s\n", id);
	if (!r && !strstr(before, line))
		d->loaded = true;
	free(before);
	if (!r && d->own_tar && unlink(d->tar))
		r = stt_err(-errno, "%s: %s", d->tar, strerror(errno));
	return r;
}

static int ask(struct ctr *c, const char *cmd, const char *want)
{
	char line[1024], err[1024] = "";
	int r;

	if ((r = stt_http_send(c->att, cmd, strlen(cmd))))
		return r;
	for (;;) {
		if ((r = stt_docker_attach_line(c->att, &c->st, line, sizeof(line),
						ANSWER_TIMEOUT_MS)))
			return stt_err(r, "container %.12s: %s%s%s", c->id, stt_err_msg(),
				       *err ? ": " : "", err);
		if (!strcmp(line, want))
			return 0;
		if (line[0] == 'E' && (!line[1] || line[1] == ' '))
			return stt_err(-EIO, "container %.12s: the reader failed: %s", c->id,
				       *err ? err : line);
		/* An applet's message before the answer. */
		snprintf(err, sizeof(err), "%s", line);
	}
}

/* One round trip with no work through the attach stream, recorded (before first-read). */
static int round_trip(struct stt_bench_docker *d, struct ctr *c)
{
	uint64_t t0 = stt_bench_now_ns();
	int r = ask(c, "n\n", "N");

	return r ? r : stt_bench_samples_add(&d->rtt, (double)(stt_bench_now_ns() - t0));
}

int stt_bench_docker_pre(struct stt_bench_docker *d, enum stt_bench_phase p, unsigned int i)
{
	struct ctr *c = &d->c[i];
	int r;

	switch (p) {
	case STT_PHASE_START:
		/* Attached before the start, so that no output is lost. */
		memset(&c->st, 0, sizeof(c->st));
		if ((r = stt_http_open(d->address, &c->att)))
			return r;
		return stt_docker_attach(c->att, c->id);
	case STT_PHASE_READ:
		return round_trip(d, c);
	case STT_PHASE_REMOVE:
		stt_http_close(c->att);
		c->att = NULL;
		return 0;
	default:
		return 0;
	}
}

int stt_bench_docker_op(struct stt_bench_docker *d, enum stt_bench_phase p, unsigned int i)
{
	static const char *const argv[] = {READER_MOUNT "/busybox", "sh",
					   READER_MOUNT "/startup.sh", NULL};
	const char *binds[] = {d->bind, NULL};
	struct ctr *c = &d->c[i];
	int r;

	switch (p) {
	case STT_PHASE_CREATE:
		return stt_docker_create(c->api, d->image, argv, binds, d->label, c->id);
	case STT_PHASE_START:
		return stt_docker_start(c->api, c->id);
	case STT_PHASE_READ:
		return ask(c, "r\n", "R");
	case STT_PHASE_WRITE:
		return ask(c, "w\n", "W");
	case STT_PHASE_COW:
		return ask(c, "c\n", "C");
	case STT_PHASE_STOP:
		return stt_docker_stop(c->api, c->id, STOP_TIMEOUT_S);
	case STT_PHASE_REMOVE:
		r = stt_docker_remove(c->api, c->id, false);
		if (!r)
			c->id[0] = '\0';
		return r;
	default:
		return -EINVAL;
	}
}

static void free_ctrs(struct stt_bench_docker *d)
{
	for (unsigned int i = 0; d->c && i < d->n; i++) {
		stt_http_close(d->c[i].att);
		stt_http_close(d->c[i].api);
	}
	free(d->c);
	d->c = NULL;
}

/* On a daemon that is not ours: its containers and its image, whatever state they are in. */
static int remove_ours(struct stt_bench_docker *d)
{
	char(*ids)[65] = NULL;
	size_t n = 0;
	int r, first = 0;

	if (!d->h)
		return 0;
	ids = calloc(4096, sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	r = stt_docker_list(d->h, d->label, ids, 4096, &n);
	for (size_t i = 0; !r && i < n && i < 4096; i++)
		if ((r = stt_docker_remove(d->h, ids[i], true)) && !first)
			first = r;
	free(ids);
	if (r && !first)
		first = r;
	if (d->loaded && (r = stt_docker_image_remove(d->h, d->image)) && !first)
		first = r;
	d->loaded = false;
	return first;
}

int stt_bench_docker_teardown(struct stt_bench_docker *d)
{
	int r = 0, e;

	stt_bench_samples_json(&d->rtt, d->info, "attach_round_trip_ns");
	free_ctrs(d);
	if (!d->dockerd)
		r = remove_ours(d);
	stt_http_close(d->h);
	d->h = NULL;
	if (d->dockerd && (e = stt_dockerd_stop(d->dockerd, d->j)) && !r)
		r = e;
	d->dockerd = NULL;
	if ((e = stt_journal_undo_one(d->j, d->dir_rec)) && !r)
		r = e;
	stt_bench_samples_release(&d->rtt);
	free(d);
	return r;
}

void stt_bench_docker_abandon(struct stt_bench_docker *d)
{
	char msg[2048];

	if (!d)
		return;
	snprintf(msg, sizeof(msg), "%s", stt_err_msg());
	free_ctrs(d);
	if (!d->dockerd)
		(void)remove_ours(d);
	stt_http_close(d->h);
	/* A private dockerd and the directories: the run's journal undoes them. */
	free(d->dockerd);
	stt_bench_samples_release(&d->rtt);
	free(d);
	stt_err_set("%s", msg);
}
