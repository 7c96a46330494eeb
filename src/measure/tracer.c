// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * `stortune trace`: see tracer.h. The steps, each undone by the run's journal on a failure or a
 * signal: the overlay backend's scratch filesystem, a private dockerd on it, the image loaded,
 * the container created, tracefs mounted with an instance of ours, the caches dropped, the
 * container started and its reads recorded until it exits or the seconds are up, then all of
 * it taken down in reverse.
 */
#include "measure/tracer.h"

#include "base/array.h"
#include "base/err.h"
#include "measure/docker.h"
#include "sys/devstat.h"
#include "sys/dockerd.h"
#include "sys/http.h"
#include "sys/journal.h"
#include "sys/tracefs.h"
#include "workload/image.h"
#include "workload/trace.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define TRACE_BUFFER_KB 16384 /* per CPU */
#define POLL_MS		100
#define STOP_TIMEOUT_S	2

struct ev {
	uint64_t ino, first, last;
	char kind; /* 'r', 'f', 'm', or 'c' (added to the page cache) */
	char comm[17];
};

struct inode {
	uint64_t ino; /* 0: empty slot */
	uint64_t size_bytes;
	char *path;
};

struct run {
	const struct stt_tracer_opts *o;
	struct stt_journal *j;
	struct ev *ev;
	size_t n_ev, cap_ev;
	struct inode *map;
	size_t map_cap, map_n;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int on_event(const struct stt_tracefs_event *e, void *arg)
{
	static const char kinds[STT_TRACEFS_NKINDS] = {[STT_TRACEFS_READ] = 'r',
						       [STT_TRACEFS_FAULT] = 'f',
						       [STT_TRACEFS_MAP] = 'm',
						       [STT_TRACEFS_ADD] = 'c'};
	struct run *r = arg;
	struct ev *v;

	if (stt_array_reserve(&r->ev, &r->cap_ev, r->n_ev, sizeof(*r->ev), 4096))
		return -ENOMEM;
	v = &r->ev[r->n_ev++];
	v->ino = e->ino;
	v->first = e->first_page;
	v->last = e->last_page;
	v->kind = kinds[e->kind];
	memcpy(v->comm, e->comm, sizeof(v->comm));
	return 0;
}

/* ---- inode -> path, from the layer directories ---- */

static struct inode *map_slot(struct run *r, uint64_t ino)
{
	size_t m = r->map_cap - 1, i = (size_t)(ino * 0x9e3779b97f4a7c15ull) & m;

	while (r->map[i].ino && r->map[i].ino != ino)
		i = (i + 1) & m;
	return &r->map[i];
}

static int map_put(struct run *r, uint64_t ino, const char *path, uint64_t size)
{
	struct inode *s;

	if ((r->map_n + 1) * 2 > r->map_cap) {
		struct inode *old = r->map;
		size_t oc = r->map_cap;

		r->map_cap = oc ? 2 * oc : 4096;
		r->map = calloc(r->map_cap, sizeof(*r->map));
		if (!r->map) {
			r->map = old;
			r->map_cap = oc;
			return -ENOMEM;
		}
		for (size_t i = 0; i < oc; i++)
			if (old[i].ino)
				*map_slot(r, old[i].ino) = old[i];
		free(old);
	}
	s = map_slot(r, ino);
	if (s->ino)
		return 0; /* a hard link, or a path of a lower layer hidden by an upper one */
	s->path = strdup(path);
	if (!s->path)
		return -ENOMEM;
	s->ino = ino;
	s->size_bytes = size;
	r->map_n++;
	return 0;
}

/* The regular files below @dir (a layer's diff directory) on device @dev, @rel their path. */
static int walk(struct run *r, const char *dir, const char *rel, dev_t dev)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int e = 0;

	if (!d)
		return stt_err(-errno, "%s: %s", dir, strerror(errno));
	while (!e && (de = readdir(d))) {
		char path[PATH_MAX], sub[PATH_MAX];
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
			sizeof(path) ||
		    (size_t)snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "",
				     de->d_name) >= sizeof(sub))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		if (st.st_dev != dev)
			continue;
		if (S_ISDIR(st.st_mode))
			e = walk(r, path, sub, dev);
		else if (S_ISREG(st.st_mode))
			e = map_put(r, st.st_ino, sub, (uint64_t)st.st_size);
	}
	closedir(d);
	return e;
}

