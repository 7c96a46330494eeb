/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_BOLTSIM_H
#define STT_BOLTSIM_H

/*
 * The disk writes of a bbolt database (containerd's metadata stores), without a B+tree: a
 * new file gets bolt's four initial pages (two meta pages, a freelist, an empty leaf),
 * written and fdatasync'd; every write transaction writes its dirty pages (a leaf and a
 * branch) and the freelist page, fdatasync, then the meta page of its transaction id
 * (page txid % 2), fdatasync again -- bolt's Tx.Commit with its default syncs. Page size is
 * the OS page size, as bolt's. Transactions are serialised (bolt has one writer).
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct stt_boltsim {
	int fd;
	bool is_open; /* a zeroed struct is closed */
	uint64_t txid;
	uint64_t updates; /* write transactions committed */
	pthread_mutex_t lock;
};

/* Creates @path (must not exist) with bolt's initial pages. */
__attribute__((warn_unused_result)) int stt_boltsim_open(struct stt_boltsim *db, const char *path);
/* One write transaction: its page writes and two fdatasyncs. */
__attribute__((warn_unused_result)) int stt_boltsim_update(struct stt_boltsim *db);
/* Closes the file (it stays); a closed or never opened @db is a no-op. */
void stt_boltsim_close(struct stt_boltsim *db);

/* ---- What containerd's two snapshotter backends share ---- */

/* Under containerd's root: the metadata plugin's store, and the task bundles. */
#define STT_CTRD_META_ROOT "io.containerd.metadata.v1.bolt"
#define STT_CTRD_TASK_ROOT "state/io.containerd.runtime.v2.task/default"

struct stt_layer;

/*
 * A snapshot on @parent is a container's own: backend.c makes a container as "<id>-init"
 * (committed) and "<id>" on it (active), as moby's containerd path does.
 */
bool stt_ctrd_is_container_layer(const struct stt_layer *parent);

/* One snapshot operation's write transactions: containerd's store @meta, then @snap's. */
__attribute__((warn_unused_result)) int stt_ctrd_record(struct stt_boltsim *meta,
						       struct stt_boltsim *snap);

#endif
