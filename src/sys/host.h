/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_HOST_H
#define STT_HOST_H

/* What the host's kernel and installed software offer the backends. */

#include "sys/dm.h"

#include <stdbool.h>
#include <stdint.h>

enum stt_tristate { STT_NO = 0, STT_YES = 1, STT_UNKNOWN = 2 };

struct stt_tool {
	bool installed;
	char version[64];
};

struct stt_host {
	char kernel_release[128];
	char kernel_version[256];
	char machine[32];

	bool overlay;      /* overlay in /proc/filesystems or its module installed */
	bool xfs, ext4, btrfs;
	bool loop;         /* /dev/loop-control */
	struct stt_dm_info dm;

	enum stt_tristate xfs_pquota; /* a fresh xfs mounts with -o pquota */
	char xfs_pquota_detail[160];

	uint64_t aio_max_nr, aio_nr;
	bool io_uring;          /* io_uring_setup works */
	int io_uring_disabled;  /* /proc/sys/kernel/io_uring_disabled, -1 if absent */

	struct stt_tool dockerd, containerd, fio, lvm, mkfs_xfs, mkfs_ext4;
};

/*
 * Probes the host. With @scratch_dir (a directory the tool may write to), also runs the
 * xfs project-quota test: a sparse file there, mkfs.xfs, a loop device, mount -o pquota;
 * everything it makes is removed before it returns, also when SIGINT or SIGTERM arrive
 * meanwhile (they are held until then). Never fails: what cannot be learnt is reported so.
 */
void stt_host_probe(struct stt_host *h, const char *scratch_dir);

const char *stt_tristate_str(enum stt_tristate t);

struct json_object;
/* The host as JSON (the "host" and "software" parts of a probe or results document). */
__attribute__((warn_unused_result)) int stt_host_to_json(const struct stt_host *h,
							struct json_object **out);

#endif
