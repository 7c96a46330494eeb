// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The measuring engine (src/measure/engine.h) and the io and fio-check commands on files of a
 * loop-mounted xfs and ext4, and on loop devices: verify round trips, the in-flight bound,
 * bad input refused before anything is written, fio's json+ keys, fio-check's document,
 * the note for a loop device that does not honour O_DIRECT, and huge page buffers.
 */
#include "priv.h"

#include "sys/devstat.h"
#include "measure/engine.h"
#include "base/err.h"
#include "sys/sysfs.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { FS_XFS, FS_EXT4, FS_N };

static const char *const fs_name[FS_N] = { "xfs", "ext4" };
static char fs_dev[FS_N][64], fs_mnt[FS_N][512];
static bool fs_mounted[FS_N];
static char blk_dev[64], blk_img[512]; /* a loop device without direct I/O */

static int attach(const char *img, const char *flags, char *dev, size_t len)
{
	char *out = NULL;
	int r;

	r = priv_capture(&out, "losetup %s --find --show '%s'", flags, img);
	if (r == 0 && out) {
		out[strcspn(out, "\n")] = '\0';
		snprintf(dev, len, "%s", out);
	}
	free(out);
	return r == 0 && dev[0] ? 0 : -1;
}

static int suite_init(void)
{
	const char *d = priv_dir();
	char img[600];

	for (int i = 0; i < FS_N; i++) {
		snprintf(img, sizeof(img), "%s/engine-%s.img", d, fs_name[i]);
		snprintf(fs_mnt[i], sizeof(fs_mnt[i]), "%s/engine-%s", d, fs_name[i]);
		/* mkfs.xfs wants at least 300 MiB; the files are sparse */
		if (priv_sh("truncate -s %s '%s'", i == FS_XFS ? "320M" : "96M", img) ||
		    priv_sh(i == FS_XFS ? "mkfs.xfs -q -f '%s'" : "mkfs.ext4 -q -F '%s'", img) ||
		    attach(img, "--direct-io=on", fs_dev[i], sizeof(fs_dev[i])) ||
		    priv_sh("mkdir -p '%s' && mount %s '%s'", fs_mnt[i], fs_dev[i], fs_mnt[i]))
			return -1;
		fs_mounted[i] = true;
	}
	/* 16 MiB of random data, so that a write to the device would show */
	snprintf(blk_img, sizeof(blk_img), "%s/engine-blk.img", d);
	if (priv_sh("head -c 16M /dev/urandom > '%s'", blk_img) ||
	    attach(blk_img, "--direct-io=off", blk_dev, sizeof(blk_dev)))
		return -1;
	return 0;
}

static int suite_cleanup(void)
{
	int bad = 0;

	if (blk_dev[0] && priv_sh("losetup -d %s", blk_dev))
		bad = -1;
	for (int i = 0; i < FS_N; i++) {
		if (fs_mounted[i] && priv_sh("umount '%s'", fs_mnt[i]))
			bad = -1;
		if (fs_dev[i][0] && priv_sh("losetup -d %s", fs_dev[i]))
			bad = -1;
		priv_sh("rm -rf '%s' '%s/engine-%s.img'", fs_mnt[i], priv_dir(), fs_name[i]);
	}
	priv_sh("rm -f '%s'", blk_img);
	return bad;
}

static struct json_object *get(struct json_object *o, const char *path)
{
	char key[128];

	/* '/' separates keys: fio's percentile keys contain dots */
	while (o && *path) {
		size_t n = strcspn(path, "/");

		snprintf(key, sizeof(key), "%.*s", (int)n, path);
		if (!json_object_object_get_ex(o, key, &o))
			return NULL;
		path += n + (path[n] == '/');
	}
	return o;
}

static struct stt_engine_job job_on(const char *path, enum stt_engine_rw rw)
{
	struct stt_engine_job j;

	stt_engine_job_init(&j);
	j.path = path;
	j.rw = rw;
	j.size_bytes = 8 << 20;
	return j;
}

