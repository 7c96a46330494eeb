/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_JSON_H
#define STT_JSON_H

/* Small json-c helpers shared by the modules that write or read stortune's documents. */

#include "base/stats.h"

#include <stdbool.h>

struct json_object;

/*
 * Adds @v under @key, taking it in any case: -ENOMEM when @v is NULL (a failed allocation)
 * or the add fails, else 0. (To store a JSON null, use json_object_object_add directly.)
 */
int stt_json_add(struct json_object *o, const char *key, struct json_object *v);

/* The member at @path ("modes.cold.storm") of nested objects, or NULL. */
struct json_object *stt_json_get(struct json_object *o, const char *path);
/* The same when it is an array (an object), else NULL: for documents read from outside. */
struct json_object *stt_json_array(struct json_object *o, const char *path);
struct json_object *stt_json_object(struct json_object *o, const char *path);

/* A double serialised as fio prints it ("%f"). */
struct json_object *stt_json_fio_double(double v);

enum {
	STT_JSON_HIST_DETAIL = 1 << 0,	/* "percentile" and "bins" (when there are samples) */
	STT_JSON_HIST_FIO = 1 << 1,	/* mean and stddev printed as fio prints them ("%f") */
	STT_JSON_HIST_CLAMPED = 1 << 2, /* "clamped": samples in the last bucket (not fio's) */
};

/*
 * A histogram as fio's json+ shows one: min, max, mean, stddev, N; with STT_JSON_HIST_DETAIL
 * also "percentile" (fio's default list, keys as "%f") and "bins" (non-empty buckets by
 * midpoint in ns). 0 or -errno.
 */
__attribute__((warn_unused_result)) int stt_json_hist(const struct stt_hist *h,
						     unsigned int flags, struct json_object **out);

#endif
