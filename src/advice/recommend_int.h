/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_RECOMMEND_INT_H
#define STT_RECOMMEND_INT_H

/*
 * Inside recommend: the facts the rules read (recommend_facts.c gathers them from the results
 * documents) and the helpers both halves use. Not for other modules.
 */

#include "base/json.h"
#include "advice/recommend.h"

#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define GiB		(1024.0 * 1024 * 1024)
/* Tuning sweep: latencies within 10% of the best count as the best (noise at n = 3). */
#define TUNE_MARGIN 0.10
/* Zeroing stays on when it costs at most this much first-write (and start) latency. */
#define ZEROING_MAX_COST 0.10

enum { BE_OVERLAY, BE_DMLOOP, BE_DLVM, BE_N };
extern const char *const be_names[BE_N];

/* One backend as measured (the native measurement when there is one, else the first). */
struct be {
	struct json_object *j; /* the backend entry with status ok, or NULL */
	struct json_object *doc;
	const char *env; /* "native", "vm-tcg" */
	bool native;
	const char *reason;		     /* why it did not run, when it ran nowhere */
	const char *mode;		     /* "cold" or "warm" */
	double start, fr, fw, cow, stop, rm; /* p50 ns of the phases */
	double storm;			     /* containers/s */
	double fw_bytes, cow_bytes;	     /* device bytes written per container */
	double prov_ratio;		     /* first write / overwrite clat p50 */
	double containers;
	double block_bytes, pool_bytes; /* the measured pool */
	double data_per_ctr;		/* pool data bytes per container */
	double meta_per_data;		/* metadata bytes per data byte, growth */
	const char *fs;			/* options.fs of its run */
	struct json_object *host;	/* probe host facts of where it ran */
};

struct tune_point {
	double chunk;
	bool zero, ok;
	const char *reason;
	double start, fw, space;
};

struct ctx {
	const struct stt_rec_input *in;
	struct stt_rec *r;
	struct be be[BE_N];
	const struct be *dm;	  /* the thin pool figures: direct-lvm, else dm-loop */
	struct json_object *host; /* this host's probe facts */
	bool host_native;
	struct json_object *target, *options; /* of the native run */
	double image_bytes;
	const char *profile;

	struct json_object *tune;
	const char *tune_env, *tune_backend;
	struct tune_point pts[64];
	size_t npts;
	/* the sweep's picks (tune_ok when there are any) */
	bool tune_ok, tune_both_zeroing;
	double tune_score_max; /* the highest worse-latency ratio a chunk could have */
	size_t pick;	       /* index into pts */
	double zero_cost;

	double pool_bytes; /* of the pool to size against, 0 when unknown */
	char pool_from[256];

	/*
	 * A thin pool measured full (bench's "fault" of a failed dm backend, e.g. the VM tier's
	 * tests/vm/faults.sh): out of data space, out of metadata space; NULL when none.
	 */
	struct pool_full {
		struct json_object *f; /* the "fault" member */
		const char *backend, *env;
	} full_data, full_meta;

	/* qualify --engine both: what the engine check said ("" when no document has one) */
	char engine_note[512];
	bool engine_disagree; /* the backends' figures are then the real engine's */
};

static inline double num(struct json_object *o, const char *path)
{
	struct json_object *v = stt_json_get(o, path);

	if (!v ||
	    !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
		return NAN;
	return json_object_get_double(v);
}

static inline const char *str(struct json_object *o, const char *path)
{
	struct json_object *v = stt_json_get(o, path);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static inline bool known(double v)
{
	return !isnan(v);
}

/*
 * A figure of a results document as an integer: saturated at 0 and at the type's largest (a
 * NaN is 0), since a document may hold any number and a cast out of range is undefined.
 */
static inline uint64_t to_u64(double v)
{
	if (!(v > 0))
		return 0;
	return v >= 0x1p64 ? UINT64_MAX : (uint64_t)v;
}

static inline unsigned int to_uint(double v)
{
	if (!(v > 0))
		return 0;
	return v >= (double)UINT_MAX ? UINT_MAX : (unsigned int)v;
}

/* @bytes rounded up to whole GiB, saturated at the largest whole GiB of a uint64_t. */
static inline uint64_t gib_ceil(double bytes)
{
	double g = ceil(bytes / GiB);

	if (!(g > 0))
		return 0;
	return g >= (double)(UINT64_MAX >> 30) ? (UINT64_MAX >> 30) << 30 : (uint64_t)g << 30;
}

/* "0.46 ms", "139 ms", "1.23 s" */
static inline const char *ms(double ns, char *buf, size_t len)
{
	double v = ns / 1e6;

	if (!known(ns))
		snprintf(buf, len, "-");
	else if (v >= 1000)
		snprintf(buf, len, "%.2f s", v / 1000);
	else if (v >= 100)
		snprintf(buf, len, "%.0f ms", v);
	else if (v >= 10)
		snprintf(buf, len, "%.1f ms", v);
	else
		snprintf(buf, len, "%.2f ms", v);
	return buf;
}

/* "4.0 MiB" */
static inline const char *mib(double bytes, char *buf, size_t len)
{
	if (!known(bytes))
		snprintf(buf, len, "-");
	else if (bytes >= GiB)
		snprintf(buf, len, "%.1f GiB", bytes / GiB);
	else if (bytes >= 1024.0 * 1024)
		snprintf(buf, len, "%.1f MiB", bytes / (1024.0 * 1024));
	else
		snprintf(buf, len, "%.0f KiB", bytes / 1024.0);
	return buf;
}

/* Fills @c (whose in, r and image_bytes = NAN are set) from the results documents: the
 * backends and their figures, this host's facts, the image, and the sweep with its picks. */
void stt_rec_gather(struct ctx *c);

#endif
