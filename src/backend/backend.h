/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_BACKEND_H
#define STT_BACKEND_H

/*
 * Storage backends: each performs, against real kernel objects, the storage operations
 * Docker performs for an image and its containers (see DESIGN "What container startup
 * means on each backend"). One ops table per backend, in the manner of fio's ioengine_ops;
 * an operation a backend does not have is NULL and the wrappers below answer -EOPNOTSUPP.
 *
 * Every object a backend makes goes through the run's journal (src/sys/journal.h) first.
 */

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct stt_journal;

#define STT_BACKEND_OPS_VERSION 1
#define STT_LAYER_ID_LEN 64   /* hex, as Docker's */
#define STT_OVERLAY_LINK_LEN 26 /* overlay2's short link names */
#define STT_OVERLAY_MAX_DEPTH 128

struct stt_backend_opts {
	const char *workdir;	  /* scratch directory; default /var/tmp/stortune */
	const char *device;	  /* --device DEV, or NULL for a loop device in workdir */
	const char *destroy_data; /* --destroy-data DEV: must name @device to write it */
	const char *fs;		  /* "xfs" (default) or "ext4": overlay's backing fs, dm.fs */
	bool fs_given;		  /* --fs given; else each backend's default (stt_backend_fs) */
	uint64_t scratch_bytes;	  /* sparse backing file for overlay / direct-lvm's stand-in */

	/* devicemapper */
	uint64_t data_bytes;	 /* dm-loop data file; Docker's 100G */
	uint64_t meta_bytes;	 /* dm-loop metadata file; Docker's 2G */
	uint32_t chunk_bytes;	 /* thin-pool block size; 0 = the backend's default */
	bool zeroing;		 /* zero new blocks (default off, as Docker) */
	bool loop_direct_io;	 /* loop devices with direct I/O (default off, as Docker) */
	uint64_t base_bytes;	 /* dm.basesize; Docker's 10G */
	bool deferred_removal;	 /* dm.use_deferred_removal */
	bool deferred_deletion;	 /* dm.use_deferred_deletion */
	int blkdiscard;		 /* dm.blkdiscard: -1 = backend default (on for loop) */
	/*
	 * A real engine drives the backend (ops->engine_config): prepare makes the pool but no
	 * device in it (Docker takes only an empty pool), and the layer and container operations
	 * are the engine's.
	 */
	bool engine_pool;

	struct stt_journal *journal; /* the run's journal; required */
};

void stt_backend_opts_init(struct stt_backend_opts *o);

#define STT_LAYER_NAME_MAX (STT_LAYER_ID_LEN + 8) /* "<id>-init" */

struct stt_layer {
	char id[STT_LAYER_NAME_MAX];
	struct stt_layer *parent;
	unsigned int depth; /* 1 for a base layer */
	void *priv;	    /* the backend's */
};

struct stt_container {
	char id[STT_LAYER_ID_LEN + 1];
	struct stt_layer *init;	 /* "<id>-init": Docker's files */
	struct stt_layer *layer; /* the container's own, on top of init */
	char rootfs[PATH_MAX];	 /* mounted here while started */
	bool started;
	unsigned int mount_rec; /* journal record of the mount */
};

/*
 * What a layer's fill callback writes through. Paths are relative to the layer root; parent
 * directories must exist (fill them in order). A delete in a layer with a parent is a
 * whiteout on overlay (a 0/0 character device) and a plain removal on devicemapper.
 */
struct stt_layer_writer {
	const char *root;
	bool whiteout_chardev;
};

typedef int (*stt_layer_fill_fn)(struct stt_layer_writer *w, void *arg);

__attribute__((warn_unused_result)) int stt_layer_mkdir(struct stt_layer_writer *w,
						       const char *path, unsigned int mode);
__attribute__((warn_unused_result)) int stt_layer_write(struct stt_layer_writer *w,
						       const char *path, const void *data,
						       size_t len, unsigned int mode);
__attribute__((warn_unused_result)) int stt_layer_symlink(struct stt_layer_writer *w,
							 const char *target, const char *path);
__attribute__((warn_unused_result)) int stt_layer_delete(struct stt_layer_writer *w,
							const char *path);

/* Docker's "-init" layer: /dev/pts /dev/shm /proc /sys, /.dockerenv, /etc/{resolv.conf,
 * hosts,hostname}, /dev/console, /etc/mtab -> /proc/mounts. */
int stt_backend_fill_init(struct stt_layer_writer *w, void *arg);

/* Thin-pool usage, read after each phase (dm backends). */
struct stt_pool_status {
	uint64_t transaction_id;
	uint64_t data_used_blocks, data_total_blocks;
	uint64_t meta_used_blocks, meta_total_blocks;
	uint32_t data_block_bytes;
	bool out_of_data_space, read_only, needs_check;
	bool error_if_no_space; /* a full pool fails writes at once (else queues them) */
};