static int run(const struct stt_engine_job *j, struct stt_engine_result *res)
{
	stt_err_clear();
	return stt_engine_run(j, res);
}

/* (a) data read back equals data written; another seed and a corrupted block fail */
static void test_verify(void)
{
	for (int i = 0; i < FS_N; i++) {
		struct stt_engine_result res;
		struct stt_engine_job j;
		char path[600], junk[4096];
		int fd, r;

		snprintf(path, sizeof(path), "%s/verify", fs_mnt[i]);
		j = job_on(path, STT_ENGINE_WRITE);
		j.verify = true;
		j.seed = 42;
		j.iodepth = 8;
		r = run(&j, &res);
		CU_ASSERT_EQUAL_FATAL(r, 0);
		CU_ASSERT_EQUAL(res.dir[STT_ENGINE_DIR_WRITE].total_ios, 2048);
		CU_ASSERT_EQUAL(res.dir[STT_ENGINE_DIR_WRITE].io_bytes, 8 << 20);
		CU_ASSERT_EQUAL(res.dir[STT_ENGINE_DIR_READ].total_ios, 0);
		CU_ASSERT(res.flags & STT_ENGINE_F_CREATED);
		stt_engine_result_release(&res);

		j.rw = STT_ENGINE_READ;
		r = run(&j, &res);
		CU_ASSERT_EQUAL(r, 0);
		if (!r) {
			CU_ASSERT_EQUAL(res.dir[STT_ENGINE_DIR_READ].total_ios, 2048);
			CU_ASSERT_EQUAL(res.laid_out_bytes, 0);
			stt_engine_result_release(&res);
		}

		j.seed = 43;
		r = run(&j, &res);
		CU_ASSERT_EQUAL(r, -EIO);
		CU_ASSERT_PTR_NOT_NULL(strstr(stt_err_msg(), "verify"));

		/* one block overwritten behind the engine's back: found, by offset */
		memset(junk, 0xab, sizeof(junk));
		fd = open(path, O_WRONLY);
		CU_ASSERT_FATAL(fd >= 0);
		CU_ASSERT(pwrite(fd, junk, sizeof(junk), 5 << 20) == (ssize_t)sizeof(junk));
		CU_ASSERT_EQUAL(fsync(fd), 0);
		close(fd);
		j.seed = 42;
		r = run(&j, &res);
		CU_ASSERT_EQUAL(r, -EIO);
		CU_ASSERT_PTR_NOT_NULL(strstr(stt_err_msg(), "5242880"));
		if (r == 0)
			stt_engine_result_release(&res);
	}
}

/* (b) at most iodepth in flight per job, and the queue is used */
static void test_inflight(void)
{
	for (int i = 0; i < FS_N; i++) {
		char path[600];

		snprintf(path, sizeof(path), "%s/verify", fs_mnt[i]);
		for (unsigned int depth = 1; depth <= 64; depth *= 4) {
			struct stt_engine_job j = job_on(path, STT_ENGINE_RANDREAD);
			struct stt_engine_result res;

			j.iodepth = depth;
			j.jobs = 2;
			CU_ASSERT_EQUAL_FATAL(run(&j, &res), 0);
			CU_ASSERT(res.max_inflight <= depth);
			CU_ASSERT(res.max_inflight >= 1);
			CU_ASSERT(depth == 1 || res.max_inflight > 1);
			CU_ASSERT_EQUAL(res.dir[STT_ENGINE_DIR_READ].total_ios, 2 * 2048);
			stt_engine_result_release(&res);
		}
	}
}

