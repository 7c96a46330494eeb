/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_BENCH_INT_H
#define STT_BENCH_INT_H

/*
 * Inside the benchmark, shared by the real engines' files and nothing else: bench_docker.c
 * (dockerd through its API) and bench_ctrd.c (containerd through ctr). bench_reader.c has what
 * both do: the in-container reader, the run's label, a sample of times.
 */

#include "measure/bench.h"

struct json_object;

#include <pthread.h>
#include <time.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STT_READER_MOUNT "/.stortune"

/* A random label of @n - 1 characters [a-z0-9] for a run's image and containers. */
void stt_bench_label(char *out, size_t n);

/*
 * The reader in @dir/reader: a static busybox (Debian's busybox-static) and its script
 * startup.sh (see bench_docker.c), mounted read-only at STT_READER_MOUNT. With @ready, the
 * script answers "S" once it runs, before its first command: what a start through a CLI that
 * returns only when the container exits waits for. A profile's trace is replayed by the static
 * stortune-replay when one is found (*@replayer), else by dd in the script.
 */
__attribute__((warn_unused_result)) int
stt_bench_reader_make(const char *dir, const struct stt_bench_workload *wl, bool ready,
		      bool *replayer);
/* What replays a trace in the containers (@replayer: the static one), as @info's "trace_replay". */
void stt_bench_reader_info(struct json_object *info, const struct stt_bench_workload *wl,
			   bool replayer);

/*
 * The image the engine loads: --image's docker save tar as it is, else the profile's image
 * written as one at @dir/image.tar (then *@own: the run's to remove), tagged
 * stortune-bench:@label.
 */
__attribute__((warn_unused_result)) int stt_bench_image_tar(const struct stt_bench_engine_opts *eo,
							    const char *dir, const char *label,
							    char *tar, size_t len, bool *own);

/*
 * The engine's directory beside the backend's filesystem, not on it: "<parent of root>/engine"
 * where root is the backend's root_dir, into @dir.
 */
__attribute__((warn_unused_result)) int stt_bench_engine_dir(struct stt_backend *b, char *dir,
							     size_t len, char *root, size_t rlen);

/* Times (ns) gathered by the workers, summarised into the engine member. */
struct stt_bench_samples {
	double *v;
	size_t n, cap;
	pthread_mutex_t lock;
};

void stt_bench_samples_init(struct stt_bench_samples *s);
void stt_bench_samples_release(struct stt_bench_samples *s);
__attribute__((warn_unused_result)) int stt_bench_samples_add(struct stt_bench_samples *s,
							      double ns);
/* {"unit": "ns", n, median, ci95, mean} as @key of @o; nothing when there is no sample. */
void stt_bench_samples_json(struct stt_bench_samples *s, struct json_object *o, const char *key);

static inline uint64_t stt_bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
