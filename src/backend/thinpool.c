// SPDX-License-Identifier: GPL-2.0-or-later
#include "backend/thinpool.h"

#include "sys/dm.h"
#include "base/err.h"
#include "sys/exec.h"
#include "sys/fsutil.h"
#include "sys/journal.h"
#include "sys/loop.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

/* A thin device: one per layer. */
struct tp_dev {
	unsigned int id;
	char name[160]; /* dm name while active */
	char mnt[PATH_MAX];
	bool active, mounted;
	unsigned int rec_thin, rec_dm, rec_mount;
};

int stt_thinpool_available(char *reason, size_t len)
{
	struct stt_dm_info info;

	if (geteuid() != 0) {
		snprintf(reason, len, "needs root (device-mapper)");
		return -EPERM;
	}
	stt_dm_probe(&info);
	if (!info.present) {
		snprintf(reason, len, "%s", info.reason);
		return -ENODEV;
	}
	if (!info.thin_pool) {
		snprintf(reason, len, "device-mapper has no thin-pool target (modprobe dm-thin-pool)");
		return -ENODEV;
	}
	return 0;
}

int stt_thinpool_loop_available(const struct stt_backend_opts *o, uint32_t chunk_bytes,
				char *reason, size_t len)
{
	int r = stt_thinpool_available(reason, len);

	if (r)
		return r;
	if (!stt_loop_available()) {
		snprintf(reason, len, "kernel has no loop devices (no /dev/loop-control)");
		return -ENODEV;
	}
	return stt_thinpool_opts_check(o, chunk_bytes, reason, len);
}

int stt_thinpool_loop_open(const struct stt_backend_opts *o, const char *pool, uint32_t chunk_bytes,
			   uint32_t low_water, struct stt_thinpool_loop *l)
{
	struct stt_journal *j = o->journal;
	char params[256];
	int r;

	l->rec_data = l->rec_meta = l->rec_pool = STT_JOURNAL_NONE;
	if ((r = stt_backend_sparse_file(l->data, o->data_bytes)) ||
	    (r = stt_backend_sparse_file(l->meta, o->meta_bytes)) ||
	    (r = stt_backend_attach_loop(j, l->data, o->loop_direct_io, l->datadev,
					 sizeof(l->datadev), &l->rec_data)) ||
	    (r = stt_backend_attach_loop(j, l->meta, o->loop_direct_io, l->metadev,
					 sizeof(l->metadev), &l->rec_meta)) ||
	    (r = stt_journal_add(j, STT_J_DM, pool, NULL, &l->rec_pool)))
		return r;
	snprintf(params, sizeof(params), "%s %s %u %u %s", l->metadev, l->datadev,
		 chunk_bytes / 512, low_water, o->zeroing ? "0" : "1 skip_block_zeroing");
	return stt_dm_create(pool, "thin-pool", o->data_bytes / 512, params);
}

int stt_thinpool_opts_check(const struct stt_backend_opts *o, uint32_t chunk, char *reason,
			    size_t len)
{
	char mkfs[32];

	if (strcmp(o->fs, "xfs") && strcmp(o->fs, "ext4")) {
		snprintf(reason, len, "--fs %s: must be xfs or ext4", o->fs);
		return -EINVAL;
	}
	/* dm-thin: a multiple of 64K between 64K and 1G. */
	if (chunk < (64u << 10) || chunk > (1u << 30) || chunk % (64u << 10)) {
		snprintf(reason, len, "--chunk-size %u: must be a multiple of 64K from 64K to 1G",
			 chunk);
		return -EINVAL;
	}
	snprintf(mkfs, sizeof(mkfs), "mkfs.%s", o->fs);
	if (!stt_exec_found(mkfs)) {
		snprintf(reason, len, "%s not installed", mkfs);
		return -ENOENT;
	}
	return 0;
}

