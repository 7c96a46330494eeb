// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The measuring engine (see engine.h): libaio, one thread per job (the caller's when there
 * is one job), fio's latencies.
 *
 * The only file of the project that includes <libaio.h>. libaio returns -errno from its
 * calls; this file returns the same, with a message for people.
 *
 * Hot path, per round of a job: set offset and opcode in the prefilled iocbs of the free
 * slots, io_submit them (one per call by default, a clock read after each), add the
 * previous round's latencies to the histograms while the queue is full, io_getevents(1,
 * reap_max), one clock read. No allocation, no lock, no other system call.
 */
#include "measure/engine_int.h"

#include "base/err.h"
#include "base/json.h"
#include "base/stats.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <libaio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

const char *stt_engine_rw_name(enum stt_engine_rw rw)
{
	switch (rw) {
	case STT_ENGINE_READ:
		return "read";
	case STT_ENGINE_WRITE:
		return "write";
	case STT_ENGINE_RANDREAD:
		return "randread";
	case STT_ENGINE_RANDWRITE:
		return "randwrite";
	case STT_ENGINE_RANDRW:
		return "randrw";
	}
	return "?";
}

int stt_engine_rw_parse(const char *s, enum stt_engine_rw *rw)
{
	static const enum stt_engine_rw all[] = {
		STT_ENGINE_READ,      STT_ENGINE_WRITE,	 STT_ENGINE_RANDREAD,
		STT_ENGINE_RANDWRITE, STT_ENGINE_RANDRW,
	};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (!strcmp(s, stt_engine_rw_name(all[i]))) {
			*rw = all[i];
			return 0;
		}
	}
	return stt_err(-EINVAL, "rw: '%s' is not one of read, write, randread, randwrite, randrw",
		       s);
}

const char *stt_engine_iomem_name(enum stt_engine_iomem m)
{
	return m == STT_ENGINE_IOMEM_MMAPHUGE ? "mmaphuge" : "malloc";
}

int stt_engine_iomem_parse(const char *s, enum stt_engine_iomem *m)
{
	if (!strcmp(s, "malloc"))
		*m = STT_ENGINE_IOMEM_MALLOC;
	else if (!strcmp(s, "mmaphuge"))
		*m = STT_ENGINE_IOMEM_MMAPHUGE;
	else
		return stt_err(-EINVAL, "iomem: '%s' is not one of malloc, mmaphuge", s);
	return 0;
}

void stt_engine_job_init(struct stt_engine_job *job)
{
	memset(job, 0, sizeof(*job));
	job->rw = STT_ENGINE_READ;
	job->rwmix_read = 50;
	job->bs_bytes = 4096;
	job->iodepth = 1;
	job->submit_batch = 1;
	job->reap_max = 1;
	job->jobs = 1;
	job->direct = true;
	job->seed = UINT64_C(0x5eed5eed);
}

/* ---- job threads ------------------------------------------------------------------------ */

struct slot {
	struct iocb iocb; /* first: the event's obj points here */
	uint64_t start_ns, issue_ns;
	unsigned int dir;
	unsigned int idx;
};

/* Latencies of one reaped I/O, added to the histograms once the queue is full again. */
struct sample {
	uint64_t slat_ns, clat_ns;
	unsigned int dir;
};

/* The start gate: the jobs start together once all threads exist. */
struct shared {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool go;
	atomic_bool abort; /* a job failed, or threads could not all start */
};

struct worker {
	const struct stt_engine_job *job;
	const struct target *t;
	struct shared *sh;
	unsigned int idx;

	int fd;
	io_context_t ctx;
	bool ctx_ok;
	void *bufs;
	size_t bufs_map; /* length of the huge page mapping of bufs; 0: from posix_memalign */
	struct slot *slots;
	struct iocb **batch;
	struct io_event *events;
	unsigned int *free_idx;
	struct sample *acc;
	uint64_t rng;

	struct stt_hist hist[STT_ENGINE_NDIRS][3]; /* slat, clat, lat */
	uint64_t ios[STT_ENGINE_NDIRS], bytes[STT_ENGINE_NDIRS];
	uint64_t window_ns, usr_ns, sys_ns, nctx;
	unsigned int max_inflight;

	pthread_t tid;
	bool started;
	int r;
	char err[256];
};

enum { H_SLAT, H_CLAT, H_LAT };