struct stt_backend;

#define STT_ENGINE_MAX_OPTS 12

/* What a real engine needs to run on a backend (ops->engine_config). */
struct stt_backend_engine {
	char driver[32];			 /* its --storage-driver: "devicemapper" */
	char opts[STT_ENGINE_MAX_OPTS][256];	 /* its --storage-opt values */
	size_t n_opts;
	char dir[PATH_MAX]; /* a directory of the backend's own for the engine's files */
};

struct stt_backend_ops {
	unsigned int version; /* STT_BACKEND_OPS_VERSION */
	const char *name;     /* "overlay", "dm-loop", "direct-lvm" */
	const char *summary;

	/* 0 when usable with @o, else -errno and a reason for people in @reason. */
	int (*available)(const struct stt_backend_opts *o, char *reason, size_t len);
	/* Makes the root or pool on the target. */
	int (*prepare)(struct stt_backend *b);
	/* Layer @id on @parent (NULL: a base layer), filled by @fill (may be NULL). */
	int (*layer_create)(struct stt_backend *b, const char *id, struct stt_layer *parent,
			    stt_layer_fill_fn fill, void *arg, struct stt_layer **out);
	int (*layer_remove)(struct stt_backend *b, struct stt_layer *l);
	/*
	 * A container is Docker's "<id>-init" layer on @image and its own "<id>" on top, made
	 * and removed through layer_create/layer_remove for every backend (backend.c); start
	 * mounts it at c->rootfs.
	 */
	int (*container_start)(struct stt_backend *b, struct stt_container *c);
	int (*container_stop)(struct stt_backend *b, struct stt_container *c);
	/* Takes down what prepare made. */
	int (*teardown)(struct stt_backend *b);
	/* Optional. */
	int (*pool_status)(struct stt_backend *b, struct stt_pool_status *st);
	/* The kernel name of the block device under the backend ("loop3", "dm-2"). */
	int (*device_name)(struct stt_backend *b, char *name, size_t len);
	/*
	 * Optional: the mounted filesystem prepare made (overlay: the scratch xfs), where a real
	 * engine's data root goes so that its I/O reaches the same device.
	 */
	int (*root_dir)(struct stt_backend *b, char *path, size_t len);
	/*
	 * Optional (the dm backends, prepared with opts.engine_pool): the storage driver and
	 * options that put a real engine on the pool prepare made, as the backend's options say
	 * (block size, fs, base size, discards, deferred removal), and a directory for the
	 * engine's data root (its metadata and mount points; the data goes to the pool).
	 */
	int (*engine_config)(struct stt_backend *b, struct stt_backend_engine *e);
	/*
	 * Optional (thin pools): a fresh, empty thin device of the pool, active, for raw
	 * provisioning figures; its path into @path. scratch_close() deletes it.
	 */
	int (*scratch_open)(struct stt_backend *b, char *path, size_t len, uint64_t *bytes);
	int (*scratch_close)(struct stt_backend *b);
	/*
	 * containerd's backends: the snapshotter they perform ("overlayfs", "devmapper"), which
	 * the real engine for them is containerd with (bench --engine containerd). NULL: one of
	 * Docker's graph drivers, whose real engine is dockerd.
	 */
	const char *snapshotter;
	/*
	 * Optional, with @snapshotter: the snapshotter's section of a containerd config.toml
	 * (version 2) that uses what prepare made (devmapper: its pool), into @buf.
	 */
	int (*ctrd_section)(struct stt_backend *b, char *buf, size_t len);
	/*
	 * Optional, with @ctrd_section: the name of the device containerd's snapshotter makes for
	 * its snapshot @id in what prepare made (devmapper: "<pool>-snap-<id>"), for the journal.
	 */
	int (*ctrd_device)(struct stt_backend *b, unsigned long id, char *buf, size_t len);
	/* Its filesystem when --fs is not given; NULL: opts.fs ("xfs"). */
	const char *default_fs;
};

struct stt_backend {
	const struct stt_backend_ops *ops;
	struct stt_backend_opts opts;
	void *priv;
};

/* All backends, in one explicit array (NULL-terminated). */
extern const struct stt_backend_ops *const stt_backends[];
extern const struct stt_backend_ops stt_backend_overlay;
extern const struct stt_backend_ops stt_backend_dmloop;
extern const struct stt_backend_ops stt_backend_directlvm;
extern const struct stt_backend_ops stt_backend_ctrd_overlay;
extern const struct stt_backend_ops stt_backend_ctrd_devmapper;

const struct stt_backend_ops *stt_backend_lookup(const char *name);
/* The filesystem backend @ops makes with @o: --fs when given, else its default. */
const char *stt_backend_fs(const struct stt_backend_ops *ops, const struct stt_backend_opts *o);