int stt_thinpool_parse_status(const char *line, struct stt_pool_status *st)
{
	char mode[32] = "";
	int n;

	/* "<transaction> <used>/<total meta> <used>/<total data> <held root> <mode> ..." */
	memset(st, 0, sizeof(*st));
	n = sscanf(line, "%" SCNu64 " %" SCNu64 "/%" SCNu64 " %" SCNu64 "/%" SCNu64 " %*s %31s",
		   &st->transaction_id, &st->meta_used_blocks, &st->meta_total_blocks,
		   &st->data_used_blocks, &st->data_total_blocks, mode);
	if (n < 5) {
		if (strstr(line, "Fail"))
			return stt_err(-EIO, "thin-pool has failed (status \"%s\")", line);
		return stt_err(-EINVAL, "thin-pool status \"%s\": not understood", line);
	}
	st->out_of_data_space = !strcmp(mode, "out_of_data_space");
	st->read_only = !strcmp(mode, "ro");
	st->needs_check = strstr(line, "needs_check") != NULL;
	st->error_if_no_space = strstr(line, "error_if_no_space") != NULL;
	return 0;
}

int stt_thinpool_status(struct stt_thinpool *tp, struct stt_pool_status *st)
{
	char line[512];
	int r;

	r = stt_dm_status(tp->pool, line, sizeof(line));
	if (r)
		return r;
	return stt_thinpool_parse_status(line, st);
}

/* Refuses new work on a pool that is out of space or read-only: a message, not a hang. */
static int check_space(struct stt_thinpool *tp)
{
	struct stt_pool_status st;
	int r = stt_thinpool_status(tp, &st);

	if (r)
		return r;
	if (st.out_of_data_space || st.data_used_blocks >= st.data_total_blocks)
		return stt_err(-ENOSPC, "%s: thin pool out of data space (%" PRIu64 "/%" PRIu64
					" blocks used); use a larger pool or fewer containers",
			       tp->pool, st.data_used_blocks, st.data_total_blocks);
	if (st.meta_used_blocks >= st.meta_total_blocks)
		return stt_err(-ENOSPC, "%s: thin pool out of metadata space", tp->pool);
	if (st.read_only)
		return stt_err(-EROFS, "%s: thin pool is read-only (metadata needs repair)",
			       tp->pool);
	return 0;
}

/* "set_transaction_id old new" after every device change, as Docker does. */
static int bump_transaction(struct stt_thinpool *tp)
{
	char msg[96];
	int r;

	snprintf(msg, sizeof(msg), "set_transaction_id %" PRIu64 " %" PRIu64, tp->transaction_id,
		 tp->transaction_id + 1);
	r = stt_dm_message(tp->pool, msg);
	if (!r)
		tp->transaction_id++;
	return r;
}

/* Docker's per-device metadata file: written to a temporary name, fsync'd, renamed. */
static int write_meta(struct stt_thinpool *tp, const char *hash, const struct tp_dev *d,
		      bool deleted)
{
	char path[PATH_MAX + 200], tmp[PATH_MAX + 210], json[256];
	int fd, n, r = 0;

	snprintf(path, sizeof(path), "%s/%s", tp->metadir, hash);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	n = snprintf(json, sizeof(json),
		     "{\"device_id\":%u,\"size\":%" PRIu64 ",\"transaction_id\":%" PRIu64
		     ",\"initialized\":false,\"deleted\":%s}",
		     d->id, tp->dev_bytes, tp->transaction_id, deleted ? "true" : "false");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return stt_err(-errno, "%s: cannot create: %s", tmp, strerror(errno));
	if (write(fd, json, (size_t)n) != n || fsync(fd))
		r = stt_err(-EIO, "%s: cannot write", tmp);
	close(fd);
	if (!r && rename(tmp, path))
		r = stt_err(-errno, "%s: cannot rename: %s", tmp, strerror(errno));
	return r;
}

static struct tp_dev *dev_new(unsigned int id)
{
	struct tp_dev *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->id = id;
	d->rec_thin = d->rec_dm = d->rec_mount = STT_JOURNAL_NONE;
	return d;
}

static int create_thin(struct stt_thinpool *tp, struct tp_dev *d)
{
	char msg[64], id[16];
	int r;

	snprintf(id, sizeof(id), "%u", d->id);
	r = stt_journal_add(tp->journal, STT_J_THIN, tp->pool, id, &d->rec_thin);
	if (r)
		return r;
	snprintf(msg, sizeof(msg), "create_thin %u", d->id);
	return stt_dm_message(tp->pool, msg);
}

