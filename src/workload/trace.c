// SPDX-License-Identifier: GPL-2.0-or-later
#include "workload/trace.h"

#include "base/array.h"
#include "base/err.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TRACE_BYTES (256u << 20) /* a trace file larger than this is not one */

int stt_trace_new(struct stt_trace **out)
{
	struct stt_trace *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->meta = json_object_new_object();
	if (!t->meta) {
		free(t);
		return -ENOMEM;
	}
	*out = t;
	return 0;
}

void stt_trace_free(struct stt_trace *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_files; i++) {
		free(t->files[i].path);
		free(t->files[i].ranges);
	}
	free(t->files);
	json_object_put(t->meta);
	free(t);
}

int stt_trace_file(struct stt_trace *t, const char *path, uint64_t size_bytes, size_t *idx)
{
	struct stt_trace_file *f;

	for (size_t i = t->n_files; i-- > 0;)
		if (!strcmp(t->files[i].path, path)) {
			*idx = i;
			return 0;
		}
	if (stt_array_reserve(&t->files, &t->cap_files, t->n_files, sizeof(*t->files), 64))
		return -ENOMEM;
	f = &t->files[t->n_files];
	memset(f, 0, sizeof(*f));
	f->path = strdup(path);
	if (!f->path)
		return -ENOMEM;
	f->size_bytes = size_bytes;
	*idx = t->n_files++;
	return 0;
}

int stt_trace_add(struct stt_trace *t, size_t idx, char kind, uint64_t off, uint64_t len)
{
	struct stt_trace_file *f = &t->files[idx];
	struct stt_trace_range *last = f->n_ranges ? &f->ranges[f->n_ranges - 1] : NULL;

	if (off >= f->size_bytes || !len)
		return 0; /* beyond the end: the kernel looked, there was nothing to read */
	if (len > f->size_bytes - off)
		len = f->size_bytes - off;
	if (last && last->kind == kind && off >= last->off_bytes &&
	    off <= last->off_bytes + last->len_bytes) {
		if (off + len > last->off_bytes + last->len_bytes)
			last->len_bytes = off + len - last->off_bytes;
		return 0;
	}
	if (stt_array_reserve(&f->ranges, &f->cap_ranges, f->n_ranges, sizeof(*f->ranges), 8))
		return -ENOMEM;
	f->ranges[f->n_ranges++] = (struct stt_trace_range){off, len, kind};
	return 0;
}

