/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_BENCH_H
#define STT_BENCH_H

/*
 * The container-startup benchmark on one backend: an image imported once, then per
 * repetition and mode (cold: caches dropped before the reads; warm: not) N containers taken
 * through the phases create, start, first-read, first-write, cow-write, stop, remove with
 * C threads. Phases are barriers: every container finishes one before any starts the next,
 * so the device counters and the page-cache growth of a phase are its own. Each container's
 * operation is timed into the phase's histogram (fio's buckets, slow groups); each
 * repetition gives one value per figure, summarised over the repetitions.
 */

#include "backend/backend.h"
#include "base/stats.h"

#include <stdbool.h>
#include <stdint.h>

enum stt_bench_phase {
	STT_PHASE_CREATE,
	STT_PHASE_START,
	STT_PHASE_READ,  /* the startup working set: reads, stats, readdirs */
	STT_PHASE_WRITE, /* new files and whole-file rewrites */
	STT_PHASE_COW,	 /* a 4-byte write into the middle of the largest lower file */
	STT_PHASE_STOP,
	STT_PHASE_REMOVE,
	STT_NPHASES
};

enum stt_bench_mode { STT_MODE_COLD, STT_MODE_WARM, STT_NMODES };

const char *stt_bench_phase_name(enum stt_bench_phase p);
const char *stt_bench_mode_name(enum stt_bench_mode m);

/* What the containers do: the image and the startup working set (paths in the image). */
struct stt_bench_workload {
	unsigned int layers;
	stt_layer_fill_fn fill;
	void **layer_args; /* fill(w, layer_args[i]) fills layer i */
	uint64_t image_bytes;

	const char *const *read_paths;
	size_t n_read;
	uint64_t read_bytes; /* what the reads ask for in all */
	const char *const *stat_paths;
	size_t n_stat;
	const char *const *readdir_paths;
	size_t n_readdir;
	unsigned int write_files;
	uint64_t write_file_bytes;
	const char *const *rewrite_paths;
	size_t n_rewrite;
	uint64_t rewrite_bytes; /* sum of the rewritten files' sizes */
	bool fsync_writes;	/* first-write fsyncs every file it writes */
	const char *mid_path;	/* NULL: no cow-write phase */
	uint64_t mid_file_bytes;
	/*
	 * A real application's reads (`stortune trace`), replayed by first-read after the stats
	 * and readdirs instead of whole-file reads: per file in the order of first access, its
	 * "r" ranges with pread() and its "f" ranges (page faults) by touching those pages of a
	 * read-only mapping, so that the kernel's fault read-around is the traced one. NULL: none.
	 */
	const struct stt_trace *trace;
};

/*
 * The real engine in place of the emulation: a dockerd (Debian's docker.io) on the backend's
 * filesystem, driven through its API (bench_docker.c). Same phases, same figures; the
 * results' backend entry gets an "engine" member.
 */
struct stt_image;

enum stt_bench_engine_kind {
	STT_BENCH_ENGINE_DOCKER,     /* dockerd, for Docker's graph drivers */
	STT_BENCH_ENGINE_CONTAINERD, /* containerd with ctr, for containerd's snapshotters */
};

struct stt_bench_engine_opts {
	enum stt_bench_engine_kind kind;
	const char *docker_host;	 /* NULL: a private dockerd on the backend's target */
	struct stt_image *img;		 /* the image, written as a docker save tar ... */
	const char *image_tar;		 /* ... or this docker save tar, loaded as it is */
	unsigned int dockerd_timeout_ms; /* 0: STT_DOCKERD_TIMEOUT_MS */
};

struct stt_bench_params {
	unsigned int containers, concurrency, repetitions;
	bool cold, warm;
	const struct stt_bench_engine_opts *engine; /* NULL: the emulation */
};

/* Progress for people: phase, k of n; called from the bench thread. */
typedef void (*stt_bench_progress_fn)(const char *backend, const char *what, unsigned int rep,
				      unsigned int k, unsigned int n, void *arg);

struct json_object;

