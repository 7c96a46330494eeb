/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_PROFILE_H
#define STT_PROFILE_H

/*
 * Workload profiles: INI files in the manner of fio's job files (profiles/NAME.ini), parsed with
 * inih. Three sections, all required:
 *
 *   [image]    layers, files, size, small_file_share, small_file_max, large_files,
 *              large_file_size, dir_depth, dirs, seed        (the image to generate)
 *   [startup]  read_files, read_bytes, stat_files, readdirs, write_files, write_bytes,
 *              rewrite_files, mid_write, fsync_writes, trace  (what a container does at start)
 *   [run]      containers, concurrency, repetitions, cold, warm
 *
 * Sizes take binary suffixes (4k, 1.5m, 2g); shares are a fraction (0.8) or a percentage (80%);
 * booleans are yes/no, true/false, on/off or 1/0. "files" and "size" count the regular files
 * visible in the final image; layers also hold what upper layers overwrite or delete.
 *
 * Errors name the file, the line, the section and the key:
 *   "profiles/x.ini:12: [image] files: not a number"
 *   "profiles/x.ini:3: [imgae]: unknown section"
 *   "profiles/x.ini: missing section [run]"
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

#define STT_PROFILE_MAX_LAYERS 120 /* leaves room for "-init" and the container (overlay: 128) */
#define STT_PROFILE_HASH_LEN 32	   /* "fnv1a64:" + 16 hex digits + NUL, rounded up */

struct stt_profile_image {
	unsigned int layers;	       /* 1 .. STT_PROFILE_MAX_LAYERS */
	uint64_t files;		       /* regular files in the final image */
	uint64_t size_bytes;	       /* their bytes */
	double small_file_share;       /* 0..1: share of the files that are small */
	uint64_t small_file_max_bytes; /* a small file has at most this many bytes */
	uint64_t large_files;	       /* a few big files (jars, runtimes, ...) */
	uint64_t large_file_bytes;     /* their mean size */
	unsigned int dir_depth;	       /* deepest directory below the root */
	uint64_t dirs;		       /* directories in the final image */
	uint64_t seed;		       /* same seed, same bytes */
};

struct stt_profile_startup {
	uint64_t read_files;	/* files read at start ... */
	uint64_t read_bytes;	/* ... and the bytes read from them */
	uint64_t stat_files;	/* files stat()ed */
	uint64_t readdirs;	/* directories listed */
	uint64_t write_files;	/* new files ... */
	uint64_t write_bytes;	/* ... and their bytes */
	uint64_t rewrite_files; /* existing files rewritten whole, in place */
	bool mid_write;		/* 4 bytes into the middle of the largest lower file */
	bool fsync_writes;	/* first-write fsyncs each file it writes (a deliberate slowdown) */
	char *trace; /* a `stortune trace` file replayed as the reads (relative to the profile) */
};

struct stt_profile_run {
	unsigned int containers;
	unsigned int concurrency;
	unsigned int repetitions;
	bool cold; /* caches dropped before each repetition */
	bool warm; /* and again with the caches as the previous one left them */
};

struct stt_profile {
	char *name;   /* "ci" */
	char *source; /* the file it came from, as found ("profiles/ci.ini") */
	char *text;   /* the whole file */
	char hash[STT_PROFILE_HASH_LEN]; /* of @text: "fnv1a64:<16 hex>" */
	struct stt_profile_image image;
	struct stt_profile_startup startup;
	struct stt_profile_run run;
};

/*
 * Loads a profile by NAME (no '/', no ".ini": profiles/NAME.ini, looked up in $STT_PROFILE_DIR,
 * then in "profiles" beside the executable, then in STT_DATADIR/profiles) or by path.
 * 0, -ENOENT ("profile NAME: not found (looked in ...)"), -EINVAL (a message naming file, line,
 * section and key), or another -errno. On success release @p with stt_profile_release().
 */
__attribute__((warn_unused_result)) int stt_profile_load(const char *name_or_path,
							struct stt_profile *p);

/* Parses @text; @source names it in messages and in p->source ("<string>" when NULL). */
__attribute__((warn_unused_result)) int stt_profile_parse(const char *text, const char *source,
							 struct stt_profile *p);

/* Frees what load or parse allocated; the struct may be loaded again. */
void stt_profile_release(struct stt_profile *p);

/* { name, source, hash, image{...}, startup{...}, run{...}, text }: key names carry units. */
__attribute__((warn_unused_result)) int stt_profile_to_json(const struct stt_profile *p,
							   struct json_object **out);

/*
 * How the [image] section splits its files: @large = large_files, @small = the small_file_share
 * of the rest (rounded to nearest), @medium = what is left (each above small_file_max).
 */
void stt_profile_file_classes(const struct stt_profile_image *im, uint64_t *small,
			      uint64_t *medium, uint64_t *large);

/* FNV-1a, 64 bits, of @len bytes, continuing from @h (start with STT_FNV1A64_INIT). */
#define STT_FNV1A64_INIT 0xcbf29ce484222325ull
uint64_t stt_fnv1a64(uint64_t h, const void *data, size_t len);

#endif