/* Runs `stortune io @target @args`: exit 2, one line of stderr containing @want. */
static void refused(const char *target, const char *args, const char *want)
{
	char *err = NULL;
	int st, lines = 0;

	st = priv_capture(&err, "%s io '%s' %s 2>&1 >/dev/null", priv_stortune(), target, args);
	CU_ASSERT_EQUAL(st, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(err);
	for (const char *p = err; *p; p++)
		lines += *p == '\n';
	CU_ASSERT_EQUAL(lines, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
	if (st != 2 || lines != 1 || !strstr(err, want))
		fprintf(stderr, "\n  io %s %s: exit %d: %s", target, args, st, err);
	free(err);
}

/* (c) bad input: exit 2, one line naming the option or path, nothing written */
static void test_refused(void)
{
	char depth[64], path[600], saved[600], *out = NULL;
	unsigned long max_nr = 65536;

	if (priv_capture(&out, "cat /proc/sys/fs/aio-max-nr") == 0 && out)
		max_nr = strtoul(out, NULL, 10);
	free(out);
	snprintf(depth, sizeof(depth), "--rw write --size 1m --iodepth %lu", max_nr + 1);

	for (int i = 0; i < FS_N; i++) {
		snprintf(path, sizeof(path), "%s/refused", fs_mnt[i]);
		unlink(path);
		refused(path, "--rw write --size -1", "--size");
		refused(path, "--rw write --size 0 --runtime 1", "size");
		refused(path, "--rw write --size 1m --bs 1000", "bs");
		refused(path, "--rw write --size 1m --iodepth 0", "--iodepth");
		refused(path, depth, "iodepth");
		refused(path, "--rw write --size 0 --runtime 0", "--runtime");
		refused(path, "--rw randread --size 1m", path);
		refused(path, "--rw write --size 1m --iomem shm", "--iomem");
		CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0); /* nothing created */
	}

	/* a block device without --destroy-data: refused, its first MiB unchanged */
	snprintf(saved, sizeof(saved), "%s/engine-blk.head", priv_dir());
	CU_ASSERT_EQUAL_FATAL(priv_sh("head -c 1M %s > '%s'", blk_dev, saved), 0);
	refused(blk_dev, "--rw randwrite --size 1m", "--destroy-data");
	refused(blk_dev, "--rw write --size 1m", blk_dev);
	CU_ASSERT_EQUAL(priv_sh("cmp -s -n 1048576 '%s' %s", saved, blk_dev), 0);
	unlink(saved);
}

static struct json_object *run_json(int *st, const char *fmt, const char *a, const char *b)
{
	struct json_object *o;
	char *out = NULL, cmd[2048];

	snprintf(cmd, sizeof(cmd), fmt, a, b);
	*st = priv_capture(&out, "%s", cmd);
	o = out ? json_tokener_parse(out) : NULL;
	free(out);
	return o;
}

/* (d) io --json has fio's json+ keys, and clat N = total_ios = the sum of the bins */
static void test_json_keys(void)
{
	struct json_object *own, *fio, *fr, *ours, *bins;
	char path[600];
	uint64_t sum = 0;
	int st;

	snprintf(path, sizeof(path), "%s/verify", fs_mnt[FS_XFS]);
	own = run_json(&st, "%s -q --json io '%s' --rw randread --size 8m --runtime 300ms",
		       priv_stortune(), path);
	CU_ASSERT_EQUAL(st, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(own);
	ours = get(own, "read");
	CU_ASSERT(json_object_get_double(get(ours, "iops")) > 0);
	CU_ASSERT(json_object_get_int64(get(ours, "bw_bytes")) > 0);
	CU_ASSERT(json_object_get_int64(get(ours, "clat_ns/percentile/99.000000")) > 0);
	bins = get(ours, "clat_ns/bins");
	CU_ASSERT_PTR_NOT_NULL_FATAL(bins);
	json_object_object_foreach(bins, k, v)
	{
		CU_ASSERT(strtoull(k, NULL, 10) > 0);
		sum += (uint64_t)json_object_get_int64(v);
	}
	CU_ASSERT(json_object_get_int64(get(ours, "total_ios")) > 0);
	CU_ASSERT_EQUAL(json_object_get_int64(get(ours, "clat_ns/N")),
			json_object_get_int64(get(ours, "total_ios")));
	CU_ASSERT_EQUAL(sum, (uint64_t)json_object_get_int64(get(ours, "total_ios")));

	/* every key of ours is one of fio's, in the same place */
	if (priv_sh("command -v fio >/dev/null")) {
		CU_PASS("fio not installed: keys not compared");
		json_object_put(own);
		return;
	}
	fio = run_json(&st,
		       "fio --name=k --filename='%s' --rw=randread --size=8m --runtime=300ms "
		       "--ioengine=libaio --direct=1 --output-format=json+%s",
		       path, "");
	CU_ASSERT_EQUAL(st, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fio);
	fr = json_object_array_get_idx(get(fio, "jobs"), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fr);
	static const char *const paths[] = { "read/iops", "read/bw_bytes", "read/total_ios",
					     "read/clat_ns/percentile/99.000000",
					     "read/clat_ns/bins", "read/clat_ns/N", "usr_cpu",
					     "sys_cpu", "job_runtime" };
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		CU_ASSERT_PTR_NOT_NULL(get(own, paths[i]));
		CU_ASSERT_PTR_NOT_NULL(get(fr, paths[i]));
	}
	json_object_object_foreach(ours, k2, v2)
	{
		(void)v2;
		CU_ASSERT_PTR_NOT_NULL(get(get(fr, "read"), k2));
	}
	json_object_object_foreach(get(ours, "clat_ns"), k3, v3)
	{
		(void)v3;
		CU_ASSERT_PTR_NOT_NULL(get(get(fr, "read/clat_ns"), k3));
	}
	json_object_put(fio);
	json_object_put(own);
}

static double num_at(struct json_object *o, const char *path)
{
	struct json_object *v = get(o, path);

	return v && !json_object_is_type(v, json_type_null) ? json_object_get_double(v) : NAN;
}

/* (e) fio-check: 2 rounds of a 1 s 4k randread, both sides, medians and ratios */
static void test_fio_check(void)
{
	struct json_object *o, *rounds;
	char path[600], *err = NULL;
	int st;

	if (priv_sh("command -v fio >/dev/null")) {
		CU_PASS("fio not installed: fio-check not run");
		return;
	}
	snprintf(path, sizeof(path), "%s/verify", fs_mnt[FS_XFS]);
	o = run_json(&st,
		     "%s -q --json fio-check '%s' --rw randread --bs 4k --size 8m --runtime 1 "
		     "--time-based --rounds 2",
		     priv_stortune(), path);
	CU_ASSERT_EQUAL(st, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(strncmp(json_object_get_string(get(o, "fio_version")), "fio-", 4), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(json_object_get_string(get(o, "job_file")),
				      "ioengine=libaio"));
	CU_ASSERT_PTR_NULL(strstr(json_object_get_string(get(o, "job_file")), "gtod_reduce"));
	rounds = get(o, "rounds");
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(rounds), 2);
	for (size_t k = 0; k < 2; k++) {
		struct json_object *r = json_object_array_get_idx(rounds, k);

		CU_ASSERT_STRING_EQUAL(json_object_get_string(get(r, "order")),
				       k == 0 ? "fio,own" : "own,fio");
		CU_ASSERT(num_at(r, "fio/read/iops") > 0);
		CU_ASSERT(num_at(r, "own/read/iops") > 0);
		CU_ASSERT(num_at(r, "fio/read/clat_p99_ns") > 0);
		CU_ASSERT(num_at(r, "own/read/clat_p99_ns") > 0);
		CU_ASSERT(isnan(num_at(r, "fio/write/iops")));
	}
	CU_ASSERT(num_at(o, "iops_spread_pct/fio/read") >= 0);
	CU_ASSERT(num_at(o, "iops_spread_pct/own/read") >= 0);
	CU_ASSERT(isnan(num_at(o, "iops_spread_pct/own/write")));
	CU_ASSERT(num_at(o, "median/fio/cpu_per_io_ns") > 0);
	CU_ASSERT(num_at(o, "median/own/cpu_per_io_ns") > 0);
	CU_ASSERT(fabs(num_at(o, "ratio/read/iops") -
		       num_at(o, "median/own/read/iops") / num_at(o, "median/fio/read/iops")) <
		  1e-9);
	/* both in one order of magnitude on the same target */
	CU_ASSERT(num_at(o, "ratio/read/iops") > 0.1 && num_at(o, "ratio/read/iops") < 10);
	CU_ASSERT(num_at(o, "ratio/read/clat_p50_ns") > 0.1);
	CU_ASSERT(num_at(o, "ratio/cpu_per_io") > 0);
	json_object_put(o);

	/* an option that silences latency is refused before anything runs */
	st = priv_capture(&err,
			  "%s fio-check '%s' --rw randread --runtime 1 --fio-option gtod_reduce=1 "
			  "2>&1 >/dev/null",
			  priv_stortune(), path);
	CU_ASSERT_EQUAL(st, 2);
	CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "gtod_reduce"));
	free(err);
	err = NULL;

	/* a sparse file is laid out before fio's first round, which would read holes */
	snprintf(path, sizeof(path), "%s/sparse", fs_mnt[FS_XFS]);
	CU_ASSERT_EQUAL_FATAL(priv_sh("rm -f '%s' && truncate -s 8m '%s'", path, path), 0);
	st = priv_capture(&err,
			  "%s fio-check '%s' --rw read --bs 128k --runtime 200ms --rounds 1 "
			  "2>&1 >/dev/null",
			  priv_stortune(), path);
	CU_ASSERT_EQUAL(st, 0);
	CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "laid out 8.00 MiB before the rounds"));
	if (err && !strstr(err, "laid out 8.00 MiB before the rounds"))
		fprintf(stderr, "\n  fio-check on a sparse file: %s", err);
	free(err);
	CU_ASSERT_EQUAL(priv_sh("[ $(($(stat -c '%%b*%%B' '%s'))) -ge 8388608 ]", path), 0);
	unlink(path);
}