void stt_trace_reader(struct stt_trace *t, size_t idx, const char *comm)
{
	struct stt_trace_file *f = &t->files[idx];
	size_t n = strlen(comm), used = strlen(f->readers);
	const char *p;

	for (p = f->readers; (p = strstr(p, comm)); p += n)
		if ((p == f->readers || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return;
	if (used + n + 2 < sizeof(f->readers))
		snprintf(f->readers + used, sizeof(f->readers) - used, "%s%s", used ? "," : "",
			 comm);
}

static bool replayed(char kind)
{
	return kind == STT_TRACE_READ || kind == STT_TRACE_FAULT;
}

uint64_t stt_trace_file_read_bytes(const struct stt_trace_file *f)
{
	uint64_t b = 0;

	for (size_t i = 0; i < f->n_ranges; i++)
		if (replayed(f->ranges[i].kind))
			b += f->ranges[i].len_bytes;
	return b;
}

static int cmp_range(const void *a, const void *b)
{
	const struct stt_trace_range *x = a, *y = b;

	return x->off_bytes < y->off_bytes ? -1 : x->off_bytes > y->off_bytes;
}

uint64_t stt_trace_file_unique_bytes(const struct stt_trace_file *f)
{
	struct stt_trace_range *s = malloc((f->n_ranges + 1) * sizeof(*s));
	uint64_t b = 0, end = 0;
	size_t n = 0;

	if (!s)
		return stt_trace_file_read_bytes(f);
	for (size_t i = 0; i < f->n_ranges; i++)
		if (replayed(f->ranges[i].kind))
			s[n++] = f->ranges[i];
	qsort(s, n, sizeof(*s), cmp_range);
	for (size_t i = 0; i < n; i++) {
		uint64_t a = s[i].off_bytes, z = s[i].off_bytes + s[i].len_bytes;

		if (a < end)
			a = end;
		if (z > a)
			b += z - a;
		if (z > end)
			end = z;
	}
	free(s);
	return b;
}

uint64_t stt_trace_read_bytes(const struct stt_trace *t)
{
	uint64_t b = 0;

	for (size_t i = 0; i < t->n_files; i++)
		b += stt_trace_file_read_bytes(&t->files[i]);
	return b;
}

static uint64_t kind_bytes(const struct stt_trace_file *f, char kind)
{
	uint64_t b = 0;

	for (size_t i = 0; i < f->n_ranges; i++)
		if (f->ranges[i].kind == kind)
			b += f->ranges[i].len_bytes;
	return b;
}

static struct json_object *u64(uint64_t v)
{
	return json_object_new_int64((int64_t)v);
}

int stt_trace_to_json(const struct stt_trace *t, struct json_object **out)
{
	struct json_object *o = json_object_new_object(), *files = json_object_new_array(), *tot;
	uint64_t sum[6] = {0}; /* read, unique, fault, map, cached, ranges */

	if (!o || !files) {
		json_object_put(o);
		json_object_put(files);
		return -ENOMEM;
	}
	json_object_object_add(o, "schema", json_object_new_string(STT_TRACE_SCHEMA));
	json_object_object_add(o, "schema_version", json_object_new_int(STT_TRACE_SCHEMA_VERSION));
	json_object_object_foreach(t->meta, key, val)
	{
		if (strcmp(key, "schema") && strcmp(key, "schema_version") &&
		    strcmp(key, "files") && strcmp(key, "totals"))
			json_object_object_add(o, key, json_object_get(val));
	}
	for (size_t i = 0; i < t->n_files; i++) {
		const struct stt_trace_file *f = &t->files[i];
		struct json_object *jf = json_object_new_object(), *rs = json_object_new_array();
		uint64_t rb = stt_trace_file_read_bytes(f), ub = stt_trace_file_unique_bytes(f);

		json_object_object_add(jf, "path", json_object_new_string(f->path));
		json_object_object_add(jf, "size_bytes", u64(f->size_bytes));
		for (size_t k = 0; k < f->n_ranges; k++) {
			struct json_object *r = json_object_new_array();
			char kind[2] = {f->ranges[k].kind, '\0'};

			json_object_array_add(r, u64(f->ranges[k].off_bytes));
			json_object_array_add(r, u64(f->ranges[k].len_bytes));
			json_object_array_add(r, json_object_new_string(kind));
			json_object_array_add(rs, r);
		}
		json_object_object_add(jf, "ranges", rs);
		json_object_object_add(jf, "read_bytes", u64(rb));
		json_object_object_add(jf, "unique_bytes", u64(ub));
		json_object_object_add(jf, "cached_bytes", u64(f->cached_bytes));
		json_object_object_add(jf, "readers", json_object_new_string(f->readers));
		json_object_array_add(files, jf);
		sum[0] += rb;
		sum[1] += ub;
		sum[2] += kind_bytes(f, STT_TRACE_FAULT);
		sum[3] += kind_bytes(f, STT_TRACE_MAP);
		sum[4] += f->cached_bytes;
		sum[5] += f->n_ranges;
	}
	json_object_object_add(o, "files", files);
	tot = json_object_new_object();
	json_object_object_add(tot, "files", u64(t->n_files));
	json_object_object_add(tot, "ranges", u64(sum[5]));
	json_object_object_add(tot, "read_bytes", u64(sum[0]));
	json_object_object_add(tot, "unique_bytes", u64(sum[1]));
	json_object_object_add(tot, "fault_bytes", u64(sum[2]));
	json_object_object_add(tot, "mapped_bytes", u64(sum[3]));
	json_object_object_add(tot, "cached_bytes", u64(sum[4]));
	json_object_object_add(tot, "events", u64(t->events));
	json_object_object_add(tot, "events_outside_image", u64(t->events_outside));
	json_object_object_add(tot, "lost_events", u64(t->lost_events));
	json_object_object_add(o, "totals", tot);
	*out = o;
	return 0;
}

/* ---- reading one ---- */

static int bad(const char *name, const char *what, size_t i, size_t k, const char *why)
{
	if (k != (size_t)-1)
		return stt_err(-EINVAL, "%s: files[%zu].ranges[%zu]: %s", name, i, k, why);
	if (i != (size_t)-1)
		return stt_err(-EINVAL, "%s: files[%zu].%s: %s", name, i, what, why);
	return stt_err(-EINVAL, "%s: %s: %s", name, what, why);
}

static bool get_u64(struct json_object *o, uint64_t *v)
{
	int64_t x;

	if (!o || !json_object_is_type(o, json_type_int))
		return false;
	x = json_object_get_int64(o);
	if (x < 0)
		return false;
	*v = (uint64_t)x;
	return true;
}

static bool safe_path(const char *p)
{
	const char *s = p;

	if (!*p || *p == '/')
		return false;
	while (*s) {
		size_t n = strcspn(s, "/");

		if (!n || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		s += n;
		if (*s)
			s++;
	}
	return true;
}

static int parse_file(struct stt_trace *t, struct json_object *jf, const char *name, size_t i)
{
	struct json_object *p = json_object_object_get(jf, "path"), *rs, *rd;
	uint64_t size;
	size_t idx, n_before;
	int r;

	if (!json_object_is_type(jf, json_type_object))
		return bad(name, "", i, (size_t)-1, "not an object");
	if (!p || !json_object_is_type(p, json_type_string) ||
	    !safe_path(json_object_get_string(p)))
		return bad(name, "path", i, (size_t)-1,
			   "missing, or not a relative path inside the image");
	if (!get_u64(json_object_object_get(jf, "size_bytes"), &size))
		return bad(name, "size_bytes", i, (size_t)-1, "missing or not a count of bytes");
	rs = json_object_object_get(jf, "ranges");
	if (!rs || !json_object_is_type(rs, json_type_array))
		return bad(name, "ranges", i, (size_t)-1, "missing or not an array");
	n_before = t->n_files;
	if ((r = stt_trace_file(t, json_object_get_string(p), size, &idx)))
		return r;
	if (idx < n_before)
		return bad(name, "path", i, (size_t)-1, "given twice");
	for (size_t k = 0; k < json_object_array_length(rs); k++) {
		struct json_object *jr = json_object_array_get_idx(rs, k), *jk;
		struct stt_trace_file *f = &t->files[idx];
		uint64_t off, len;
		const char *kind;

		if (!json_object_is_type(jr, json_type_array) ||
		    json_object_array_length(jr) != 3 ||
		    !get_u64(json_object_array_get_idx(jr, 0), &off) ||
		    !get_u64(json_object_array_get_idx(jr, 1), &len))
			return bad(name, "", i, k, "not [offset, length, kind]");
		jk = json_object_array_get_idx(jr, 2);
		kind = json_object_is_type(jk, json_type_string) ? json_object_get_string(jk) : "";
		if (strlen(kind) != 1 || !strchr("rfm", kind[0]))
			return bad(name, "", i, k, "kind must be \"r\", \"f\" or \"m\"");
		if (!len || off > size || len > size - off)
			return bad(name, "", i, k, "empty, or beyond the file's size_bytes");
		if (f->n_ranges == f->cap_ranges) {
			size_t cap = f->cap_ranges ? 2 * f->cap_ranges : 8;
			struct stt_trace_range *nr = realloc(f->ranges, cap * sizeof(*nr));

			if (!nr)
				return -ENOMEM;
			f->ranges = nr;
			f->cap_ranges = cap;
		}
		f->ranges[f->n_ranges++] = (struct stt_trace_range){off, len, kind[0]};
	}
	get_u64(json_object_object_get(jf, "cached_bytes"), &t->files[idx].cached_bytes);
	rd = json_object_object_get(jf, "readers");
	if (rd && json_object_is_type(rd, json_type_string))
		snprintf(t->files[idx].readers, sizeof(t->files[idx].readers), "%s",
			 json_object_get_string(rd));
	return 0;
}

int stt_trace_parse(const char *buf, size_t len, const char *name, struct stt_trace **out)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *doc = NULL, *files, *s;
	struct stt_trace *t = NULL;
	int r;

	if (!tok)
		return -ENOMEM;
	doc = json_tokener_parse_ex(tok, buf, (int)len);
	if (!doc) {
		r = stt_err(-EINVAL, "%s: not JSON: %s", name,
			    json_tokener_error_desc(json_tokener_get_error(tok)));
		goto out;
	}
	s = json_object_object_get(doc, "schema");
	if (!json_object_is_type(doc, json_type_object) || !s ||
	    strcmp(json_object_get_string(s), STT_TRACE_SCHEMA)) {
		r = bad(name, "schema", (size_t)-1, (size_t)-1,
			"not \"" STT_TRACE_SCHEMA "\" (not a trace of `stortune trace`)");
		goto out;
	}
	s = json_object_object_get(doc, "schema_version");
	if (!s || json_object_get_int(s) != STT_TRACE_SCHEMA_VERSION) {
		r = bad(name, "schema_version", (size_t)-1, (size_t)-1,
			"not 1 (made by another version of stortune)");
		goto out;
	}
	files = json_object_object_get(doc, "files");
	if (!files || !json_object_is_type(files, json_type_array)) {
		r = bad(name, "files", (size_t)-1, (size_t)-1, "missing or not an array");
		goto out;
	}
	if ((r = stt_trace_new(&t)))
		goto out;
	for (size_t i = 0; i < json_object_array_length(files); i++)
		if ((r = parse_file(t, json_object_array_get_idx(files, i), name, i)))
			goto out;
	json_object_object_foreach(doc, key, val)
	{
		if (strcmp(key, "files") && strcmp(key, "totals"))
			json_object_object_add(t->meta, key, json_object_get(val));
	}
	*out = t;
	t = NULL;
	r = 0;
out:
	stt_trace_free(t);
	json_object_put(doc);
	json_tokener_free(tok);
	return r;
}

int stt_trace_load(const char *path, struct stt_trace **out)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int r;

	if (!f)
		return stt_err(-errno, "%s: %s", path, strerror(errno));
	for (;;) {
		size_t n;

		if (len == cap) {
			char *nb;

			cap = cap ? 2 * cap : 65536;
			if (cap > MAX_TRACE_BYTES) {
				fclose(f);
				free(buf);
				return stt_err(-EINVAL, "%s: larger than %u MiB: not a trace", path,
					       MAX_TRACE_BYTES >> 20);
			}
			nb = realloc(buf, cap);
			if (!nb) {
				fclose(f);
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (!n)
			break;
	}
	r = ferror(f) ? stt_err(-EIO, "%s: cannot read", path) : 0;
	fclose(f);
	if (!r)
		r = stt_trace_parse(buf, len, path, out);
	free(buf);
	return r;
}
