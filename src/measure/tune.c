// SPDX-License-Identifier: GPL-2.0-or-later
#include "measure/tune.h"

#include "base/err.h"
#include "base/fmt.h"
#include "base/json.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_MIN (64u << 10)
#define CHUNK_MAX (1u << 30)

/* The next comma-separated item of *@p into @buf; false at the end. */
static bool next_item(const char **p, char *buf, size_t len)
{
	size_t n;

	if (!*p)
		return false;
	n = strcspn(*p, ",");
	snprintf(buf, len, "%.*s", (int)n, *p);
	*p = (*p)[n] ? *p + n + 1 : NULL;
	return true;
}

int stt_tune_parse_chunks(const char *list, uint32_t *out, size_t max, size_t *n)
{
	const char *p = list;
	char item[64];

	*n = 0;
	if (!list || !*list)
		return stt_err(-EINVAL, "--chunk-sizes: empty list");
	while (next_item(&p, item, sizeof(item))) {
		uint64_t v;

		if (!*item)
			return stt_err(-EINVAL, "--chunk-sizes %s: empty item", list);
		if (stt_fmt_parse_size(item, &v))
			return stt_err(-EINVAL, "--chunk-sizes: %s: not a size (e.g. 64K, 1M)", item);
		if (v < CHUNK_MIN || v > CHUNK_MAX || v % CHUNK_MIN)
			return stt_err(-EINVAL,
				       "--chunk-sizes: %s: must be a multiple of 64K from 64K to 1G "
				       "(dm-thin's rule)",
				       item);
		for (size_t i = 0; i < *n; i++)
			if (out[i] == v)
				return stt_err(-EINVAL, "--chunk-sizes: %s: listed twice", item);
		if (*n == max)
			return stt_err(-EINVAL, "--chunk-sizes: more than %zu sizes", max);
		out[(*n)++] = (uint32_t)v;
	}
	return 0;
}

int stt_tune_parse_zeroing(const char *list, bool out[2], size_t *n)
{
	const char *p = list;
	char item[32];

	*n = 0;
	if (!list || !*list)
		return stt_err(-EINVAL, "--zeroing: empty list (on, off or on,off)");
	while (next_item(&p, item, sizeof(item))) {
		bool v;

		if (!strcmp(item, "on") || !strcmp(item, "1") || !strcmp(item, "yes"))
			v = true;
		else if (!strcmp(item, "off") || !strcmp(item, "0") || !strcmp(item, "no"))
			v = false;
		else
			return stt_err(-EINVAL, "--zeroing: %s: must be on or off (e.g. on,off)",
				       *item ? item : "\"\"");
		for (size_t i = 0; i < *n; i++)
			if (out[i] == v)
				return stt_err(-EINVAL, "--zeroing: %s: listed twice", item);
		if (*n == 2)
			return stt_err(-EINVAL, "--zeroing %s: at most on and off", list);
		out[(*n)++] = v;
	}
	return 0;
}

int stt_tune_points(const uint32_t *chunks, size_t nc, const bool *zeroing, size_t nz,
		    struct stt_tune_point **out, size_t *n)
{
	struct stt_tune_point *pts;

	*out = NULL;
	*n = 0;
	if (!nc || !nz)
		return stt_err(-EINVAL, "a sweep needs at least one chunk size and one zeroing value");
	pts = calloc(nc * nz, sizeof(*pts));
	if (!pts)
		return -ENOMEM;
	for (size_t c = 0; c < nc; c++)
		for (size_t z = 0; z < nz; z++) {
			pts[c * nz + z].chunk_bytes = chunks[c];
			pts[c * nz + z].zeroing = zeroing[z];
		}
	*out = pts;
	*n = nc * nz;
	return 0;
}

int stt_tune_new(const struct stt_tune_info *info, struct json_object **out)
{
	struct json_object *t = json_object_new_object();
	int r = 0;

	if (!t)
		return -ENOMEM;
	r |= stt_json_add(t, "backend", json_object_new_string(info->backend));
	r |= stt_json_add(t, "profile", json_object_new_string(info->profile ? info->profile : ""));
	r |= stt_json_add(t, "containers", json_object_new_int((int)info->containers));
	r |= stt_json_add(t, "concurrency", json_object_new_int((int)info->concurrency));
	r |= stt_json_add(t, "repetitions", json_object_new_int((int)info->repetitions));
	json_object_object_add(t, "device",
			       info->device ? json_object_new_string(info->device) : NULL);
	r |= stt_json_add(t, "points", json_object_new_array());
	if (r) {
		json_object_put(t);
		return -ENOMEM;
	}
	*out = t;
	return 0;
}