static uint64_t tv_ns(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * NS_PER_S + (uint64_t)tv->tv_usec * 1000;
}

static void worker_release(struct worker *w)
{
	if (w->ctx_ok)
		io_destroy(w->ctx);
	if (w->fd >= 0)
		close(w->fd);
	if (w->bufs_map)
		munmap(w->bufs, w->bufs_map);
	else
		free(w->bufs);
	free(w->slots);
	free(w->batch);
	free(w->events);
	free(w->free_idx);
	free(w->acc);
	for (unsigned int d = 0; d < STT_ENGINE_NDIRS; d++)
		for (unsigned int h = 0; h < 3; h++)
			stt_hist_release(&w->hist[d][h]);
	w->fd = -1;
	w->ctx_ok = false;
	w->bufs = NULL;
	w->bufs_map = 0;
	w->slots = NULL;
	w->batch = NULL;
	w->events = NULL;
	w->free_idx = NULL;
	w->acc = NULL;
}

/* The I/O buffers of one job: fio's iomem=malloc (page-aligned) or iomem=mmaphuge. */
static int alloc_bufs(struct worker *w, size_t len)
{
	uint64_t page = 0, avail;

	if (w->job->iomem != STT_ENGINE_IOMEM_MMAPHUGE) {
		if (!posix_memalign(&w->bufs, BUF_ALIGN, len))
			return 0;
		w->bufs = NULL;
		return stt_err(-ENOMEM, "%s: no memory for %zu bytes of buffers", w->job->path,
			       len);
	}
	if (stt_eng_huge_pages(&page, &avail))
		page = 2u << 20;
	len = round_up(len, page);
	w->bufs = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (w->bufs == MAP_FAILED) {
		int e = -errno;

		w->bufs = NULL;
		return stt_err(e,
			       "%s: iomem mmaphuge: mapping %zu bytes of huge pages: %s "
			       "(are enough reserved? sysctl vm.nr_hugepages)",
			       w->job->path, len, strerror(-e));
	}
	w->bufs_map = len;
	return 0;
}

static int worker_setup(struct worker *w)
{
	const struct stt_engine_job *job = w->job;
	unsigned int depth = job->iodepth;
	size_t bs = (size_t)job->bs_bytes;
	int flags = O_CLOEXEC | (rw_writes(job->rw) ? O_RDWR : O_RDONLY);
	int r;

	for (unsigned int d = 0; d < STT_ENGINE_NDIRS; d++) {
		for (unsigned int h = 0; h < 3; h++) {
			r = stt_hist_init(&w->hist[d][h], STT_HIST_IO_GROUPS);
			if (r)
				goto out;
		}
	}
	if (job->direct)
		flags |= O_DIRECT;
	w->fd = open(job->path, flags);
	if (w->fd < 0) {
		r = -errno;
		if (r == -EINVAL && job->direct)
			r = stt_err(r, "%s: the target does not support O_DIRECT (use --direct 0)",
				    job->path);
		else
			r = stt_err(r, "%s: %s", job->path, strerror(-r));
		goto out;
	}
	r = alloc_bufs(w, bs * depth);
	if (r)
		goto out;
	w->slots = calloc(depth, sizeof(*w->slots));
	w->batch = calloc(depth, sizeof(*w->batch));
	w->events = calloc(depth, sizeof(*w->events));
	w->free_idx = calloc(depth, sizeof(*w->free_idx));
	w->acc = calloc(depth, sizeof(*w->acc));
	if (!w->slots || !w->batch || !w->events || !w->free_idx || !w->acc) {
		r = stt_err(-ENOMEM, "%s: no memory for iodepth %u", job->path, depth);
		goto out;
	}
	/* write data: pseudo-random once (fio's default buffers), or the pattern per I/O */
	random_fill(w->bufs, bs * depth, job->seed + w->idx);
	for (unsigned int i = 0; i < depth; i++) {
		struct slot *s = &w->slots[i];

		io_prep_pread(&s->iocb, w->fd, (char *)w->bufs + (size_t)i * bs, bs, 0);
		s->idx = i;
		w->free_idx[i] = depth - 1 - i;
	}
	w->ctx = NULL;
	r = io_setup((int)depth, &w->ctx);
	if (r < 0) {
		r = stt_err(r, "%s: io_setup of %u entries: %s%s", job->path, depth, strerror(-r),
			    r == -EAGAIN ? " (see /proc/sys/fs/aio-max-nr and aio-nr)" : "");
		goto out;
	}
	w->ctx_ok = true;
	w->rng = mix64(job->seed + w->idx);
	r = 0;
out:
	return r;
}

