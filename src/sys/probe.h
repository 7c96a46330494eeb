/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_PROBE_H
#define STT_PROBE_H

/*
 * What a target is: a block device (geometry, queue, signatures, users) or a directory (the
 * filesystem under it). The only file of the project that includes <blkid.h>.
 */

#include "sys/host.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#define STT_PROBE_MAX_SIGS 16

enum stt_probe_kind { STT_PROBE_BLOCK, STT_PROBE_DIR };

struct stt_probe_sig {
	char usage[24]; /* libblkid's usage: "filesystem", "raid", "crypto", "other", "partition table" */
	char type[32];  /* "ext4", "xfs", "LVM2_member", "gpt", "dos", ... */
	uint64_t offset_bytes;
};

struct stt_probe_dev {
	char path[PATH_MAX];
	char name[64];   /* kernel name: nvme0n1, loop3, sda1 */
	char parent[64]; /* whole disk of a partition, else "" */
	unsigned int major, minor;
	char model[128];
	char transport[16]; /* "nvme", "loop", "virtio", "scsi", "other" */
	bool nvme, rotational, partition;
	uint64_t size_bytes;
	uint32_t logical_block_size, physical_block_size;
	uint64_t minimum_io_size, optimal_io_size, alignment_offset; /* libblkid topology */
	char scheduler[32];
	uint64_t nr_requests, read_ahead_kb;
	uint64_t discard_granularity, discard_max_bytes;
	char loop_backing_file[PATH_MAX]; /* loop devices only */
	int loop_direct_io;               /* -1 unknown */

	struct stt_probe_sig sigs[STT_PROBE_MAX_SIGS];
	int nsigs;
	char mounts[1024]; /* mount points of the device and its partitions */
	int nmounts;
	bool swap;
	char holders[512]; /* sysfs holders of the device and its partitions */
	int nholders;
	char partitions[512]; /* partitions in sysfs */
	int npartitions;
	bool excl_ok;
	int excl_errno;

	bool free_to_use;
	char verdict[1024]; /* "free to use with --destroy-data" or "in use: <why>" */
};

struct stt_probe_dir {
	char path[PATH_MAX]; /* canonical */
	char mountpoint[PATH_MAX];
	char fstype[32];
	char source[PATH_MAX];
	unsigned int major, minor;
	char block_device[64]; /* kernel name of the block device under it, if any */
	uint64_t size_bytes, free_bytes, free_inodes;
	enum stt_tristate d_type;
	char d_type_detail[128];
	enum stt_tristate xfs_ftype; /* STT_UNKNOWN when not xfs */
	bool writable;
};

struct stt_probe_target {
	enum stt_probe_kind kind;
	union {
		struct stt_probe_dev dev;
		struct stt_probe_dir dir;
	};
};

/*
 * Probes @path: a block device or a directory. -ENOENT when it does not exist, -EINVAL when
 * it is neither, each with a message naming the path and the cause.
 */
__attribute__((warn_unused_result)) int stt_probe_path(const char *path,
						      struct stt_probe_target *t);

/*
 * The safety verdict of a probed device, from its signatures, mounts, holders and the
 * exclusive open: sets free_to_use and verdict. Separate so the rule is testable alone.
 */
void stt_probe_verdict(struct stt_probe_dev *d);

/*
 * The safety rule for writing a device: @destroy_data names the same device as @device,
 * and probing finds it free (no signature, not mounted, no holders, opens O_EXCL).
 * 0, or -EPERM / -EBUSY / -ENOENT / -EINVAL with a message naming the device and why.
 */
__attribute__((warn_unused_result)) int stt_probe_check_destroy(const char *device,
							       const char *destroy_data);

struct json_object;
__attribute__((warn_unused_result)) int stt_probe_to_json(const struct stt_probe_target *t,
							 struct json_object **out);

#endif
