// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * containerd-overlayfs: what containerd's overlayfs snapshotter (containerd 1.6/1.7,
 * snapshots/overlay/overlay.go) does for an image and its containers, as Docker 29's
 * containerd image store drives it (moby daemon/containerd: PrepareSnapshot makes and
 * commits "<id>-init" with Docker's files, then prepares "<id>" on it). On a filesystem
 * stortune makes on its target, as the overlay backend.
 *
 * Root <mnt>/io.containerd.snapshotter.v1.overlayfs: metadata.db (the snapshotter's bolt
 * store) and snapshots/. Prepare, in one write transaction: a temporary directory
 * snapshots/new-XXXXXX with fs/ (0755) and, for an active snapshot, work/ (0711), fs/
 * chowned to its parent's owner, renamed to snapshots/<id> (a sequence number). Commit:
 * the disk usage of fs/ (a walk) in a write transaction. Remove: a write transaction, then
 * the directories no snapshot names any more (a readdir of snapshots/) removed. containerd's
 * metadata plugin records every snapshot too, in its own bolt store (meta.db): one more
 * write transaction per prepare, commit and remove. Both stores are src/backend/boltsim.c.
 *
 * Mounts: a snapshot without parents is a bind mount of its fs/; otherwise overlay with
 * index=off (when the kernel knows it), workdir, upperdir, and lowerdir the parents' fs/
 * nearest first. When the options exceed a page, containerd mounts from the common parent
 * directory with relative lowerdirs; so does this. A container's rootfs is mounted in its
 * task bundle (<state>/io.containerd.runtime.v2.task/default/<id>/rootfs) at start and
 * unmounted at stop.
 *
 * Layer contents are written into fs/ directly (containerd's applier writes through the
 * snapshot's mount; for an overlay mount that lands in the same upper directory).
 */
#include "backend/backend.h"
#include "backend/boltsim.h"

#include "base/err.h"
#include "sys/exec.h"
#include "sys/fsutil.h"
#include "sys/journal.h"
#include "sys/loop.h"
#include "sys/sysfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SNAP_ROOT "io.containerd.snapshotter.v1.overlayfs"

struct ctrd_ov {
	struct stt_scratch_fs fs; /* <workdir>/ctrd-ovl-<random>; fs.mnt: containerd's root */
	char root[PATH_MAX];	  /* mnt/io.containerd.snapshotter.v1.overlayfs */
	char snaps[PATH_MAX];	  /* root/snapshots */
	bool index_off;
	struct stt_boltsim snapdb, metadb;
	atomic_ulong next_id;
};

struct ov_snap {
	unsigned long id;
	bool committed;
};

static struct ctrd_ov *cov(struct stt_backend *b)
{
	return b->priv;
}

static unsigned long snap_id(const struct stt_layer *l)
{
	return ((const struct ov_snap *)l->priv)->id;
}

static int mkdirs(const char *base, const char *sub, unsigned int mode)
{
	char p[PATH_MAX + 64];
	int r;

	snprintf(p, sizeof(p), "%s/%s", base, sub);
	r = stt_fs_mkdir_p(p, mode);
	return r ? stt_err(r, "%s: cannot create: %s", p, strerror(-r)) : 0;
}

static int ctrd_ov_teardown(struct stt_backend *b);

static int ctrd_ov_prepare(struct stt_backend *b)
{
	char path[PATH_MAX + 64];
	struct ctrd_ov *p;
	int r;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	b->priv = p;
	p->fs.rec_dir = p->fs.rec_loop = p->fs.rec_mount = STT_JOURNAL_NONE;
	p->index_off = access("/sys/module/overlay/parameters/index", F_OK) == 0;
	atomic_init(&p->next_id, 1);
	if ((r = stt_backend_scratch_open(&b->opts, "ctrd-ovl", &p->fs)))
		goto fail;
	snprintf(p->root, sizeof(p->root), "%s/" SNAP_ROOT, p->fs.mnt);
	snprintf(p->snaps, sizeof(p->snaps), "%s/snapshots", p->root);
	/* NewSnapshotter: root 0700, metadata.db, snapshots/ 0700; the metadata plugin's. */
	if ((r = mkdirs(p->root, "snapshots", 0700)) ||
	    (r = mkdirs(p->fs.mnt, STT_CTRD_META_ROOT, 0711)) ||
	    (r = mkdirs(p->fs.mnt, STT_CTRD_TASK_ROOT, 0711)))
		goto fail;
	snprintf(path, sizeof(path), "%s/metadata.db", p->root);
	if ((r = stt_boltsim_open(&p->snapdb, path)))
		goto fail;
	snprintf(path, sizeof(path), "%s/" STT_CTRD_META_ROOT "/meta.db", p->fs.mnt);
	if ((r = stt_boltsim_open(&p->metadb, path)))
		goto fail;
	return 0;
fail:
	(void)ctrd_ov_teardown(b);
	return r;
}

static int ctrd_ov_teardown(struct stt_backend *b)
{
	struct ctrd_ov *p = cov(b);
	int r;

	if (!p)
		return 0;
	stt_boltsim_close(&p->snapdb);
	stt_boltsim_close(&p->metadb);
	/* Mounts of containers not stopped are the caller's; these are ours, newest first. */
	r = stt_backend_scratch_close(&b->opts, &p->fs);
	free(p);
	b->priv = NULL;
	return r;
}

static _Thread_local unsigned long long du_bytes;

static int du_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)flag;
	(void)ftw;
	du_bytes += (unsigned long long)st->st_blocks * 512;
	return 0;
}