/*
 * Runs the benchmark on backend @name; the figures go into *@out (a JSON object, see
 * README "results"). 0, or -errno with a message (-EINTR when a signal arrived; the journal
 * undoes what was made); on failure *@out is NULL, or {"fault": {...}} when the thin pool
 * was found full or failed (which, in what phase, after how many containers, how long it
 * took to give up; README "results").
 */
__attribute__((warn_unused_result)) int stt_bench_run(const char *name,
						     const struct stt_backend_opts *o,
						     const struct stt_bench_workload *wl,
						     const struct stt_bench_params *p,
						     stt_bench_progress_fn progress, void *arg,
						     struct json_object **out);

/* The real engine's side of a run (bench_docker.c), for bench.c. */
struct stt_bench_docker;
struct stt_journal;

/*
 * Starts the engine (a private dockerd on @b's filesystem, or the daemon of
 * eo->docker_host), writes the reader for @wl and the image; its "engine" member into @res.
 */
__attribute__((warn_unused_result)) int stt_bench_docker_setup(
	const struct stt_bench_engine_opts *eo, struct stt_backend *b,
	const struct stt_bench_workload *wl, unsigned int containers, struct stt_journal *j,
	struct json_object *res, struct stt_bench_docker **out);
/* POST /images/load of the image (timed by the caller as the import). */
__attribute__((warn_unused_result)) int stt_bench_docker_load(struct stt_bench_docker *d);
/* Untimed preparation of phase @p for container @i (the attach before the start). */
__attribute__((warn_unused_result)) int stt_bench_docker_pre(struct stt_bench_docker *d,
							     enum stt_bench_phase p,
							     unsigned int i);
/* Phase @p of container @i through the API, the part that is timed. */
__attribute__((warn_unused_result)) int stt_bench_docker_op(struct stt_bench_docker *d,
							    enum stt_bench_phase p,
							    unsigned int i);
/* Removes what it made and stops the engine; frees @d. */
int stt_bench_docker_teardown(struct stt_bench_docker *d);
/* After a failure: best effort on a host's daemon; the journal undoes a private one. Frees. */
void stt_bench_docker_abandon(struct stt_bench_docker *d);

/*
 * The real containerd's side of a run (bench_ctrd.c), for bench.c: the same calls as the
 * Docker engine's, through a private containerd and ctr.
 */
struct stt_bench_ctrd;

/* @total: the containers of the whole run (all repetitions and modes). */
__attribute__((warn_unused_result)) int stt_bench_ctrd_setup(
	const struct stt_bench_engine_opts *eo, struct stt_backend *b,
	const struct stt_bench_workload *wl, unsigned int containers, unsigned int total,
	struct stt_journal *j, struct json_object *res, struct stt_bench_ctrd **out);
/* ctr images import of the image into the backend's snapshotter (timed as the import). */
__attribute__((warn_unused_result)) int stt_bench_ctrd_load(struct stt_bench_ctrd *d);
__attribute__((warn_unused_result)) int stt_bench_ctrd_pre(struct stt_bench_ctrd *d,
							   enum stt_bench_phase p,
							   unsigned int i);
__attribute__((warn_unused_result)) int stt_bench_ctrd_op(struct stt_bench_ctrd *d,
							  enum stt_bench_phase p,
							  unsigned int i);
int stt_bench_ctrd_teardown(struct stt_bench_ctrd *d);
void stt_bench_ctrd_abandon(struct stt_bench_ctrd *d);

/*
 * Before measuring: a private containerd (in @workdir, journalled in @j, gone on return) asked
 * with `ctr plugins ls` whether it has the snapshotter @snapshotter working. 0; -ENOTSUP with a
 * message naming what ctr plugins ls reports; -ENOENT when containerd is not installed.
 * devmapper's pool is the run's: here an error that the pool is missing is accepted.
 */
__attribute__((warn_unused_result)) int stt_bench_ctrd_probe(const char *workdir,
							     const char *snapshotter,
							     struct stt_journal *j);

/*
 * A summary over repetitions: median, ci95, n, noisy (interval wider than 10% of it), and
 * "values": the @n repetitions themselves in run order (what compare tests).
 */
struct json_object *stt_bench_summary_json(const double *x, size_t n, const char *unit);

#endif