/* The container's layer directories, top first: UpperDir, then LowerDir's in order. */
static int walk_layers(struct run *r, struct json_object *insp, dev_t dev)
{
	struct json_object *data = NULL, *v;
	char *lower, *save = NULL, *tok;
	int e = 0;

	if (!json_object_object_get_ex(insp, "GraphDriver", &v) ||
	    !json_object_object_get_ex(v, "Data", &data) || !data)
		return stt_err(-EPROTO, "the container's inspect has no GraphDriver.Data");
	if (json_object_object_get_ex(data, "UpperDir", &v) &&
	    (e = walk(r, json_object_get_string(v), "", dev)))
		return e;
	if (!json_object_object_get_ex(data, "LowerDir", &v))
		return stt_err(-EPROTO, "the container's inspect has no GraphDriver.Data.LowerDir");
	lower = strdup(json_object_get_string(v));
	if (!lower)
		return -ENOMEM;
	for (tok = strtok_r(lower, ":", &save); tok && !e; tok = strtok_r(NULL, ":", &save))
		e = walk(r, tok, "", dev);
	free(lower);
	return e;
}

/* ---- the events into the trace ---- */

static int build(struct run *r, struct stt_trace *t)
{
	int e;

	for (size_t i = 0; i < r->n_ev; i++) {
		const struct ev *v = &r->ev[i];
		const struct inode *in = r->map_cap ? map_slot(r, v->ino) : NULL;
		uint64_t off = v->first * 4096u, len = (v->last - v->first + 1) * 4096u;
		size_t idx;

		t->events++;
		if (!in || !in->ino) {
			t->events_outside++;
			continue;
		}
		if ((e = stt_trace_file(t, in->path, in->size_bytes, &idx)))
			return e;
		stt_trace_reader(t, idx, v->comm);
		if (v->kind == 'c') {
			uint64_t end = off + len < in->size_bytes ? off + len : in->size_bytes;

			t->files[idx].cached_bytes += end > off ? end - off : 0;
			continue;
		}
		if ((e = stt_trace_add(t, idx, v->kind, off, len)))
			return e;
	}
	/* A file only ever brought in (readahead of a neighbour never happens across files): kept.
	 */
	return 0;
}

static struct json_object *strv_json(const char *const *v)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; v[i]; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

/* -EINTR with a message once SIGINT or SIGTERM has come (the journal's handler saw it). */
static int interrupted(void)
{
	if (!stt_journal_interrupted())
		return 0;
	return stt_err(-EINTR, "interrupted by signal %d", stt_journal_signal());
}

static int start_failed(const char *cmd)
{
	const char *m = stt_err_msg();

	if (strstr(m, "executable file not found") || strstr(m, "no such file or directory") ||
	    strstr(m, "permission denied") || strstr(m, "not a directory"))
		return stt_err(-ENOEXEC, "%s: cannot be run in the image: %s", cmd, m);
	return stt_err(-EIO, "%s", m);
}

