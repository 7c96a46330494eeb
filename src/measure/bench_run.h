/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_BENCH_RUN_H
#define STT_BENCH_RUN_H

/*
 * Inside the emulation's phase runner, shared by its files and nothing else: bench.c (the
 * runner: workers, phases, repetitions), bench_record.c (what a mode's repetitions record and
 * how they become the results' members) and bench_pool.c (the storage under a backend: its thin
 * pool's figures, the provisioning test, and the faults it or the workdir can cause).
 */

#include "measure/bench_int.h"

#include "backend/backend.h"
#include "base/stats.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

struct json_object;

/* Per phase, per mode: the histogram of all repetitions and one value per repetition. */
struct phase_rec {
	struct stt_hist all;
	double *p50, *p99, *mean;
	double *rd_bytes, *wr_bytes, *rd_ios, *wr_ios, *ampl;
};

struct mode_rec {
	struct phase_rec ph[STT_NPHASES];
	double *cps, *elapsed_ms, *flush_ms, *pc_per_ctr;
	double *pool_per_ctr; /* thin pools: data bytes the pool gave each container */
	double *control_ns;   /* the machine's control (bench.c), summed over the phases */
	unsigned int nreps;
};

struct run {
	const char *name;
	struct stt_backend *b;
	const struct stt_bench_workload *wl;
	const struct stt_bench_params *p;
	struct stt_layer *top;
	struct stt_container **c;
	const struct stt_backend_opts *o;
	struct stt_bench_docker *dk; /* the real engine: dockerd, */
	struct stt_bench_ctrd *cd;   /* or containerd; both NULL: the emulation */
	char dev[64];

	/* The phase the workers run. */
	enum stt_bench_phase phase;
	atomic_uint next;
	unsigned int finished; /* workers done with the phase; under @lock, signals @done */
	pthread_mutex_t lock;
	pthread_cond_t done;
	struct stt_hist rep_hist; /* this repetition's phase */
	int err;
	char errmsg[512];

	/* Where a fault would be: the phase, its start, the containers through it. */
	const char *at_phase;
	uint64_t at_t0;
	unsigned long long at_done;
	struct json_object *fault; /* the thin pool's fault, when one was named */

	/* The machine's control (bench.c): its tmpfs directory and journal record. */
	char ctl_dir[64];
	unsigned int ctl_rec;
};

/* Records (bench_record.c) */

/* One value per repetition for @reps repetitions; -ENOMEM. */
__attribute__((warn_unused_result)) int stt_bench_mode_init(struct mode_rec *m, unsigned int reps);
void stt_bench_mode_release(struct mode_rec *m);
/* Bytes the workload asks for in phase @p, per container. */
uint64_t stt_bench_requested(const struct stt_bench_workload *wl, enum stt_bench_phase p);
/* The results' member of mode @mode; a warning into @warnings for figures too noisy to gate. */
struct json_object *stt_bench_mode_json(const struct run *r, const struct mode_rec *m,
					const char *mode, struct json_object *warnings);

/* The storage under the backend (bench_pool.c) */

/* The pool's status under @key of @o, and into *@out when not NULL (thin pools only). */
__attribute__((warn_unused_result)) int stt_bench_pool_json(struct stt_backend *b,
							    struct json_object *o, const char *key,
							    struct stt_pool_status *out);
/* Thin pools: the provisioning test into @res's "provisioning". */
__attribute__((warn_unused_result)) int stt_bench_provisioning(struct stt_backend *b,
							       struct json_object *res);
/*
 * After a sync or a failure: when the target lives in sparse files under the workdir and that
 * filesystem is full, -ENOSPC with a message naming it (and @e's message, if any); else @e.
 */
int stt_bench_workdir_space(const struct stt_backend_opts *o, const char *when, int e);
/*
 * @e, or the cause behind it -- the full workdir under the backend's sparse files or its full
 * thin pool (then recorded in @r->fault) -- named @when. With no backend of its own
 * (--docker-host), @e.
 */
int stt_bench_name_fault(struct run *r, const char *when, int e);

#endif
