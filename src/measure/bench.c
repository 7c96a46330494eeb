// SPDX-License-Identifier: GPL-2.0-or-later
#include "measure/bench.h"

#include "sys/devstat.h"
#include "measure/engine.h"
#include "base/err.h"
#include "sys/journal.h"
#include "base/json.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

static const char *const phase_names[STT_NPHASES] = {
	[STT_PHASE_CREATE] = "create", [STT_PHASE_START] = "start",
	[STT_PHASE_READ] = "first-read", [STT_PHASE_WRITE] = "first-write",
	[STT_PHASE_COW] = "cow-write",	 [STT_PHASE_STOP] = "stop",
	[STT_PHASE_REMOVE] = "remove",
};

const char *stt_bench_phase_name(enum stt_bench_phase p)
{
	return p < STT_NPHASES ? phase_names[p] : "?";
}

const char *stt_bench_mode_name(enum stt_bench_mode m)
{
	return m == STT_MODE_COLD ? "cold" : "warm";
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Per phase, per mode: the histogram of all repetitions and one value per repetition. */
struct phase_rec {
	struct stt_hist all;
	double *p50, *p99, *mean;
	double *rd_bytes, *wr_bytes, *rd_ios, *wr_ios, *ampl;
};

struct mode_rec {
	struct phase_rec ph[STT_NPHASES];
	double *cps, *elapsed_ms, *pc_per_ctr;
	double *pool_per_ctr; /* thin pools: data bytes the pool gave each container */
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
	struct stt_bench_docker *dk; /* the real engine, or NULL */
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
};

/* The phases' operations on container @i. */

static int path_in(const char *root, const char *rel, char *buf, size_t len)
{
	while (*rel == '/')
		rel++;
	if ((size_t)snprintf(buf, len, "%s/%s", root, rel) >= len)
		return stt_err(-ENAMETOOLONG, "%s/%s: path too long", root, rel);
	return 0;
}

static int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return stt_err(-errno, "%s: %s", path, strerror(errno));
	for (;;) {
		ssize_t n = read(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = stt_err(-errno, "%s: read: %s", path, strerror(errno));
		if (n <= 0)
			break;
	}
	close(fd);
	return r;
}

/* Writes @bytes from @buf (repeated) at @off; with @sync, fsync before close. */
static int write_file(const char *path, int flags, uint64_t bytes, const char *buf, size_t len,
		      off_t off, bool sync)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | flags, 0644), r = 0;

	if (fd < 0)
		return stt_err(-errno, "%s: %s", path, strerror(errno));
	while (bytes && !r) {
		size_t n = bytes < len ? (size_t)bytes : len;
		ssize_t w = pwrite(fd, buf, n, off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			r = stt_err(w < 0 ? -errno : -EIO, "%s: write: %s", path,
				    strerror(w < 0 ? errno : EIO));
		else {
			bytes -= (uint64_t)w;
			off += w;
		}
	}
	if (!r && sync && fsync(fd))
		r = stt_err(-errno, "%s: fsync: %s", path, strerror(errno));
	if (close(fd) && !r)
		r = stt_err(-errno, "%s: close: %s", path, strerror(errno));
	return r;
}

#define IO_BUF (256u << 10)

static int op_read(struct run *r, struct stt_container *c, char *buf)
{
	const struct stt_bench_workload *wl = r->wl;
	char path[PATH_MAX];
	struct stat st;
	int e;

	for (size_t k = 0; k < wl->n_stat; k++) {
		if ((e = path_in(c->rootfs, wl->stat_paths[k], path, sizeof(path))))
			return e;
		if (lstat(path, &st))
			return stt_err(-errno, "%s: %s", path, strerror(errno));
	}
	for (size_t k = 0; k < wl->n_readdir; k++) {
		struct dirent *de;
		DIR *d;

		if ((e = path_in(c->rootfs, wl->readdir_paths[k], path, sizeof(path))))
			return e;
		d = opendir(path);
		if (!d)
			return stt_err(-errno, "%s: %s", path, strerror(errno));
		while ((de = readdir(d)))
			;
		closedir(d);
	}
	for (size_t k = 0; k < wl->n_read; k++) {
		if ((e = path_in(c->rootfs, wl->read_paths[k], path, sizeof(path))) ||
		    (e = read_file(path, buf, IO_BUF)))
			return e;
	}
	return 0;
}