/* Commit's fs.DiskUsage of the snapshot's fs/: a walk with an lstat per entry. */
static int disk_usage(const char *dir, unsigned long long *bytes)
{
	du_bytes = 0;
	if (nftw(dir, du_one, 16, FTW_PHYS | FTW_MOUNT))
		return stt_err(-errno, "%s: cannot walk: %s", dir, strerror(errno));
	*bytes = du_bytes;
	return 0;
}

/* Both stores' write transactions for one snapshot operation. */

static int remove_snap_dir(struct ctrd_ov *p, unsigned long id)
{
	char path[PATH_MAX + 32], name[32];
	struct dirent *de;
	bool found = false;
	DIR *d;
	int r;

	/* getCleanupDirectories: every directory of snapshots/ no snapshot names. */
	d = opendir(p->snaps);
	if (!d)
		return stt_err(-errno, "%s: cannot read: %s", p->snaps, strerror(errno));
	snprintf(name, sizeof(name), "%lu", id);
	while ((de = readdir(d)))
		found = found || !strcmp(de->d_name, name);
	closedir(d);
	if (!found)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", p->snaps, name);
	r = stt_fs_rm_tree(path);
	return r ? stt_err(r, "%s: cannot remove: %s", path, strerror(-r)) : 0;
}

static int ctrd_ov_layer_create(struct stt_backend *b, const char *id, struct stt_layer *parent,
				stt_layer_fill_fn fill, void *arg, struct stt_layer **out)
{
	struct ctrd_ov *p = cov(b);
	char tmp[PATH_MAX + 32], path[PATH_MAX + 64], dst[PATH_MAX + 32];
	bool active = stt_ctrd_is_container_layer(parent), made = false;
	struct stt_layer_writer w;
	struct stt_layer *l;
	struct ov_snap *s;
	int r;

	l = calloc(1, sizeof(*l));
	s = calloc(1, sizeof(*s));
	if (!l || !s) {
		free(l);
		free(s);
		return -ENOMEM;
	}
	l->priv = s;
	l->parent = parent;
	l->depth = parent ? parent->depth + 1 : 1;
	snprintf(l->id, sizeof(l->id), "%s", id);

	/* Prepare: the temporary directory, fs/ and work/, chown, rename, in a transaction. */
	snprintf(tmp, sizeof(tmp), "%s/new-XXXXXX", p->snaps);
	if (!mkdtemp(tmp)) {
		r = stt_err(-errno, "%s: cannot create: %s", tmp, strerror(errno));
		goto fail_free;
	}
	snprintf(path, sizeof(path), "%s/fs", tmp);
	if (mkdir(path, 0755)) {
		r = stt_err(-errno, "%s: cannot create: %s", path, strerror(errno));
		goto fail_tmp;
	}
	/* Every snapshot is prepared active first (layers are applied, then committed). */
	snprintf(path, sizeof(path), "%s/work", tmp);
	if (mkdir(path, 0711)) {
		r = stt_err(-errno, "%s: cannot create: %s", path, strerror(errno));
		goto fail_tmp;
	}
	if (parent) {
		struct stat st;

		snprintf(dst, sizeof(dst), "%s/%lu/fs", p->snaps, snap_id(parent));
		snprintf(path, sizeof(path), "%s/fs", tmp);
		if (stat(dst, &st) || lchown(path, st.st_uid, st.st_gid)) {
			r = stt_err(-errno, "%s: cannot take its parent's owner: %s", path,
				    strerror(errno));
			goto fail_tmp;
		}
	}
	s->id = atomic_fetch_add(&p->next_id, 1);
	snprintf(dst, sizeof(dst), "%s/%lu", p->snaps, s->id);
	if (rename(tmp, dst)) {
		r = stt_err(-errno, "%s: cannot rename to %s: %s", tmp, dst, strerror(errno));
		goto fail_tmp;
	}
	made = true;
	if ((r = stt_ctrd_record(&p->metadb, &p->snapdb)))
		goto fail_made;

	if (fill) {
		snprintf(path, sizeof(path), "%s/fs", dst);
		w.root = path;
		w.whiteout_chardev = true;
		if ((r = fill(&w, arg)))
			goto fail_made;
	}
	if (!active) {
		unsigned long long bytes;

		snprintf(path, sizeof(path), "%s/fs", dst);
		if ((r = disk_usage(path, &bytes)) || (r = stt_ctrd_record(&p->metadb, &p->snapdb)))
			goto fail_made;
		s->committed = true;
	}
	*out = l;
	return 0;
fail_tmp:
	(void)!stt_fs_rm_tree(tmp);
fail_made:
	if (made)
		(void)!stt_fs_rm_tree(dst);
fail_free:
	free(s);
	free(l);
	return r;
}

