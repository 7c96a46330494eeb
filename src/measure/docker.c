// SPDX-License-Identifier: GPL-2.0-or-later
#include "measure/docker.h"

#include "base/err.h"
#include "sys/http.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_TIMEOUT_MS 120000

/* The daemon's message of an error answer, or its status. */
static int api_err(const char *what, const struct stt_http_resp *resp)
{
	struct json_object *o = json_tokener_parse(resp->body ? resp->body : "");
	struct json_object *m = o ? json_object_object_get(o, "message") : NULL;
	int e = resp->status == 404 ? -ENOENT : resp->status == 409 ? -EBUSY : -EIO;

	e = stt_err(e, "%s: HTTP %ld: %.300s", what, resp->status,
		    m		 ? json_object_get_string(m)
		    : resp->body ? resp->body
				 : "");
	json_object_put(o);
	return e;
}

/* One call that must answer one of @ok (0-terminated); its body parsed into *@out if wanted. */
static int call(struct stt_http *h, const char *method, const char *path, const char *body,
		const long *ok, struct json_object **out)
{
	struct stt_http_resp resp;
	int r;
	bool good = false;

	r = stt_http_call(h, method, path, body ? "application/json" : NULL, body,
			  body ? strlen(body) : 0, NULL, API_TIMEOUT_MS, &resp);
	if (r)
		return r;
	for (const long *s = ok; *s; s++)
		good |= resp.status == *s;
	if (!good) {
		char what[512];

		snprintf(what, sizeof(what), "%s %s", method, path);
		r = api_err(what, &resp);
	} else if (out) {
		*out = json_tokener_parse(resp.body);
		if (!*out)
			r = stt_err(-EPROTO, "%s %s: answer is not JSON", method, path);
	}
	stt_http_resp_release(&resp);
	return r;
}

int stt_docker_ping(struct stt_http *h, long timeout_ms)
{
	struct stt_http_resp resp;
	int r = stt_http_call(h, "GET", "/_ping", NULL, NULL, 0, NULL, timeout_ms, &resp);

	if (r)
		return r;
	if (resp.status != 200)
		r = api_err("GET /_ping", &resp);
	stt_http_resp_release(&resp);
	return r;
}

static const char *str(struct json_object *o, const char *key)
{
	struct json_object *v = json_object_object_get(o, key);

	return v ? json_object_get_string(v) : "";
}

int stt_docker_info(struct stt_http *h, struct json_object **out)
{
	static const long ok[] = {200, 0};
	struct json_object *ver = NULL, *info = NULL, *o, *st, *ds;
	int r;

	if ((r = call(h, "GET", "/version", NULL, ok, &ver)) ||
	    (r = call(h, "GET", "/info", NULL, ok, &info)))
		goto out;
	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string("docker"));
	json_object_object_add(o, "version", json_object_new_string(str(ver, "Version")));
	json_object_object_add(o, "api_version", json_object_new_string(str(ver, "ApiVersion")));
	json_object_object_add(o, "driver", json_object_new_string(str(info, "Driver")));
	st = json_object_new_object();
	ds = json_object_object_get(info, "DriverStatus");
	for (size_t i = 0; ds && i < json_object_array_length(ds); i++) {
		struct json_object *kv = json_object_array_get_idx(ds, i);

		if (json_object_array_length(kv) == 2)
			json_object_object_add(
			    st, json_object_get_string(json_object_array_get_idx(kv, 0)),
			    json_object_new_string(
				json_object_get_string(json_object_array_get_idx(kv, 1))));
	}
	json_object_object_add(o, "driver_status", st);
	json_object_object_add(o, "root_dir", json_object_new_string(str(info, "DockerRootDir")));
	json_object_object_add(o, "kernel", json_object_new_string(str(info, "KernelVersion")));
	json_object_object_add(o, "cgroup_driver",
			       json_object_new_string(str(info, "CgroupDriver")));
	*out = o;
out:
	json_object_put(ver);
	json_object_put(info);
	return r;
}

