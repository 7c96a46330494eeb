/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_RECOMMEND_H
#define STT_RECOMMEND_H

/*
 * From results documents to the Docker daemon and thin-pool settings they support.
 *
 * A rule table (recommend.c): one row per way of deciding one setting, each with a condition
 * over the probe facts and measurements of the results, the value it gives and the evidence
 * sentence (the figures and the comparison that decided it). For each setting the first row
 * whose condition holds decides. Where nothing measured decides a setting, its last row gives
 * Docker's (or LVM's) documented default, labelled as such.
 *
 * No I/O: the input is parsed documents, the target Docker version and the options; the
 * output is the list of decisions and the values the emitters (emit.h) need.
 */

#include "advice/docker_version.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

enum stt_rec_source {
	STT_REC_MEASURED,	/* decided by the figures or probe facts of the results */
	STT_REC_DEFAULT,	/* nothing measured decides it: the documented default */
	STT_REC_GIVEN,		/* given on the command line */
	STT_REC_NOT_APPLICABLE, /* does not apply here; nothing emitted */
	STT_REC_REFUSED,	/* must not be used here; nothing emitted */
};
const char *stt_rec_source_name(enum stt_rec_source s);

/* Where a setting goes. */
enum stt_rec_scope {
	STT_REC_DAEMON,	  /* a top-level key of daemon.json */
	STT_REC_OVERLAY2, /* a storage-opt of overlay2 */
	STT_REC_DM,	  /* a storage-opt of devicemapper */
	STT_REC_POOL,	  /* the thin pool (lvcreate/lvconvert in setup-direct-lvm.sh) */
	STT_REC_PROFILE,  /* the LVM profile docker-thinpool */
	STT_REC_ADVICE,	  /* no setting: what must or must not be done */
};
const char *stt_rec_scope_name(enum stt_rec_scope s);

#define STT_REC_VALUE_MAX    160
#define STT_REC_EVIDENCE_MAX 1536

struct stt_rec_decision {
	const char *key;  /* "storage-driver", "dm.basesize", "pool.chunk_size", ... */
	const char *rule; /* id of the table row that decided */
	enum stt_rec_scope scope;
	enum stt_rec_source source;
	char value[STT_REC_VALUE_MAX]; /* "" when nothing is emitted */
	char evidence[STT_REC_EVIDENCE_MAX];
};

struct stt_rec_input {
	struct json_object *const *docs; /* results documents (stt_results_load) */
	const char *const *names;	 /* their file names, for the evidence (may be NULL) */
	size_t ndocs;
	struct stt_docker_version docker; /* known = false: unknown, the newest rules apply */
	const char *docker_origin;	  /* "--docker-version", "dockerd --version", ... */
	const char *device;		  /* --device: the thin pool's device, else the results' */
	const char *data_root;		  /* --data-root, or NULL */
};

#define STT_REC_MAX	  32
#define STT_REC_NOTES_MAX 16

struct stt_rec {
	struct stt_rec_decision d[STT_REC_MAX];
	size_t n;
	char *not_measured[STT_REC_NOTES_MAX]; /* what no figure backs, one sentence each */
	size_t nnot;

	struct stt_docker_version docker;
	char docker_origin[64];
	const char *driver;  /* the recommended: "overlay2" or "devicemapper" */
	bool dm_allowed;     /* this Docker version has devicemapper */
	char device[256];    /* for setup-direct-lvm.sh; "" when unknown */
	char data_root[256]; /* "" when Docker's default stays */

	/* The thin pool and devicemapper values, for the emitters. */
	uint64_t chunk_bytes;
	bool zeroing;
	unsigned int meta_pct, data_pct; /* of the VG */
	unsigned int autoextend_threshold, autoextend_percent;
	uint64_t basesize_bytes;
	char fs[8];
	bool blkdiscard, deferred_removal, deferred_deletion;
	unsigned int min_free_pct;
	char overlay2_size[32]; /* "" when not emitted */
	char sources[512];	/* the results files, for file headers */
};

/* Applies the rule table. 0, -ENOMEM, or -EINVAL when no document was given. */
__attribute__((warn_unused_result)) int stt_recommend(const struct stt_rec_input *in,
						      struct stt_rec **out);
void stt_rec_free(struct stt_rec *r);

/* The decision for @key, or NULL. */
const struct stt_rec_decision *stt_rec_get(const struct stt_rec *r, const char *key);

/* "64K", "512K", "1M", "10G": the largest binary unit that divides @bytes. */
const char *stt_rec_size(uint64_t bytes, char *buf, size_t len);

#endif
