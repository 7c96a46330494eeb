// SPDX-License-Identifier: GPL-2.0-or-later
#include "advice/daemonjson.h"

#include "base/err.h"
#include "sys/fsutil.h"
#include "sys/sysfs.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *const stt_daemonjson_keys[] = {"storage-driver", "data-root", "storage-opts", NULL};

#define TEXT_FLAGS \
	(JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE)

static bool blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			return false;
	return true;
}

static int bad_json(const char *name, const char *text, size_t off, const char *what)
{
	unsigned int line = 1, col = 1;

	for (size_t i = 0; i < off; i++) {
		if (text[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	return stt_err(-EINVAL, "%s: not valid JSON: %s at line %u, column %u (byte %zu)", name,
		       what, line, col, off);
}

/*
 * RFC 8259, strictly, as dockerd's Go decoder reads it: json-c's strict mode still takes
 * some of its extensions (single-quoted strings). The first offence: its offset and name.
 */
struct strict {
	const char *s;
	size_t len, i;
	const char *what;
};

static bool fail(struct strict *v, const char *what)
{
	v->what = what;
	return false;
}

static void skip_ws(struct strict *v)
{
	while (v->i < v->len && strchr(" \t\n\r", v->s[v->i]) && v->s[v->i])
		v->i++;
}

static bool is_digit(struct strict *v)
{
	return v->i < v->len && v->s[v->i] >= '0' && v->s[v->i] <= '9';
}

static bool strict_string(struct strict *v)
{
	if (v->i >= v->len || v->s[v->i] != '"')
		return fail(v, v->i < v->len && v->s[v->i] == '\'' ? "single-quoted string"
								   : "expected a string");
	for (v->i++; v->i < v->len; v->i++) {
		unsigned char c = (unsigned char)v->s[v->i];

		if (c == '"') {
			v->i++;
			return true;
		}
		if (c < 0x20)
			return fail(v, "control character in a string");
		if (c != '\\')
			continue;
		if (++v->i >= v->len)
			break;
		if (v->s[v->i] == 'u') {
			for (int k = 0; k < 4; k++)
				if (++v->i >= v->len ||
				    !strchr("0123456789abcdefABCDEF", v->s[v->i]) || !v->s[v->i])
					return fail(v, "bad \\u escape");
		} else if (!strchr("\"\\/bfnrt", v->s[v->i]) || !v->s[v->i]) {
			return fail(v, "bad escape");
		}
	}
	return fail(v, "unterminated string");
}

static bool strict_value(struct strict *v, int depth);

static bool strict_members(struct strict *v, int depth, char close)
{
	v->i++;
	skip_ws(v);
	if (v->i < v->len && v->s[v->i] == close) {
		v->i++;
		return true;
	}
	for (;;) {
		if (close == '}') {
			if (!strict_string(v))
				return false;
			skip_ws(v);
			if (v->i >= v->len || v->s[v->i] != ':')
				return fail(v, "expected ':'");
			v->i++;
		}
		if (!strict_value(v, depth + 1))
			return false;
		skip_ws(v);
		if (v->i < v->len && v->s[v->i] == ',') {
			v->i++;
			skip_ws(v);
			continue;
		}
		if (v->i < v->len && v->s[v->i] == close) {
			v->i++;
			return true;
		}
		return fail(v, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static bool strict_value(struct strict *v, int depth)
{
	static const char *const lits[] = {"true", "false", "null"};

	if (depth > 512)
		return fail(v, "nested too deeply");
	skip_ws(v);
	if (v->i >= v->len)
		return fail(v, "expected a value");
	switch (v->s[v->i]) {
	case '{':
		return strict_members(v, depth, '}');
	case '[':
		return strict_members(v, depth, ']');
	case '"':
	case '\'':
		return strict_string(v);
	}
	for (size_t k = 0; k < 3; k++) {
		size_t n = strlen(lits[k]);

		if (v->len - v->i >= n && !memcmp(v->s + v->i, lits[k], n)) {
			v->i += n;
			return true;
		}
	}
	if (v->s[v->i] == '-')
		v->i++;
	if (!is_digit(v))
		return fail(v, "expected a value");
	if (v->s[v->i] == '0')
		v->i++;
	else
		while (is_digit(v))
			v->i++;
	if (v->i < v->len && v->s[v->i] == '.') {
		v->i++;
		if (!is_digit(v))
			return fail(v, "bad number");
		while (is_digit(v))
			v->i++;
	}
	if (v->i < v->len && (v->s[v->i] == 'e' || v->s[v->i] == 'E')) {
		v->i++;
		if (v->i < v->len && (v->s[v->i] == '+' || v->s[v->i] == '-'))
			v->i++;
		if (!is_digit(v))
			return fail(v, "bad number");
		while (is_digit(v))
			v->i++;
	}
	return true;
}

int stt_daemonjson_parse(const char *text, size_t len, const char *name, struct json_object **out)
{
	struct strict sv = {text, len, 0, NULL};
	struct json_tokener *tok;
	struct json_object *o;
	enum json_tokener_error e;
	size_t end;

	*out = NULL;
	if (blank(text, len)) {
		/* dockerd takes an empty file as no configuration */
		*out = json_object_new_object();
		return *out ? 0 : -ENOMEM;
	}
	if (len > INT_MAX)
		return stt_err(-EINVAL, "%s: too large", name);
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, text, (int)len);
	e = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!o || e != json_tokener_success) {
		json_object_put(o);
		return bad_json(name, text, end,
				e == json_tokener_continue ? "unexpected end of the text"
							   : json_tokener_error_desc(e));
	}
	if (!blank(text + end, len - end)) {
		json_object_put(o);
		while (end < len && blank(text + end, 1))
			end++;
		return bad_json(name, text, end, "more text after the JSON value");
	}
	if (!strict_value(&sv, 0)) {
		json_object_put(o);
		return bad_json(name, text, sv.i, sv.what);
	}
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return stt_err(-EINVAL, "%s: not a JSON object (daemon.json holds one object)",
			       name);
	}
	*out = o;
	return 0;
}

int stt_daemonjson_load(const char *path, struct json_object **out)
{
	char *text = NULL;
	size_t len;
	int r;

	*out = NULL;
	r = stt_sysfs_slurp(path, &text);
	if (r == -ENOENT)
		return r;
	if (r)
		return stt_err(r, "%s: cannot read: %s", path, strerror(-r));
	len = strlen(text);
	r = stt_daemonjson_parse(text, len, path, out);
	free(text);
	return r;
}

const char *stt_daemonjson_text(struct json_object *o)
{
	return json_object_to_json_string_ext(o, TEXT_FLAGS);
}

/* "  "key": <value on one line>" */
static void diff_line(FILE *f, char sign, const char *key, struct json_object *v)
{
	fprintf(f, "%c  \"%s\": %s\n", sign, key,
		json_object_to_json_string_ext(v, JSON_C_TO_STRING_SPACED |
						      JSON_C_TO_STRING_NOSLASHESCAPE));
}

int stt_daemonjson_merge(struct json_object *base, struct json_object *ours, const char *name,
			 struct json_object **merged, char **diff, int *changed)
{
	struct json_object *m = NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int n = 0;

	*merged = NULL;
	*diff = NULL;
	*changed = 0;
	if (base ? json_object_deep_copy(base, &m, NULL) : !(m = json_object_new_object()))
		return -ENOMEM;
	f = open_memstream(&buf, &len);
	if (!f) {
		json_object_put(m);
		return -ENOMEM;
	}
	for (const char *const *k = stt_daemonjson_keys; *k; k++) {
		struct json_object *old = NULL, *new = NULL;
		bool had = json_object_object_get_ex(m, *k, &old);
		bool want = json_object_object_get_ex(ours, *k, &new);

		if (want && had && json_object_equal(old, new))
			continue;
		if (!want && (!had || strcmp(*k, "storage-opts")))
			continue; /* ours has nothing to say about it: kept */
		if (!n)
			fprintf(f, "--- %s\n+++ %s (stortune)\n", name, name);
		n++;
		if (had)
			diff_line(f, '-', *k, old);
		if (want) {
			diff_line(f, '+', *k, new);
			if (json_object_object_add(m, *k, json_object_get(new))) {
				json_object_put(new);
				goto nomem;
			}
		} else {
			json_object_object_del(m, *k);
		}
	}
	if (fclose(f)) {
		f = NULL;
		goto nomem;
	}
	*merged = m;
	*diff = buf;
	*changed = n;
	return 0;
nomem:
	if (f)
		fclose(f);
	free(buf);
	json_object_put(m);
	return -ENOMEM;
}

/* Copies @path to a new "@path.bak-<time>" (never overwriting one), fsync'd. */
static int backup_copy(const char *path, const struct stat *st, char *name, size_t len)
{
	char when[32], buf[65536];
	time_t now = time(NULL);
	int in, out = -1, r = 0;
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y%m%dT%H%M%SZ", &tm);
	in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return stt_err(-errno, "%s: cannot read: %s", path, strerror(errno));
	for (int i = 0; i < 100 && out < 0; i++) {
		if (i)
			snprintf(name, len, "%s.bak-%s-%d", path, when, i);
		else
			snprintf(name, len, "%s.bak-%s", path, when);
		out = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st->st_mode & 07777);
		if (out < 0 && errno != EEXIST)
			break;
	}
	if (out < 0) {
		r = stt_err(-errno, "%s: cannot create: %s", name, strerror(errno));
		close(in);
		return r;
	}
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (!n)
			break;
		if ((r = stt_fs_write_all(out, buf, (size_t)n)))
			break;
	}
	if (!r && fsync(out))
		r = -errno;
	close(in);
	close(out);
	if (r) {
		unlink(name);
		return stt_err(r, "%s: cannot write the backup: %s", name, strerror(-r));
	}
	return 0;
}

int stt_daemonjson_write(const char *path, const char *text, char *backup, size_t backup_len)
{
	mode_t mode = 0644;
	struct stat st;
	bool exists;
	int r;

	if (backup && backup_len)
		backup[0] = '\0';
	exists = !stat(path, &st);
	if (!exists && errno != ENOENT)
		return stt_err(-errno, "%s: %s", path, strerror(errno));
	if (exists && !S_ISREG(st.st_mode))
		return stt_err(-EINVAL, "%s: not a regular file", path);
	if (exists)
		mode = st.st_mode & 07777;
	if (exists && backup && (r = backup_copy(path, &st, backup, backup_len)))
		return r;
	/* the operator's mode and owner kept */
	return stt_fs_replace(path, text, strlen(text), mode, exists ? &st : NULL);
}