int stt_docker_load(struct stt_http *h, const char *tar, char *image, size_t len)
{
	struct stt_http_resp resp;
	const char *p;
	int r;

	r = stt_http_call(h, "POST", "/images/load?quiet=1", "application/x-tar", NULL, 0, tar,
			  600000, &resp);
	if (r)
		return r;
	/* 200 with {"stream":"Loaded image: NAME\n"} or an {"errorDetail": ...} line. */
	if (resp.status != 200) {
		r = api_err("POST /images/load", &resp);
	} else if ((p = strstr(resp.body, "Loaded image: ")) ||
		   (p = strstr(resp.body, "Loaded image ID: "))) {
		p = strchr(p, ':') + 2;
		snprintf(image, len, "%.*s", (int)strcspn(p, "\\\"\n"), p);
		r = 0;
	} else {
		r = stt_err(-EPROTO, "%s: not loaded: %.300s", tar, resp.body);
	}
	stt_http_resp_release(&resp);
	return r;
}

int stt_docker_image_ids(struct stt_http *h, char **out)
{
	static const long ok[] = {200, 0};
	struct json_object *res = NULL;
	size_t len = 1, used = 0;
	char *buf;
	int r;

	if ((r = call(h, "GET", "/images/json?all=1", NULL, ok, &res)))
		return r;
	for (size_t i = 0; i < json_object_array_length(res); i++)
		len += strlen(str(json_object_array_get_idx(res, i), "Id")) + 1;
	buf = malloc(len);
	if (!buf) {
		json_object_put(res);
		return -ENOMEM;
	}
	buf[0] = '\0';
	for (size_t i = 0; i < json_object_array_length(res); i++)
		used += (size_t)snprintf(buf + used, len - used, "%s\n",
					 str(json_object_array_get_idx(res, i), "Id"));
	json_object_put(res);
	*out = buf;
	return 0;
}

int stt_docker_image_id(struct stt_http *h, const char *image, char *id, size_t len)
{
	static const long ok[] = {200, 0};
	struct json_object *res = NULL;
	char path[512];
	int r;

	snprintf(path, sizeof(path), "/images/%s/json", image);
	if ((r = call(h, "GET", path, NULL, ok, &res)))
		return r;
	snprintf(id, len, "%s", str(res, "Id"));
	json_object_put(res);
	return 0;
}

int stt_docker_image_remove(struct stt_http *h, const char *image)
{
	static const long ok[] = {200, 404, 0};
	char path[512];

	snprintf(path, sizeof(path), "/images/%s?force=1", image);
	return call(h, "DELETE", path, NULL, ok, NULL);
}

static struct json_object *strv(const char *const *v)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; v && v[i]; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

int stt_docker_create(struct stt_http *h, const char *image, const char *const *argv,
		      const char *const *binds, const char *label, char id[65])
{
	static const long ok[] = {201, 0};
	struct json_object *o = json_object_new_object(), *hc, *lab, *lc, *res = NULL;
	int r;

	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "Image", json_object_new_string(image));
	json_object_object_add(o, "Cmd", strv(argv));
	json_object_object_add(o, "OpenStdin", json_object_new_boolean(1));
	json_object_object_add(o, "AttachStdin", json_object_new_boolean(1));
	json_object_object_add(o, "AttachStdout", json_object_new_boolean(1));
	json_object_object_add(o, "AttachStderr", json_object_new_boolean(1));
	json_object_object_add(o, "NetworkDisabled", json_object_new_boolean(1));
	lab = json_object_new_object();
	json_object_object_add(lab, "stortune.run", json_object_new_string(label));
	json_object_object_add(o, "Labels", lab);
	hc = json_object_new_object();
	json_object_object_add(hc, "NetworkMode", json_object_new_string("none"));
	json_object_object_add(hc, "Binds", strv(binds));
	lc = json_object_new_object();
	json_object_object_add(lc, "Type", json_object_new_string("none"));
	json_object_object_add(hc, "LogConfig", lc);
	json_object_object_add(o, "HostConfig", hc);
	r = call(h, "POST", "/containers/create",
		 json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE),
		 ok, &res);
	if (!r) {
		const char *s = str(res, "Id");

		if (strlen(s) != 64)
			r = stt_err(-EPROTO, "POST /containers/create: no id in the answer");
		else
			memcpy(id, s, 65);
	}
	json_object_put(res);
	json_object_put(o);
	return r;
}

int stt_docker_inspect(struct stt_http *h, const char *id, struct json_object **out)
{
	static const long ok[] = {200, 0};
	char path[160];

	snprintf(path, sizeof(path), "/containers/%s/json", id);
	return call(h, "GET", path, NULL, ok, out);
}