static int activate(struct stt_thinpool *tp, struct tp_dev *d)
{
	char params[256];
	int r;

	if (d->active)
		return 0;
	snprintf(d->name, sizeof(d->name), "%s-%u", tp->prefix, d->id);
	r = stt_journal_add(tp->journal, STT_J_DM, d->name, NULL, &d->rec_dm);
	if (r)
		return r;
	snprintf(params, sizeof(params), "/dev/mapper/%s %u", tp->pool, d->id);
	r = stt_dm_create(d->name, "thin", tp->dev_bytes / 512, params);
	if (r) {
		(void)!stt_journal_undo_one(tp->journal, d->rec_dm);
		d->rec_dm = STT_JOURNAL_NONE;
		return r;
	}
	d->active = true;
	return 0;
}

static int deactivate(struct stt_thinpool *tp, struct tp_dev *d)
{
	int r;

	if (!d->active)
		return 0;
	r = tp->deferred_removal ? stt_dm_remove_deferred(d->name) : stt_dm_remove(d->name);
	if (r)
		return r;
	d->active = false;
	r = stt_journal_done(tp->journal, d->rec_dm);
	d->rec_dm = STT_JOURNAL_NONE;
	return r;
}

static int mount_dev(struct stt_thinpool *tp, struct tp_dev *d, const char *dir)
{
	char dev[200];
	int r;

	snprintf(d->mnt, sizeof(d->mnt), "%s", dir);
	if (mkdir(d->mnt, 0700) && errno != EEXIST)
		return stt_err(-errno, "%s: cannot create: %s", d->mnt, strerror(errno));
	r = stt_journal_add(tp->journal, STT_J_MOUNT, d->mnt, NULL, &d->rec_mount);
	if (r)
		return r;
	snprintf(dev, sizeof(dev), "/dev/mapper/%s", d->name);
	/* Snapshots share the base's xfs UUID: xfs needs nouuid (Docker mounts so). */
	if (mount(dev, d->mnt, tp->fs, 0, !strcmp(tp->fs, "xfs") ? "nouuid" : "")) {
		r = stt_err(-errno, "%s: cannot mount %s on %s: %s", tp->fs, dev, d->mnt,
			    strerror(errno));
		(void)!stt_journal_undo_one(tp->journal, d->rec_mount);
		d->rec_mount = STT_JOURNAL_NONE;
		rmdir(d->mnt);
		return r;
	}
	d->mounted = true;
	return 0;
}

static int umount_dev(struct stt_thinpool *tp, struct tp_dev *d)
{
	int r;

	if (!d->mounted)
		return 0;
	if (umount2(d->mnt, 0))
		return stt_err(-errno, "%s: cannot unmount: %s", d->mnt, strerror(errno));
	d->mounted = false;
	rmdir(d->mnt);
	r = stt_journal_done(tp->journal, d->rec_mount);
	d->rec_mount = STT_JOURNAL_NONE;
	return r;
}