/* (f) a loop device without direct I/O: O_DIRECT is not honoured, and said so */
static void test_loop_note(void)
{
	struct json_object *o;
	char *err = NULL;
	int st;

	st = priv_capture(&err, "%s io %s --rw read --runtime 200ms 2>&1 >/dev/null",
			  priv_stortune(), blk_dev);
	CU_ASSERT_EQUAL(st, 0);
	CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "O_DIRECT not honoured"));
	free(err);
	o = run_json(&st, "%s -q --json io %s --rw randread --runtime 200ms", priv_stortune(),
		     blk_dev);
	CU_ASSERT_EQUAL(st, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT(json_object_get_boolean(get(o, "page_cache_measured")));
	CU_ASSERT_PTR_NOT_NULL(strstr(json_object_get_string(get(o, "note")), "not honoured"));
	json_object_put(o);

	/* a file on xfs honours it: no note */
	{
		char path[600];

		snprintf(path, sizeof(path), "%s/verify", fs_mnt[FS_XFS]);
		o = run_json(&st, "%s -q --json io '%s' --rw randread --size 8m --runtime 200ms",
			     priv_stortune(), path);
		CU_ASSERT_EQUAL(st, 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(o);
		CU_ASSERT_FALSE(json_object_get_boolean(get(o, "page_cache_measured")));
		json_object_put(o);
	}
}

/* A field of /proc/meminfo, or -1. */
static long meminfo(const char *key)
{
	char *text = NULL;
	uint64_t v = 0;
	int r = stt_sysfs_slurp("/proc/meminfo", &text);

	if (!r)
		r = stt_meminfo_field(text, key, &v);
	free(text);
	return r ? -1 : (long)v;
}

static int set_huge_pages(long n)
{
	return priv_sh("echo %ld > /proc/sys/vm/nr_hugepages", n);
}

struct huge_watch {
	atomic_bool stop;
	long min_free;
};

static void *watch_huge(void *arg)
{
	struct huge_watch *w = arg;

	while (!atomic_load(&w->stop)) {
		long v = meminfo("HugePages_Free");

		if (v >= 0 && v < w->min_free)
			w->min_free = v;
		usleep(1000);
	}
	return NULL;
}

/* (g) --iomem mmaphuge: refused without huge pages, nothing written; with them the buffers
 * take huge pages (seen in HugePages_Free while it runs), data round-trips, and fio-check
 * gives fio the same iomem */
static void test_iomem_huge(void)
{
	long saved = meminfo("HugePages_Total");
	char path[600];
	struct stt_engine_result res;
	struct stt_engine_job j;
	struct huge_watch w = {.min_free = 1L << 30};
	pthread_t tid;
	int st, r;

	snprintf(path, sizeof(path), "%s/huge", fs_mnt[FS_XFS]);
	unlink(path);
	CU_ASSERT_FATAL(saved >= 0);
	CU_ASSERT_EQUAL_FATAL(set_huge_pages(0), 0);
	refused(path, "--rw write --size 8m --bs 128k --iodepth 8 --iomem mmaphuge", "huge page");
	CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0);

	/* 2 jobs of 8 x 512 KiB: 2 huge pages each (of 2 MiB), 4 of the 6 reserved */
	CU_ASSERT_EQUAL_FATAL(set_huge_pages(6), 0);
	j = job_on(path, STT_ENGINE_WRITE);
	j.bs_bytes = 512 << 10;
	j.iodepth = 8;
	j.jobs = 2;
	j.verify = true;
	j.iomem = STT_ENGINE_IOMEM_MMAPHUGE;
	j.runtime_ms = 300;
	j.time_based = true;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&tid, NULL, watch_huge, &w), 0);
	r = run(&j, &res);
	atomic_store(&w.stop, true);
	pthread_join(tid, NULL);
	CU_ASSERT_EQUAL(r, 0);
	if (!r)
		stt_engine_result_release(&res);
	if (meminfo("Hugepagesize") == 2048)
		CU_ASSERT_EQUAL(w.min_free, 2);
	CU_ASSERT(w.min_free < 6);
	CU_ASSERT_EQUAL(meminfo("HugePages_Free"), 6); /* all given back */
	j.rw = STT_ENGINE_READ;
	r = run(&j, &res); /* reads check the pattern */
	CU_ASSERT_EQUAL(r, 0);
	if (!r) {
		CU_ASSERT(res.dir[STT_ENGINE_DIR_READ].total_ios > 0);
		stt_engine_result_release(&res);
	}

	if (!priv_sh("command -v fio >/dev/null")) {
		struct json_object *o =
		    run_json(&st,
			     "%s -q --json fio-check '%s' --rw read --bs 128k "
			     "--iodepth 8 --size 8m --runtime 300ms --time-based "
			     "--rounds 1 --iomem mmaphuge",
			     priv_stortune(), path);

		CU_ASSERT_EQUAL(st, 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(o);
		CU_ASSERT_PTR_NOT_NULL(
		    strstr(json_object_get_string(get(o, "job_file")), "iomem=mmaphuge"));
		CU_ASSERT(num_at(o, "median/fio/read/iops") > 0);
		CU_ASSERT(num_at(o, "median/own/read/iops") > 0);
		json_object_put(o);
	}
	unlink(path);
	CU_ASSERT_EQUAL(set_huge_pages(saved), 0);
}

int priv_register_engine(void)
{
	CU_pSuite s = CU_add_suite("engine", suite_init, suite_cleanup);

	if (!s || !CU_add_test(s, "verify round trip on xfs and ext4", test_verify) ||
	    !CU_add_test(s, "in flight never above iodepth", test_inflight) ||
	    !CU_add_test(s, "bad input refused, nothing written", test_refused) ||
	    !CU_add_test(s, "io --json keys are fio's", test_json_keys) ||
	    !CU_add_test(s, "fio-check: both sides and ratios", test_fio_check) ||
	    !CU_add_test(s, "loop without direct I/O: note", test_loop_note) ||
	    !CU_add_test(s, "iomem mmaphuge: huge page buffers", test_iomem_huge))
		return CU_get_error();
	return CUE_SUCCESS;
}
