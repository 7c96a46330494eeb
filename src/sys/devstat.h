/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_DEVSTAT_H
#define STT_DEVSTAT_H

/*
 * Device I/O counters (/sys/block/<dev>/stat) and page-cache size (/proc/meminfo), read
 * before and after a phase; the deltas are what the phase cost the device.
 */

#include <stdint.h>

struct stt_devstat {
	uint64_t read_ios, read_bytes;
	uint64_t write_ios, write_bytes;
	uint64_t discard_ios, discard_bytes;
};

/* Parses a block device "stat" line (sectors are 512 bytes). 0 or -EINVAL. */
__attribute__((warn_unused_result)) int stt_devstat_parse(const char *line, struct stt_devstat *s);
/* Reads /sys/class/block/@name/stat (@name: "loop3", "nvme0n1", "dm-2"). */
__attribute__((warn_unused_result)) int stt_devstat_read(const char *name, struct stt_devstat *s);
/* @after - @before, field by field. */
void stt_devstat_delta(const struct stt_devstat *before, const struct stt_devstat *after,
		       struct stt_devstat *d);

/* The number after "@key:" in /proc/meminfo text, as written (kB, or a count for HugePages_*).
 * 0 or -ENOENT when there is no such line. */
__attribute__((warn_unused_result)) int stt_meminfo_field(const char *meminfo, const char *key,
							 uint64_t *value);
/* "Cached:" of /proc/meminfo text, in bytes. 0 or -EINVAL. */
__attribute__((warn_unused_result)) int stt_devstat_parse_cached(const char *meminfo,
								uint64_t *bytes);
__attribute__((warn_unused_result)) int stt_devstat_page_cache(uint64_t *bytes);

/* sync, then drop the page cache, dentries and inodes (echo 3 > drop_caches). */
__attribute__((warn_unused_result)) int stt_devstat_drop_caches(void);

#endif