int stt_thinpool_discard(const char *name, uint64_t bytes)
{
	char dev[220];
	uint64_t range[2] = { 0, bytes };
	int fd, r = 0;

	snprintf(dev, sizeof(dev), "/dev/mapper/%s", name);
	fd = open(dev, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return stt_err(-errno, "%s: cannot open: %s", dev, strerror(errno));
	if (ioctl(fd, BLKDISCARD, range) && errno != EOPNOTSUPP)
		r = stt_err(-errno, "%s: BLKDISCARD: %s", dev, strerror(errno));
	close(fd);
	return r;
}

static int delete_dev(struct stt_thinpool *tp, struct tp_dev *d, const char *hash)
{
	char msg[64];
	int r;

	if ((r = umount_dev(tp, d)))
		return r;
	if (tp->blkdiscard) {
		if ((r = activate(tp, d)) || (r = stt_thinpool_discard(d->name, tp->dev_bytes)))
			return r;
	}
	if ((r = deactivate(tp, d)))
		return r;
	pthread_mutex_lock(&tp->lock);
	snprintf(msg, sizeof(msg), "delete %u", d->id);
	r = stt_dm_message(tp->pool, msg);
	if (!r)
		r = bump_transaction(tp);
	pthread_mutex_unlock(&tp->lock);
	if (r)
		return r;
	if (hash) {
		char path[PATH_MAX + 200];

		snprintf(path, sizeof(path), "%s/%s", tp->metadir, hash);
		unlink(path);
	}
	return stt_journal_done(tp->journal, d->rec_thin);
}

static int mkfs_dev(struct stt_thinpool *tp, struct tp_dev *d)
{
	/* No discard at mkfs: the device is fresh (Docker passes the same). */
	static const char *const xfs[] = { "-K", NULL };
	static const char *const ext4[] = { "-E", "nodiscard,lazy_itable_init=0,lazy_journal_init=0",
					    NULL };
	char dev[200];

	snprintf(dev, sizeof(dev), "/dev/mapper/%s", d->name);
	return stt_backend_mkfs(tp->fs, dev, !strcmp(tp->fs, "xfs") ? xfs : ext4);
}

static void configure(struct stt_thinpool *tp, const struct stt_backend_opts *o,
		      const char *rundir, bool blkdiscard_default)
{
	snprintf(tp->mntdir, sizeof(tp->mntdir), "%s/mnt", rundir);
	snprintf(tp->metadir, sizeof(tp->metadir), "%s/metadata", rundir);
	tp->fs = o->fs;
	tp->dev_bytes = o->base_bytes;
	tp->deferred_removal = o->deferred_removal;
	tp->deferred_deletion = o->deferred_deletion;
	tp->blkdiscard = o->blkdiscard < 0 ? blkdiscard_default : o->blkdiscard != 0;
	tp->journal = o->journal;
}

int stt_thinpool_init(struct stt_thinpool *tp, const struct stt_backend_opts *o,
		      const char *rundir, bool blkdiscard_default)
{
	struct stt_pool_status st;
	struct tp_dev *base;
	int r;

	configure(tp, o, rundir, blkdiscard_default);
	tp->users_rec = STT_JOURNAL_NONE;
	pthread_mutex_init(&tp->lock, NULL);
	if ((r = stt_fs_mkdir_p(tp->mntdir, 0700)) || (r = stt_fs_mkdir_p(tp->metadir, 0700)))
		return stt_err(r, "%s: cannot create: %s", tp->mntdir, strerror(-r));
	r = stt_thinpool_status(tp, &st);
	if (r)
		return r;
	tp->transaction_id = st.transaction_id;
	tp->next_id = 1;
	if (o->engine_pool) {
		/*
		 * Docker takes an empty pool only (transaction id 0, no data used), and its
		 * active thin devices must go before the pool when it is killed.
		 */
		if (st.transaction_id || st.data_used_blocks)
			return stt_err(-EBUSY,
				       "%s: not empty (transaction id %llu, %llu data blocks used); "
				       "a real engine takes an empty pool only",
				       tp->pool, (unsigned long long)st.transaction_id,
				       (unsigned long long)st.data_used_blocks);
		return stt_journal_add(tp->journal, STT_J_THINUSERS, tp->pool, NULL,
				       &tp->users_rec);
	}

	base = dev_new(tp->next_id++);
	if (!base)
		return -ENOMEM;
	r = create_thin(tp, base);
	if (!r)
		r = bump_transaction(tp);
	if (!r)
		r = write_meta(tp, "base", base, false);
	if (!r)
		r = activate(tp, base);
	if (!r)
		r = mkfs_dev(tp, base);
	if (!r)
		r = deactivate(tp, base);
	if (r) {
		(void)!stt_journal_undo_one(tp->journal, base->rec_dm);
		(void)!stt_journal_undo_one(tp->journal, base->rec_thin);
		free(base);
		return r;
	}
	tp->base_id = base->id;
	tp->base_rec = base->rec_thin;
	free(base);
	return 0;
}

__attribute__((format(printf, 2, 3))) static void add_opt(struct stt_backend_engine *e,
							  const char *fmt, ...)
{
	va_list ap;

	if (e->n_opts == STT_ENGINE_MAX_OPTS)
		return;
	va_start(ap, fmt);
	vsnprintf(e->opts[e->n_opts++], sizeof(e->opts[0]), fmt, ap);
	va_end(ap);
}

static const char *yes(bool v)
{
	return v ? "true" : "false";
}

void stt_thinpool_engine_config(const struct stt_thinpool *tp, const char *rundir,
				struct stt_backend_engine *e)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->driver, sizeof(e->driver), "devicemapper");
	snprintf(e->dir, sizeof(e->dir), "%s", rundir);
	add_opt(e, "dm.thinpooldev=/dev/mapper/%s", tp->pool);
	add_opt(e, "dm.fs=%s", tp->fs);
	add_opt(e, "dm.basesize=%llu", (unsigned long long)tp->dev_bytes);
	add_opt(e, "dm.blkdiscard=%s", yes(tp->blkdiscard));
	add_opt(e, "dm.use_deferred_removal=%s", yes(tp->deferred_removal));
	add_opt(e, "dm.use_deferred_deletion=%s", yes(tp->deferred_deletion));
}

