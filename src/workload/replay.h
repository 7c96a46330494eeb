/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_REPLAY_H
#define STT_REPLAY_H

/*
 * Replaying one range of a traced start (src/workload/trace.h) on an open file, the same way
 * in the emulation (src/measure/bench.c) and in the static replayer the real engine's
 * containers run (tools/replay.c, which links nothing of stortune): a read ("r") with
 * pread(), a fault ("f") by touching the pages of a read-only private mapping of the whole
 * file, so that the kernel's fault read-around is the traced one; fault-around ("m") is the
 * kernel's own doing and not replayed. Header-only, libc only. 0 or -errno.
 */

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct stt_replay_map {
	const volatile unsigned char *p; /* NULL until the first fault */
	uint64_t len;
};

static inline int stt_replay_range(int fd, char kind, uint64_t off, uint64_t len, char *buf,
				   size_t buf_len, struct stt_replay_map *m)
{
	uint64_t end = off + len;
	unsigned int sum = 0;

	if (kind == 'r') {
		while (off < end) {
			size_t n = end - off < buf_len ? (size_t)(end - off) : buf_len;
			ssize_t got = pread(fd, buf, n, (off_t)off);

			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0)
				return -errno;
			if (!got)
				break;
			off += (uint64_t)got;
		}
		return 0;
	}
	if (kind != 'f')
		return 0;
	if (!m->p) {
		struct stat st;
		void *p;

		if (fstat(fd, &st))
			return -errno;
		if (!st.st_size)
			return -EINVAL;
		p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED)
			return -errno;
		m->p = p;
		m->len = (uint64_t)st.st_size;
	}
	for (off &= ~4095ull; off < end && off < m->len; off += 4096)
		sum += m->p[off];
	(void)sum;
	return 0;
}

static inline void stt_replay_unmap(struct stt_replay_map *m)
{
	if (m->p)
		munmap((void *)m->p, (size_t)m->len);
	m->p = NULL;
	m->len = 0;
}

#endif
