// SPDX-License-Identifier: GPL-2.0-or-later
#include "base/json.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

int stt_json_add(struct json_object *o, const char *key, struct json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_object_add(o, key, v)) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

struct json_object *stt_json_get(struct json_object *o, const char *path)
{
	char key[64];

	while (o && *path) {
		size_t n = strcspn(path, ".");

		snprintf(key, sizeof(key), "%.*s", (int)n, path);
		if (!json_object_object_get_ex(o, key, &o))
			return NULL;
		path += n + (path[n] == '.');
	}
	return o;
}

struct json_object *stt_json_array(struct json_object *o, const char *path)
{
	struct json_object *v = stt_json_get(o, path);

	return json_object_is_type(v, json_type_array) ? v : NULL;
}

struct json_object *stt_json_object(struct json_object *o, const char *path)
{
	struct json_object *v = stt_json_get(o, path);

	return json_object_is_type(v, json_type_object) ? v : NULL;
}

struct json_object *stt_json_fio_double(double v)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%f", v);
	return json_object_new_double_s(v, buf);
}

int stt_json_hist(const struct stt_hist *h, unsigned int flags, struct json_object **out)
{
	uint64_t vals[32];
	struct json_object *o, *p, *b;
	size_t np = stt_stats_default_npcts;
	char key[32];
	int r = -ENOMEM;

	o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	struct json_object *(*dbl)(double) =
		(flags & STT_JSON_HIST_FIO) ? stt_json_fio_double : json_object_new_double;

	if (stt_json_add(o, "min", json_object_new_int64((int64_t)(h->n ? h->min_ns : 0))) ||
	    stt_json_add(o, "max", json_object_new_int64((int64_t)h->max_ns)) ||
	    stt_json_add(o, "mean", dbl(h->n ? h->mean_ns : 0.0)) ||
	    stt_json_add(o, "stddev", dbl(stt_hist_stddev(h))) ||
	    stt_json_add(o, "N", json_object_new_int64((int64_t)h->n)))
		goto out;
	if ((flags & STT_JSON_HIST_CLAMPED) &&
	    stt_json_add(o, "clamped", json_object_new_int64((int64_t)h->clamped)))
		goto out;
	if ((flags & STT_JSON_HIST_DETAIL) && h->n) {
		if (np > sizeof(vals) / sizeof(vals[0]))
			np = sizeof(vals) / sizeof(vals[0]);
		r = stt_hist_percentiles(h, stt_stats_default_pcts, np, vals);
		if (r)
			goto out;
		r = -ENOMEM;
		p = json_object_new_object();
		if (stt_json_add(o, "percentile", p))
			goto out;
		for (size_t i = 0; i < np; i++) {
			snprintf(key, sizeof(key), "%f", stt_stats_default_pcts[i]);
			if (stt_json_add(p, key, json_object_new_int64((int64_t)vals[i])))
				goto out;
		}
		b = json_object_new_object();
		if (stt_json_add(o, "bins", b))
			goto out;
		for (size_t i = 0; i < stt_hist_nbuckets(h->groups); i++) {
			if (!h->bins[i])
				continue;
			snprintf(key, sizeof(key), "%llu",
				 (unsigned long long)stt_hist_midpoint(i));
			if (stt_json_add(b, key, json_object_new_int64((int64_t)h->bins[i])))
				goto out;
		}
	}
	*out = o;
	o = NULL;
	r = 0;
out:
	json_object_put(o);
	return r;
}
