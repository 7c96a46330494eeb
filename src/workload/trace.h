/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_TRACE_H
#define STT_TRACE_H

/*
 * A real application's startup set: which files of its image a command read in its first
 * seconds, each with the byte ranges it read in order, as `stortune trace` records it and a
 * profile's `[startup] trace = FILE` replays it. The file is JSON ("schema": "stortune-trace",
 * "schema_version": 1; README "trace"):
 *
 *   { "command": [...], "image": {...}, "seconds", "exit_code", ...,
 *     "files": [ { "path": "usr/lib/python3.11/http/server.py", "size_bytes": 47296,
 *                  "ranges": [ [0, 49152, "r"], ... ], "read_bytes", "unique_bytes",
 *                  "cached_bytes", "readers": ["python3"] }, ... ],
 *     "totals": { ... } }
 *
 * Files come in the order of their first access; a file's ranges in the order they happened,
 * a range extended while the next access of the same kind continues or overlaps it. Range
 * kinds: "r" a read() (the pages it asked for), "f" a page fault on a mapping (one page), "m"
 * fault-around (pages already cached mapped along with a fault). Offsets and lengths are whole
 * 4 KiB pages, the last one clipped to the file's size. Paths are relative to the image root.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

#define STT_TRACE_SCHEMA	 "stortune-trace"
#define STT_TRACE_SCHEMA_VERSION 1

enum stt_trace_kind { STT_TRACE_READ = 'r', STT_TRACE_FAULT = 'f', STT_TRACE_MAP = 'm' };

struct stt_trace_range {
	uint64_t off_bytes, len_bytes;
	char kind; /* enum stt_trace_kind */
};

struct stt_trace_file {
	char *path;
	uint64_t size_bytes;
	struct stt_trace_range *ranges;
	size_t n_ranges, cap_ranges;
	uint64_t cached_bytes; /* pages this file brought into the page cache */
	char readers[128];     /* the commands that read it, comma-separated */
};

struct stt_trace {
	struct stt_trace_file *files;
	size_t n_files, cap_files;
	struct json_object *meta; /* command, image, seconds, ... (everything but files, totals) */
	uint64_t events, events_outside, lost_events;
};

__attribute__((warn_unused_result)) int stt_trace_new(struct stt_trace **out);
void stt_trace_free(struct stt_trace *t);

/* The index of @path's entry into *@idx, added (with @size_bytes) when it is not there yet. */
__attribute__((warn_unused_result)) int stt_trace_file(struct stt_trace *t, const char *path,
						       uint64_t size_bytes, size_t *idx);
/* A range of file @idx (clipped to its size; merged into the last one when it continues it). */
__attribute__((warn_unused_result)) int stt_trace_add(struct stt_trace *t, size_t idx, char kind,
						      uint64_t off_bytes, uint64_t len_bytes);
/* Records that @comm read file @idx. */
void stt_trace_reader(struct stt_trace *t, size_t idx, const char *comm);

/* Of one file: bytes of its "r" and "f" ranges, as replayed, and of their union. */
uint64_t stt_trace_file_read_bytes(const struct stt_trace_file *f);
uint64_t stt_trace_file_unique_bytes(const struct stt_trace_file *f);
/* Of all files: the bytes a replay reads (its "r" and "f" ranges). */
uint64_t stt_trace_read_bytes(const struct stt_trace *t);

__attribute__((warn_unused_result)) int stt_trace_to_json(const struct stt_trace *t,
							  struct json_object **out);
/*
 * Parses a trace document of @len bytes; @name (its file) names it in messages. -EINVAL with a
 * message naming the member when it is not one.
 */
__attribute__((warn_unused_result)) int stt_trace_parse(const char *buf, size_t len,
							const char *name, struct stt_trace **out);
/* Reads and parses the file @path (-ENOENT when it is missing). */
__attribute__((warn_unused_result)) int stt_trace_load(const char *path, struct stt_trace **out);

#endif