static int ctrd_ov_layer_remove(struct stt_backend *b, struct stt_layer *l)
{
	struct ctrd_ov *p = cov(b);
	int r = stt_ctrd_record(&p->metadb, &p->snapdb);

	if (!r)
		r = remove_snap_dir(p, snap_id(l));
	if (r)
		return r;
	free(l->priv);
	free(l);
	return 0;
}

/* The snapshot's mount options; @rel: lowerdirs relative to snapshots/. */
static char *overlay_opts(struct ctrd_ov *p, struct stt_layer *l, bool rel)
{
	size_t cap = (size_t)(l->depth + 2) * (strlen(p->snaps) + 32) + 64, n;
	const char *base = rel ? "" : p->snaps, *sep = rel ? "" : "/";
	char *o = malloc(cap);

	if (!o)
		return NULL;
	n = (size_t)snprintf(o, cap, "%sworkdir=%s/%lu/work,upperdir=%s/%lu/fs,lowerdir=",
			     p->index_off ? "index=off," : "", p->snaps, snap_id(l), p->snaps,
			     snap_id(l));
	for (struct stt_layer *q = l->parent; q; q = q->parent)
		n += (size_t)snprintf(o + n, cap - n, "%s%s%s%lu/fs", q == l->parent ? "" : ":",
				      base, sep, snap_id(q));
	return o;
}

