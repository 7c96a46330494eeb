/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_ENGINE_H
#define STT_ENGINE_H

/*
 * The measuring engine: an own libaio I/O engine whose figures agree with fio's.
 *
 * One job runs @jobs threads (with one, the caller's thread: single-threaded, as fio's job
 * process); each has its own fd, its own io_context of @iodepth entries and @iodepth
 * buffers (aligned to 4096), and keeps at most @iodepth I/Os in flight. Each thread
 * prepares every free slot, submits them in io_submit calls of @submit_batch iocbs, then
 * reaps with io_getevents(min_nr = 1, max = @reap_max). The defaults are fio's:
 * iodepth_batch_submit=1, iodepth_batch_complete_min=1 and
 * iodepth_batch_complete_max, which defaults to the min, so 1: fio reaps one I/O at a
 * time and resubmits its slot at once, which keeps the queue full.
 *
 * Why not batches by default: an I/O's clat starts when its io_submit returns. In a
 * batch of n, the first iocb reaches the device long before the call returns, so its
 * clat is short and its slat long by most of the batch's submit time (on a loop device,
 * 4k randread at iodepth 32: slat 45 us instead of 2.5 us, clat p50 12 % below fio's).
 * Reaping many at once and resubmitting them one by one leaves slots idle meanwhile (on
 * average 2 of 32 in flight fewer; for 128k reads 20 % fewer IOPS than fio's). Batches
 * (0, 0) cost the least CPU per I/O but their slat and clat do not compare with fio's.
 *
 * Latencies are fio's, from CLOCK_MONOTONIC: slat from the iocb prepared to io_submit
 * returned, clat from io_submit returned to the completion reaped, lat = slat + clat.
 * CPU is getrusage(RUSAGE_THREAD) of the job threads over the measured window.
 * I/Os that complete during the ramp are not counted; figures cover the measured window
 * only (from the end of the ramp to the last counted completion).
 *
 * Offsets: random ones are uniform over the range, aligned to bs, without a map (fio's
 * norandommap); sequential ones start at the range and wrap at its end. The range is
 * [offset_bytes, offset_bytes + size_bytes), or to the end of the target when size_bytes
 * is 0. Every job covers the same range.
 *
 * Targets: a block device is used as is; writing to one needs @destroy_data naming the
 * same device. A regular file is created when missing (write jobs only; reads of a
 * missing file are -ENOENT) and laid out -- written -- over the range where it is short or
 * has holes, so that reads never hit a hole; a layout writes pseudo-random data, or the
 * verify pattern with @verify (holes in existing data are filled with zeros instead, which
 * keeps the contents, unless @verify).
 *
 * Everything is validated before anything is written: -EINVAL with a message naming the
 * option (bs, size, iodepth, jobs, runtime, rwmix_read, offset), -ENOENT for a missing
 * read target, -EPERM for writing to a device without destroy_data.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/stats.h"

enum stt_engine_rw {
	STT_ENGINE_READ,
	STT_ENGINE_WRITE,
	STT_ENGINE_RANDREAD,
	STT_ENGINE_RANDWRITE,
	STT_ENGINE_RANDRW,
};

/* Where the I/O buffers come from, fio's iomem= values. */
enum stt_engine_iomem {
	STT_ENGINE_IOMEM_MALLOC,   /* ordinary pages, page-aligned: fio's default */
	STT_ENGINE_IOMEM_MMAPHUGE, /* anonymous MAP_HUGETLB mapping: physically contiguous */
};

struct stt_engine_job {
	const char *path;	   /* target: regular file or block device */
	enum stt_engine_rw rw;	   /* default STT_ENGINE_READ (fio's) */
	unsigned int rwmix_read;   /* percent of reads for STT_ENGINE_RANDRW; default 50 */
	uint64_t bs_bytes;	   /* default 4096 */
	unsigned int iodepth;	   /* I/Os in flight per job; default 1 */
	unsigned int submit_batch; /* iocbs per io_submit; default 1 (fio's); 0 = all free */
	unsigned int reap_max;	   /* events per io_getevents; default 1 (fio's); 0 = iodepth */
	unsigned int jobs;	   /* threads, each with its own fd and io_context; default 1 */
	uint64_t runtime_ms;	   /* measured time; 0 = none */
	int64_t size_bytes;	   /* bytes per job and length of the range; 0 = to the end */
	bool time_based;	   /* with runtime_ms: run for runtime_ms, size only bounds range */
	uint64_t ramp_ms;	   /* run this long before measuring; excluded from all figures */
	uint64_t offset_bytes;	   /* start of the range */
	bool direct;		   /* O_DIRECT; default true */
	enum stt_engine_iomem iomem; /* I/O buffers; default STT_ENGINE_IOMEM_MALLOC */
	uint64_t seed;		     /* of offsets, read/write mix and data; job i uses seed + i */
	bool verify;		     /* writes carry a pattern of (offset, seed); reads check it */
	const char *destroy_data;    /* the device the caller agreed to overwrite, or NULL */
};