int stt_tracer_run(const struct stt_tracer_opts *o, struct stt_trace **out)
{
	struct run r = {.o = o, .j = o->target->journal};
	struct stt_backend *b = NULL;
	struct stt_dockerd *dk = NULL;
	struct stt_http *h = NULL;
	struct stt_tracefs *tf = NULL;
	struct stt_trace *t = NULL;
	struct json_object *info = NULL, *insp = NULL, *st, *v, *img;
	char root[PATH_MAX], ddir[PATH_MAX + 16], mnt[PATH_MAX + 64], image[256] = "";
	char id[65] = "", label[16];
	struct stat sb;
	struct utsname un;
	uint64_t t0, t_end, last_check = 0;
	bool running = true;
	int exit_code = -1, e;
	const char *stop_why = "seconds";

	if ((e = stt_trace_new(&t)))
		return e;
	stt_backend_random_name(label, 12, "abcdefghijklmnopqrstuvwxyz0123456789");
	if ((e = stt_backend_open("overlay", o->target, &b)))
		goto out;
	if ((e = b->ops->root_dir(b, root, sizeof(root))))
		goto out;
	if (stat(root, &sb)) {
		e = stt_err(-errno, "%s: %s", root, strerror(errno));
		goto out;
	}
	{
		struct stt_dockerd_opts dopts = {0};

		snprintf(ddir, sizeof(ddir), "%s/dockerd", root);
		dopts.dir = ddir;
		dopts.storage_driver = "overlay2";
		dopts.timeout_ms = o->dockerd_timeout_ms;
		dopts.journal = r.j;
		if ((e = stt_dockerd_start(&dopts, &dk)))
			goto out;
	}
	if ((e = stt_http_open(dk->address, &h)) || (e = stt_docker_ping(h, 10000)) ||
	    (e = stt_docker_info(h, &info)))
		goto out;
	if ((e = stt_docker_load(h, o->image_tar, image, sizeof(image))))
		goto out;
	if ((e = interrupted()) || (e = stt_docker_create(h, image, o->argv, NULL, label, id)))
		goto out;
	if ((e = stt_docker_inspect(h, id, &insp)) || (e = walk_layers(&r, insp, sb.st_dev)))
		goto out;
	json_object_put(insp);
	insp = NULL;

	snprintf(mnt, sizeof(mnt), "%s/tracefs-%d", o->target->workdir, (int)getpid());
	if ((e = stt_tracefs_open(mnt, major(sb.st_dev), minor(sb.st_dev), TRACE_BUFFER_KB, r.j,
				  &tf)))
		goto out;
	if ((e = interrupted()) || (e = stt_devstat_drop_caches()) || (e = stt_tracefs_start(tf)))
		goto out;
	t0 = now_ms();
	t_end = t0 + (uint64_t)o->seconds * 1000u;
	if ((e = stt_docker_start(h, id))) {
		e = start_failed(o->argv[0]);
		goto out;
	}
	while (now_ms() < t_end) {
		if ((e = interrupted()))
			goto out;
		if ((e = stt_tracefs_read(tf, POLL_MS, on_event, &r)))
			goto out;
		if (now_ms() - last_check < 200)
			continue;
		last_check = now_ms();
		if ((e = stt_docker_inspect(h, id, &insp)))
			goto out;
		if (json_object_object_get_ex(insp, "State", &st)) {
			if (json_object_object_get_ex(st, "Running", &v) &&
			    !json_object_get_boolean(v))
				running = false;
			if (json_object_object_get_ex(st, "ExitCode", &v))
				exit_code = json_object_get_int(v);
		}
		json_object_put(insp);
		insp = NULL;
		if (!running) {
			stop_why = "exited";
			break;
		}
	}
	t_end = now_ms();
	if ((e = stt_tracefs_stop(tf)) || (e = stt_tracefs_read(tf, 0, on_event, &r)))
		goto out;
	t->lost_events = stt_tracefs_lost(tf);
	if ((e = build(&r, t)))
		goto out;

	json_object_object_add(t->meta, "command", strv_json(o->argv));
	img = json_object_new_object();
	json_object_object_add(img, "source", json_object_new_string(o->image_tar));
	json_object_object_add(img, "name", json_object_new_string(image));
	json_object_object_add(img, "digest", json_object_new_string(stt_image_digest(o->img)));
	json_object_object_add(t->meta, "image", img);
	json_object_object_add(t->meta, "seconds", json_object_new_int((int)o->seconds));
	json_object_object_add(t->meta, "traced_ms", json_object_new_int64((int64_t)(t_end - t0)));
	json_object_object_add(t->meta, "ended", json_object_new_string(stop_why));
	json_object_object_add(t->meta, "exit_code",
			       running ? NULL : json_object_new_int(exit_code));
	json_object_object_add(
	    t->meta, "mechanism",
	    json_object_new_string(
		"tracefs filemap events (mm_filemap_get_pages, mm_filemap_fault, "
		"mm_filemap_map_pages, mm_filemap_add_to_page_cache) filtered by "
		"the device of the engine's own filesystem; inodes named by "
		"the container's overlay2 layer directories"));
	json_object_object_add(t->meta, "cold", json_object_new_boolean(1));
	json_object_object_add(t->meta, "kernel",
			       json_object_new_string(uname(&un) ? "" : un.release));
	json_object_object_add(t->meta, "storage_driver", json_object_new_string("overlay2"));
	json_object_object_add(t->meta, "engine", info);
	info = NULL;
	if (t->lost_events) {
		e = stt_err(-ENOSPC,
			    "the trace buffer dropped %llu events: the trace would be incomplete "
			    "(try fewer --seconds)",
			    (unsigned long long)t->lost_events);
		goto out;
	}
	e = 0;
out:
	/* In reverse: the container, the tracing, the image, dockerd, the filesystem. */
	{
		char msg[2048];
		int f;

		snprintf(msg, sizeof(msg), "%s", e ? stt_err_msg() : "");
		json_object_put(insp);
		if (tf && (f = stt_tracefs_close(tf)) && !e)
			e = f;
		if (h && *id) {
			/* A stop that fails leaves it to the forced remove. */
			f = stt_docker_stop(h, id, STOP_TIMEOUT_S);
			if ((f = stt_docker_remove(h, id, true)) && !e)
				e = f;
		}
		stt_http_close(h);
		if (dk && (f = stt_dockerd_stop(dk, r.j)) && !e)
			e = f;
		if (b && (f = stt_backend_close(b)) && !e)
			e = f;
		if (*msg)
			stt_err_set("%s", msg);
	}
	json_object_put(info);
	for (size_t i = 0; i < r.map_cap; i++)
		free(r.map[i].path);
	free(r.map);
	free(r.ev);
	if (e) {
		stt_trace_free(t);
		return e;
	}
	*out = t;
	return 0;
}