static int io_error(struct worker *w, const struct slot *s, long res)
{
	const char *what = s->dir == STT_ENGINE_DIR_READ ? "read" : "write";
	unsigned long long off = (unsigned long long)s->iocb.u.c.offset;

	if (res < 0)
		return stt_err((int)res, "%s: %s of %llu bytes at offset %llu: %s", w->job->path,
			       what, (unsigned long long)w->job->bs_bytes, off,
			       strerror((int)-res));
	return stt_err(-EIO, "%s: %s of %llu bytes at offset %llu: short, %ld bytes", w->job->path,
		       what, (unsigned long long)w->job->bs_bytes, off, res);
}

struct cpu_sample {
	uint64_t usr_ns, sys_ns, ctx;
};

static void rusage_now(struct cpu_sample *c)
{
	struct rusage ru;

	memset(c, 0, sizeof(*c));
	if (getrusage(RUSAGE_THREAD, &ru))
		return;
	c->usr_ns = tv_ns(&ru.ru_utime);
	c->sys_ns = tv_ns(&ru.ru_stime);
	c->ctx = (uint64_t)ru.ru_nvcsw + (uint64_t)ru.ru_nivcsw;
}

static void account(struct worker *w, const struct sample *acc, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		struct stt_hist *h = w->hist[acc[i].dir];

		stt_hist_add(&h[H_SLAT], acc[i].slat_ns);
		stt_hist_add(&h[H_CLAT], acc[i].clat_ns);
		stt_hist_add(&h[H_LAT], acc[i].slat_ns + acc[i].clat_ns);
		w->ios[acc[i].dir]++;
		w->bytes[acc[i].dir] += w->job->bs_bytes;
	}
}

/*
 * The I/O loop of one job. Each round: prepare every free slot, submit in chunks of
 * submit_batch, add the latencies of the previous round's I/Os to the histograms (while
 * the queue is full again), then reap 1 to reap_max events. A slot's start is the reap
 * that freed it (its preparation follows at once, before any accounting) or, for later
 * chunks, the return of the previous io_submit: two clock reads per I/O at fio's
 * defaults, where fio takes three.
 */