static int ctrd_ov_container_start(struct stt_backend *b, struct stt_container *c)
{
	struct ctrd_ov *p = cov(b);
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	char bundle[PATH_MAX];
	char *opts = NULL;
	int r;

	if (c->started)
		return 0;
	snprintf(bundle, sizeof(bundle), "%s/" STT_CTRD_TASK_ROOT "/%.64s", p->fs.mnt, c->id);
	if ((size_t)snprintf(c->rootfs, sizeof(c->rootfs), "%s/rootfs", bundle) >=
	    sizeof(c->rootfs))
		return stt_err(-ENAMETOOLONG, "%s: path too long", bundle);
	if ((mkdir(bundle, 0700) && errno != EEXIST) || (mkdir(c->rootfs, 0711) && errno != EEXIST))
		return stt_err(-errno, "%s: cannot create: %s", c->rootfs, strerror(errno));
	r = stt_journal_add(b->opts.journal, STT_J_MOUNT, c->rootfs, NULL, &c->mount_rec);
	if (r)
		return r;
	if (!c->layer->parent) {
		char src[PATH_MAX + 32];

		snprintf(src, sizeof(src), "%s/%lu/fs", p->snaps, snap_id(c->layer));
		if (mount(src, c->rootfs, NULL, MS_BIND | MS_REC, NULL))
			r = -errno;
	} else {
		opts = overlay_opts(p, c->layer, false);
		if (!opts) {
			r = -ENOMEM;
		} else if (strlen(opts) <= page - 1) {
			if (mount("overlay", c->rootfs, "overlay", 0, opts))
				r = -errno;
		} else {
			free(opts);
			opts = overlay_opts(p, c->layer, true);
			r = !opts ? -ENOMEM
			    : strlen(opts) > page - 1
				? -E2BIG
				: stt_backend_overlay_mount_from(p->snaps, c->rootfs, opts);
		}
	}
	free(opts);
	if (r) {
		stt_err(r, "%s: cannot mount the snapshot (%u layers): %s", c->rootfs,
			c->layer->depth, strerror(-r));
		(void)!stt_journal_undo_one(b->opts.journal, c->mount_rec);
		rmdir(c->rootfs);
		rmdir(bundle);
		return r;
	}
	c->started = true;
	return 0;
}

static int ctrd_ov_container_stop(struct stt_backend *b, struct stt_container *c)
{
	char *slash;

	(void)b;
	if (!c->started)
		return 0;
	if (umount2(c->rootfs, 0) && umount2(c->rootfs, MNT_DETACH))
		return stt_err(-errno, "%s: cannot unmount: %s", c->rootfs, strerror(errno));
	c->started = false;
	if (rmdir(c->rootfs) && errno != ENOENT)
		return stt_err(-errno, "%s: cannot remove: %s", c->rootfs, strerror(errno));
	/* The task bundle goes with the task. */
	slash = strrchr(c->rootfs, '/');
	*slash = '\0';
	rmdir(c->rootfs);
	*slash = '/';
	return stt_journal_done(b->opts.journal, c->mount_rec);
}

static int ctrd_ov_device_name(struct stt_backend *b, char *name, size_t len)
{
	const char *dev = cov(b)->fs.loopdev;

	snprintf(name, len, "%s", strncmp(dev, "/dev/", 5) ? dev : dev + 5);
	return 0;
}

static int ctrd_ov_root_dir(struct stt_backend *b, char *path, size_t len)
{
	if ((size_t)snprintf(path, len, "%s", cov(b)->fs.mnt) >= len)
		return stt_err(-ENAMETOOLONG, "%s: too long", cov(b)->fs.mnt);
	return 0;
}

const struct stt_backend_ops stt_backend_ctrd_overlay = {
    .version = STT_BACKEND_OPS_VERSION,
    .name = "containerd-overlayfs",
    .summary = "containerd's overlayfs snapshotter: snapshots/<id>/{fs,work}, bolt "
	       "metadata, overlay or bind mounts",
    .available = stt_backend_overlay_available,
    .prepare = ctrd_ov_prepare,
    .layer_create = ctrd_ov_layer_create,
    .layer_remove = ctrd_ov_layer_remove,
    .container_start = ctrd_ov_container_start,
    .container_stop = ctrd_ov_container_stop,
    .teardown = ctrd_ov_teardown,
    .device_name = ctrd_ov_device_name,
    .root_dir = ctrd_ov_root_dir,
    .snapshotter = "overlayfs",
};
