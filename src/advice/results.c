// SPDX-License-Identifier: GPL-2.0-or-later
#include "base/json.h"
#include "advice/results.h"

#include "base/err.h"
#include "sys/host.h"
#include "sys/sysfs.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int stt_results_new(const struct stt_host *host, const char *env_label, struct json_object **out)
{
	struct json_object *doc, *tool, *env, *cpu, *h = NULL;
	char model[256], when[32];
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

	json_object_object_add(env, "label", json_object_new_string(env_label));
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
	char tmp[4096];
	size_t len = strlen(text), off = 0;
	int fd, r = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp-%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return stt_err(-errno, "%s: cannot create: %s", tmp, strerror(errno));
	while (off < len && !r) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = stt_err(-errno, "%s: cannot write: %s", tmp, strerror(errno));
		else
			off += (size_t)n;
	}
	if (!r && (write(fd, "\n", 1) != 1 || fsync(fd)))
		r = stt_err(-errno, "%s: cannot write: %s", tmp, strerror(errno));
	close(fd);
	if (!r && rename(tmp, path))
		r = stt_err(-errno, "%s: cannot write: %s", path, strerror(errno));
	if (r)
		unlink(tmp);
	return r;
}

int stt_results_load(const char *path, struct json_object **out)
{
	struct json_object *doc, *v;
	enum json_tokener_error jerr;
	char *text = NULL;
	int r;

	r = stt_sysfs_slurp(path, &text);
	if (r)
		return stt_err(r, "%s: %s", path, r == -ENOENT ? "no such file" : strerror(-r));
	doc = json_tokener_parse_verbose(text, &jerr);
	free(text);
	if (!doc)
		return stt_err(-EINVAL, "%s: not JSON (%s)", path, json_tokener_error_desc(jerr));
	if (!json_object_is_type(doc, json_type_object) ||
	    !json_object_object_get_ex(doc, "schema", &v) ||
	    strcmp(json_object_get_string(v), STT_RESULTS_SCHEMA)) {
		r = stt_err(-EINVAL, "%s: not a stortune results file (no \"schema\": \"%s\")", path,
			    STT_RESULTS_SCHEMA);
		goto fail;
	}
	if (!json_object_object_get_ex(doc, "schema_version", &v) ||
	    json_object_get_int(v) != STT_RESULTS_VERSION) {
		r = stt_err(-EINVAL, "%s: schema version %s; this stortune reads version %d", path,
			    v ? json_object_get_string(v) : "missing", STT_RESULTS_VERSION);
		goto fail;
	}
	if (!json_object_object_get_ex(doc, "backends", &v) ||
	    !json_object_is_type(v, json_type_array)) {
		r = stt_err(-EINVAL, "%s: \"backends\" missing or not an array", path);
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