int stt_thinpool_release(struct stt_thinpool *tp)
{
	struct tp_dev base = { .id = tp->base_id };

	if (!tp->base_id) /* an engine's pool: what it left active goes */
		return stt_journal_undo_one(tp->journal, tp->users_rec);
	base.rec_thin = tp->base_rec;
	base.rec_dm = base.rec_mount = STT_JOURNAL_NONE;
	tp->blkdiscard = false;
	return delete_dev(tp, &base, "base");
}

static unsigned int origin_of(struct stt_thinpool *tp, struct stt_layer *parent)
{
	return parent ? ((struct tp_dev *)parent->priv)->id : tp->base_id;
}

static int snapshot(struct stt_thinpool *tp, struct tp_dev *d, struct stt_layer *parent)
{
	struct tp_dev *origin = parent ? parent->priv : NULL;
	char msg[96], id[16];
	int r, r2;

	snprintf(id, sizeof(id), "%u", d->id);
	r = stt_journal_add(tp->journal, STT_J_THIN, tp->pool, id, &d->rec_thin);
	if (r)
		return r;
	pthread_mutex_lock(&tp->lock);
	/* An active origin is suspended around the snapshot, so that it is consistent. */
	if (origin && origin->active && (r = stt_dm_suspend(origin->name)))
		goto out;
	snprintf(msg, sizeof(msg), "create_snap %u %u", d->id, origin_of(tp, parent));
	r = stt_dm_message(tp->pool, msg);
	if (origin && origin->active && (r2 = stt_dm_resume(origin->name)) && !r)
		r = r2;
	if (!r)
		r = bump_transaction(tp);
out:
	pthread_mutex_unlock(&tp->lock);
	return r;
}

static void dev_abort(struct stt_thinpool *tp, struct tp_dev *d)
{
	/* Newest first: mount, dm device, thin id. */
	if (!stt_journal_undo_one(tp->journal, d->rec_mount) &&
	    !stt_journal_undo_one(tp->journal, d->rec_dm))
		(void)!stt_journal_undo_one(tp->journal, d->rec_thin);
}

int stt_thinpool_layer_create(struct stt_thinpool *tp, const char *id, struct stt_layer *parent,
			      stt_layer_fill_fn fill, void *arg, struct stt_layer **out)
{
	char dir[PATH_MAX + 100], rootfs[PATH_MAX + 110], why[1024];
	struct stt_layer_writer w;
	struct stt_layer *l;
	struct tp_dev *d;
	int r;

	if ((r = check_space(tp)))
		return r;
	l = calloc(1, sizeof(*l));
	pthread_mutex_lock(&tp->lock);
	d = l ? dev_new(tp->next_id++) : NULL;
	pthread_mutex_unlock(&tp->lock);
	if (!d) {
		free(l);
		return -ENOMEM;
	}
	snprintf(l->id, sizeof(l->id), "%s", id);
	l->parent = parent;
	l->depth = parent ? parent->depth + 1 : 1;
	l->priv = d;

	if ((r = snapshot(tp, d, parent)) || (r = write_meta(tp, l->id, d, false)))
		goto fail;
	if (fill || !parent) {
		/* Docker mounts a layer to write into it; the rootfs/ directory holds the files. */
		snprintf(dir, sizeof(dir), "%s/%s", tp->mntdir, l->id);
		snprintf(rootfs, sizeof(rootfs), "%s/rootfs", dir);
		if ((r = activate(tp, d)) || (r = mount_dev(tp, d, dir)))
			goto fail;
		if (mkdir(rootfs, 0755) && errno != EEXIST) {
			r = stt_err(-errno, "%s: cannot create: %s", rootfs, strerror(errno));
			goto fail;
		}
		w.root = rootfs;
		w.whiteout_chardev = false;
		if (fill && (r = fill(&w, arg)))
			goto fail;
		if ((r = umount_dev(tp, d)) || (r = deactivate(tp, d)))
			goto fail;
	}
	*out = l;
	return 0;
fail:
	/* the undo runs dm operations, which set messages of their own: keep the cause */
	snprintf(why, sizeof(why), "%s", stt_err_msg());
	dev_abort(tp, d);
	free(d);
	free(l);
	return stt_err(r, "%s", why);
}