/* Defaults as documented above; @path and the stop condition are for the caller. */
void stt_engine_job_init(struct stt_engine_job *job);

const char *stt_engine_rw_name(enum stt_engine_rw rw); /* fio's names: "randread" ... */
/* fio's names; fio's sequential mixes ("rw", "readwrite") are not supported. -EINVAL. */
__attribute__((warn_unused_result)) int stt_engine_rw_parse(const char *s, enum stt_engine_rw *rw);

const char *stt_engine_iomem_name(enum stt_engine_iomem m); /* fio's: "malloc", "mmaphuge" */
/* fio's names "malloc" and "mmaphuge" (fio's other kinds are not supported). -EINVAL. */
__attribute__((warn_unused_result)) int stt_engine_iomem_parse(const char *s,
							       enum stt_engine_iomem *m);

enum stt_engine_dir {
	STT_ENGINE_DIR_READ,
	STT_ENGINE_DIR_WRITE,
	STT_ENGINE_NDIRS,
};

/* Figures of one direction, fio's "read" and "write" sections. */
struct stt_engine_dir_result {
	uint64_t io_bytes;
	uint64_t total_ios;
	double iops;			 /* over the measured window */
	uint64_t bw_bytes;		 /* bytes/s over the measured window */
	uint64_t runtime_ms;		 /* the measured window, 0 when this direction did no I/O */
	struct stt_hist slat, clat, lat; /* STT_HIST_IO_GROUPS groups */
};

enum {
	STT_ENGINE_F_DIRECT = 1u << 0,	     /* opened with O_DIRECT */
	STT_ENGINE_F_NOT_HONOURED = 1u << 1, /* O_DIRECT asked for, page cache measured anyway */
	STT_ENGINE_F_BLOCKDEV = 1u << 2,     /* the target is a block device */
	STT_ENGINE_F_CREATED = 1u << 3,	     /* the file did not exist; the engine made it */
};

struct stt_engine_result {
	struct stt_engine_dir_result dir[STT_ENGINE_NDIRS];
	uint64_t window_ns;	   /* measured window, the longest of the jobs' */
	uint64_t job_window_ns;	   /* sum of the jobs' measured windows (fio's job_runtime) */
	uint64_t usr_ns, sys_ns;   /* CPU of the job threads in the window, summed */
	uint64_t ctx;		   /* their context switches in the window (fio's "ctx") */
	unsigned int max_inflight; /* most I/Os one job had in flight at once */
	unsigned int flags;	   /* STT_ENGINE_F_* */
	unsigned int lbs_bytes;	   /* alignment O_DIRECT needs on the target */
	uint64_t range_bytes;	   /* length of the range used */
	uint64_t laid_out_bytes;   /* written by the layout before measuring */
	char note[320];		   /* "PATH: O_DIRECT not honoured (...)", or "" */
};

/*
 * Checks @job against the target without writing anything: 0, or -errno with a message.
 * stt_engine_run() does the same checks first.
 */
__attribute__((warn_unused_result)) int stt_engine_check(const struct stt_engine_job *job);

/*
 * Checks @job and lays out a regular file target as stt_engine_run() would, without
 * measuring: for a caller that runs other tools on the target first (fio-check). Sets
 * @laid_out to the bytes written. 0, or -errno with a message.
 */
__attribute__((warn_unused_result)) int stt_engine_prepare(const struct stt_engine_job *job,
							   uint64_t *laid_out);

/*
 * Runs @job. On success @res holds the figures (the caller releases it with
 * stt_engine_result_release()); on failure @res is left released. 0 or -errno with a
 * message (I/O errors and verify failures name the offset).
 */
__attribute__((warn_unused_result)) int stt_engine_run(const struct stt_engine_job *job,
						       struct stt_engine_result *res);
void stt_engine_result_release(struct stt_engine_result *res);

/* CPU per I/O of all directions, in ns (usr + sys); 0 when no I/O was counted. */
double stt_engine_cpu_per_io_ns(const struct stt_engine_result *res);

/*
 * fio's json+ shapes: {"read": {io_bytes, io_kbytes, bw_bytes, bw, iops, runtime,
 * total_ios, slat_ns, clat_ns {.., percentile, bins}, lat_ns}, "write": {...}, "usr_cpu",
 * "sys_cpu", "job_runtime", "ctx"} plus the engine's own "usr_ns", "sys_ns", "o_direct",
 * "page_cache_measured", "note", "max_inflight", "laid_out_bytes".
 */
struct json_object;
__attribute__((warn_unused_result)) int
stt_engine_result_to_json(const struct stt_engine_result *res, struct json_object **out);

#endif
