/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_ENGINE_INT_H
#define STT_ENGINE_INT_H

/*
 * Inside the engine, shared by its two files and nothing else: engine_target.c (the checks of a
 * job and its target, and the layout of a file) and engine.c (the I/O threads and their results,
 * the only includer of <libaio.h>).
 */

#include "measure/engine.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#define BUF_ALIGN	   4096u
#define BS_MAX_BYTES	   (UINT64_C(1) << 30)
#define LAYOUT_CHUNK_BYTES (1u << 20)
#define DEFAULT_LBS_BYTES  512u
#define DEFAULT_AIO_MAX_NR 65536u
#define NS_PER_MS	   UINT64_C(1000000)
#define NS_PER_S	   UINT64_C(1000000000)

/* What the checks found out about the target. */
struct target {
	bool exists;
	bool blockdev;
	dev_t rdev;		/* of a block device */
	uint64_t target_bytes;	/* file size or device size */
	uint64_t range_bytes;	/* length of the range, a whole number of blocks */
	unsigned int lbs_bytes; /* O_DIRECT alignment */
	bool not_honoured;
	char note[320];
};

/* ---- small helpers ---------------------------------------------------------------------- */

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* splitmix64: small state, passes BigCrush, one multiply chain per number. */
static inline uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static inline uint64_t rng_next(uint64_t *state)
{
	*state += UINT64_C(0x9e3779b97f4a7c15);
	return mix64(*state);
}

/* Uniform in [0, n) (Lemire's multiply-shift; the bias is below 2^-40 for our ranges). */
static inline uint64_t rng_below(uint64_t *state, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)rng_next(state) * n) >> 64);
}

/* The verify pattern: one 64-bit word per 8 bytes of the target, from (offset, seed). */
static inline uint64_t pattern_word(uint64_t seed, uint64_t off)
{
	return mix64(off ^ mix64(seed));
}

static inline void pattern_fill(void *buf, size_t len, uint64_t seed, uint64_t off)
{
	uint64_t *w = buf;

	for (size_t i = 0; i < len / 8; i++)
		w[i] = pattern_word(seed, off + 8 * i);
}

/* Byte index of the first mismatch, or -1. */
static inline long pattern_check(const void *buf, size_t len, uint64_t seed, uint64_t off)
{
	const uint64_t *w = buf;

	for (size_t i = 0; i < len / 8; i++)
		if (w[i] != pattern_word(seed, off + 8 * i))
			return (long)(8 * i);
	return -1;
}

static inline void random_fill(void *buf, size_t len, uint64_t seed)
{
	uint64_t *w = buf;
	uint64_t s = mix64(seed ^ UINT64_C(0x5bd1e995));

	for (size_t i = 0; i < len / 8; i++)
		w[i] = rng_next(&s);
}

static inline bool rw_writes(enum stt_engine_rw rw)
{
	return rw == STT_ENGINE_WRITE || rw == STT_ENGINE_RANDWRITE || rw == STT_ENGINE_RANDRW;
}

static inline bool rw_random(enum stt_engine_rw rw)
{
	return rw == STT_ENGINE_RANDREAD || rw == STT_ENGINE_RANDWRITE || rw == STT_ENGINE_RANDRW;
}

static inline uint64_t round_up(uint64_t v, uint64_t to)
{
	return (v + to - 1) / to * to;
}

/* A small sysfs or procfs file into @buf (NUL-terminated, trailing newline cut). 0 or -errno. */
int stt_eng_read_small(const char *path, char *buf, size_t len);
int stt_eng_read_u64(const char *path, uint64_t *v);
/* The default huge page size and the huge pages free for new mappings, from /proc/meminfo. */
int stt_eng_huge_pages(uint64_t *page_bytes, uint64_t *avail);
/* Every check of @job; what they found out about the target in @t. 0 or -errno (with a message). */
int stt_eng_check_job(const struct stt_engine_job *job, struct target *t);
/* Makes the file's range real data (fio's layout and invalidate). */
int stt_eng_layout(const struct stt_engine_job *job, const struct target *t, uint64_t *written,
		   bool *created);

#endif