static int op_write(struct run *r, struct stt_container *c, char *buf)
{
	const struct stt_bench_workload *wl = r->wl;
	char path[PATH_MAX];
	int e;

	for (unsigned int k = 0; k < wl->write_files; k++) {
		char rel[64];

		snprintf(rel, sizeof(rel), "stortune-new-%u", k);
		if ((e = path_in(c->rootfs, rel, path, sizeof(path))) ||
		    (e = write_file(path, O_CREAT | O_TRUNC, wl->write_file_bytes, buf, IO_BUF, 0,
				     wl->fsync_writes)))
			return e;
	}
	/* A whole-file rewrite in place: copy-up on overlay, new blocks on a thin device. */
	for (size_t k = 0; k < wl->n_rewrite; k++) {
		struct stat st;

		if ((e = path_in(c->rootfs, wl->rewrite_paths[k], path, sizeof(path))))
			return e;
		if (stat(path, &st))
			return stt_err(-errno, "%s: %s", path, strerror(errno));
		if ((e = write_file(path, O_TRUNC, (uint64_t)st.st_size, buf, IO_BUF, 0,
				    wl->fsync_writes)))
			return e;
	}
	return 0;
}

static int op_cow(struct run *r, struct stt_container *c)
{
	char path[PATH_MAX];
	int e;

	if (!r->wl->mid_path)
		return 0;
	if ((e = path_in(c->rootfs, r->wl->mid_path, path, sizeof(path))))
		return e;
	return write_file(path, 0, 4, "STT!", 4, (off_t)(r->wl->mid_file_bytes / 2), false);
}

static int op(struct run *r, unsigned int i, char *buf)
{
	struct stt_container **c = &r->c[i];

	if (r->dk)
		return stt_bench_docker_op(r->dk, r->phase, i);
	switch (r->phase) {
	case STT_PHASE_CREATE:
		return stt_backend_container_create(r->b, r->top, c);
	case STT_PHASE_START:
		return stt_backend_container_start(r->b, *c);
	case STT_PHASE_READ:
		return op_read(r, *c, buf);
	case STT_PHASE_WRITE:
		return op_write(r, *c, buf);
	case STT_PHASE_COW:
		return op_cow(r, *c);
	case STT_PHASE_STOP:
		return stt_backend_container_stop(r->b, *c);
	case STT_PHASE_REMOVE: {
		int e = stt_backend_container_remove(r->b, *c);

		if (!e)
			*c = NULL;
		return e;
	}
	default:
		return -EINVAL;
	}
}

