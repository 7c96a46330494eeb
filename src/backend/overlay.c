// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * overlay: Docker's overlay2 layout and mounts, on a filesystem stortune makes on its
 * target (a sparse file on a loop device, xfs by default), so that the backing filesystem
 * is known and has d_type.
 *
 * Layer <id>/: diff/ (the layer's files), link (its 26-character short name), lower
 * ("l/<short>:l/<short>..." of its parents, nearest first) and work/ (layers with a parent);
 * l/<short> -> ../<id>/diff. A container is "<id>-init" (Docker's files) and "<id>" on
 * top; start mounts <id>/merged with lowerdir/upperdir/workdir, falling back to paths
 * relative to the root (from a child that chdir()s there) when the options exceed a page.
 */
#include "backend/backend.h"

#include "base/err.h"
#include "sys/exec.h"
#include "sys/fsutil.h"
#include "sys/journal.h"
#include "sys/loop.h"
#include "sys/sysfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct overlay {
	struct stt_scratch_fs fs; /* <workdir>/overlay-<random>, its filesystem on fs.mnt */
	char root[PATH_MAX];	  /* mnt/overlay2: Docker's /var/lib/docker/overlay2 */
	bool index_off; /* the kernel knows overlay's index= option: Docker sets index=off */
};

struct ovl_layer {
	char link[STT_OVERLAY_LINK_LEN + 1];
	char *lower; /* "l/A:l/B..." or NULL for a base layer */
};

static struct overlay *ovl(struct stt_backend *b)
{
	return b->priv;
}

static bool overlay_in_kernel(void)
{
	char *fs = NULL;
	bool r;

	if (stt_sysfs_slurp("/proc/filesystems", &fs))
		return false;
	r = stt_sysfs_has_filesystem(fs, "overlay");
	free(fs);
	return r || access("/sys/module/overlay", F_OK) == 0;
}

int stt_backend_overlay_available(const struct stt_backend_opts *o, char *reason, size_t len)
{
	char mkfs[32];

	if (geteuid() != 0) {
		snprintf(reason, len, "needs root (mounts and loop devices)");
		return -EPERM;
	}
	if (!overlay_in_kernel()) {
		snprintf(reason, len, "kernel has no overlayfs (modprobe overlay)");
		return -ENODEV;
	}
	if (!stt_loop_available()) {
		snprintf(reason, len, "kernel has no loop devices (no /dev/loop-control)");
		return -ENODEV;
	}
	if (strcmp(o->fs, "xfs") && strcmp(o->fs, "ext4")) {
		snprintf(reason, len, "--fs %s: must be xfs or ext4", o->fs);
		return -EINVAL;
	}
	snprintf(mkfs, sizeof(mkfs), "mkfs.%s", o->fs);
	if (!stt_exec_found(mkfs)) {
		snprintf(reason, len, "%s not installed", mkfs);
		return -ENOENT;
	}
	return 0;
}

static int overlay_prepare(struct stt_backend *b)
{
	struct overlay *p;
	char l[PATH_MAX + 4];
	int r;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	b->priv = p;
	p->index_off = access("/sys/module/overlay/parameters/index", F_OK) == 0;
	if ((r = stt_backend_scratch_open(&b->opts, "overlay", &p->fs)))
		goto fail;
	snprintf(p->root, sizeof(p->root), "%s/overlay2", p->fs.mnt);
	snprintf(l, sizeof(l), "%s/l", p->root);
	if (mkdir(p->root, 0710) || mkdir(l, 0700)) {
		r = stt_err(-errno, "%s: cannot create: %s", p->root, strerror(errno));
		(void)stt_backend_scratch_close(&b->opts, &p->fs);
		goto fail;
	}
	return 0;
fail:
	free(p);
	b->priv = NULL;
	return r;
}

static int overlay_teardown(struct stt_backend *b)
{
	struct overlay *p = ovl(b);
	int r;

	if (!p)
		return 0;
	/* Mounts of containers not stopped are the caller's; these are ours, newest first. */
	r = stt_backend_scratch_close(&b->opts, &p->fs);
	free(p);
	b->priv = NULL;
	return r;
}

static int write_file(const char *path, const char *data)
{
	int fd, r = 0;
	size_t len = strlen(data);

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return stt_err(-errno, "%s: cannot create: %s", path, strerror(errno));
	if (write(fd, data, len) != (ssize_t)len)
		r = stt_err(-EIO, "%s: cannot write", path);
	close(fd);
	return r;
}

static void layer_free(struct stt_layer *l)
{
	struct ovl_layer *ol;

	if (!l)
		return;
	ol = l->priv;
	if (ol)
		free(ol->lower);
	free(ol);
	free(l);
}

static int remove_layer_dirs(struct overlay *p, struct stt_layer *l)
{
	struct ovl_layer *ol = l->priv;
	char path[PATH_MAX + 80];
	int r;

	snprintf(path, sizeof(path), "%s/l/%s", p->root, ol->link);
	if (unlink(path) && errno != ENOENT)
		return stt_err(-errno, "%s: cannot remove: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/%s", p->root, l->id);
	r = stt_fs_rm_tree(path);
	if (r)
		return stt_err(r, "%s: cannot remove: %s", path, strerror(-r));
	return 0;
}

static int create_layer(struct stt_backend *b, const char *id, struct stt_layer *parent,
			stt_layer_fill_fn fill, void *arg, struct stt_layer **out)
{
	struct overlay *p = ovl(b);
	char dir[PATH_MAX + 80], path[PATH_MAX + 100], target[STT_LAYER_NAME_MAX + 16];
	struct stt_layer_writer w;
	struct stt_layer *l;
	struct ovl_layer *ol;
	bool made = false;
	int r;

	if (parent && parent->depth >= STT_OVERLAY_MAX_DEPTH)
		return stt_err(-EINVAL, "overlay: a layer on %s would be %u deep; overlay2 allows %u",
			       parent->id, parent->depth + 1, STT_OVERLAY_MAX_DEPTH);
	l = calloc(1, sizeof(*l));
	ol = calloc(1, sizeof(*ol));
	if (!l || !ol) {
		free(l);
		free(ol);
		return -ENOMEM;
	}
	l->priv = ol;
	l->parent = parent;
	l->depth = parent ? parent->depth + 1 : 1;
	snprintf(l->id, sizeof(l->id), "%s", id);
	stt_backend_random_name(ol->link, STT_OVERLAY_LINK_LEN, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");

	snprintf(dir, sizeof(dir), "%s/%s", p->root, l->id);
	if (mkdir(dir, 0710)) {
		r = stt_err(-errno, "%s: cannot create: %s", dir, strerror(errno));
		goto fail;
	}
	made = true;
	snprintf(path, sizeof(path), "%s/diff", dir);
	if (mkdir(path, 0755)) {
		r = stt_err(-errno, "%s: cannot create: %s", path, strerror(errno));
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/l/%s", p->root, ol->link);
	snprintf(target, sizeof(target), "../%s/diff", l->id);
	if (symlink(target, path)) {
		r = stt_err(-errno, "%s: cannot create: %s", path, strerror(errno));
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/link", dir);
	if ((r = write_file(path, ol->link)))
		goto fail;
	if (parent) {
		struct ovl_layer *pl = parent->priv;
		size_t n = 2 + STT_OVERLAY_LINK_LEN + 1 + (pl->lower ? strlen(pl->lower) : 0) + 1;

		ol->lower = malloc(n);
		if (!ol->lower) {
			r = -ENOMEM;
			goto fail;
		}
		snprintf(ol->lower, n, "l/%s%s%s", pl->link, pl->lower ? ":" : "",
			 pl->lower ? pl->lower : "");
		snprintf(path, sizeof(path), "%s/lower", dir);
		if ((r = write_file(path, ol->lower)))
			goto fail;
		snprintf(path, sizeof(path), "%s/work", dir);
		if (mkdir(path, 0700)) {
			r = stt_err(-errno, "%s: cannot create: %s", path, strerror(errno));
			goto fail;
		}
	}
	if (fill) {
		snprintf(path, sizeof(path), "%s/diff", dir);
		w.root = path;
		w.whiteout_chardev = true;
		if ((r = fill(&w, arg)))
			goto fail;
	}
	*out = l;
	return 0;
fail:
	if (made)
		(void)!remove_layer_dirs(p, l);
	layer_free(l);
	return r;
}

static int overlay_layer_remove(struct stt_backend *b, struct stt_layer *l)
{
	int r = remove_layer_dirs(ovl(b), l);

	if (!r)
		layer_free(l);
	return r;
}

int stt_backend_overlay_mount_from(const char *dir, const char *target, const char *opts)
{
	pid_t pid;
	int st;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (chdir(dir) || mount("overlay", target, "overlay", 0, opts))
			_exit(errno & 0xff);
		_exit(0);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (!WIFEXITED(st))
		return -EINTR;
	return -WEXITSTATUS(st);
}

static int overlay_container_start(struct stt_backend *b, struct stt_container *c)
{
	struct overlay *p = ovl(b);
	struct ovl_layer *ol = c->layer->priv;
	size_t page = (size_t)sysconf(_SC_PAGESIZE), n, cap;
	char *opts = NULL, rel[STT_LAYER_NAME_MAX + 16];
	const char *idx = p->index_off ? "index=off," : "";
	int r;

	if (c->started)
		return 0;
	snprintf(c->rootfs, sizeof(c->rootfs), "%s/%s/merged", p->root, c->id);
	if (mkdir(c->rootfs, 0700) && errno != EEXIST)
		return stt_err(-errno, "%s: cannot create: %s", c->rootfs, strerror(errno));

	/* Absolute: "lowerdir=<root>/l/A:<root>/l/B,upperdir=...,workdir=..." */
	cap = strlen(ol->lower) * 2 + 4 * PATH_MAX;
	for (const char *s = ol->lower; *s; s++)
		cap += *s == ':' ? strlen(p->root) + 1 : 0;
	opts = malloc(cap);
	if (!opts)
		return -ENOMEM;
	n = (size_t)snprintf(opts, cap, "%slowerdir=", idx);
	for (const char *s = ol->lower; *s;) {
		size_t k = strcspn(s, ":");

		n += (size_t)snprintf(opts + n, cap - n, "%s%s/%.*s", s == ol->lower ? "" : ":",
				      p->root, (int)k, s);
		s += k + (s[k] == ':');
	}
	n += (size_t)snprintf(opts + n, cap - n, ",upperdir=%s/%s/diff,workdir=%s/%s/work",
			      p->root, c->id, p->root, c->id);

	r = stt_journal_add(b->opts.journal, STT_J_MOUNT, c->rootfs, NULL, &c->mount_rec);
	if (r)
		goto out;
	if (n <= page - 1) {
		if (mount("overlay", c->rootfs, "overlay", 0, opts))
			r = -errno;
	} else {
		/* Too long for one page: relative to the root, as Docker does. */
		n = (size_t)snprintf(opts, cap, "%slowerdir=%s,upperdir=%s/diff,workdir=%s/work",
				     idx, ol->lower, c->id, c->id);
		snprintf(rel, sizeof(rel), "%s/merged", c->id);
		r = n > page - 1 ? -E2BIG : stt_backend_overlay_mount_from(p->root, rel, opts);
	}
	if (r) {
		stt_err(r, "%s: cannot mount overlay (%u layers): %s", c->rootfs, c->layer->depth,
			strerror(-r));
		(void)!stt_journal_undo_one(b->opts.journal, c->mount_rec);
		rmdir(c->rootfs);
		goto out;
	}
	c->started = true;
out:
	free(opts);
	return r;
}

static int overlay_container_stop(struct stt_backend *b, struct stt_container *c)
{
	if (!c->started)
		return 0;
	if (umount2(c->rootfs, MNT_DETACH))
		return stt_err(-errno, "%s: cannot unmount: %s", c->rootfs, strerror(errno));
	c->started = false;
	if (rmdir(c->rootfs) && errno != ENOENT)
		return stt_err(-errno, "%s: cannot remove: %s", c->rootfs, strerror(errno));
	return stt_journal_done(b->opts.journal, c->mount_rec);
}

static int overlay_device_name(struct stt_backend *b, char *name, size_t len)
{
	const char *dev = ovl(b)->fs.loopdev;

	snprintf(name, len, "%s", strncmp(dev, "/dev/", 5) ? dev : dev + 5);
	return 0;
}

static int overlay_root_dir(struct stt_backend *b, char *path, size_t len)
{
	if ((size_t)snprintf(path, len, "%s", ovl(b)->fs.mnt) >= len)
		return -ENAMETOOLONG;
	return 0;
}

const struct stt_backend_ops stt_backend_overlay = {
	.version = STT_BACKEND_OPS_VERSION,
	.name = "overlay",
	.summary = "overlay2: layer directories and an overlay mount per container",
	.available = stt_backend_overlay_available,
	.prepare = overlay_prepare,
	.layer_create = create_layer,
	.layer_remove = overlay_layer_remove,
	.container_start = overlay_container_start,
	.container_stop = overlay_container_stop,
	.teardown = overlay_teardown,
	.pool_status = NULL,
	.device_name = overlay_device_name,
	.root_dir = overlay_root_dir,
};
