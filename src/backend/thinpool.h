/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_THINPOOL_H
#define STT_THINPOOL_H

/*
 * A devicemapper thin pool driven as Docker's devmapper driver drives it (moby v24
 * daemon/graphdriver/devmapper): a base thin device made once with create_thin and mkfs,
 * every layer a create_snap of its parent (the origin suspended and resumed around it when
 * active), each device change followed by set_transaction_id and a small metadata file
 * written with fsync, activation with the "thin" target, mount (xfs with nouuid),
 * umount, removal (deferred when enabled), optional BLKDISCARD, and delete.
 *
 * Shared by dm-loop (a pool stortune creates on two loop devices) and direct-lvm (LVM's
 * pool). Talks to the kernel only through src/sys/dm.h.
 */

#include "backend/backend.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct stt_thinpool {
	char pool[128];	     /* dm name of the thin-pool target */
	char prefix[64];     /* dm names of thin devices: "<prefix>-<id>" */
	char mntdir[PATH_MAX];  /* thin devices are mounted under here */
	char metadir[PATH_MAX]; /* Docker's per-device metadata files */
	const char *fs;	     /* "xfs" or "ext4" */
	uint64_t dev_bytes;  /* virtual size of each thin device (dm.basesize) */
	bool deferred_removal, deferred_deletion, blkdiscard;
	struct stt_journal *journal;

	uint64_t transaction_id;
	unsigned int next_id;
	unsigned int base_id; /* 0 until the base device exists */
	unsigned int base_rec; /* its journal record */
	unsigned int users_rec; /* engine_pool: the record of the engine's thin devices */
	pthread_mutex_t lock; /* serialises pool messages (one transaction at a time) */
	void *scratch;	      /* the scratch device while open */
};

/*
 * Whether devicemapper thin pools can be made here: root, the kernel's device-mapper and
 * its thin-pool target. 0, or -errno with a reason for people.
 */
int stt_thinpool_available(char *reason, size_t len);

/*
 * A pool on loop devices over sparse files (dm-loop, containerd's devmapper): the above, loop
 * devices, and the options checked by stt_thinpool_opts_check with @chunk_bytes.
 */
int stt_thinpool_loop_available(const struct stt_backend_opts *o, uint32_t chunk_bytes,
				char *reason, size_t len);

/*
 * A pool on loop devices (dm-loop, containerd's devmapper): the sparse files @l->data
 * (--data-size) and @l->meta (--meta-size), set by the caller, each attached to a loop device,
 * and the thin-pool @pool on them (block @chunk_bytes, low-water mark @low_water blocks,
 * block zeroing as --zeroing), each journalled before it exists. On failure what was made
 * stays in @l's records for the caller's undo (newest first: pool, meta, data).
 */
struct stt_thinpool_loop {
	char data[PATH_MAX], meta[PATH_MAX];
	char datadev[64], metadev[64];
	unsigned int rec_data, rec_meta, rec_pool;
};

__attribute__((warn_unused_result)) int
stt_thinpool_loop_open(const struct stt_backend_opts *o, const char *pool, uint32_t chunk_bytes,
		       uint32_t low_water, struct stt_thinpool_loop *l);

/* BLKDISCARD of the whole active thin device @name (@bytes), so the pool gets its blocks back. */
__attribute__((warn_unused_result)) int stt_thinpool_discard(const char *name, uint64_t bytes);

/* Options both dm backends check: --fs and the pool's block size @chunk_bytes. */
int stt_thinpool_opts_check(const struct stt_backend_opts *o, uint32_t chunk_bytes, char *reason,
			    size_t len);

/* Parses a thin-pool status line. 0 or -EINVAL. */
__attribute__((warn_unused_result)) int stt_thinpool_parse_status(const char *line,
								 struct stt_pool_status *st);

/*
 * Starts driving the pool named @tp->pool (already created; @tp->prefix names its thin
 * devices): takes the settings from the backend options (mount and metadata directories
 * under @rundir, fs, device size, deferred removal/deletion, BLKDISCARD before delete:
 * --blkdiscard, else @blkdiscard_default), reads the pool's transaction id and makes the
 * base device (create_thin, activate, mkfs, deactivate).
 */
__attribute__((warn_unused_result)) int stt_thinpool_init(struct stt_thinpool *tp,
							 const struct stt_backend_opts *o,
							 const char *rundir,
							 bool blkdiscard_default);
/*
 * With o->engine_pool, stt_thinpool_init makes no base device: the pool stays empty for the
 * engine. Its storage options for Docker's devicemapper driver into @e (dm.thinpooldev and the
 * settings the pool was given), @rundir as its directory.
 */
void stt_thinpool_engine_config(const struct stt_thinpool *tp, const char *rundir,
				struct stt_backend_engine *e);

/* Deletes the base device. Layers and containers must be gone already. */
__attribute__((warn_unused_result)) int stt_thinpool_release(struct stt_thinpool *tp);

__attribute__((warn_unused_result)) int stt_thinpool_status(struct stt_thinpool *tp,
							   struct stt_pool_status *st);

/* The layer and container operations of struct stt_backend_ops, on this pool. */
int stt_thinpool_layer_create(struct stt_thinpool *tp, const char *id, struct stt_layer *parent,
			      stt_layer_fill_fn fill, void *arg, struct stt_layer **out);
int stt_thinpool_layer_remove(struct stt_thinpool *tp, struct stt_layer *l);
int stt_thinpool_container_start(struct stt_thinpool *tp, struct stt_container *c);
int stt_thinpool_container_stop(struct stt_thinpool *tp, struct stt_container *c);

/*
 * The ops of a backend whose priv begins with a struct stt_thinpool (dm-loop, direct-lvm):
 * layer and container operations on that pool, with random layer ids.
 */
int stt_thinpool_op_layer_create(struct stt_backend *b, const char *id, struct stt_layer *parent,
				 stt_layer_fill_fn fill, void *arg, struct stt_layer **out);
int stt_thinpool_op_layer_remove(struct stt_backend *b, struct stt_layer *l);
int stt_thinpool_op_container_start(struct stt_backend *b, struct stt_container *c);
int stt_thinpool_op_container_stop(struct stt_backend *b, struct stt_container *c);
int stt_thinpool_op_scratch_open(struct stt_backend *b, char *path, size_t len, uint64_t *bytes);
int stt_thinpool_op_scratch_close(struct stt_backend *b);

#endif