int stt_thinpool_layer_remove(struct stt_thinpool *tp, struct stt_layer *l)
{
	int r = delete_dev(tp, l->priv, l->id);

	if (r)
		return r;
	free(l->priv);
	free(l);
	return 0;
}

int stt_thinpool_container_start(struct stt_thinpool *tp, struct stt_container *c)
{
	struct tp_dev *d = c->layer->priv;
	char dir[PATH_MAX + 100];
	int r;

	if (c->started)
		return 0;
	snprintf(dir, sizeof(dir), "%s/%s", tp->mntdir, c->id);
	if ((r = activate(tp, d)))
		return r;
	if ((r = mount_dev(tp, d, dir))) {
		(void)!deactivate(tp, d);
		return r;
	}
	snprintf(c->rootfs, sizeof(c->rootfs), "%s/rootfs", dir);
	c->started = true;
	return 0;
}

int stt_thinpool_container_stop(struct stt_thinpool *tp, struct stt_container *c)
{
	struct tp_dev *d = c->layer->priv;
	int r;

	if (!c->started)
		return 0;
	if ((r = umount_dev(tp, d)) || (r = deactivate(tp, d)))
		return r;
	c->started = false;
	return 0;
}

/* Backend ops: the backend's priv starts with its struct stt_thinpool. */

static struct stt_thinpool *tp_of(struct stt_backend *b)
{
	return b->priv;
}

int stt_thinpool_op_layer_create(struct stt_backend *b, const char *id, struct stt_layer *parent,
				 stt_layer_fill_fn fill, void *arg, struct stt_layer **out)
{
	return stt_thinpool_layer_create(tp_of(b), id, parent, fill, arg, out);
}

int stt_thinpool_op_layer_remove(struct stt_backend *b, struct stt_layer *l)
{
	return stt_thinpool_layer_remove(tp_of(b), l);
}

int stt_thinpool_op_container_start(struct stt_backend *b, struct stt_container *c)
{
	return stt_thinpool_container_start(tp_of(b), c);
}

int stt_thinpool_op_container_stop(struct stt_backend *b, struct stt_container *c)
{
	return stt_thinpool_container_stop(tp_of(b), c);
}

int stt_thinpool_op_scratch_open(struct stt_backend *b, char *path, size_t len, uint64_t *bytes)
{
	struct stt_thinpool *tp = tp_of(b);
	struct tp_dev *d;
	int r;

	if (tp->scratch)
		return stt_err(-EBUSY, "%s: scratch device already open", tp->pool);
	pthread_mutex_lock(&tp->lock);
	d = dev_new(tp->next_id++);
	pthread_mutex_unlock(&tp->lock);
	if (!d)
		return -ENOMEM;
	pthread_mutex_lock(&tp->lock);
	r = create_thin(tp, d);
	if (!r)
		r = bump_transaction(tp);
	pthread_mutex_unlock(&tp->lock);
	if (!r)
		r = activate(tp, d);
	if (r) {
		dev_abort(tp, d);
		free(d);
		return r;
	}
	tp->scratch = d;
	snprintf(path, len, "/dev/mapper/%s", d->name);
	*bytes = tp->dev_bytes;
	return 0;
}

int stt_thinpool_op_scratch_close(struct stt_backend *b)
{
	struct stt_thinpool *tp = tp_of(b);
	int r;

	if (!tp->scratch)
		return 0;
	r = delete_dev(tp, tp->scratch, NULL);
	if (!r) {
		free(tp->scratch);
		tp->scratch = NULL;
	}
	return r;
}
