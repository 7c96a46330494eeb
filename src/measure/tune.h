/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_TUNE_H
#define STT_TUNE_H

/*
 * The tuning sweep of a thin-pool backend (stortune tune): the points -- every chunk size with
 * every zeroing setting -- and the "tune" member of a results document, one entry per point
 * made from that point's benchmark result (stt_bench_run, cold mode):
 *
 *   "tune": { "backend", "profile", "containers", "concurrency", "repetitions", "device",
 *             "points": [ { "chunk_size_bytes", "zeroing", "status": "ok"|"failed", "reason",
 *                           "start_p50_ns", "start_p99_ns", "first_write_p50_ns",
 *                           "cow_write_p50_ns", "cow_write_bytes", "storm_containers_per_s",
 *                           "provisioning": { "first_write_clat_p50_ns", "overwrite_clat_p50_ns",
 *                                             "first_write_clat_mean_ns",
 *                                             "overwrite_clat_mean_ns", "clat_p50_ratio",
 *                                             "clat_mean_ratio" },
 *                           "pool_data_bytes_per_container", "bench": <bench result> } ] }
 *
 * The *_ns, *_bytes and *_per_s members are summaries over the repetitions
 * (stt_bench_summary_json); cow_write_bytes is the device bytes written in the cow-write phase
 * per container. A failed point has only chunk_size_bytes, zeroing, status and reason.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STT_TUNE_DEFAULT_CHUNKS "64K,128K,256K,512K,1M,2M"
#define STT_TUNE_DEFAULT_ZEROING "off,on"
#define STT_TUNE_MAX_CHUNKS 32

struct json_object;

struct stt_tune_point {
	uint32_t chunk_bytes;
	bool zeroing;
};

/*
 * "64K,512K,2M" into @out (at most @max): each a multiple of 64K from 64K to 1G (dm-thin's
 * rule), none twice. -EINVAL with a message naming the value.
 */
__attribute__((warn_unused_result)) int stt_tune_parse_chunks(const char *list, uint32_t *out,
							     size_t max, size_t *n);

/* "on,off", "off", "on" (or 1/0, yes/no) into @out[2]; none twice. -EINVAL naming the value. */
__attribute__((warn_unused_result)) int stt_tune_parse_zeroing(const char *list, bool out[2],
							      size_t *n);

/* The sweep: each chunk size with each zeroing value, chunk sizes outer; *@out is malloc'd. */
__attribute__((warn_unused_result)) int stt_tune_points(const uint32_t *chunks, size_t nc,
						       const bool *zeroing, size_t nz,
						       struct stt_tune_point **out, size_t *n);

struct stt_tune_info {
	const char *backend; /* "dm-loop" | "direct-lvm" */
	const char *profile; /* the profile's name */
	unsigned int containers, concurrency, repetitions;
	const char *device; /* --device, or NULL */
};

/* A new "tune" member with no points. */
__attribute__((warn_unused_result)) int stt_tune_new(const struct stt_tune_info *info,
						    struct json_object **out);

/*
 * Adds point @p made from @bench, the point's result of stt_bench_run (cold mode); @bench is
 * kept (a reference is taken) as the point's "bench". -EINVAL with a message when @bench lacks
 * a figure the point needs; nothing is added then.
 */
__attribute__((warn_unused_result)) int stt_tune_add_ok(struct json_object *tune,
						       const struct stt_tune_point *p,
						       struct json_object *bench);

/* Adds point @p as failed, with @reason. */
__attribute__((warn_unused_result)) int stt_tune_add_failed(struct json_object *tune,
							   const struct stt_tune_point *p,
							   const char *reason);

/* Number of points, and of points whose status is "ok". */
size_t stt_tune_count(struct json_object *tune, size_t *ok);

#endif