static int worker_loop(struct worker *w)
{
	const struct stt_engine_job *job = w->job;
	const unsigned int depth = job->iodepth;
	const uint64_t bs = job->bs_bytes;
	const uint64_t range_start = job->offset_bytes;
	const uint64_t nblocks = w->t->range_bytes / bs;
	const bool random = rw_random(job->rw);
	const bool verify = job->verify;
	const unsigned int submit_batch =
		job->submit_batch && job->submit_batch < depth ? job->submit_batch : depth;
	const unsigned int reap_max =
		job->reap_max && job->reap_max < depth ? job->reap_max : depth;
	const bool size_limited = job->size_bytes && !(job->time_based && job->runtime_ms);
	const uint64_t size_limit = size_limited ? (uint64_t)job->size_bytes : UINT64_MAX;
	const unsigned int rwmix = job->rw == STT_ENGINE_RANDRW ? job->rwmix_read
				   : job->rw == STT_ENGINE_READ || job->rw == STT_ENGINE_RANDREAD
					   ? 100
					   : 0;
	struct slot *const slots = w->slots;
	struct sample *const acc = w->acc;
	unsigned int nfree = depth, npend = 0, inflight = 0, nacc = 0;
	uint64_t seq_block = 0, issued_bytes = 0;
	uint64_t t0, t_c, t_ramp_end, t_win_start = 0, t_win_end = 0, t_last = 0;
	uint64_t deadline = UINT64_MAX;
	struct cpu_sample cpu0 = { 0 }, cpu1 = { 0 };
	bool measuring, stop_issue = false, draining = false;
	int r = 0;

	t0 = now_ns();
	t_c = t0;
	t_ramp_end = t0 + job->ramp_ms * NS_PER_MS;
	measuring = !job->ramp_ms;
	if (measuring) {
		t_win_start = t0;
		rusage_now(&cpu0);
		if (job->runtime_ms)
			deadline = t0 + job->runtime_ms * NS_PER_MS;
	}

	for (;;) {
		/* prepare every free slot */
		while (!stop_issue && nfree) {
			struct slot *s;
			uint64_t blk, off;
			unsigned int dir;

			if (measuring && issued_bytes >= size_limit) {
				stop_issue = true;
				break;
			}
			s = &slots[w->free_idx[--nfree]];
			if (random) {
				blk = rng_below(&w->rng, nblocks);
			} else {
				blk = seq_block;
				if (++seq_block == nblocks)
					seq_block = 0;
			}
			off = range_start + blk * bs;
			if (rwmix == 100)
				dir = STT_ENGINE_DIR_READ;
			else if (!rwmix)
				dir = STT_ENGINE_DIR_WRITE;
			else
				dir = rng_below(&w->rng, 100) < rwmix ? STT_ENGINE_DIR_READ
								      : STT_ENGINE_DIR_WRITE;
			s->dir = dir;
			s->iocb.aio_lio_opcode =
				dir == STT_ENGINE_DIR_READ ? IO_CMD_PREAD : IO_CMD_PWRITE;
			s->iocb.u.c.offset = (long long)off;
			if (verify && dir == STT_ENGINE_DIR_WRITE)
				pattern_fill(s->iocb.u.c.buf, (size_t)bs, job->seed, off);
			w->batch[npend++] = &s->iocb;
			if (measuring)
				issued_bytes += bs;
		}

		/* submit in chunks; each chunk starts where the previous one returned */
		if (npend) {
			unsigned int done = 0;
			uint64_t t = t_c;

			while (done < npend) {
				unsigned int k = npend - done;
				struct iocb **b = w->batch + done;
				int n;

				if (k > submit_batch)
					k = submit_batch;
				for (unsigned int i = 0; i < k; i++)
					((struct slot *)b[i])->start_ns = t;
				n = io_submit(w->ctx, (long)k, b);
				t = now_ns();
				if (n == -EAGAIN && inflight)
					n = 0;
				if (n < 0) {
					r = stt_err(n, "%s: io_submit: %s", job->path,
						    strerror(-n));
					stop_issue = true;
					done = npend;
					break;
				}
				for (int i = 0; i < n; i++)
					((struct slot *)b[i])->issue_ns = t;
				inflight += (unsigned int)n;
				done += (unsigned int)n;
				if ((unsigned int)n < k)
					break; /* the ring is full: reap first */
			}
			if (inflight > w->max_inflight)
				w->max_inflight = inflight;
			npend -= done;
			if (npend && done)
				memmove(w->batch, w->batch + done, npend * sizeof(*w->batch));
		}

		account(w, acc, nacc);
		nacc = 0;
		if (!inflight)
			break;

		/* reap: fio's iodepth_batch_complete_min=1, _max=reap_max */
		int n = io_getevents(w->ctx, 1, (long)reap_max, w->events, NULL);

		t_c = now_ns();
		if (n < 0) {
			if (n == -EINTR)
				continue;
			r = stt_err(n, "%s: io_getevents: %s", job->path, strerror(-n));
			break; /* the context is unusable; io_destroy waits for the rest */
		}
		for (int i = 0; i < n; i++) {
			struct slot *s = (struct slot *)w->events[i].obj;
			long res = (long)w->events[i].res;

			w->free_idx[nfree++] = s->idx;
			if ((uint64_t)res != bs) {
				if (!r)
					r = io_error(w, s, res);
				stop_issue = true;
				continue;
			}
			if (verify && s->dir == STT_ENGINE_DIR_READ) {
				long bad = pattern_check(s->iocb.u.c.buf, (size_t)bs, job->seed,
							 (uint64_t)s->iocb.u.c.offset);

				if (bad >= 0 && !r)
					r = stt_err(-EIO,
						    "%s: verify failed: the block at offset %llu "
						    "differs at byte %ld",
						    job->path,
						    (unsigned long long)s->iocb.u.c.offset, bad);
			}
			if (measuring && !draining) {
				acc[nacc].slat_ns = s->issue_ns - s->start_ns;
				acc[nacc].clat_ns = t_c - s->issue_ns;
				acc[nacc].dir = s->dir;
				nacc++;
			}
		}
		inflight -= (unsigned int)n;
		if (measuring && !draining)
			t_last = t_c;

		if (!measuring) {
			if (t_c >= t_ramp_end) {
				measuring = true;
				t_win_start = t_c;
				t_last = t_c;
				rusage_now(&cpu0);
				if (job->runtime_ms)
					deadline = t_c + job->runtime_ms * NS_PER_MS;
			}
		} else if (!draining && t_c >= deadline) {
			/* the I/Os still in flight are reaped, not counted */
			draining = true;
			stop_issue = true;
			t_win_end = t_c;
			rusage_now(&cpu1);
		}
		if (r || atomic_load_explicit(&w->sh->abort, memory_order_relaxed))
			stop_issue = true;
	}
	account(w, acc, nacc);

	if (!draining) {
		t_win_end = measuring ? t_last : t_win_start;
		rusage_now(&cpu1);
	}
	if (measuring) {
		w->window_ns = t_win_end > t_win_start ? t_win_end - t_win_start : 0;
		w->usr_ns = cpu1.usr_ns > cpu0.usr_ns ? cpu1.usr_ns - cpu0.usr_ns : 0;
		w->sys_ns = cpu1.sys_ns > cpu0.sys_ns ? cpu1.sys_ns - cpu0.sys_ns : 0;
		w->nctx = cpu1.ctx > cpu0.ctx ? cpu1.ctx - cpu0.ctx : 0;
	}
	return r;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	pthread_mutex_lock(&w->sh->lock);
	while (!w->sh->go)
		pthread_cond_wait(&w->sh->cond, &w->sh->lock);
	pthread_mutex_unlock(&w->sh->lock);
	if (atomic_load(&w->sh->abort))
		return NULL;
	stt_err_clear();
	w->r = worker_loop(w);
	if (w->r) {
		snprintf(w->err, sizeof(w->err), "%s", stt_err_msg());
		atomic_store(&w->sh->abort, true);
	}
	return NULL;
}

