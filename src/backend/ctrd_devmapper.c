// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * containerd-devmapper: what containerd's devmapper snapshotter (containerd 1.6/1.7,
 * snapshots/devmapper/{snapshotter,pool_device,config}.go) does for an image and its
 * containers, as Docker 29's containerd image store drives it ("<id>-init" prepared, filled
 * and committed, "<id>" prepared on it). The pool is made as containerd's documentation
 * makes one for testing: sparse data and metadata files on loop devices and
 * "thin-pool <meta> <data> <block> 32768" (block 64K unless --chunk-size; zeroing as
 * --zeroing, off by default as the other backends).
 *
 * Differences from Docker's devicemapper driver (src/backend/thinpool.c) that this follows:
 * - no shared base device: every snapshot without a parent is a new thin device
 *   (create_thin, activate) with its own mkfs (fs_type: ext4 by default, as containerd's, with
 *   -E nodiscard,lazy_itable_init=0,lazy_journal_init=0; plain mkfs.xfs with --fs xfs); a snapshot with a parent is create_snap of the
 *   parent's device (suspended and resumed around it when loaded), then activated;
 * - no set_transaction_id: the pool's own bolt store (<root>/<pool>.db) records every
 *   device: a write transaction when it is added, two per state change (the state being
 *   tried, then the state reached: Creating/Created, Activating/Activated, Suspending/...,
 *   Deactivating/Deactivated, Removing/Removed) and one when it is removed; the
 *   snapshotter's metadata.db and containerd's meta.db get one each per prepare, commit and
 *   remove (src/backend/boltsim.c);
 * - every prepared snapshot is mounted once, to remove lost+found, and unmounted;
 * - commit reads the device's usage (its status), suspends, resumes and deactivates it
 *   (deferred): committed snapshots are not active;
 * - remove deactivates a loaded device with a discard of it first when discard_blocks is
 *   set (containerd runs blkdiscard; this issues the same BLKDISCARD) -- so only active
 *   snapshots (containers') are discarded -- then "delete <id>".
 * Device names are "<pool>-snap-<n>"; thin ids count from 1.
 */
#include "backend/backend.h"
#include "backend/boltsim.h"
#include "backend/thinpool.h"

#include "base/err.h"
#include "sys/dm.h"
#include "sys/fsutil.h"
#include "sys/journal.h"
#include "sys/loop.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define CTRD_CHUNK_BYTES (64u << 10) /* data_block_size 128 sectors in containerd's docs */
#define CTRD_LOW_WATER	 32768u
#define SNAP_ROOT	 "io.containerd.snapshotter.v1.devmapper"

struct ctrd_dm {
	struct stt_thinpool tp; /* first: pool name and status through thinpool.c */
	char rundir[PATH_MAX];
	char mnt[PATH_MAX + 8], root[PATH_MAX + 64];
	struct stt_thinpool_loop lp; /* its data and metadata files, loop devices and pool */
	unsigned int rec_dir;
	bool discard_blocks;
	struct stt_boltsim pooldb, snapdb, metadb;
	atomic_uint next_id;
	pthread_mutex_t lock; /* pool messages, one at a time */
	struct dm_snap *scratch;
};

struct dm_snap {
	unsigned int id;
	char name[192];
	bool active;
	unsigned int rec_thin, rec_dm;
};

static struct ctrd_dm *cdm(struct stt_backend *b)
{
	return b->priv;
}

static uint32_t chunk_of(const struct stt_backend_opts *o)
{
	return o->chunk_bytes ? o->chunk_bytes : CTRD_CHUNK_BYTES;
}

static int ctrd_dm_available(const struct stt_backend_opts *o, char *reason, size_t len)
{
	struct stt_backend_opts fo = *o;

	fo.fs = stt_backend_fs(&stt_backend_ctrd_devmapper, o);
	return stt_thinpool_loop_available(&fo, chunk_of(o), reason, len);
}

/* A state change of the pool's store: the state tried, the operation, the state reached. */
static int transition(struct ctrd_dm *p, int (*op)(void *), void *arg)
{
	int r = stt_boltsim_update(&p->pooldb), e;

	if (r)
		return r;
	e = op(arg);
	r = stt_boltsim_update(&p->pooldb); /* the new state, or the error recorded */
	return e ? e : r;
}

struct msg_arg {
	struct ctrd_dm *p;
	char msg[96];
};

static int send_msg(void *a)
{
	struct msg_arg *m = a;
	int r;

	pthread_mutex_lock(&m->p->lock);
	r = stt_dm_message(m->p->tp.pool, m->msg);
	pthread_mutex_unlock(&m->p->lock);
	return r;
}

struct dev_arg {
	struct ctrd_dm *p;
	struct dm_snap *s;
};

static int do_activate(void *a)
{
	struct dev_arg *d = a;
	char params[256];
	int r;

	r = stt_journal_add(d->p->tp.journal, STT_J_DM, d->s->name, NULL, &d->s->rec_dm);
	if (r)
		return r;
	snprintf(params, sizeof(params), "/dev/mapper/%s %u", d->p->tp.pool, d->s->id);
	r = stt_dm_create(d->s->name, "thin", d->p->tp.dev_bytes / 512, params);
	if (r) {
		(void)!stt_journal_undo_one(d->p->tp.journal, d->s->rec_dm);
		d->s->rec_dm = STT_JOURNAL_NONE;
		return r;
	}
	d->s->active = true;
	return 0;
}

static int do_suspend(void *a)
{
	return stt_dm_suspend(((struct dev_arg *)a)->s->name);
}

static int do_resume(void *a)
{
	return stt_dm_resume(((struct dev_arg *)a)->s->name);
}

struct deact_arg {
	struct ctrd_dm *p;
	struct dm_snap *s;
	bool deferred;
};

static int do_deactivate(void *a)
{
	struct deact_arg *d = a;
	int r;

	if (!d->deferred && d->p->discard_blocks && (r = stt_thinpool_discard(d->s->name, d->p->tp.dev_bytes)))
		return r;
	r = d->deferred ? stt_dm_remove_deferred(d->s->name) : stt_dm_remove(d->s->name);
	if (r)
		return r;
	d->s->active = false;
	r = stt_journal_done(d->p->tp.journal, d->s->rec_dm);
	d->s->rec_dm = STT_JOURNAL_NONE;
	return r;
}

static int activate(struct ctrd_dm *p, struct dm_snap *s)
{
	struct dev_arg a = {p, s};

	return transition(p, do_activate, &a);
}

static int deactivate(struct ctrd_dm *p, struct dm_snap *s, bool deferred)
{
	struct deact_arg a = {p, s, deferred};

	if (!s->active) /* DeactivateDevice: nothing when the device is not loaded */
		return 0;
	return transition(p, do_deactivate, &a);
}

static struct dm_snap *snap_new(struct ctrd_dm *p)
{
	struct dm_snap *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->id = atomic_fetch_add(&p->next_id, 1);
	s->rec_thin = s->rec_dm = STT_JOURNAL_NONE;
	snprintf(s->name, sizeof(s->name), "%s-snap-%u", p->tp.pool, s->id);
	return s;
}

/* AddDevice, then create_thin or create_snap (a transition), journalled first. */
static int create_device(struct ctrd_dm *p, struct dm_snap *s, struct dm_snap *origin)
{
	struct msg_arg m = {.p = p};
	char id[16];
	int r;

	if ((r = stt_boltsim_update(&p->pooldb)))
		return r;
	snprintf(id, sizeof(id), "%u", s->id);
	if ((r = stt_journal_add(p->tp.journal, STT_J_THIN, p->tp.pool, id, &s->rec_thin)))
		return r;
	if (origin)
		snprintf(m.msg, sizeof(m.msg), "create_snap %u %u", s->id, origin->id);
	else
		snprintf(m.msg, sizeof(m.msg), "create_thin %u", s->id);
	return transition(p, send_msg, &m);
}

/* RemoveDevice: deactivate (discard first when set), delete, forget. */
static int remove_device(struct ctrd_dm *p, struct dm_snap *s)
{
	struct msg_arg m = {.p = p};
	int r;

	if ((r = deactivate(p, s, false)))
		return r;
	snprintf(m.msg, sizeof(m.msg), "delete %u", s->id);
	if ((r = transition(p, send_msg, &m)) || (r = stt_boltsim_update(&p->pooldb)))
		return r;
	return stt_journal_done(p->tp.journal, s->rec_thin);
}

static int suspend_resume(struct ctrd_dm *p, struct dm_snap *s, bool suspend)
{
	struct dev_arg a = {p, s};

	return transition(p, suspend ? do_suspend : do_resume, &a);
}

static int mkfs_snap(struct ctrd_dm *p, struct dm_snap *s)
{
	static const char *const ext4[] = {"-E", "nodiscard,lazy_itable_init=0,lazy_journal_init=0",
					   NULL};
	char dev[220];

	snprintf(dev, sizeof(dev), "/dev/mapper/%s", s->name);
	return stt_backend_mkfs(p->tp.fs, dev, !strcmp(p->tp.fs, "ext4") ? ext4 : NULL);
}

/* Mounts @s at @dir (journalled); xfs with nouuid, as buildMounts. */
static int mount_snap(struct ctrd_dm *p, struct dm_snap *s, const char *dir, unsigned int *rec)
{
	char dev[220];
	int r;

	if (mkdir(dir, 0711) && errno != EEXIST)
		return stt_err(-errno, "%s: cannot create: %s", dir, strerror(errno));
	if ((r = stt_journal_add(p->tp.journal, STT_J_MOUNT, dir, NULL, rec)))
		return r;
	snprintf(dev, sizeof(dev), "/dev/mapper/%s", s->name);
	if (mount(dev, dir, p->tp.fs, 0, !strcmp(p->tp.fs, "xfs") ? "nouuid" : "")) {
		r = stt_err(-errno, "%s: cannot mount %s on %s: %s", p->tp.fs, dev, dir,
			    strerror(errno));
		(void)!stt_journal_undo_one(p->tp.journal, *rec);
		rmdir(dir);
		return r;
	}
	return 0;
}

static int umount_snap(struct ctrd_dm *p, const char *dir, unsigned int rec)
{
	if (umount2(dir, 0))
		return stt_err(-errno, "%s: cannot unmount: %s", dir, strerror(errno));
	rmdir(dir);
	return stt_journal_done(p->tp.journal, rec);
}

/*
 * mount.WithTempMount: the snapshot mounted on a temporary directory while @fn runs (the
 * removal of lost+found; the applier's writes of a layer).
 */
static int with_temp_mount(struct ctrd_dm *p, struct dm_snap *s, stt_layer_fill_fn fill, void *arg)
{
	char dir[PATH_MAX + 80], lf[PATH_MAX + 100];
	struct stt_layer_writer w;
	unsigned int rec = STT_JOURNAL_NONE;
	int r, u;

	snprintf(dir, sizeof(dir), "%s/tmpmounts/%s", p->mnt, s->name);
	if ((r = mount_snap(p, s, dir, &rec)))
		return r;
	if (!fill) {
		snprintf(lf, sizeof(lf), "%s/lost+found", dir);
		rmdir(lf);
	} else {
		w.root = dir;
		w.whiteout_chardev = false;
		r = fill(&w, arg);
	}
	u = umount_snap(p, dir, rec);
	return r ? r : u;
}

static int ctrd_dm_layer_create(struct stt_backend *b, const char *id, struct stt_layer *parent,
				stt_layer_fill_fn fill, void *arg, struct stt_layer **out)
{
	struct ctrd_dm *p = cdm(b);
	struct dm_snap *s, *origin = parent ? parent->priv : NULL;
	bool active = stt_ctrd_is_container_layer(parent);
	struct stt_layer *l;
	int r;

	l = calloc(1, sizeof(*l));
	s = l ? snap_new(p) : NULL;
	if (!s) {
		free(l);
		return -ENOMEM;
	}
	l->priv = s;
	l->parent = parent;
	l->depth = parent ? parent->depth + 1 : 1;
	snprintf(l->id, sizeof(l->id), "%s", id);

	/* Prepare (in the snapshotter's write transaction, recorded at its end). */
	if (!origin) {
		if ((r = create_device(p, s, NULL)) || (r = activate(p, s)) ||
		    (r = mkfs_snap(p, s)))
			goto fail;
	} else {
		bool loaded = origin->active;

		if (loaded && (r = suspend_resume(p, origin, true)))
			goto fail;
		r = create_device(p, s, origin);
		if (!r)
			r = activate(p, s);
		if (loaded) {
			int e = suspend_resume(p, origin, false);

			r = r ? r : e;
		}
		if (r)
			goto fail;
	}
	if ((r = with_temp_mount(p, s, NULL, NULL)) ||
	    (r = stt_ctrd_record(&p->metadb, &p->snapdb)))
		goto fail;
	if (fill && (r = with_temp_mount(p, s, fill, arg)))
		goto fail;
	if (!active) {
		/* Commit: the usage (device status), suspend, resume, deferred deactivate. */
		char status[256];

		if ((r = stt_dm_status(s->name, status, sizeof(status))) ||
		    (r = suspend_resume(p, s, true)) || (r = suspend_resume(p, s, false)) ||
		    (r = deactivate(p, s, true)) || (r = stt_ctrd_record(&p->metadb, &p->snapdb)))
			goto fail;
	}
	*out = l;
	return 0;
fail:
	if (s->active)
		(void)!stt_journal_undo_one(p->tp.journal, s->rec_dm);
	(void)!stt_journal_undo_one(p->tp.journal, s->rec_thin);
	free(s);
	free(l);
	return r;
}

static int ctrd_dm_layer_remove(struct stt_backend *b, struct stt_layer *l)
{
	struct ctrd_dm *p = cdm(b);
	int r = stt_ctrd_record(&p->metadb, &p->snapdb);

	if (!r)
		r = remove_device(p, l->priv);
	if (r)
		return r;
	free(l->priv);
	free(l);
	return 0;
}

static int ctrd_dm_container_start(struct stt_backend *b, struct stt_container *c)
{
	struct ctrd_dm *p = cdm(b);
	struct dm_snap *s = c->layer->priv;
	char bundle[PATH_MAX + 128];
	int r;

	if (c->started)
		return 0;
	snprintf(bundle, sizeof(bundle), "%s/" STT_CTRD_TASK_ROOT "/%.64s", p->mnt, c->id);
	if ((size_t)snprintf(c->rootfs, sizeof(c->rootfs), "%s/rootfs", bundle) >=
	    sizeof(c->rootfs))
		return stt_err(-ENAMETOOLONG, "%s: path too long", bundle);
	if (mkdir(bundle, 0700) && errno != EEXIST)
		return stt_err(-errno, "%s: cannot create: %s", bundle, strerror(errno));
	r = mount_snap(p, s, c->rootfs, &c->mount_rec);
	if (r) {
		rmdir(bundle);
		return r;
	}
	c->started = true;
	return 0;
}

static int ctrd_dm_container_stop(struct stt_backend *b, struct stt_container *c)
{
	char *slash;
	int r;

	if (!c->started)
		return 0;
	if ((r = umount_snap(cdm(b), c->rootfs, c->mount_rec)))
		return r;
	c->started = false;
	slash = strrchr(c->rootfs, '/');
	*slash = '\0';
	rmdir(c->rootfs); /* the task bundle */
	*slash = '/';
	return 0;
}

static int ctrd_dm_teardown(struct stt_backend *b);

static int ctrd_dm_prepare(struct stt_backend *b)
{
	const struct stt_backend_opts *o = &b->opts;
	struct stt_journal *j = o->journal;
	char suffix[12], path[PATH_MAX + 128];
	uint32_t chunk = chunk_of(o);
	struct ctrd_dm *p;
	int r;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	b->priv = p;
	p->rec_dir = p->lp.rec_data = p->lp.rec_meta = p->lp.rec_pool = STT_JOURNAL_NONE;
	atomic_init(&p->next_id, 1);
	pthread_mutex_init(&p->lock, NULL);
	p->discard_blocks = o->blkdiscard > 0; /* discard_blocks: off unless set */
	p->tp.fs = stt_backend_fs(b->ops, o); /* fs_type: ext4 unless --fs */
	p->tp.dev_bytes = o->base_bytes; /* base_image_size */
	p->tp.journal = j;
	stt_backend_random_name(suffix, 8, "abcdefghijklmnopqrstuvwxyz0123456789");
	if ((r = stt_fs_own_dir(o->workdir, 0700)))
		goto fail;
	snprintf(p->rundir, sizeof(p->rundir), "%s/ctrd-dm-%s", o->workdir, suffix);
	if ((r = stt_journal_add(j, STT_J_DIR, p->rundir, NULL, &p->rec_dir)))
		goto fail;
	snprintf(p->mnt, sizeof(p->mnt), "%s/root", p->rundir);
	snprintf(p->root, sizeof(p->root), "%s/" SNAP_ROOT, p->mnt);
	if (mkdir(p->rundir, 0700) || (r = stt_fs_mkdir_p(p->root, 0750)) ||
	    (r = stt_fs_mkdir_p(p->mnt, 0711))) {
		r = stt_err(r ? r : -errno, "%s: cannot create: %s", p->rundir,
			    strerror(r ? -r : errno));
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/" STT_CTRD_META_ROOT, p->mnt);
	if ((r = stt_fs_mkdir_p(path, 0711))) {
		r = stt_err(r, "%s: cannot create: %s", path, strerror(-r));
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/" STT_CTRD_TASK_ROOT, p->mnt);
	if ((r = stt_fs_mkdir_p(path, 0711)) ||
	    (snprintf(path, sizeof(path), "%s/tmpmounts", p->mnt),
	     r = stt_fs_mkdir_p(path, 0700))) {
		r = stt_err(r, "%s: cannot create: %s", path, strerror(-r));
		goto fail;
	}
	snprintf(p->lp.data, sizeof(p->lp.data), "%s/data", p->rundir);
	snprintf(p->lp.meta, sizeof(p->lp.meta), "%s/meta", p->rundir);
	snprintf(p->tp.pool, sizeof(p->tp.pool), "stortune-%s-pool", suffix);
	if ((r = stt_thinpool_loop_open(o, p->tp.pool, chunk, CTRD_LOW_WATER, &p->lp)))
		goto fail;
	/* NewSnapshotter and NewPoolDevice: metadata.db and <pool>.db; the metadata plugin's. */
	snprintf(path, sizeof(path), "%s/metadata.db", p->root);
	if ((r = stt_boltsim_open(&p->snapdb, path)))
		goto fail;
	snprintf(path, sizeof(path), "%s/%s.db", p->root, p->tp.pool);
	if ((r = stt_boltsim_open(&p->pooldb, path)))
		goto fail;
	snprintf(path, sizeof(path), "%s/" STT_CTRD_META_ROOT "/meta.db", p->mnt);
	if ((r = stt_boltsim_open(&p->metadb, path)))
		goto fail;
	return 0;
fail:
	(void)ctrd_dm_teardown(b);
	return r;
}

static int ctrd_dm_teardown(struct stt_backend *b)
{
	struct ctrd_dm *p = cdm(b);
	const unsigned int recs[4] = {p ? p->rec_dir : 0, p ? p->lp.rec_data : 0,
				      p ? p->lp.rec_meta : 0, p ? p->lp.rec_pool : 0};
	int r;

	if (!p)
		return 0;
	stt_boltsim_close(&p->snapdb);
	stt_boltsim_close(&p->pooldb);
	stt_boltsim_close(&p->metadb);
	/* what could not be undone stays in the journal, for "stortune cleanup" to name */
	r = stt_backend_undo(b->opts.journal, recs, 4);
	pthread_mutex_destroy(&p->lock);
	free(p);
	b->priv = NULL;
	return r;
}

static int ctrd_dm_pool_status(struct stt_backend *b, struct stt_pool_status *st)
{
	int r = stt_thinpool_status(&cdm(b)->tp, st);

	if (!r)
		st->data_block_bytes = chunk_of(&b->opts);
	return r;
}

static int ctrd_dm_device_name(struct stt_backend *b, char *name, size_t len)
{
	const char *dev = cdm(b)->lp.datadev;

	snprintf(name, len, "%s", strncmp(dev, "/dev/", 5) ? dev : dev + 5);
	return 0;
}

/* A fresh thin device of the pool, as a snapshot without a parent before its mkfs. */
static int ctrd_dm_scratch_open(struct stt_backend *b, char *path, size_t len, uint64_t *bytes)
{
	struct ctrd_dm *p = cdm(b);
	struct dm_snap *s;
	int r;

	if (p->scratch)
		return stt_err(-EBUSY, "%s: a scratch device is already open", p->tp.pool);
	s = snap_new(p);
	if (!s)
		return -ENOMEM;
	if ((r = create_device(p, s, NULL)) || (r = activate(p, s))) {
		if (s->active)
			(void)!stt_journal_undo_one(p->tp.journal, s->rec_dm);
		(void)!stt_journal_undo_one(p->tp.journal, s->rec_thin);
		free(s);
		return r;
	}
	p->scratch = s;
	snprintf(path, len, "/dev/mapper/%s", s->name);
	*bytes = p->tp.dev_bytes;
	return 0;
}

static int ctrd_dm_scratch_close(struct stt_backend *b)
{
	struct ctrd_dm *p = cdm(b);
	int r;

	if (!p->scratch)
		return 0;
	r = remove_device(p, p->scratch);
	if (!r) {
		free(p->scratch);
		p->scratch = NULL;
	}
	return r;
}

/* Where real containerd's directory goes (bench --engine containerd): beside the pool's files. */
static int ctrd_dm_root_dir(struct stt_backend *b, char *path, size_t len)
{
	if ((size_t)snprintf(path, len, "%s", cdm(b)->mnt) >= len)
		return stt_err(-ENAMETOOLONG, "%s: too long", cdm(b)->mnt);
	return 0;
}

/* containerd's devmapper snapshotter on this pool, configured as the emulation runs. */
static int ctrd_dm_section(struct stt_backend *b, char *buf, size_t len)
{
	struct ctrd_dm *p = cdm(b);

	if ((size_t)snprintf(buf, len,
			     "[plugins.\"io.containerd.snapshotter.v1.devmapper\"]\n"
			     "  pool_name = \"%s\"\n"
			     "  base_image_size = \"%lluMB\"\n"
			     "  discard_blocks = %s\n"
			     "  fs_type = \"%s\"\n",
			     p->tp.pool, (unsigned long long)(p->tp.dev_bytes >> 20),
			     p->discard_blocks ? "true" : "false", p->tp.fs) >= len)
		return stt_err(-ENAMETOOLONG, "%s: the devmapper section is too long", p->tp.pool);
	return 0;
}

/* containerd 1.6's name of the device of snapshot @id (snapshotter.getDeviceName). */
static int ctrd_dm_ctrd_device(struct stt_backend *b, unsigned long id, char *buf, size_t len)
{
	snprintf(buf, len, "%s-snap-%lu", cdm(b)->tp.pool, id);
	return 0;
}

const struct stt_backend_ops stt_backend_ctrd_devmapper = {
    .version = STT_BACKEND_OPS_VERSION,
    .name = "containerd-devmapper",
    .summary = "containerd's devmapper snapshotter: a thin device per snapshot on a thin "
	       "pool, bolt metadata",
    .available = ctrd_dm_available,
    .prepare = ctrd_dm_prepare,
    .layer_create = ctrd_dm_layer_create,
    .layer_remove = ctrd_dm_layer_remove,
    .container_start = ctrd_dm_container_start,
    .container_stop = ctrd_dm_container_stop,
    .teardown = ctrd_dm_teardown,
    .pool_status = ctrd_dm_pool_status,
    .device_name = ctrd_dm_device_name,
    .scratch_open = ctrd_dm_scratch_open,
    .scratch_close = ctrd_dm_scratch_close,
    .root_dir = ctrd_dm_root_dir,
    .snapshotter = "devmapper",
    .ctrd_section = ctrd_dm_section,
    .ctrd_device = ctrd_dm_ctrd_device,
    .default_fs = "ext4", /* containerd's fs_type default */
};
