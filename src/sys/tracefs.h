/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_TRACEFS_H
#define STT_TRACEFS_H

/*
 * The kernel's page-cache tracepoints (tracefs, the "filemap" events) in an instance of our own,
 * so that the global trace buffer and other users' instances are never touched:
 *
 *   mm_filemap_get_pages   a read() asking for pages index..last_index of a file
 *   mm_filemap_fault       a page fault on a mapped file (what a program's mmap of a shared
 *                          library reads: a syscall trace does not see it)
 *   mm_filemap_map_pages   fault-around: pages already cached mapped with a fault
 *   mm_filemap_add_to_page_cache   a page (folio of 2^order pages) entering the page cache:
 *                          what came from storage
 *
 * Each names the file by its inode (the s_dev of its filesystem and i_ino). On overlay the pages
 * belong to the lower (or upper) file's inode, so a container's reads show as reads of the
 * layer files below it.
 *
 * tracefs is mounted on a directory of the caller's (journalled: the directory, the mount), the
 * instance instances/stortune-<pid> made (journalled: removing it disables its events and frees
 * its buffer). The filter keeps one device's events only.
 */

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct stt_journal;

enum stt_tracefs_kind {
	STT_TRACEFS_READ,  /* mm_filemap_get_pages */
	STT_TRACEFS_FAULT, /* mm_filemap_fault */
	STT_TRACEFS_MAP,   /* mm_filemap_map_pages */
	STT_TRACEFS_ADD,   /* mm_filemap_add_to_page_cache */
	STT_TRACEFS_NKINDS
};

struct stt_tracefs_event {
	enum stt_tracefs_kind kind;
	char comm[17];
	pid_t pid;
	double ts_s; /* the trace clock's seconds */
	unsigned int major, minor;
	uint64_t ino;
	uint64_t first_page, last_page; /* inclusive, in 4 KiB pages */
};

/*
 * Parses one line of an instance's trace_pipe ("python3-1234 [001] ..... 123.456: mm_filemap_
 * get_pages: dev=7:3 ino=83 ofs=0-4095"). 0, -ENOENT for a line of another event or a comment,
 * -EINVAL for a line that cannot be read.
 */
__attribute__((warn_unused_result)) int stt_tracefs_parse_line(const char *line,
							       struct stt_tracefs_event *ev);

struct stt_tracefs;

/*
 * Mounts tracefs at @mnt (made by the call; its parent must exist), makes the instance, sets its
 * buffer to @buffer_kb per CPU and the filter "s_dev == @major:@minor" on the four events. The
 * events are enabled by stt_tracefs_start(). -ENOENT with a message when the kernel has no
 * tracefs or no filemap events. On failure what was made is undone.
 */
__attribute__((warn_unused_result)) int stt_tracefs_open(const char *mnt, unsigned int major,
							 unsigned int minor, unsigned int buffer_kb,
							 struct stt_journal *j,
							 struct stt_tracefs **out);
/* Enables the events and tracing in the instance. */
__attribute__((warn_unused_result)) int stt_tracefs_start(struct stt_tracefs *t);
/* Disables tracing in the instance (what is buffered stays readable). */
int stt_tracefs_stop(struct stt_tracefs *t);
/*
 * Reads what the instance's trace_pipe has (waiting at most @timeout_ms for the first bytes),
 * handing each event of ours to @fn. 0 or -errno.
 */
typedef int (*stt_tracefs_event_fn)(const struct stt_tracefs_event *ev, void *arg);
__attribute__((warn_unused_result)) int stt_tracefs_read(struct stt_tracefs *t, long timeout_ms,
							 stt_tracefs_event_fn fn, void *arg);
/* Events the instance's ring buffer dropped (its per-CPU "overrun" counts). */
uint64_t stt_tracefs_lost(struct stt_tracefs *t);
/* Removes the instance, unmounts tracefs, removes @mnt; frees @t. NULL is a no-op. */
int stt_tracefs_close(struct stt_tracefs *t);

#endif