/* ---- results ---------------------------------------------------------------------------- */

void stt_engine_result_release(struct stt_engine_result *res)
{
	for (unsigned int d = 0; d < STT_ENGINE_NDIRS; d++) {
		stt_hist_release(&res->dir[d].slat);
		stt_hist_release(&res->dir[d].clat);
		stt_hist_release(&res->dir[d].lat);
	}
	memset(res, 0, sizeof(*res));
}

static int result_init(struct stt_engine_result *res)
{
	int r;

	memset(res, 0, sizeof(*res));
	for (unsigned int d = 0; d < STT_ENGINE_NDIRS; d++) {
		r = stt_hist_init(&res->dir[d].slat, STT_HIST_IO_GROUPS);
		if (!r)
			r = stt_hist_init(&res->dir[d].clat, STT_HIST_IO_GROUPS);
		if (!r)
			r = stt_hist_init(&res->dir[d].lat, STT_HIST_IO_GROUPS);
		if (r) {
			stt_engine_result_release(res);
			return r;
		}
	}
	return 0;
}

static int result_add(struct stt_engine_result *res, const struct worker *w)
{
	int r = 0;

	for (unsigned int d = 0; d < STT_ENGINE_NDIRS && !r; d++) {
		struct stt_engine_dir_result *dr = &res->dir[d];

		r = stt_hist_merge(&dr->slat, &w->hist[d][H_SLAT]);
		if (!r)
			r = stt_hist_merge(&dr->clat, &w->hist[d][H_CLAT]);
		if (!r)
			r = stt_hist_merge(&dr->lat, &w->hist[d][H_LAT]);
		dr->total_ios += w->ios[d];
		dr->io_bytes += w->bytes[d];
	}
	if (w->window_ns > res->window_ns)
		res->window_ns = w->window_ns;
	res->job_window_ns += w->window_ns;
	res->usr_ns += w->usr_ns;
	res->sys_ns += w->sys_ns;
	res->ctx += w->nctx;
	if (w->max_inflight > res->max_inflight)
		res->max_inflight = w->max_inflight;
	return r;
}

static void result_finish(struct stt_engine_result *res)
{
	for (unsigned int d = 0; d < STT_ENGINE_NDIRS; d++) {
		struct stt_engine_dir_result *dr = &res->dir[d];

		if (!dr->total_ios || !res->window_ns)
			continue;
		dr->iops = (double)dr->total_ios * 1e9 / (double)res->window_ns;
		dr->bw_bytes = (uint64_t)((double)dr->io_bytes * 1e9 / (double)res->window_ns);
		dr->runtime_ms = (res->window_ns + NS_PER_MS / 2) / NS_PER_MS;
	}
}