static struct json_object *point_head(const struct stt_tune_point *p, const char *status)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	if (stt_json_add(o, "chunk_size_bytes", json_object_new_int64(p->chunk_bytes)) ||
	    stt_json_add(o, "zeroing", json_object_new_boolean(p->zeroing)) ||
	    stt_json_add(o, "status", json_object_new_string(status))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

int stt_tune_add_failed(struct json_object *tune, const struct stt_tune_point *p,
			const char *reason)
{
	struct json_object *pts = json_object_object_get(tune, "points");
	struct json_object *o = point_head(p, "failed");

	if (!o || !pts || stt_json_add(o, "reason", json_object_new_string(reason))) {
		json_object_put(o);
		return -ENOMEM;
	}
	if (json_object_array_add(pts, o)) {
		json_object_put(o);
		return -ENOMEM;
	}
	return 0;
}

/* A summary of @s scaled by @f (exact: medians, intervals and spreads scale with the values). */
static struct json_object *summary_scaled(struct json_object *s, double f, const char *unit)
{
	static const char *const scaled[] = { "median", "mean", "stddev" };
	struct json_object *o = json_object_new_object(), *v, *arr;

	if (!o)
		return NULL;
	json_object_object_foreach(s, key, val)
	{
		bool done = false;

		if (!strcmp(key, "unit")) {
			json_object_object_add(o, key, json_object_new_string(unit));
			continue;
		}
		for (size_t i = 0; i < sizeof(scaled) / sizeof(scaled[0]); i++)
			if (!strcmp(key, scaled[i])) {
				json_object_object_add(
					o, key,
					val ? json_object_new_double(json_object_get_double(val) * f)
					    : NULL);
				done = true;
			}
		if (!done && (!strcmp(key, "ci95") || !strcmp(key, "values")) &&
		    json_object_is_type(val, json_type_array)) {
			arr = json_object_new_array();
			for (size_t i = 0; arr && i < json_object_array_length(val); i++) {
				double x = json_object_get_double(json_object_array_get_idx(val, i));

				json_object_array_add(arr, json_object_new_double(x * f));
			}
			json_object_object_add(o, key, arr);
			done = true;
		}
		if (!done) {
			v = NULL;
			if (val && json_object_deep_copy(val, &v, NULL)) {
				json_object_put(o);
				return NULL;
			}
			json_object_object_add(o, key, v);
		}
	}
	return o;
}

/* A summary at @path in @bench, with a median; a new reference, or NULL with a message. */
static struct json_object *summary_at(struct json_object *bench, const char *path)
{
	struct json_object *s = stt_json_get(bench, path);

	if (!s || !json_object_is_type(s, json_type_object) ||
	    !json_object_object_get(s, "median")) {
		stt_err(-EINVAL, "the benchmark result has no %s", path);
		return NULL;
	}
	return json_object_get(s);
}

/* fio's clat_ns of an io --json pass: its percentile 50 ("p50") or its mean. */
static int clat_of(struct json_object *pass, const char *what, double *v)
{
	struct json_object *clat = stt_json_get(pass, "write.clat_ns"), *x;

	if (!clat)
		return stt_err(-EINVAL, "the provisioning pass has no write.clat_ns");
	/* (The percentile key has dots in it: not a path for stt_json_get.) */
	x = !strcmp(what, "p50") ? json_object_object_get(json_object_object_get(clat, "percentile"),
							   "50.000000")
				 : json_object_object_get(clat, "mean");
	if (!x)
		return stt_err(-EINVAL, "the provisioning pass has no clat %s", what);
	*v = json_object_get_double(x);
	return 0;
}

static int provisioning_json(struct json_object *bench, struct json_object **out)
{
	struct json_object *prov = json_object_object_get(bench, "provisioning"), *o;
	struct json_object *first = json_object_object_get(prov, "first_write");
	struct json_object *over = json_object_object_get(prov, "overwrite");
	double f50, o50, fm, om;
	int r;

	if (!prov || !first || !over)
		return stt_err(-EINVAL, "the benchmark result has no provisioning test "
					"(not a thin pool?)");
	if ((r = clat_of(first, "p50", &f50)) || (r = clat_of(over, "p50", &o50)) ||
	    (r = clat_of(first, "mean", &fm)) || (r = clat_of(over, "mean", &om)))
		return r;
	o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	r = stt_json_add(o, "first_write_clat_p50_ns", json_object_new_double(f50));
	r |= stt_json_add(o, "overwrite_clat_p50_ns", json_object_new_double(o50));
	r |= stt_json_add(o, "first_write_clat_mean_ns", json_object_new_double(fm));
	r |= stt_json_add(o, "overwrite_clat_mean_ns", json_object_new_double(om));
	r |= stt_json_add(o, "clat_p50_ratio", json_object_new_double(o50 > 0 ? f50 / o50 : 0));
	r |= stt_json_add(o, "clat_mean_ratio", json_object_new_double(om > 0 ? fm / om : 0));
	if (r) {
		json_object_put(o);
		return -ENOMEM;
	}
	*out = o;
	return 0;
}

int stt_tune_add_ok(struct json_object *tune, const struct stt_tune_point *p,
		    struct json_object *bench)
{
	static const struct {
		const char *key, *path;
	} sums[] = {
		{ "start_p50_ns", "modes.cold.phases.start.p50_ns" },
		{ "start_p99_ns", "modes.cold.phases.start.p99_ns" },
		{ "first_write_p50_ns", "modes.cold.phases.first-write.p50_ns" },
		{ "storm_containers_per_s", "modes.cold.storm.containers_per_s" },
	};
	struct json_object *pts = json_object_object_get(tune, "points");
	struct json_object *o = NULL, *s, *prov = NULL, *cow, *space;
	double median;
	int containers = json_object_get_int(json_object_object_get(tune, "containers"));
	int r = -ENOMEM;

	if (!pts || containers < 1)
		return stt_err(-EINVAL, "not a tune member");
	o = point_head(p, "ok");
	if (!o)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(sums) / sizeof(sums[0]); i++) {
		if (!(s = summary_at(bench, sums[i].path))) {
			r = -EINVAL;
			goto fail;
		}
		if (stt_json_add(o, sums[i].key, s))
			goto fail;
	}
	/* The cow-write phase exists when the profile has a mid-file write. */
	cow = stt_json_get(bench, "modes.cold.phases.cow-write");
	if (cow) {
		if (!(s = summary_at(cow, "p50_ns"))) {
			r = -EINVAL;
			goto fail;
		}
		if (stt_json_add(o, "cow_write_p50_ns", s))
			goto fail;
		if (!(s = stt_json_get(cow, "device.write_bytes"))) {
			r = stt_err(-EINVAL, "the benchmark result has no cow-write device bytes");
			goto fail;
		}
		if (stt_json_add(o, "cow_write_bytes", summary_scaled(s, 1.0 / containers, "bytes")))
			goto fail;
	} else {
		json_object_object_add(o, "cow_write_p50_ns", NULL);
		json_object_object_add(o, "cow_write_bytes", NULL);
	}
	if ((r = provisioning_json(bench, &prov)))
		goto fail;
	r = -ENOMEM;
	if (stt_json_add(o, "provisioning", prov))
		goto fail;
	space = stt_json_get(bench, "modes.cold.pool_data_per_container_bytes");
	if (!space || !json_object_object_get(space, "median")) {
		r = stt_err(-EINVAL, "the benchmark result has no pool data per container");
		goto fail;
	}
	median = json_object_get_double(json_object_object_get(space, "median"));
	if (stt_json_add(o, "pool_data_bytes_per_container", json_object_new_double(median)) ||
	    stt_json_add(o, "bench", json_object_get(bench)))
		goto fail;
	if (json_object_array_add(pts, o))
		goto fail;
	return 0;
fail:
	json_object_put(o);
	return r;
}

size_t stt_tune_count(struct json_object *tune, size_t *ok)
{
	struct json_object *pts = json_object_object_get(tune, "points");
	size_t n = pts ? json_object_array_length(pts) : 0;

	*ok = 0;
	for (size_t i = 0; i < n; i++) {
		struct json_object *st =
			json_object_object_get(json_object_array_get_idx(pts, i), "status");

		if (st && !strcmp(json_object_get_string(st), "ok"))
			(*ok)++;
	}
	return n;
}