static void *worker(void *arg)
{
	struct run *r = arg;
	char *buf = malloc(IO_BUF);
	unsigned int i;

	if (buf)
		memset(buf, 0x5a, IO_BUF);
	while (buf && (i = atomic_fetch_add(&r->next, 1)) < r->p->containers) {
		uint64_t t0, dt = 0;
		int e;

		if (r->err)
			break;
		if (stt_journal_interrupted()) {
			e = stt_err(-EINTR, "interrupted by signal %d", stt_journal_signal());
		} else if (r->dk && (e = stt_bench_docker_pre(r->dk, r->phase, i))) {
			;
		} else {
			t0 = now_ns();
			e = op(r, i, buf);
			dt = now_ns() - t0;
		}
		pthread_mutex_lock(&r->lock);
		if (e && !r->err) {
			r->err = e;
			snprintf(r->errmsg, sizeof(r->errmsg),
				 "%s: %s container %u (after %llu of %u containers): %s", r->name,
				 phase_names[r->phase], i, (unsigned long long)r->rep_hist.n,
				 r->p->containers, stt_err_msg());
		} else if (!e) {
			stt_hist_add(&r->rep_hist, dt);
		}
		pthread_mutex_unlock(&r->lock);
	}
	if (!buf) {
		pthread_mutex_lock(&r->lock);
		if (!r->err) {
			r->err = -ENOMEM;
			snprintf(r->errmsg, sizeof(r->errmsg), "out of memory");
		}
		pthread_mutex_unlock(&r->lock);
	}
	free(buf);
	pthread_mutex_lock(&r->lock);
	r->finished++;
	pthread_cond_signal(&r->done);
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* Runs the current phase on all containers with the configured concurrency. */
static int run_phase(struct run *r, unsigned int rep, stt_bench_progress_fn progress,
		     void *parg, const char *label)
{
	unsigned int nthreads = r->p->concurrency, started = 0;
	pthread_t *t = calloc(nthreads, sizeof(*t));

	if (!t)
		return -ENOMEM;
	atomic_store(&r->next, 0);
	r->finished = 0;
	for (; started < nthreads; started++)
		if (pthread_create(&t[started], NULL, worker, r))
			break;
	if (!started) {
		free(t);
		return stt_err(-EAGAIN, "cannot start worker threads");
	}
	/*
	 * Woken by the last worker as it ends, so a phase lasts as long as its work (a plain
	 * poll would round every phase up to the poll); the timeout only paces the progress.
	 */
	pthread_mutex_lock(&r->lock);
	while (r->finished < started) {
		unsigned int k = atomic_load(&r->next);
		struct timespec ts;

		pthread_mutex_unlock(&r->lock);
		if (progress)
			progress(r->name, label, rep, k > r->p->containers ? r->p->containers : k,
				 r->p->containers, parg);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&r->lock);
		if (r->finished < started)
			pthread_cond_timedwait(&r->done, &r->lock, &ts);
	}
	pthread_mutex_unlock(&r->lock);
	for (unsigned int i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	free(t);
	if (progress)
		progress(r->name, label, rep, r->p->containers, r->p->containers, parg);
	if (r->err)
		return stt_err(r->err, "%s", r->errmsg);
	return 0;
}

/* JSON helpers */


struct json_object *stt_bench_summary_json(const double *x, size_t n, const char *unit)
{
	struct json_object *o = json_object_new_object(), *ci, *vals;
	struct stt_summary s;

	if (!o)
		return NULL;
	json_object_object_add(o, "unit", json_object_new_string(unit));
	json_object_object_add(o, "n", json_object_new_int64((int64_t)n));
	if (!n || stt_stats_summarize(x, n, &s, NULL)) {
		json_object_object_add(o, "median", NULL);
		return o;
	}
	ci = json_object_new_array();
	json_object_array_add(ci, json_object_new_double(s.ci_lo));
	json_object_array_add(ci, json_object_new_double(s.ci_hi));
	json_object_object_add(o, "median", json_object_new_double(s.median));
	json_object_object_add(o, "ci95", ci);
	json_object_object_add(o, "mean", json_object_new_double(s.mean));
	json_object_object_add(o, "stddev", json_object_new_double(s.stddev));
	json_object_object_add(o, "outliers", json_object_new_int64((int64_t)s.n_outliers));
	{
		/* noisy: too spread to gate, by compare's own rule (stt_stats_spread) */
		double spread = NAN;
		bool logs = true;

		for (size_t i = 0; i < n; i++)
			logs &= x[i] > 0.0;
		if (stt_stats_spread(x, n, logs, s.median, &spread))
			spread = NAN;
		json_object_object_add(o, "spread",
				       isfinite(spread) ? json_object_new_double(spread) : NULL);
		json_object_object_add(
		    o, "noisy",
		    json_object_new_boolean(!(spread * STT_STATS_NOISE_FACTOR < 1.0)));
	}
	/* The repetitions themselves, in run order: what compare tests. */
	vals = json_object_new_array_ext((int)n);
	for (size_t i = 0; vals && i < n; i++)
		json_object_array_add(vals, json_object_new_double(x[i]));
	json_object_object_add(o, "values", vals);
	return o;
}

/* Records */

static int mode_init(struct mode_rec *m, unsigned int reps)
{
	memset(m, 0, sizeof(*m));
	for (int p = 0; p < STT_NPHASES; p++) {
		struct phase_rec *ph = &m->ph[p];

		if (stt_hist_init(&ph->all, STT_HIST_SLOW_GROUPS))
			return -ENOMEM;
		ph->p50 = calloc(reps, sizeof(double));
		ph->p99 = calloc(reps, sizeof(double));
		ph->mean = calloc(reps, sizeof(double));
		ph->rd_bytes = calloc(reps, sizeof(double));
		ph->wr_bytes = calloc(reps, sizeof(double));
		ph->rd_ios = calloc(reps, sizeof(double));
		ph->wr_ios = calloc(reps, sizeof(double));
		ph->ampl = calloc(reps, sizeof(double));
		if (!ph->p50 || !ph->p99 || !ph->mean || !ph->rd_bytes || !ph->wr_bytes ||
		    !ph->rd_ios || !ph->wr_ios || !ph->ampl)
			return -ENOMEM;
	}
	m->cps = calloc(reps, sizeof(double));
	m->elapsed_ms = calloc(reps, sizeof(double));
	m->pc_per_ctr = calloc(reps, sizeof(double));
	m->pool_per_ctr = calloc(reps, sizeof(double));
	return m->cps && m->elapsed_ms && m->pc_per_ctr && m->pool_per_ctr ? 0 : -ENOMEM;
}

static void mode_release(struct mode_rec *m)
{
	for (int p = 0; p < STT_NPHASES; p++) {
		struct phase_rec *ph = &m->ph[p];

		stt_hist_release(&ph->all);
		free(ph->p50);
		free(ph->p99);
		free(ph->mean);
		free(ph->rd_bytes);
		free(ph->wr_bytes);
		free(ph->rd_ios);
		free(ph->wr_ios);
		free(ph->ampl);
	}
	free(m->cps);
	free(m->elapsed_ms);
	free(m->pc_per_ctr);
	free(m->pool_per_ctr);
}

/* Bytes the workload asks for in phase @p, per container. */
static uint64_t requested(const struct stt_bench_workload *wl, enum stt_bench_phase p)
{
	switch (p) {
	case STT_PHASE_READ:
		return wl->read_bytes;
	case STT_PHASE_WRITE:
		return (uint64_t)wl->write_files * wl->write_file_bytes + wl->rewrite_bytes;
	case STT_PHASE_COW:
		return wl->mid_path ? 4 : 0;
	default:
		return 0;
	}
}

/* Notes @what in @noisy (", "-separated) when its summary is flagged noisy. */
static void note_noisy(char *noisy, size_t len, const char *what, struct json_object *summary)
{
	struct json_object *flag = json_object_object_get(summary, "noisy");
	size_t used = strlen(noisy);

	if (flag && json_object_get_boolean(flag))
		snprintf(noisy + used, len - used, "%s%s", used ? ", " : "", what);
}

static struct json_object *mode_json(const struct run *r, const struct mode_rec *m,
				     const char *mode, struct json_object *warnings)
{
	struct json_object *o = json_object_new_object(), *phases = json_object_new_object();
	unsigned int n = m->nreps;
	char noisy[512] = "";

	for (int p = 0; p < STT_NPHASES; p++) {
		const struct phase_rec *ph = &m->ph[p];
		struct json_object *j = json_object_new_object(), *dev = json_object_new_object();
		struct json_object *jh;
		struct json_object *s;
		char what[64];

		if (p == STT_PHASE_COW && !r->wl->mid_path) {
			json_object_put(j);
			json_object_put(dev);
			continue;
		}
		if (!stt_json_hist(&ph->all, STT_JSON_HIST_DETAIL | STT_JSON_HIST_CLAMPED, &jh))
			json_object_object_add(j, "lat_ns", jh);
		s = stt_bench_summary_json(ph->p50, n, "ns");
		snprintf(what, sizeof(what), "%s p50", phase_names[p]);
		note_noisy(noisy, sizeof(noisy), what, s);
		json_object_object_add(j, "p50_ns", s);
		json_object_object_add(j, "p99_ns", stt_bench_summary_json(ph->p99, n, "ns"));
		json_object_object_add(j, "mean_ns", stt_bench_summary_json(ph->mean, n, "ns"));
		json_object_object_add(dev, "read_bytes",
				       stt_bench_summary_json(ph->rd_bytes, n, "bytes"));
		json_object_object_add(dev, "write_bytes",
				       stt_bench_summary_json(ph->wr_bytes, n, "bytes"));
		json_object_object_add(dev, "read_ios", stt_bench_summary_json(ph->rd_ios, n, "ios"));
		json_object_object_add(dev, "write_ios",
				       stt_bench_summary_json(ph->wr_ios, n, "ios"));
		json_object_object_add(j, "device", dev);
		if (requested(r->wl, p)) {
			json_object_object_add(
				j, "requested_bytes",
				json_object_new_int64((int64_t)(requested(r->wl, p) *
								r->p->containers)));
			json_object_object_add(j, "amplification",
					       stt_bench_summary_json(ph->ampl, n, "ratio"));
		}
		json_object_object_add(phases, phase_names[p], j);
	}
	json_object_object_add(o, "phases", phases);
	{
		struct json_object *storm = json_object_new_object(), *s;

		s = stt_bench_summary_json(m->cps, n, "containers/s");
		note_noisy(noisy, sizeof(noisy), "storm containers/s", s);
		json_object_object_add(storm, "containers_per_s", s);
		json_object_object_add(storm, "elapsed_ms",
				       stt_bench_summary_json(m->elapsed_ms, n, "ms"));
		json_object_object_add(storm, "containers",
				       json_object_new_int((int)r->p->containers));
		json_object_object_add(storm, "concurrency",
				       json_object_new_int((int)r->p->concurrency));
		json_object_object_add(o, "storm", storm);
	}
	json_object_object_add(o, "page_cache_per_container_bytes",
			       stt_bench_summary_json(m->pc_per_ctr, n, "bytes"));
	if (r->b && r->b->ops->pool_status)
		json_object_object_add(o, "pool_data_per_container_bytes",
				       stt_bench_summary_json(m->pool_per_ctr, n, "bytes"));
	if (*noisy) {
		char msg[768];

		snprintf(msg, sizeof(msg),
			 "%s %s: too noisy to gate (one repetition spreads by a third of the "
			 "median or more, n=%u; compare will not decide them): %s; more "
			 "containers a repetition narrow it",
			 r->name, mode, n, noisy);
		json_object_array_add(warnings, json_object_new_string(msg));
	}
	return o;
}

/* The pool's status under @key of @o, and into *@out when not NULL (thin pools only). */
static int pool_json(struct stt_backend *b, struct json_object *o, const char *key,
		     struct stt_pool_status *out)
{
	struct stt_pool_status st;
	struct json_object *j;
	int r;

	if (!b || !b->ops->pool_status)
		return 0;
	r = stt_backend_pool_status(b, &st);
	if (r)
		return r;
	if (out)
		*out = st;
	j = json_object_new_object();
	json_object_object_add(j, "transaction_id", json_object_new_int64((int64_t)st.transaction_id));
	json_object_object_add(j, "data_used_blocks",
			       json_object_new_int64((int64_t)st.data_used_blocks));
	json_object_object_add(j, "data_total_blocks",
			       json_object_new_int64((int64_t)st.data_total_blocks));
	json_object_object_add(j, "meta_used_blocks",
			       json_object_new_int64((int64_t)st.meta_used_blocks));
	json_object_object_add(j, "meta_total_blocks",
			       json_object_new_int64((int64_t)st.meta_total_blocks));
	json_object_object_add(j, "data_block_bytes", json_object_new_int64(st.data_block_bytes));
	json_object_object_add(o, key, j);
	if (st.out_of_data_space)
		return stt_err(-ENOSPC, "thin pool out of data space");
	return 0;
}

/*
 * Thin pools: what provisioning costs. A fresh thin device written sequentially in 4 KiB
 * writes, twice over the same 16 MiB: the first pass allocates a pool block at each block
 * boundary (and zeroes it with --zeroing), the second overwrites blocks that exist.
 */
static int provisioning(struct stt_backend *b, struct json_object *res)
{
	struct json_object *o, *pass[2] = { NULL, NULL };
	struct stt_engine_result er;
	struct stt_engine_job job;
	char path[256];
	uint64_t bytes;
	int r;

	if (!b->ops->scratch_open)
		return 0;
	r = b->ops->scratch_open(b, path, sizeof(path), &bytes);
	if (r)
		return r;
	for (int i = 0; i < 2 && !r; i++) {
		stt_engine_job_init(&job);
		job.path = path;
		job.destroy_data = path;
		job.rw = STT_ENGINE_WRITE;
		job.bs_bytes = 4096;
		job.iodepth = 1;
		job.size_bytes = bytes < (16ull << 20) ? (int64_t)bytes : (int64_t)(16ull << 20);
		r = stt_engine_run(&job, &er);
		if (!r) {
			r = stt_engine_result_to_json(&er, &pass[i]);
			stt_engine_result_release(&er);
		}
	}
	if (!r) {
		double p50[2], mean[2];

		for (int i = 0; i < 2; i++) {
			struct json_object *clat = json_object_object_get(
				json_object_object_get(pass[i], "write"), "clat_ns");

			p50[i] = json_object_get_double(json_object_object_get(
				json_object_object_get(clat, "percentile"), "50.000000"));
			mean[i] = json_object_get_double(json_object_object_get(clat, "mean"));
		}
		o = json_object_new_object();
		json_object_object_add(o, "bs_bytes", json_object_new_int(4096));
		json_object_object_add(o, "size_bytes", json_object_new_int64(job.size_bytes));
		json_object_object_add(o, "first_write", pass[0]);
		json_object_object_add(o, "overwrite", pass[1]);
		json_object_object_add(o, "clat_mean_ratio",
				       json_object_new_double(mean[1] > 0 ? mean[0] / mean[1] : 0));
		json_object_object_add(o, "clat_p50_ratio",
				       json_object_new_double(p50[1] > 0 ? p50[0] / p50[1] : 0));
		json_object_object_add(res, "provisioning", o);
		pass[0] = pass[1] = NULL;
	}
	json_object_put(pass[0]);
	json_object_put(pass[1]);
	if (!r)
		return b->ops->scratch_close(b);
	(void)b->ops->scratch_close(b);
	return r;
}

/*
 * Below this much free space the workdir's filesystem counts as full: the sparse files of
 * the backend (overlay's backing.img, dm-loop's data and metadata) grow as they are written,
 * and a write the loop device cannot place fails under the filesystem or pool on top, which
 * then reports an I/O error, a shut-down filesystem or "structure needs cleaning" -- not the
 * cause. The cause is named here.
 */
#define FULL_BELOW_BYTES (8ull << 20)

/*
 * After a sync or a failure: when the target lives in sparse files under the workdir and
 * that filesystem is full, -ENOSPC with a message naming it (and @e's message, if any);
 * else @e unchanged.
 */
static int workdir_space(const struct stt_backend_opts *o, const char *when, int e)
{
	char prev[768];
	struct statvfs sv;
	uint64_t free_bytes;

	if (o->device || !o->workdir || statvfs(o->workdir, &sv))
		return e;
	free_bytes = (uint64_t)sv.f_bfree * sv.f_frsize;
	if (free_bytes >= FULL_BELOW_BYTES)
		return e;
	snprintf(prev, sizeof(prev), "%s", e ? stt_err_msg() : "");
	return stt_err(-ENOSPC,
		       "%s: no space left on device (ENOSPC) %s: the workdir's filesystem has "
		       "%llu KiB free, so the backend's sparse files under it cannot grow%s%s "
		       "(give --workdir a filesystem with room for the image and the containers' "
		       "writes)",
		       o->workdir, when, (unsigned long long)(free_bytes >> 10), *prev ? "; " : "",
		       prev);
}

/*
 * Thin pools: when the pool is out of data or metadata space, read-only or failed, an error
 * naming that, where (@when) and how full it is (with @e's message, if any); else @e.
 * A full pool queues or fails the writes under the filesystems on its thin devices, which
 * then report only an I/O error: the cause is named here.
 */
static int pool_fault(struct stt_backend *b, const char *when, int e)
{
	struct stt_pool_status st;
	const char *what = NULL;
	char prev[768];

	if (!b || !b->ops->pool_status)
		return e;
	snprintf(prev, sizeof(prev), "%s", e ? stt_err_msg() : "");
	if (stt_backend_pool_status(b, &st)) {
		if (!e)
			return 0;
		/* a pool whose status cannot be read has failed: the first error says why */
		return stt_err(e, "%s (%s; the thin pool's status cannot be read)", prev, when);
	}
	if (st.out_of_data_space || st.data_used_blocks >= st.data_total_blocks)
		what = "out of data space";
	else if (st.meta_used_blocks >= st.meta_total_blocks)
		what = "out of metadata space";
	else if (st.read_only)
		what = "read-only (its metadata ran out or failed)";
	else if (st.needs_check)
		what = "marked needs_check";
	if (!what)
		return e;
	return stt_err(-ENOSPC,
		       "thin pool %s %s: data %llu/%llu blocks, metadata %llu/%llu blocks used%s%s "
		       "(use a larger --data-size/--meta-size or fewer containers)",
		       what, when, (unsigned long long)st.data_used_blocks,
		       (unsigned long long)st.data_total_blocks,
		       (unsigned long long)st.meta_used_blocks,
		       (unsigned long long)st.meta_total_blocks, *prev ? "; " : "", prev);
}

/*
 * @e, or the cause behind it -- the full workdir under the backend's sparse files or its full
 * thin pool -- named @when. With no backend of its own (--docker-host), @e.
 */
static int name_fault(const struct stt_backend_opts *o, struct stt_backend *b, const char *when,
		      int e)
{
	return b ? workdir_space(o, when, pool_fault(b, when, e)) : e;
}

/* One repetition in one mode: all phases, barrier between them. */
static int run_mode(struct run *r, enum stt_bench_mode mode, unsigned int rep,
		    struct mode_rec *m, stt_bench_progress_fn progress, void *parg,
		    struct json_object *pools)
{
	uint64_t t0 = now_ns(), pc0 = 0, pc1 = 0;
	struct stt_pool_status pool0 = { 0 }, pool1 = { 0 };
	char label[64];
	int e;

	/* What the pool holds before the containers: the image (the last ones were deleted). */
	if (r->b && r->b->ops->pool_status && (e = stt_backend_pool_status(r->b, &pool0)))
		return e;
	for (int p = 0; p < STT_NPHASES; p++) {
		struct phase_rec *ph = &m->ph[p];
		struct stt_devstat a, b, d;
		uint64_t v[2];
		static const double pcts[2] = { 50, 99 };

		if (p == STT_PHASE_COW && !r->wl->mid_path)
			continue;
		if (p == STT_PHASE_READ) {
			if (mode == STT_MODE_COLD && (e = stt_devstat_drop_caches()))
				return e;
			if ((e = stt_devstat_page_cache(&pc0)))
				return e;
		}
		stt_hist_reset(&r->rep_hist);
		r->phase = (enum stt_bench_phase)p;
		memset(&a, 0, sizeof(a));
		memset(&b, 0, sizeof(b));
		if (*r->dev && (e = stt_devstat_read(r->dev, &a)))
			return e;
		snprintf(label, sizeof(label), "%s %s", stt_bench_mode_name(mode), phase_names[p]);
		if ((e = run_phase(r, rep, progress, parg, label))) {
			snprintf(label, sizeof(label), "in %s %s (after %llu of %u containers)",
				 stt_bench_mode_name(mode), phase_names[p],
				 (unsigned long long)r->rep_hist.n, r->p->containers);
			return name_fault(r->o, r->b, label, e);
		}
		/* Written data reaches the device within its phase. */
		if (p == STT_PHASE_WRITE || p == STT_PHASE_COW) {
			sync();
			snprintf(label, sizeof(label), "in %s %s (%u containers written)",
				 stt_bench_mode_name(mode), phase_names[p], r->p->containers);
			if ((e = name_fault(r->o, r->b, label, 0)))
				return e;
		}
		if (*r->dev && (e = stt_devstat_read(r->dev, &b)))
			return e;
		if (p == STT_PHASE_READ && (e = stt_devstat_page_cache(&pc1)))
			return e;
		stt_devstat_delta(&a, &b, &d);
		ph->rd_bytes[m->nreps] = (double)d.read_bytes;
		ph->wr_bytes[m->nreps] = (double)d.write_bytes;
		ph->rd_ios[m->nreps] = (double)d.read_ios;
		ph->wr_ios[m->nreps] = (double)d.write_ios;
		if (requested(r->wl, (enum stt_bench_phase)p))
			ph->ampl[m->nreps] =
				(double)(p == STT_PHASE_READ ? d.read_bytes : d.write_bytes) /
				(double)(requested(r->wl, (enum stt_bench_phase)p) *
					 r->p->containers);
		if (stt_hist_percentiles(&r->rep_hist, pcts, 2, v) == 0) {
			ph->p50[m->nreps] = (double)v[0];
			ph->p99[m->nreps] = (double)v[1];
		}
		ph->mean[m->nreps] = r->rep_hist.mean_ns;
		if ((e = stt_hist_merge(&ph->all, &r->rep_hist)))
			return e;
		if (p == STT_PHASE_COW || (p == STT_PHASE_WRITE && !r->wl->mid_path)) {
			char key[64];

			snprintf(key, sizeof(key), "%s_after_writes", stt_bench_mode_name(mode));
			if ((e = pool_json(r->b, pools, key, &pool1)))
				return e;
		}
	}
	/* The containers' own blocks: their init layers, what mounting and writing allocated. */
	if (r->b && r->b->ops->pool_status && pool1.data_used_blocks > pool0.data_used_blocks)
		m->pool_per_ctr[m->nreps] = (double)(pool1.data_used_blocks - pool0.data_used_blocks) *
					    pool1.data_block_bytes / r->p->containers;
	m->elapsed_ms[m->nreps] = (double)(now_ns() - t0) / 1e6;
	m->cps[m->nreps] = r->p->containers / ((double)(now_ns() - t0) / 1e9);
	m->pc_per_ctr[m->nreps] = pc1 > pc0 ? (double)(pc1 - pc0) / r->p->containers : 0;
	m->nreps++;
	return 0;
}

int stt_bench_run(const char *name, const struct stt_backend_opts *o,
		  const struct stt_bench_workload *wl, const struct stt_bench_params *p,
		  stt_bench_progress_fn progress, void *parg, struct json_object **out)
{
	struct stt_layer **layers = calloc(wl->layers, sizeof(*layers));
	struct mode_rec modes[STT_NMODES];
	struct run r = { .name = name, .wl = wl, .p = p, .o = o };
	struct json_object *res = NULL, *warnings = NULL, *pools = NULL, *jm;
	struct stt_devstat a, b, d;
	uint64_t t0;
	bool inited[STT_NMODES] = { false, false };
	int e = 0;

	pthread_mutex_init(&r.lock, NULL);
	pthread_cond_init(&r.done, NULL);
	r.c = calloc(p->containers, sizeof(*r.c));
	if (!layers || !r.c || stt_hist_init(&r.rep_hist, STT_HIST_SLOW_GROUPS)) {
		e = -ENOMEM;
		goto out;
	}
	for (int m = 0; m < STT_NMODES; m++) {
		inited[m] = true;
		if ((e = mode_init(&modes[m], p->repetitions)))
			goto out;
	}
	res = json_object_new_object();
	warnings = json_object_new_array();
	pools = json_object_new_object();
	json_object_object_add(res, "backend", json_object_new_string(name));

	if (progress)
		progress(name, "prepare", 0, 0, 0, parg);
	if (!(p->engine && p->engine->docker_host)) {
		if ((e = stt_backend_open(name, o, &r.b))) {
			e = workdir_space(o, "in prepare", e);
			goto out;
		}
		if (r.b->ops->device_name)
			r.b->ops->device_name(r.b, r.dev, sizeof(r.dev));
	}
	json_object_object_add(res, "device", json_object_new_string(r.dev));
	if (p->engine) {
		if (progress)
			progress(name, "starting the engine", 0, 0, 0, parg);
		if ((e = stt_bench_docker_setup(p->engine, r.b, wl, p->containers, o->journal, res,
						&r.dk)))
			goto out;
	}

	/* The image, once: each layer filled through the backend (import). */
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	if (*r.dev && (e = stt_devstat_read(r.dev, &a)))
		goto out;
	t0 = now_ns();
	if (r.dk) {
		if (progress)
			progress(name, "load image", 0, 0, 0, parg);
		if ((e = stt_bench_docker_load(r.dk)))
			goto out;
	}
	for (unsigned int i = 0; !r.dk && i < wl->layers; i++) {
		if (progress)
			progress(name, "import layer", 0, i + 1, wl->layers, parg);
		if (stt_journal_interrupted()) {
			e = stt_err(-EINTR, "interrupted by signal %d", stt_journal_signal());
			goto out;
		}
		if ((e = stt_backend_layer_create(r.b, i ? layers[i - 1] : NULL, wl->fill,
						  wl->layer_args[i], &layers[i]))) {
			char why[768];

			snprintf(why, sizeof(why), "%s", stt_err_msg());
			e = stt_err(e, "import: layer %u of %u: %s", i + 1, wl->layers, why);
			snprintf(why, sizeof(why), "in import (layer %u of %u)", i + 1,
				 wl->layers);
			e = name_fault(o, r.b, why, e);
			goto out;
		}
	}
	sync();
	if ((e = name_fault(o, r.b, "in import", 0)))
		goto out;
	if (*r.dev && (e = stt_devstat_read(r.dev, &b)))
		goto out;
	stt_devstat_delta(&a, &b, &d);
	{
		struct json_object *imp = json_object_new_object();

		json_object_object_add(imp, "layers", json_object_new_int((int)wl->layers));
		json_object_object_add(imp, "image_bytes", json_object_new_int64((int64_t)wl->image_bytes));
		json_object_object_add(imp, "elapsed_ms",
				       json_object_new_double((double)(now_ns() - t0) / 1e6));
		json_object_object_add(imp, "device_write_bytes",
				       json_object_new_int64((int64_t)d.write_bytes));
		json_object_object_add(res, "import", imp);
	}
	if (r.b && (e = pool_json(r.b, pools, "after_import", NULL)))
		goto out;
	if (r.b && !r.dk && r.b->ops->scratch_open) {
		if (progress)
			progress(name, "provisioning: first write vs overwrite", 0, 0, 0, parg);
		if ((e = provisioning(r.b, res)))
			goto out;
	}
	r.top = r.dk ? NULL : layers[wl->layers - 1];

	for (unsigned int rep = 0; rep < p->repetitions; rep++) {
		for (int m = 0; m < STT_NMODES; m++) {
			if ((m == STT_MODE_COLD && !p->cold) || (m == STT_MODE_WARM && !p->warm))
				continue;
			if ((e = run_mode(&r, (enum stt_bench_mode)m, rep, &modes[m], progress,
					  parg, pools)))
				goto out;
		}
	}
	jm = json_object_new_object();
	for (int m = 0; m < STT_NMODES; m++)
		if (modes[m].nreps)
			json_object_object_add(jm, stt_bench_mode_name((enum stt_bench_mode)m),
					       mode_json(&r, &modes[m],
							 stt_bench_mode_name((enum stt_bench_mode)m),
							 warnings));
	json_object_object_add(res, "modes", jm);
	json_object_object_add(res, "pool", pools);
	pools = NULL;
	json_object_object_add(res, "warnings", warnings);
	warnings = NULL;

	if (progress)
		progress(name, "teardown", 0, 0, 0, parg);
	if (r.dk) {
		e = stt_bench_docker_teardown(r.dk);
		r.dk = NULL;
		if (e)
			goto out;
	}
	for (unsigned int i = wl->layers; !r.dk && i-- > 0;) {
		if (!layers[i])
			continue;
		if ((e = stt_backend_layer_remove(r.b, layers[i])))
			goto out;
		layers[i] = NULL;
	}
	e = stt_backend_close(r.b);
	r.b = NULL;
out:
	/* On failure the journal (the caller's) undoes every object; forget ours here. */
	if (e) {
		stt_bench_docker_abandon(r.dk);
		stt_backend_abandon(r.b);
		json_object_put(res);
		res = NULL;
		if (pools)
			json_object_put(pools);
		if (warnings)
			json_object_put(warnings);
	}
	for (int m = 0; m < STT_NMODES; m++)
		if (inited[m])
			mode_release(&modes[m]);
	stt_hist_release(&r.rep_hist);
	pthread_cond_destroy(&r.done);
	pthread_mutex_destroy(&r.lock);
	free(r.c);
	free(layers);
	*out = res;
	return e;
}