/* Checks availability, then prepares. On failure, what was made is undone. */
__attribute__((warn_unused_result)) int stt_backend_open(const char *name,
							const struct stt_backend_opts *o,
							struct stt_backend **out);
/* Tears down and frees; NULL is a no-op. */
int stt_backend_close(struct stt_backend *b);
/*
 * Frees @b without touching what it made, after a failure: the run's journal undoes the
 * objects. (A backend's priv is one allocation, freed here.) NULL is a no-op.
 */
void stt_backend_abandon(struct stt_backend *b);

__attribute__((warn_unused_result)) int stt_backend_layer_create(struct stt_backend *b,
								struct stt_layer *parent,
								stt_layer_fill_fn fill, void *arg,
								struct stt_layer **out);
__attribute__((warn_unused_result)) int stt_backend_layer_remove(struct stt_backend *b,
								struct stt_layer *l);
__attribute__((warn_unused_result)) int stt_backend_container_create(struct stt_backend *b,
								    struct stt_layer *image,
								    struct stt_container **out);
__attribute__((warn_unused_result)) int stt_backend_container_start(struct stt_backend *b,
								   struct stt_container *c);
__attribute__((warn_unused_result)) int stt_backend_container_stop(struct stt_backend *b,
								  struct stt_container *c);
__attribute__((warn_unused_result)) int stt_backend_container_remove(struct stt_backend *b,
								    struct stt_container *c);
__attribute__((warn_unused_result)) int stt_backend_pool_status(struct stt_backend *b,
							       struct stt_pool_status *st);

/* A random 64-hex id, as Docker's layer ids. */
void stt_backend_random_id(char out[STT_LAYER_ID_LEN + 1]);
/* @n random characters of @alphabet, NUL-terminated (out holds n + 1; n <= 64). */
void stt_backend_random_name(char *out, size_t n, const char *alphabet);

/*
 * What overlay2 and containerd's overlayfs snapshotter need here (root, overlayfs, loop
 * devices, mkfs of --fs): 0, or -errno with the reason in @reason. In overlay.c.
 */
int stt_backend_overlay_available(const struct stt_backend_opts *o, char *reason, size_t len);

/*
 * An overlay mount of @target with @opts whose paths are relative to @dir, from a child that
 * chdir()s there: Docker's mountFrom and containerd's compactLowerdirOption, for options
 * longer than a page. 0 or -errno. In overlay.c.
 */
int stt_backend_overlay_mount_from(const char *dir, const char *target, const char *opts);

/* Helpers for the backends' prepare: each journals what it makes first. */
/* A sparse file of @bytes (must not exist). */
__attribute__((warn_unused_result)) int stt_backend_sparse_file(const char *path, uint64_t bytes);
/* Attaches @file to a loop device (path into @dev), recorded as *@rec. */
__attribute__((warn_unused_result)) int stt_backend_attach_loop(struct stt_journal *j,
							       const char *file, bool direct_io,
							       char *dev, size_t len,
							       unsigned int *rec);
/*
 * Undoes records @recs[n-1] .. @recs[0], stopping at the first failure (returned; the
 * records not undone stay in the journal for the caller's undo or `cleanup`).
 */
int stt_backend_undo(struct stt_journal *j, const unsigned int *recs, size_t n);
/* mkfs.<fs> (xfs or ext4) on @target with @extra options (NULL-terminated, may be NULL). */
__attribute__((warn_unused_result)) int stt_backend_mkfs(const char *fs, const char *target,
							const char *const *extra);

/*
 * The scratch filesystem of overlay2 and of containerd's overlayfs snapshotter: the directory
 * <workdir>/@prefix-<random> (the workdir one of this user's own, made when missing) holding
 * backing.img, a sparse file of --scratch-size with mkfs --fs on it (xfs with ftype=1, which
 * overlay needs), attached to a loop device and mounted on rundir/mnt; each object journalled
 * before it exists. On failure what was made is undone. Closed by stt_backend_scratch_close:
 * the mount, the loop device and the directory, newest first, stopping at the first failure.
 */
struct stt_scratch_fs {
	char rundir[PATH_MAX]; /* <workdir>/<prefix>-<random> */
	char img[PATH_MAX];    /* rundir/backing.img */
	char mnt[PATH_MAX];    /* rundir/mnt: the backing filesystem */
	char loopdev[64];
	unsigned int rec_dir, rec_loop, rec_mount;
};

__attribute__((warn_unused_result)) int
stt_backend_scratch_open(const struct stt_backend_opts *o, const char *prefix,
			 struct stt_scratch_fs *s);
int stt_backend_scratch_close(const struct stt_backend_opts *o, struct stt_scratch_fs *s);

#endif