double stt_engine_cpu_per_io_ns(const struct stt_engine_result *res)
{
	uint64_t ios =
		res->dir[STT_ENGINE_DIR_READ].total_ios + res->dir[STT_ENGINE_DIR_WRITE].total_ios;

	return ios ? (double)(res->usr_ns + res->sys_ns) / (double)ios : 0.0;
}

int stt_engine_prepare(const struct stt_engine_job *job, uint64_t *laid_out)
{
	struct target t;
	bool created;
	int r;

	*laid_out = 0;
	r = stt_eng_check_job(job, &t);
	if (r || t.blockdev)
		return r;
	return stt_eng_layout(job, &t, laid_out, &created);
}

int stt_engine_run(const struct stt_engine_job *job, struct stt_engine_result *res)
{
	struct worker *w = NULL;
	struct shared sh = {
		.lock = PTHREAD_MUTEX_INITIALIZER,
		.cond = PTHREAD_COND_INITIALIZER,
	};
	struct target t;
	bool created = false;
	uint64_t laid_out = 0;
	unsigned int n = 0;
	int r;

	memset(res, 0, sizeof(*res));
	r = stt_eng_check_job(job, &t);
	if (r)
		return r;
	r = result_init(res);
	if (r)
		return r;

	if (!t.blockdev) {
		r = stt_eng_layout(job, &t, &laid_out, &created);
		if (r)
			goto out;
	}

	w = calloc(job->jobs, sizeof(*w));
	if (!w) {
		r = stt_err(-ENOMEM, "%s: no memory for %u jobs", job->path, job->jobs);
		goto out;
	}
	for (n = 0; n < job->jobs; n++) {
		w[n].fd = -1;
		w[n].job = job;
		w[n].t = &t;
		w[n].sh = &sh;
		w[n].idx = n;
	}
	for (unsigned int i = 0; i < n; i++) {
		r = worker_setup(&w[i]);
		if (r)
			goto out;
	}

	/* one job runs on this thread: single-threaded, as fio's job process */
	for (unsigned int i = 0; i < n && n > 1; i++) {
		r = -pthread_create(&w[i].tid, NULL, worker_main, &w[i]);
		if (r) {
			r = stt_err(r, "cannot start job %u: %s", i, strerror(-r));
			atomic_store(&sh.abort, true);
			break;
		}
		w[i].started = true;
	}
	/* open the gate; with abort set the threads that started return at once */
	pthread_mutex_lock(&sh.lock);
	sh.go = true;
	pthread_cond_broadcast(&sh.cond);
	pthread_mutex_unlock(&sh.lock);
	if (n == 1) {
		worker_main(&w[0]);
		if (w[0].r)
			r = stt_err(w[0].r, "%s", w[0].err);
	}
	for (unsigned int i = 0; i < n; i++) {
		if (!w[i].started)
			continue;
		pthread_join(w[i].tid, NULL);
		w[i].started = false;
		if (w[i].r && !r)
			r = stt_err(w[i].r, "%s", w[i].err);
	}
	if (r)
		goto out;

	for (unsigned int i = 0; i < n; i++) {
		r = result_add(res, &w[i]);
		if (r)
			goto out;
	}
	result_finish(res);
	res->flags = (job->direct ? STT_ENGINE_F_DIRECT : 0) |
		     (t.not_honoured ? STT_ENGINE_F_NOT_HONOURED : 0) |
		     (t.blockdev ? STT_ENGINE_F_BLOCKDEV : 0) |
		     (created ? STT_ENGINE_F_CREATED : 0);
	res->lbs_bytes = t.lbs_bytes;
	res->range_bytes = t.range_bytes;
	res->laid_out_bytes = laid_out;
	snprintf(res->note, sizeof(res->note), "%s", t.note);
	r = 0;
out:
	if (w) {
		for (unsigned int i = 0; i < n; i++)
			worker_release(&w[i]);
		free(w);
	}
	if (r)
		stt_engine_result_release(res);
	return r;
}

/* ---- fio's json shapes ------------------------------------------------------------------ */


