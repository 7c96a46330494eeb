// SPDX-License-Identifier: GPL-2.0-or-later
#include "backend/backend.h"

#include "base/err.h"
#include "sys/exec.h"
#include "sys/journal.h"
#include "sys/loop.h"
#include "sys/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

const struct stt_backend_ops *const stt_backends[] = {
	&stt_backend_overlay,
	&stt_backend_dmloop,
	&stt_backend_directlvm,
	&stt_backend_ctrd_overlay,
	&stt_backend_ctrd_devmapper,
	NULL,
};

void stt_backend_opts_init(struct stt_backend_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->workdir = "/var/tmp/stortune";
	o->fs = "xfs";
	o->scratch_bytes = 20ull << 30;
	o->data_bytes = 100ull << 30;
	o->meta_bytes = 2ull << 30;
	o->base_bytes = 10ull << 30;
	o->blkdiscard = -1;
}

const struct stt_backend_ops *stt_backend_lookup(const char *name)
{
	for (const struct stt_backend_ops *const *b = stt_backends; *b; b++)
		if (!strcmp((*b)->name, name))
			return *b;
	return NULL;
}

const char *stt_backend_fs(const struct stt_backend_ops *ops, const struct stt_backend_opts *o)
{
	return o->fs_given || !ops->default_fs ? o->fs : ops->default_fs;
}

int stt_backend_open(const char *name, const struct stt_backend_opts *o,
		     struct stt_backend **out)
{
	const struct stt_backend_ops *ops = stt_backend_lookup(name);
	struct stt_backend *b;
	char reason[256];
	int r;

	if (!ops)
		return stt_err(-EINVAL, "%s: no such backend", name);
	if (ops->version != STT_BACKEND_OPS_VERSION)
		return stt_err(-EINVAL, "%s: ops version %u, expected %u", name, ops->version,
			       STT_BACKEND_OPS_VERSION);
	if (!o->journal)
		return stt_err(-EINVAL, "%s: no journal", name);
	reason[0] = '\0';
	r = ops->available ? ops->available(o, reason, sizeof(reason)) : 0;
	if (r)
		return stt_err(r, "%s: unavailable: %s", name, reason);
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->ops = ops;
	b->opts = *o;
	r = ops->prepare ? ops->prepare(b) : 0;
	if (r) {
		free(b);
		return r;
	}
	*out = b;
	return 0;
}

int stt_backend_close(struct stt_backend *b)
{
	int r = 0;

	if (!b)
		return 0;
	if (b->ops->teardown)
		r = b->ops->teardown(b);
	free(b);
	return r;
}

void stt_backend_abandon(struct stt_backend *b)
{
	if (!b)
		return;
	free(b->priv);
	free(b);
}

