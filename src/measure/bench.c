// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The emulation's phase runner: a backend opened, the image imported, and per repetition and
 * mode every phase run over all containers by the worker threads, with a barrier between
 * phases. What it records is bench_record.c's; the storage under the backend bench_pool.c's.
 */
#include "measure/bench_run.h"

#include "base/err.h"
#include "sys/devstat.h"
#include "sys/journal.h"
#include "workload/replay.h"
#include "workload/trace.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/vfs.h>
#include <sys/stat.h>
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

/* One traced file's ranges, as src/workload/replay.h replays them. */
static int replay_file(const char *path, const struct stt_trace_file *f, char *buf)
{
	struct stt_replay_map map = { 0 };
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return stt_err(-errno, "%s: %s", path, strerror(errno));
	for (size_t k = 0; k < f->n_ranges && !r; k++)
		if ((r = stt_replay_range(fd, f->ranges[k].kind, f->ranges[k].off_bytes,
					  f->ranges[k].len_bytes, buf, IO_BUF, &map)))
			r = stt_err(r, "%s: replaying %c %llu+%llu: %s", path, f->ranges[k].kind,
				    (unsigned long long)f->ranges[k].off_bytes,
				    (unsigned long long)f->ranges[k].len_bytes, strerror(-r));
	stt_replay_unmap(&map);
	close(fd);
	return r;
}

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
	for (size_t k = 0; wl->trace && k < wl->trace->n_files; k++) {
		if ((e = path_in(c->rootfs, wl->trace->files[k].path, path, sizeof(path))) ||
		    (e = replay_file(path, &wl->trace->files[k], buf)))
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
	if (r->cd)
		return stt_bench_ctrd_op(r->cd, r->phase, i);
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
		} else if (r->cd && (e = stt_bench_ctrd_pre(r->cd, r->phase, i))) {
			;
		} else {
			t0 = stt_bench_now_ns();
			e = op(r, i, buf);
			dt = stt_bench_now_ns() - t0;
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
/*
 * The containers' writes made durable: syncfs of each container's filesystem (overlay's
 * reaches the upper one, shared by all), which flushes through a loop device to its backing
 * file and leaves the rest of the machine's dirty data out of the figure. The real engines'
 * containers are not ours to open: sync().
 */
static int flush(struct run *r)
{
	if (r->dk || r->cd || !r->c) {
		sync();
		return 0;
	}
	for (unsigned int i = 0; i < r->p->containers; i++) {
		int fd, e = 0;

		if (!r->c[i])
			continue;
		fd = open(r->c[i]->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || syncfs(fd))
			e = stt_err(-errno, "%s: %s: %s", r->c[i]->rootfs,
				    fd < 0 ? "cannot open" : "syncfs", strerror(errno));
		if (fd >= 0)
			close(fd);
		if (e)
			return e;
	}
	return 0;
}

/*
 * The machine's control: CONTROL_DIRS directories made and removed on a tmpfs (/dev/shm) --
 * the kernel's own work (dentries, inodes, directory locks) with no storage under it. Run
 * before each phase, its time in a repetition tells compare whether the machine itself was
 * slower in one run than in the other: on the VMs this was measured on, the bench's phases
 * moved by 10-60% for seconds to minutes at a time together with this figure, while a
 * userspace loop, memfd files and fsync on the disk stayed put (tests/perf/compare_rates.sh,
 * README "compare").
 */
#define CONTROL_DIRS 64
#define CONTROL_TMPFS "/dev/shm"

/* The directory the control works in, journalled; none when /dev/shm is not a tmpfs. */
static int control_open(struct run *r)
{
	struct statfs sf;
	int e;

	r->ctl_rec = STT_JOURNAL_NONE;
	if (statfs(CONTROL_TMPFS, &sf) || sf.f_type != TMPFS_MAGIC || !r->o->journal)
		return 0;
	snprintf(r->ctl_dir, sizeof(r->ctl_dir), CONTROL_TMPFS "/stortune-control-XXXXXX");
	/* the name first, so that the record names the directory a kill would leave */
	if (!mkdtemp(r->ctl_dir) || rmdir(r->ctl_dir))
		return stt_err(-errno, "%s: %s", r->ctl_dir, strerror(errno));
	if ((e = stt_journal_add(r->o->journal, STT_J_DIR, r->ctl_dir, NULL, &r->ctl_rec)))
		return e;
	if (mkdir(r->ctl_dir, 0700))
		return stt_err(-errno, "%s: %s", r->ctl_dir, strerror(errno));
	return 0;
}

static int control_close(struct run *r)
{
	if (r->ctl_rec == STT_JOURNAL_NONE)
		return 0;
	return stt_journal_undo_one(r->o->journal, r->ctl_rec);
}

static int control(struct run *r, uint64_t *ns)
{
	char path[sizeof(r->ctl_dir) + 16];
	uint64_t t0 = stt_bench_now_ns();

	if (r->ctl_rec == STT_JOURNAL_NONE)
		return 0;
	for (int i = 0; i < CONTROL_DIRS; i++) {
		snprintf(path, sizeof(path), "%s/%d", r->ctl_dir, i);
		if (mkdir(path, 0700))
			return stt_err(-errno, "the machine's control: %s: %s", path,
				       strerror(errno));
	}
	for (int i = 0; i < CONTROL_DIRS; i++) {
		snprintf(path, sizeof(path), "%s/%d", r->ctl_dir, i);
		if (rmdir(path))
			return stt_err(-errno, "the machine's control: %s: %s", path,
				       strerror(errno));
	}
	*ns += stt_bench_now_ns() - t0;
	return 0;
}

/* One repetition in one mode: all phases, barrier between them. */
static int run_mode(struct run *r, enum stt_bench_mode mode, unsigned int rep,
		    struct mode_rec *m, stt_bench_progress_fn progress, void *parg,
		    struct json_object *pools)
{
	uint64_t t0 = stt_bench_now_ns(), pc0 = 0, pc1 = 0, dropping = 0, flushing = 0, t;
	uint64_t controlling = 0;
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
		if ((e = control(r, &controlling)))
			return e;
		if (p == STT_PHASE_READ) {
			/* the harness's own work, not the containers': kept out of the storm */
			t = stt_bench_now_ns();
			if (mode == STT_MODE_COLD && (e = stt_devstat_drop_caches()))
				return e;
			dropping += stt_bench_now_ns() - t;
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
		r->at_phase = phase_names[p];
		r->at_t0 = stt_bench_now_ns();
		if ((e = run_phase(r, rep, progress, parg, label))) {
			r->at_done = r->rep_hist.n;
			snprintf(label, sizeof(label), "in %s %s (after %llu of %u containers)",
				 stt_bench_mode_name(mode), phase_names[p], r->at_done,
				 r->p->containers);
			return stt_bench_name_fault(r, label, e);
		}
		/* Written data reaches the device within its phase. */
		if (p == STT_PHASE_WRITE || p == STT_PHASE_COW) {
			t = stt_bench_now_ns();
			e = flush(r);
			flushing += stt_bench_now_ns() - t;
			snprintf(label, sizeof(label), "in %s %s (%u containers written)",
				 stt_bench_mode_name(mode), phase_names[p], r->p->containers);
			r->at_done = r->p->containers;
			if ((e = stt_bench_name_fault(r, label, e)))
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
		if (stt_bench_requested(r->wl, (enum stt_bench_phase)p))
			ph->ampl[m->nreps] =
				(double)(p == STT_PHASE_READ ? d.read_bytes : d.write_bytes) /
				(double)(stt_bench_requested(r->wl, (enum stt_bench_phase)p) *
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
			if ((e = stt_bench_pool_json(r->b, pools, key, &pool1)))
				return e;
		}
	}
	/* The containers' own blocks: their init layers, what mounting and writing allocated. */
	if (r->b && r->b->ops->pool_status && pool1.data_used_blocks > pool0.data_used_blocks)
		m->pool_per_ctr[m->nreps] = (double)(pool1.data_used_blocks - pool0.data_used_blocks) *
					    pool1.data_block_bytes / r->p->containers;
	t = stt_bench_now_ns() - t0 - dropping - controlling;
	m->elapsed_ms[m->nreps] = (double)t / 1e6;
	m->cps[m->nreps] = r->p->containers / ((double)t / 1e9);
	m->flush_ms[m->nreps] = (double)flushing / 1e6;
	m->control_ns[m->nreps] = (double)controlling;
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
	struct run r = { .name = name, .wl = wl, .p = p, .o = o, .ctl_rec = STT_JOURNAL_NONE };
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
		if ((e = stt_bench_mode_init(&modes[m], p->repetitions)))
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
			e = stt_bench_workdir_space(o, "in prepare", e);
			goto out;
		}
		if (r.b->ops->device_name)
			r.b->ops->device_name(r.b, r.dev, sizeof(r.dev));
	}
	json_object_object_add(res, "device", json_object_new_string(r.dev));
	if (r.b)
		json_object_object_add(res, "fs", json_object_new_string(stt_backend_fs(r.b->ops, o)));
	if (p->engine) {
		if (progress)
			progress(name, "starting the engine", 0, 0, 0, parg);
		if (p->engine->kind == STT_BENCH_ENGINE_CONTAINERD)
			e = stt_bench_ctrd_setup(p->engine, r.b, wl, p->containers,
						 p->containers * p->repetitions *
							 ((p->cold ? 1 : 0) + (p->warm ? 1 : 0)),
						 o->journal, res, &r.cd);
		else
			e = stt_bench_docker_setup(p->engine, r.b, wl, p->containers, o->journal,
						   res, &r.dk);
		if (e)
			goto out;
	}

	/* The image, once: each layer filled through the backend (import). */
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	if (*r.dev && (e = stt_devstat_read(r.dev, &a)))
		goto out;
	t0 = stt_bench_now_ns();
	r.at_phase = "import";
	r.at_t0 = t0;
	if (r.dk) {
		if (progress)
			progress(name, "load image", 0, 0, 0, parg);
		if ((e = stt_bench_docker_load(r.dk)))
			goto out;
	}
	if (r.cd) {
		if (progress)
			progress(name, "import image", 0, 0, 0, parg);
		if ((e = stt_bench_ctrd_load(r.cd)))
			goto out;
	}
	for (unsigned int i = 0; !r.dk && !r.cd && i < wl->layers; i++) {
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
			e = stt_bench_name_fault(&r, why, e);
			goto out;
		}
	}
	sync();
	if ((e = stt_bench_name_fault(&r, "in import", 0)))
		goto out;
	if (*r.dev && (e = stt_devstat_read(r.dev, &b)))
		goto out;
	stt_devstat_delta(&a, &b, &d);
	{
		struct json_object *imp = json_object_new_object();

		json_object_object_add(imp, "layers", json_object_new_int((int)wl->layers));
		json_object_object_add(imp, "image_bytes", json_object_new_int64((int64_t)wl->image_bytes));
		json_object_object_add(imp, "elapsed_ms",
				       json_object_new_double((double)(stt_bench_now_ns() - t0) / 1e6));
		json_object_object_add(imp, "device_write_bytes",
				       json_object_new_int64((int64_t)d.write_bytes));
		json_object_object_add(res, "import", imp);
	}
	if (r.b && (e = stt_bench_pool_json(r.b, pools, "after_import", NULL)))
		goto out;
	if (r.b && !r.dk && !r.cd && r.b->ops->scratch_open) {
		if (progress)
			progress(name, "provisioning: first write vs overwrite", 0, 0, 0, parg);
		if ((e = stt_bench_provisioning(r.b, res)))
			goto out;
	}
	r.top = r.dk || r.cd ? NULL : layers[wl->layers - 1];

	if ((e = control_open(&r)))
		goto out;
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
					       stt_bench_mode_json(&r, &modes[m],
							 stt_bench_mode_name((enum stt_bench_mode)m),
							 warnings));
	json_object_object_add(res, "modes", jm);
	json_object_object_add(res, "pool", pools);
	pools = NULL;
	json_object_object_add(res, "warnings", warnings);
	warnings = NULL;

	if ((e = control_close(&r)))
		goto out;
	if (progress)
		progress(name, "teardown", 0, 0, 0, parg);
	if (r.dk) {
		e = stt_bench_docker_teardown(r.dk);
		r.dk = NULL;
		if (e)
			goto out;
	}
	if (r.cd) {
		e = stt_bench_ctrd_teardown(r.cd);
		r.cd = NULL;
		if (e)
			goto out;
	}
	for (unsigned int i = wl->layers; !r.dk && i-- > 0;) {
		if (!layers[i])
			continue;
		if ((e = stt_backend_layer_remove(r.b, layers[i])))
			break;
		layers[i] = NULL;
	}
	if (!e) {
		e = stt_backend_close(r.b);
		r.b = NULL;
	}
	/* A teardown that could not undo what it made is a failed run (cleanup finishes it). */
	if (e) {
		char why[768];

		snprintf(why, sizeof(why), "%s", stt_err_msg());
		e = stt_err(e, "teardown: %s", why);
	}
out:
	/* On failure the journal (the caller's) undoes every object; forget ours here. */
	if (e) {
		stt_bench_docker_abandon(r.dk);
		stt_bench_ctrd_abandon(r.cd);
		stt_backend_abandon(r.b);
		json_object_put(res);
		res = NULL;
		/* a named fault of the thin pool goes back as {"fault": {...}} */
		if (r.fault && (res = json_object_new_object()))
			json_object_object_add(res, "fault", r.fault);
		else
			json_object_put(r.fault);
		r.fault = NULL;
	}
	if (r.fault) {
		json_object_put(r.fault);
		r.fault = NULL;
		if (pools)
			json_object_put(pools);
		if (warnings)
			json_object_put(warnings);
	}
	for (int m = 0; m < STT_NMODES; m++)
		if (inited[m])
			stt_bench_mode_release(&modes[m]);
	stt_hist_release(&r.rep_hist);
	pthread_cond_destroy(&r.done);
	pthread_mutex_destroy(&r.lock);
	free(r.c);
	free(layers);
	*out = res;
	return e;
}