static int dir_to_json(const struct stt_engine_dir_result *d, struct json_object **out)
{
	struct json_object *o, *h = NULL;
	int r = -ENOMEM;

	o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	if (stt_json_add(o, "io_bytes", json_object_new_int64((int64_t)d->io_bytes)) ||
	    stt_json_add(o, "io_kbytes", json_object_new_int64((int64_t)(d->io_bytes >> 10))) ||
	    stt_json_add(o, "bw_bytes", json_object_new_int64((int64_t)d->bw_bytes)) ||
	    stt_json_add(o, "bw", json_object_new_int64((int64_t)(d->bw_bytes >> 10))) ||
	    stt_json_add(o, "iops", stt_json_fio_double(d->iops)) ||
	    stt_json_add(o, "runtime", json_object_new_int64((int64_t)d->runtime_ms)) ||
	    stt_json_add(o, "total_ios", json_object_new_int64((int64_t)d->total_ios)))
		goto out;
	r = stt_json_hist(&d->slat, STT_JSON_HIST_FIO, &h);
	if (!r)
		r = stt_json_add(o, "slat_ns", h);
	if (!r)
		r = stt_json_hist(&d->clat, STT_JSON_HIST_DETAIL | STT_JSON_HIST_FIO, &h);
	if (!r)
		r = stt_json_add(o, "clat_ns", h);
	if (!r)
		r = stt_json_hist(&d->lat, STT_JSON_HIST_FIO, &h);
	if (!r)
		r = stt_json_add(o, "lat_ns", h);
	if (r)
		goto out;
	*out = o;
	o = NULL;
out:
	json_object_put(o);
	return r;
}

int stt_engine_result_to_json(const struct stt_engine_result *res, struct json_object **out)
{
	static const char *const names[STT_ENGINE_NDIRS] = { "read", "write" };
	double job_ns = (double)res->job_window_ns;
	bool direct = res->flags & STT_ENGINE_F_DIRECT;
	bool cached = !direct || (res->flags & STT_ENGINE_F_NOT_HONOURED);
	struct json_object *o, *d = NULL;
	int r = -ENOMEM;

	o = json_object_new_object();
	if (!o)
		return stt_err(-ENOMEM, "no memory for the json result");
	for (unsigned int i = 0; i < STT_ENGINE_NDIRS; i++) {
		r = dir_to_json(&res->dir[i], &d);
		if (!r)
			r = stt_json_add(o, names[i], d);
		if (r)
			goto out;
	}
	r = -ENOMEM;
	if (stt_json_add(o, "usr_cpu",
		     stt_json_fio_double(job_ns > 0 ? 100.0 * (double)res->usr_ns / job_ns : 0.0)) ||
	    stt_json_add(o, "sys_cpu",
		     stt_json_fio_double(job_ns > 0 ? 100.0 * (double)res->sys_ns / job_ns : 0.0)) ||
	    stt_json_add(o, "job_runtime",
		     json_object_new_int64(
			     (int64_t)((res->job_window_ns + NS_PER_MS / 2) / NS_PER_MS))) ||
	    stt_json_add(o, "usr_ns", json_object_new_int64((int64_t)res->usr_ns)) ||
	    stt_json_add(o, "sys_ns", json_object_new_int64((int64_t)res->sys_ns)) ||
	    stt_json_add(o, "ctx", json_object_new_int64((int64_t)res->ctx)) ||
	    stt_json_add(o, "cpu_per_io_ns", stt_json_fio_double(stt_engine_cpu_per_io_ns(res))) ||
	    stt_json_add(o, "o_direct", json_object_new_boolean(direct)) ||
	    stt_json_add(o, "page_cache_measured", json_object_new_boolean(cached)) ||
	    stt_json_add(o, "max_inflight", json_object_new_int64(res->max_inflight)) ||
	    stt_json_add(o, "lbs_bytes", json_object_new_int64(res->lbs_bytes)) ||
	    stt_json_add(o, "range_bytes", json_object_new_int64((int64_t)res->range_bytes)) ||
	    stt_json_add(o, "laid_out_bytes", json_object_new_int64((int64_t)res->laid_out_bytes)))
		goto out;
	if (res->note[0] && stt_json_add(o, "note", json_object_new_string(res->note)))
		goto out;
	*out = o;
	o = NULL;
	r = 0;
out:
	json_object_put(o);
	if (r)
		stt_err(r, "no memory for the json result");
	return r;
}