#define CALL(b, op, ...)                                                                           \
	((b)->ops->op ? (b)->ops->op((b), __VA_ARGS__)                                             \
		      : stt_err(-EOPNOTSUPP, "%s: " #op " not supported", (b)->ops->name))

int stt_backend_layer_create(struct stt_backend *b, struct stt_layer *parent,
			     stt_layer_fill_fn fill, void *arg, struct stt_layer **out)
{
	char id[STT_LAYER_ID_LEN + 1];

	stt_backend_random_id(id);
	return CALL(b, layer_create, id, parent, fill, arg, out);
}

int stt_backend_layer_remove(struct stt_backend *b, struct stt_layer *l)
{
	return CALL(b, layer_remove, l);
}

int stt_backend_container_create(struct stt_backend *b, struct stt_layer *image,
				 struct stt_container **out)
{
	char init_id[STT_LAYER_NAME_MAX];
	struct stt_container *c;
	int r;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	stt_backend_random_id(c->id);
	snprintf(init_id, sizeof(init_id), "%s-init", c->id);
	r = CALL(b, layer_create, init_id, image, stt_backend_fill_init, NULL, &c->init);
	if (r)
		goto fail;
	r = CALL(b, layer_create, c->id, c->init, NULL, NULL, &c->layer);
	if (r) {
		(void)!stt_backend_layer_remove(b, c->init);
		goto fail;
	}
	*out = c;
	return 0;
fail:
	free(c);
	return r;
}

int stt_backend_container_start(struct stt_backend *b, struct stt_container *c)
{
	return CALL(b, container_start, c);
}

int stt_backend_container_stop(struct stt_backend *b, struct stt_container *c)
{
	return CALL(b, container_stop, c);
}

int stt_backend_container_remove(struct stt_backend *b, struct stt_container *c)
{
	int r;

	if ((r = stt_backend_container_stop(b, c)))
		return r;
	if ((r = stt_backend_layer_remove(b, c->layer)))
		return r;
	c->layer = NULL;
	if ((r = stt_backend_layer_remove(b, c->init)))
		return r;
	free(c);
	return 0;
}

int stt_backend_pool_status(struct stt_backend *b, struct stt_pool_status *st)
{
	return CALL(b, pool_status, st);
}

void stt_backend_random_id(char out[STT_LAYER_ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[STT_LAYER_ID_LEN / 2];

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		for (size_t i = 0; i < sizeof(raw); i++)
			raw[i] = (unsigned char)rand();
	for (size_t i = 0; i < sizeof(raw); i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[STT_LAYER_ID_LEN] = '\0';
}

void stt_backend_random_name(char *out, size_t n, const char *alphabet)
{
	unsigned char raw[64];
	size_t k = strlen(alphabet);

	if (n > sizeof(raw))
		n = sizeof(raw);
	if (getrandom(raw, n, 0) != (ssize_t)n)
		for (size_t i = 0; i < n; i++)
			raw[i] = (unsigned char)rand();
	for (size_t i = 0; i < n; i++)
		out[i] = alphabet[raw[i] % k];
	out[n] = '\0';
}

int stt_backend_sparse_file(const char *path, uint64_t bytes)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0 || ftruncate(fd, (off_t)bytes)) {
		int r = -errno;

		if (fd >= 0)
			close(fd);
		return stt_err(r, "%s: cannot create a sparse file of %llu bytes: %s", path,
			       (unsigned long long)bytes, strerror(-r));
	}
	close(fd);
	return 0;
}

int stt_backend_attach_loop(struct stt_journal *j, const char *file, bool direct_io, char *dev,
			    size_t len, unsigned int *rec)
{
	int fd, r;

	r = stt_journal_add(j, STT_J_LOOP, file, NULL, rec);
	if (r)
		return r;
	fd = stt_loop_attach(file, direct_io ? STT_LOOP_DIRECT_IO : 0, dev, len);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

int stt_backend_undo(struct stt_journal *j, const unsigned int *recs, size_t n)
{
	int r;

	/* Newest first; stop at the first failure so nothing is pulled from under another. */
	for (size_t i = n; i-- > 0;)
		if ((r = stt_journal_undo_one(j, recs[i])))
			return r;
	return 0;
}

int stt_backend_mkfs(const char *fs, const char *target, const char *const *extra)
{
	const char *argv[16];
	char out[2048], prog[32];
	int n = 0, st, r;

	snprintf(prog, sizeof(prog), "mkfs.%s", fs);
	argv[n++] = prog;
	argv[n++] = "-q";
	argv[n++] = !strcmp(fs, "xfs") ? "-f" : "-F";
	for (; extra && *extra && n < 14; extra++)
		argv[n++] = *extra;
	argv[n++] = target;
	argv[n] = NULL;
	r = stt_exec_capture(argv, out, sizeof(out), &st);
	if (r)
		return stt_err(r, "%s: cannot run: %s", prog, strerror(-r));
	if (st)
		return stt_err(-EIO, "%s %s failed (exit %d): %s", prog, target, st, out);
	return 0;
}

/* The layer writer */

static int full_path(struct stt_layer_writer *w, const char *path, char *buf, size_t len)
{
	while (*path == '/')
		path++;
	if (!*path || strstr(path, "..") == path || strstr(path, "/../"))
		return stt_err(-EINVAL, "%s: not a path inside the layer", path);
	if ((size_t)snprintf(buf, len, "%s/%s", w->root, path) >= len)
		return stt_err(-ENAMETOOLONG, "%s/%s: path too long", w->root, path);
	return 0;
}

int stt_layer_mkdir(struct stt_layer_writer *w, const char *path, unsigned int mode)
{
	char p[PATH_MAX];
	int r = full_path(w, path, p, sizeof(p));

	if (r)
		return r;
	if (mkdir(p, mode) && errno != EEXIST)
		return stt_err(-errno, "%s: cannot create: %s", p, strerror(errno));
	return 0;
}

int stt_layer_write(struct stt_layer_writer *w, const char *path, const void *data, size_t len,
		    unsigned int mode)
{
	char p[PATH_MAX];
	size_t off = 0;
	int fd, r;

	r = full_path(w, path, p, sizeof(p));
	if (r)
		return r;
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return stt_err(-errno, "%s: cannot create: %s", p, strerror(errno));
	while (off < len) {
		ssize_t n = write(fd, (const char *)data + off, len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = stt_err(-errno, "%s: cannot write: %s", p, strerror(errno));
			break;
		}
		off += (size_t)n;
	}
	if (close(fd) && !r)
		r = stt_err(-errno, "%s: cannot write: %s", p, strerror(errno));
	return r;
}

int stt_layer_symlink(struct stt_layer_writer *w, const char *target, const char *path)
{
	char p[PATH_MAX];
	int r = full_path(w, path, p, sizeof(p));

	if (r)
		return r;
	unlink(p);
	if (symlink(target, p))
		return stt_err(-errno, "%s: cannot create symlink: %s", p, strerror(errno));
	return 0;
}

int stt_layer_delete(struct stt_layer_writer *w, const char *path)
{
	char p[PATH_MAX];
	int r = full_path(w, path, p, sizeof(p));

	if (r)
		return r;
	if (w->whiteout_chardev) {
		/*
		 * overlayfs's whiteout: a character device 0/0 named as the deleted entry; its
		 * parent directories are made in this layer (they merge with the lower ones).
		 */
		char *slash = strrchr(p, '/');

		*slash = '\0';
		r = stt_fs_mkdir_p(p, 0755);
		*slash = '/';
		if (r)
			return stt_err(r, "%s: cannot create its directory: %s", p, strerror(-r));
		r = stt_fs_rm_tree(p);
		if (r)
			return stt_err(r, "%s: cannot replace: %s", p, strerror(-r));
		if (mknod(p, S_IFCHR | 0, makedev(0, 0)))
			return stt_err(-errno, "%s: cannot make whiteout: %s", p, strerror(errno));
		return 0;
	}
	r = stt_fs_rm_tree(p);
	if (r)
		return stt_err(r, "%s: cannot remove: %s", p, strerror(-r));
	return 0;
}

/* Docker's init layer (daemon/initlayer): the mount points and files every container has. */
int stt_backend_fill_init(struct stt_layer_writer *w, void *arg)
{
	static const char *const dirs[] = { "dev", "dev/pts", "dev/shm", "proc", "sys", "etc" };
	static const char *const files[] = { ".dockerenv", "etc/resolv.conf", "etc/hosts",
					     "etc/hostname", "dev/console" };
	int r;

	(void)arg;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if ((r = stt_layer_mkdir(w, dirs[i], 0755)))
			return r;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if ((r = stt_layer_write(w, files[i], "", 0, 0755)))
			return r;
	return stt_layer_symlink(w, "/proc/mounts", "etc/mtab");
}

int stt_backend_scratch_open(const struct stt_backend_opts *o, const char *prefix,
			     struct stt_scratch_fs *s)
{
	static const char *const xfs_ftype[] = { "-n", "ftype=1", NULL };
	const char *const *ftype = !strcmp(o->fs, "xfs") ? xfs_ftype : NULL;
	struct stt_journal *j = o->journal;
	char suffix[12];
	int r;

	s->rec_dir = s->rec_loop = s->rec_mount = STT_JOURNAL_NONE;
	if ((r = stt_fs_own_dir(o->workdir, 0700)))
		return r;
	stt_backend_random_name(suffix, 8, "abcdefghijklmnopqrstuvwxyz0123456789");
	snprintf(s->rundir, sizeof(s->rundir), "%s/%s-%s", o->workdir, prefix, suffix);
	snprintf(s->img, sizeof(s->img), "%s/backing.img", s->rundir);
	snprintf(s->mnt, sizeof(s->mnt), "%s/mnt", s->rundir);

	if ((r = stt_journal_add(j, STT_J_DIR, s->rundir, NULL, &s->rec_dir)))
		goto fail;
	if (mkdir(s->rundir, 0700) || mkdir(s->mnt, 0700)) {
		r = stt_err(-errno, "%s: cannot create: %s", s->rundir, strerror(errno));
		goto fail;
	}
	if ((r = stt_backend_sparse_file(s->img, o->scratch_bytes)) ||
	    (r = stt_backend_mkfs(o->fs, s->img, ftype)) ||
	    (r = stt_backend_attach_loop(j, s->img, o->loop_direct_io, s->loopdev,
					 sizeof(s->loopdev), &s->rec_loop)))
		goto fail;
	if ((r = stt_journal_add(j, STT_J_MOUNT, s->mnt, NULL, &s->rec_mount)))
		goto fail;
	if (mount(s->loopdev, s->mnt, o->fs, 0, "")) {
		r = stt_err(-errno, "%s: cannot mount %s on %s: %s", o->fs, s->loopdev, s->mnt,
			    strerror(errno));
		goto fail;
	}
	return 0;
fail:
	(void)stt_backend_scratch_close(o, s);
	return r;
}

int stt_backend_scratch_close(const struct stt_backend_opts *o, struct stt_scratch_fs *s)
{
	unsigned int *const recs[] = { &s->rec_dir, &s->rec_loop, &s->rec_mount };
	int r = 0;

	/* newest first; stop at the first failure so nothing is pulled from under another */
	for (size_t i = sizeof(recs) / sizeof(recs[0]); !r && i-- > 0;)
		if (!(r = stt_journal_undo_one(o->journal, *recs[i])))
			*recs[i] = STT_JOURNAL_NONE;
	return r;
}
