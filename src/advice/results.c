// SPDX-License-Identifier: GPL-2.0-or-later
#include "base/json.h"
#include "advice/results.h"

#include "base/err.h"
#include "sys/fsutil.h"
#include "sys/host.h"
#include "sys/sysfs.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#ifndef STT_GIT_REV
#define STT_GIT_REV "unknown"
#endif

static void cpu_model(char *buf, size_t len)
{
	char *text = NULL, *p;

	snprintf(buf, len, "unknown");
	if (stt_sysfs_slurp("/proc/cpuinfo", &text))
		return;
	p = strstr(text, "model name");
	if (p && (p = strchr(p, ':'))) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		snprintf(buf, len, "%.*s", (int)strcspn(p, "\n"), p);
	}
	free(text);
}

/* A random id of this run (the kernel's uuid generator); "" when it cannot be read. */
static void run_id(char *buf, size_t len)
{
	char *text = NULL;

	buf[0] = '\0';
	if (stt_sysfs_slurp("/proc/sys/kernel/random/uuid", &text))
		return;
	snprintf(buf, len, "%.*s", (int)strcspn(text, "\n"), text);
	free(text);
}

int stt_results_new(const struct stt_host *host, const char *env_label, struct json_object **out)
{
	struct json_object *doc, *tool, *env, *cpu, *h = NULL;
	char model[256], when[32], id[64];
	struct utsname uts;
	time_t now = time(NULL);
	struct tm tm;

	doc = json_object_new_object();
	tool = json_object_new_object();
	env = json_object_new_object();
	cpu = json_object_new_object();
	if (!doc || !tool || !env || !cpu || (host && stt_host_to_json(host, &h))) {
		json_object_put(doc);
		json_object_put(tool);
		json_object_put(env);
		json_object_put(cpu);
		return -ENOMEM;
	}
	json_object_object_add(doc, "schema", json_object_new_string(STT_RESULTS_SCHEMA));
	json_object_object_add(doc, "schema_version", json_object_new_int(STT_RESULTS_VERSION));
	json_object_object_add(tool, "name", json_object_new_string("stortune"));
	json_object_object_add(tool, "version", json_object_new_string(STT_VERSION));
	json_object_object_add(tool, "git_revision", json_object_new_string(STT_GIT_REV));
	json_object_object_add(doc, "tool", tool);
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_object_add(doc, "created", json_object_new_string(when));
	run_id(id, sizeof(id));
	if (id[0])
		json_object_object_add(doc, "run_id", json_object_new_string(id));

	json_object_object_add(env, "label", json_object_new_string(env_label));
	if (!uname(&uts))
		json_object_object_add(env, "hostname", json_object_new_string(uts.nodename));
	if (host)
		json_object_object_add(env, "kernel", json_object_new_string(host->kernel_release));
	cpu_model(model, sizeof(model));
	json_object_object_add(cpu, "model", json_object_new_string(model));
	json_object_object_add(cpu, "cores", json_object_new_int((int)sysconf(_SC_NPROCESSORS_ONLN)));
	json_object_object_add(env, "cpu", cpu);
	json_object_object_add(env, "memory_bytes",
			       json_object_new_int64((int64_t)sysconf(_SC_PHYS_PAGES) *
						     sysconf(_SC_PAGESIZE)));
	if (h)
		json_object_object_add(env, "host", h);
	json_object_object_add(doc, "environment", env);
	json_object_object_add(doc, "backends", json_object_new_array());
	json_object_object_add(doc, "warnings", json_object_new_array());
	json_object_object_add(doc, "incomplete", json_object_new_boolean(false));
	*out = doc;
	return 0;
}

int stt_results_write(struct json_object *doc, const char *path)
{
	const char *text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
								       JSON_C_TO_STRING_SPACED |
								       JSON_C_TO_STRING_NOSLASHESCAPE);

	if (!text)
		return stt_err(-ENOMEM, "%s: out of memory", path);
	return stt_fs_write_atomic(path, text, strlen(text), 0644);
}

int stt_results_parse(const char *text, size_t len, const char *name, struct json_object **out)
{
	struct json_object *doc, *v;
	enum json_tokener_error jerr;
	char *copy;
	int r;

	/* The text ends at its first NUL, as a file read whole and parsed as a string does. */
	len = strnlen(text, len);
	copy = malloc(len + 1);
	if (!copy)
		return stt_err(-ENOMEM, "%s: out of memory", name);
	memcpy(copy, text, len);
	copy[len] = '\0';
	doc = json_tokener_parse_verbose(copy, &jerr);
	free(copy);
	if (!doc)
		return stt_err(-EINVAL, "%s: not JSON (%s)", name, json_tokener_error_desc(jerr));
	if (!json_object_is_type(doc, json_type_object) ||
	    !json_object_object_get_ex(doc, "schema", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), STT_RESULTS_SCHEMA)) {
		r = stt_err(-EINVAL, "%s: not a stortune results file (no \"schema\": \"%s\")",
			    name, STT_RESULTS_SCHEMA);
		goto fail;
	}
	if (!json_object_object_get_ex(doc, "schema_version", &v) ||
	    json_object_get_int(v) != STT_RESULTS_VERSION) {
		r = stt_err(-EINVAL, "%s: schema version %s; this stortune reads version %d", name,
			    v ? json_object_get_string(v) : "missing", STT_RESULTS_VERSION);
		goto fail;
	}
	if (!json_object_object_get_ex(doc, "backends", &v) ||
	    !json_object_is_type(v, json_type_array)) {
		r = stt_err(-EINVAL, "%s: \"backends\" missing or not an array", name);
		goto fail;
	}
	*out = doc;
	return 0;
fail:
	json_object_put(doc);
	return r;
}
void stt_results_mark_incomplete(struct json_object *doc, const char *reason)
{
	if (stt_results_incomplete(doc))
		return;
	json_object_object_add(doc, "incomplete", json_object_new_boolean(true));
	json_object_object_add(doc, "incomplete_reason",
			       json_object_new_string(reason && *reason ? reason : "unknown"));
}

int stt_results_load(const char *path, struct json_object **out)
{
	char *text = NULL;
	int r;

	r = stt_sysfs_slurp(path, &text);
	if (r)
		return stt_err(r, "%s: %s", path, r == -ENOENT ? "no such file" : strerror(-r));
	r = stt_results_parse(text, strlen(text), path, out);
	free(text);
	return r;
}

bool stt_results_incomplete(struct json_object *doc)
{
	struct json_object *v;

	return json_object_object_get_ex(doc, "incomplete", &v) && json_object_get_boolean(v);
}

const char *stt_results_env_label(struct json_object *doc)
{
	struct json_object *env, *label;

	if (json_object_object_get_ex(doc, "environment", &env) &&
	    json_object_object_get_ex(env, "label", &label))
		return json_object_get_string(label);
	return "native";
}

struct json_object *stt_results_backend_ok(struct json_object *doc, const char *name)
{
	struct json_object *arr = stt_json_get(doc, "backends");

	for (size_t i = 0;
	     json_object_is_type(arr, json_type_array) && i < json_object_array_length(arr); i++) {
		struct json_object *be = json_object_array_get_idx(arr, i);
		const char *n = json_object_get_string(stt_json_get(be, "backend"));
		const char *st = json_object_get_string(stt_json_get(be, "status"));

		if (n && st && !strcmp(n, name) && !strcmp(st, "ok"))
			return be;
	}
	return NULL;
}