int stt_docker_start(struct stt_http *h, const char *id)
{
	static const long ok[] = {204, 0};
	char path[128];

	snprintf(path, sizeof(path), "/containers/%s/start", id);
	return call(h, "POST", path, NULL, ok, NULL);
}

int stt_docker_stop(struct stt_http *h, const char *id, unsigned int timeout_s)
{
	static const long ok[] = {204, 0};
	char path[160];

	snprintf(path, sizeof(path), "/containers/%s/stop?t=%u", id, timeout_s);
	return call(h, "POST", path, NULL, ok, NULL);
}

int stt_docker_remove(struct stt_http *h, const char *id, bool force)
{
	static const long ok[] = {204, 404, 0};
	char path[160];

	snprintf(path, sizeof(path), "/containers/%s?v=1%s", id, force ? "&force=1" : "");
	return call(h, "DELETE", path, NULL, ok, NULL);
}

int stt_docker_list(struct stt_http *h, const char *label, char (*ids)[65], size_t max, size_t *n)
{
	static const long ok[] = {200, 0};
	struct json_object *res = NULL;
	char path[512];
	int r;

	/* filters={"label":["stortune.run=LABEL"]}, URL-encoded */
	snprintf(path, sizeof(path),
		 "/containers/json?all=1&filters=%%7B%%22label%%22%%3A%%5B%%22stortune.run%%3D%s"
		 "%%22%%5D%%7D",
		 label);
	*n = 0;
	if ((r = call(h, "GET", path, NULL, ok, &res)))
		return r;
	for (size_t i = 0; i < json_object_array_length(res); i++) {
		const char *id = str(json_object_array_get_idx(res, i), "Id");

		if (strlen(id) != 64)
			continue;
		if (*n < max)
			memcpy(ids[*n], id, 65);
		(*n)++;
	}
	json_object_put(res);
	return 0;
}

int stt_docker_attach(struct stt_http *h, const char *id)
{
	char path[200];

	snprintf(path, sizeof(path), "/containers/%s/attach?stream=1&stdin=1&stdout=1&stderr=1",
		 id);
	return stt_http_upgrade(h, "POST", path, API_TIMEOUT_MS);
}

/* Moves the frames' payload from raw to pay (what does not fit in pay is dropped). */
static void deframe(struct stt_docker_stream *s)
{
	size_t off = 0;

	while (off < s->raw_len) {
		if (s->frame_left) {
			size_t take = s->raw_len - off, keep;

			if (take > s->frame_left)
				take = s->frame_left;
			keep =
			    take < sizeof(s->pay) - s->pay_len ? take : sizeof(s->pay) - s->pay_len;
			memcpy(s->pay + s->pay_len, s->raw + off, keep);
			s->pay_len += keep;
			off += take;
			s->frame_left -= take;
			continue;
		}
		if (s->raw_len - off < 8)
			break;
		s->frame_left = (size_t)s->raw[off + 4] << 24 | (size_t)s->raw[off + 5] << 16 |
				(size_t)s->raw[off + 6] << 8 | s->raw[off + 7];
		off += 8;
	}
	memmove(s->raw, s->raw + off, s->raw_len - off);
	s->raw_len -= off;
}

int stt_docker_attach_line(struct stt_http *h, struct stt_docker_stream *s, char *line, size_t len,
			   long timeout_ms)
{
	for (;;) {
		char *nl = memchr(s->pay, '\n', s->pay_len);
		size_t got = 0;
		int r;

		if (nl) {
			size_t n = (size_t)(nl - s->pay);

			snprintf(line, len, "%.*s", (int)n, s->pay);
			memmove(s->pay, nl + 1, s->pay_len - n - 1);
			s->pay_len -= n + 1;
			return 0;
		}
		if (s->pay_len == sizeof(s->pay))
			s->pay_len = 0; /* a line longer than the buffer: dropped */
		r = stt_http_recv(h, s->raw + s->raw_len, sizeof(s->raw) - s->raw_len, &got,
				  timeout_ms);
		if (r)
			return r;
		if (!got)
			return stt_err(-EPIPE, "the container's output ended");
		s->raw_len += got;
		deframe(s);
	}
}
