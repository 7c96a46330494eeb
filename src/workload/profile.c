// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Workload profiles. inih does the INI syntax; it is fed through a reader of our own that
 * counts lines (inih's handler gets no line numbers in Debian's build) and sees section
 * headers, so that every message can name the file, the line, the section and the key.
 */
#include "workload/profile.h"

#include "base/err.h"
#include "base/fmt.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROFILE_MAX_BYTES (1u << 20)

uint64_t stt_fnv1a64(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

void stt_profile_file_classes(const struct stt_profile_image *im, uint64_t *small,
			      uint64_t *medium, uint64_t *large)
{
	uint64_t l = im->large_files < im->files ? im->large_files : im->files;
	uint64_t rest = im->files - l;
	uint64_t s = (uint64_t)floor((double)rest * im->small_file_share + 0.5);

	if (s > rest)
		s = rest;
	*small = s;
	*medium = rest - s;
	*large = l;
}

/* The keys: where each goes, its kind, range and default. */
enum kind { K_UINT, K_U64, K_SIZE, K_SHARE, K_BOOL, K_PATH };

enum section { S_IMAGE, S_STARTUP, S_RUN, S_COUNT };

static const char *const section_names[S_COUNT] = { "image", "startup", "run" };

struct key {
	enum section section;
	const char *name;
	enum kind kind;
	size_t off;
	uint64_t min, max;
	bool required;
	uint64_t def; /* K_SHARE: in millionths */
};

#define OFF(f) offsetof(struct stt_profile, f)
#define TIB (1ull << 40)

static const struct key keys[] = {
	{ S_IMAGE, "layers", K_UINT, OFF(image.layers), 1, STT_PROFILE_MAX_LAYERS, true, 0 },
	{ S_IMAGE, "files", K_U64, OFF(image.files), 1, 10000000, true, 0 },
	{ S_IMAGE, "size", K_SIZE, OFF(image.size_bytes), 1, TIB, true, 0 },
	{ S_IMAGE, "small_file_share", K_SHARE, OFF(image.small_file_share), 0, 1, false, 800000 },
	{ S_IMAGE, "small_file_max", K_SIZE, OFF(image.small_file_max_bytes), 1, 1ull << 30, false,
	  16384 },
	{ S_IMAGE, "large_files", K_U64, OFF(image.large_files), 0, 10000000, false, 0 },
	{ S_IMAGE, "large_file_size", K_SIZE, OFF(image.large_file_bytes), 0, TIB, false, 0 },
	{ S_IMAGE, "dir_depth", K_UINT, OFF(image.dir_depth), 1, 64, false, 4 },
	{ S_IMAGE, "dirs", K_U64, OFF(image.dirs), 1, 10000000, false, 16 },
	{ S_IMAGE, "seed", K_U64, OFF(image.seed), 0, UINT64_MAX, false, 1 },
	{ S_STARTUP, "read_files", K_U64, OFF(startup.read_files), 0, 10000000, true, 0 },
	{ S_STARTUP, "read_bytes", K_SIZE, OFF(startup.read_bytes), 0, TIB, true, 0 },
	{ S_STARTUP, "stat_files", K_U64, OFF(startup.stat_files), 0, 10000000, false, 0 },
	{ S_STARTUP, "readdirs", K_U64, OFF(startup.readdirs), 0, 10000000, false, 0 },
	{ S_STARTUP, "write_files", K_U64, OFF(startup.write_files), 0, 1000000, false, 0 },
	{ S_STARTUP, "write_bytes", K_SIZE, OFF(startup.write_bytes), 0, TIB, false, 0 },
	{ S_STARTUP, "rewrite_files", K_U64, OFF(startup.rewrite_files), 0, 10000000, false, 0 },
	{ S_STARTUP, "mid_write", K_BOOL, OFF(startup.mid_write), 0, 1, false, 0 },
	{ S_STARTUP, "fsync_writes", K_BOOL, OFF(startup.fsync_writes), 0, 1, false, 0 },
	{ S_STARTUP, "trace", K_PATH, OFF(startup.trace), 0, 0, false, 0 },
	{ S_RUN, "containers", K_UINT, OFF(run.containers), 1, 100000, true, 0 },
	{ S_RUN, "concurrency", K_UINT, OFF(run.concurrency), 1, 100000, false, 1 },
	{ S_RUN, "repetitions", K_UINT, OFF(run.repetitions), 1, 1000, false, 3 },
	{ S_RUN, "cold", K_BOOL, OFF(run.cold), 0, 1, false, 1 },
	{ S_RUN, "warm", K_BOOL, OFF(run.warm), 0, 1, false, 1 },
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

struct parse {
	const char *source;
	struct stt_profile *p;

	/* the reader */
	const char *pos;
	unsigned int line;     /* of the chunk last handed to inih */
	bool bol;	       /* the next chunk starts a line */
	int cur;	       /* section of the last header, -1 unknown or none */
	unsigned int sect_line[S_COUNT];
	unsigned int key_line[NKEYS];

	/* the first error, by line */
	bool failed;
	unsigned int err_line;
	char err[512];
};

static int key_index(enum section s, const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].section == s && !strcmp(keys[i].name, name))
			return (int)i;
	return -1;
}

/*
 * Records "SOURCE[:LINE]: [SECTION][ KEY]: CAUSE" unless an error on an earlier line is
 * already recorded; @section NULL leaves the section out, @line 0 the line.
 */
__attribute__((format(printf, 5, 6))) static void fail(struct parse *c, unsigned int line,
						       const char *section, const char *key,
						       const char *fmt, ...)
{
	char where[256] = "", what[256];
	va_list ap;
	int n;

	if (c->failed && (!line || !c->err_line || c->err_line <= line))
		return;
	if (line)
		n = snprintf(where, sizeof(where), "%s:%u: ", c->source, line);
	else
		n = snprintf(where, sizeof(where), "%s: ", c->source);
	if (section)
		snprintf(where + n, sizeof(where) - (size_t)n, "[%s]%s%s: ", section,
			 key ? " " : "", key ? key : "");
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(c->err, sizeof(c->err), "%s%s", where, what);
	c->failed = true;
	c->err_line = line;
}

static void key_fail(struct parse *c, size_t k, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void key_fail(struct parse *c, size_t k, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	fail(c, c->key_line[k], section_names[keys[k].section], keys[k].name, "%s", what);
}

/* A section header "[name]" (after blanks and a BOM): inih's rule, the name as written. */
static void header(struct parse *c, const char *s, size_t len)
{
	const char *end;
	char name[128];
	size_t n;

	if (len >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) {
		s += 3;
		len -= 3;
	}
	while (len && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	if (!len || *s != '[')
		return;
	end = memchr(s, ']', len);
	if (!end)
		return; /* inih reports the syntax error */
	n = (size_t)(end - s - 1);
	if (n >= sizeof(name))
		n = sizeof(name) - 1;
	memcpy(name, s + 1, n);
	name[n] = '\0';
	c->cur = -1;
	for (int i = 0; i < S_COUNT; i++) {
		if (strcmp(name, section_names[i]))
			continue;
		if (c->sect_line[i]) {
			fail(c, c->line, name, NULL, "section given twice (first on line %u)",
			     c->sect_line[i]);
			return;
		}
		c->sect_line[i] = c->line;
		c->cur = i;
		return;
	}
	fail(c, c->line, name, NULL, "unknown section");
}

/* inih's fgets: one line (or as much of it as fits) per call, counted. */
static char *reader(char *str, int num, void *stream)
{
	struct parse *c = stream;
	const char *nl;
	size_t n;

	if (!*c->pos || num < 2)
		return NULL;
	if (c->bol)
		c->line++;
	nl = strchr(c->pos, '\n');
	n = nl ? (size_t)(nl - c->pos) + 1 : strlen(c->pos);
	if (n > (size_t)num - 1)
		n = (size_t)num - 1;
	memcpy(str, c->pos, n);
	str[n] = '\0';
	if (c->bol)
		header(c, c->pos, n);
	c->bol = str[n - 1] == '\n';
	c->pos += n;
	return str;
}

static bool parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "1", "yes", "true", "on" };
	static const char *const no[] = { "0", "no", "false", "off" };

	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(v, yes[i]) || !strcasecmp(v, no[i])) {
			*out = !strcasecmp(v, yes[i]);
			return true;
		}
	}
	return false;
}

/* "0.8" or "80%". */
static bool parse_share(const char *v, double *out)
{
	char *end;
	double d;

	if (!isdigit((unsigned char)*v) && *v != '.')
		return false;
	errno = 0;
	d = strtod(v, &end);
	if (errno || end == v || !isfinite(d))
		return false;
	if (*end == '%' && !end[1]) {
		d /= 100;
		end++;
	}
	if (*end)
		return false;
	*out = d;
	return true;
}

/* Parses @v into key @k's field; an error is recorded. */
static void set_value(struct parse *c, size_t k, const char *v)
{
	const struct key *key = &keys[k];
	char *field = (char *)c->p + key->off;
	char lo[32], hi[32];
	uint64_t u;
	double d;
	bool b;
	int r;

	switch (key->kind) {
	case K_PATH: {
		/* Relative to the profile's own directory. */
		const char *slash = strrchr(c->source, '/');
		char *path = NULL;

		if (!*v)
			key_fail(c, k, "empty path");
		else if (*v == '/' || !slash)
			path = strdup(v);
		else if (asprintf(&path, "%.*s/%s", (int)(slash - c->source), c->source, v) < 0)
			path = NULL;
		if (*v && !path)
			key_fail(c, k, "out of memory");
		free(*(char **)field);
		*(char **)field = path;
		break;
	}
	case K_BOOL:
		if (!parse_bool(v, &b))
			key_fail(c, k, "not a boolean (yes or no): %s", v);
		else
			*(bool *)field = b;
		break;
	case K_SHARE:
		if (!parse_share(v, &d))
			key_fail(c, k, "not a fraction (0.8 or 80%%): %s", v);
		else if (d < 0 || d > 1)
			key_fail(c, k, "%s out of range (0..1)", v);
		else
			*(double *)field = d;
		break;
	case K_SIZE:
		r = stt_fmt_parse_size(v, &u);
		if (r == -EINVAL)
			key_fail(c, k, "not a size (4096, 16k, 1.5m, 2g): %s", v);
		else if (r || u < key->min || u > key->max)
			key_fail(c, k, "%s out of range (%s..%s)", v,
				 stt_fmt_bytes(key->min, lo, sizeof(lo)),
				 stt_fmt_bytes(key->max, hi, sizeof(hi)));
		else
			*(uint64_t *)field = u;
		break;
	case K_UINT:
	case K_U64:
		r = stt_fmt_parse_u64(v, 0, &u);
		if (r == -EINVAL)
			key_fail(c, k, "not a number: %s", v);
		else if (r || u < key->min || u > key->max)
			key_fail(c, k, "%s out of range (%llu..%llu)", v,
				 (unsigned long long)key->min, (unsigned long long)key->max);
		else if (key->kind == K_UINT)
			*(unsigned int *)field = (unsigned int)u;
		else
			*(uint64_t *)field = u;
		break;
	}
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *c = user;
	int k;

	if (!*section) {
		fail(c, c->line, NULL, NULL, "%s: outside any section", name);
		return 1;
	}
	if (c->cur < 0)
		return 1; /* an unknown section: said at its header */
	k = key_index((enum section)c->cur, name);
	if (k < 0) {
		fail(c, c->line, section, name, "unknown key");
		return 1;
	}
	if (c->key_line[k] && c->key_line[k] != c->line) {
		fail(c, c->line, section, name, "given twice (first on line %u)", c->key_line[k]);
		return 1;
	}
	c->key_line[k] = c->line;
	set_value(c, (size_t)k, value);
	return 1;
}

static void set_defaults(struct stt_profile *p)
{
	for (size_t k = 0; k < NKEYS; k++) {
		char *field = (char *)p + keys[k].off;

		switch (keys[k].kind) {
		case K_BOOL:
			*(bool *)field = keys[k].def;
			break;
		case K_SHARE:
			*(double *)field = (double)keys[k].def / 1e6;
			break;
		case K_UINT:
			*(unsigned int *)field = (unsigned int)keys[k].def;
			break;
		case K_U64:
		case K_SIZE:
			*(uint64_t *)field = keys[k].def;
			break;
		case K_PATH:
			*(char **)field = NULL;
			break;
		}
	}
}

static size_t K(enum section s, const char *name)
{
	return (size_t)key_index(s, name);
}

/* What one key alone cannot say: the keys against each other. */
static void check(struct parse *c)
{
	const struct stt_profile_image *im = &c->p->image;
	const struct stt_profile_startup *su = &c->p->startup;
	const struct stt_profile_run *run = &c->p->run;
	uint64_t small, medium, large, large_total, room;
	char a[32], b[32], d[32];

	stt_profile_file_classes(im, &small, &medium, &large);
	large_total = im->large_files * im->large_file_bytes;
	if (im->large_files > im->files)
		key_fail(c, K(S_IMAGE, "large_files"), "%llu is more than files (%llu)",
			 (unsigned long long)im->large_files, (unsigned long long)im->files);
	else if (im->large_files && im->large_file_bytes <= im->small_file_max_bytes)
		key_fail(c, K(S_IMAGE, "large_file_size"), "%s is not above small_file_max (%s)",
			 stt_fmt_bytes(im->large_file_bytes, a, sizeof(a)),
			 stt_fmt_bytes(im->small_file_max_bytes, b, sizeof(b)));
	else if (large < im->files && large_total > im->size_bytes)
		key_fail(c, K(S_IMAGE, "large_files"), "%llu files of %s are more than size (%s)",
			 (unsigned long long)im->large_files,
			 stt_fmt_bytes(im->large_file_bytes, a, sizeof(a)),
			 stt_fmt_bytes(im->size_bytes, b, sizeof(b)));
	else if (large < im->files &&
		 im->size_bytes - large_total < medium * (im->small_file_max_bytes + 1))
		key_fail(c, K(S_IMAGE, "size"),
			 "%s is too small: %llu files above small_file_max (%s) need more",
			 stt_fmt_bytes(im->size_bytes, a, sizeof(a)), (unsigned long long)medium,
			 stt_fmt_bytes(im->small_file_max_bytes, b, sizeof(b)));
	else if (large < im->files && !medium &&
		 (room = small * im->small_file_max_bytes) < im->size_bytes - large_total)
		key_fail(c, K(S_IMAGE, "size"),
			 "%s is too large: %llu small files of at most %s hold %s",
			 stt_fmt_bytes(im->size_bytes, a, sizeof(a)), (unsigned long long)small,
			 stt_fmt_bytes(im->small_file_max_bytes, b, sizeof(b)),
			 stt_fmt_bytes(room + large_total, d, sizeof(d)));
	if (im->dirs < im->dir_depth)
		key_fail(c, K(S_IMAGE, "dirs"), "%llu directories cannot reach dir_depth %u",
			 (unsigned long long)im->dirs, im->dir_depth);

	/* The working set must fit in the image. */
	if (su->read_files > im->files)
		key_fail(c, K(S_STARTUP, "read_files"),
			 "%llu files is more than the image has (files = %llu)",
			 (unsigned long long)su->read_files, (unsigned long long)im->files);
	if (su->read_bytes > im->size_bytes)
		key_fail(c, K(S_STARTUP, "read_bytes"), "%s is larger than the image (size = %s)",
			 stt_fmt_bytes(su->read_bytes, a, sizeof(a)),
			 stt_fmt_bytes(im->size_bytes, b, sizeof(b)));
	else if (su->read_bytes && !su->read_files)
		key_fail(c, K(S_STARTUP, "read_bytes"), "%s to read from no files (read_files = 0)",
			 stt_fmt_bytes(su->read_bytes, a, sizeof(a)));
	if (su->stat_files > im->files)
		key_fail(c, K(S_STARTUP, "stat_files"),
			 "%llu files is more than the image has (files = %llu)",
			 (unsigned long long)su->stat_files, (unsigned long long)im->files);
	if (su->readdirs > im->dirs)
		key_fail(c, K(S_STARTUP, "readdirs"),
			 "%llu directories is more than the image has (dirs = %llu)",
			 (unsigned long long)su->readdirs, (unsigned long long)im->dirs);
	if (su->rewrite_files > im->files)
		key_fail(c, K(S_STARTUP, "rewrite_files"),
			 "%llu files is more than the image has (files = %llu)",
			 (unsigned long long)su->rewrite_files, (unsigned long long)im->files);
	if (su->trace && (su->read_files || su->read_bytes))
		key_fail(c, K(S_STARTUP, su->read_files ? "read_files" : "read_bytes"),
			 "must be 0 with trace (the trace is what is read)");
	if (su->write_bytes && !su->write_files)
		key_fail(c, K(S_STARTUP, "write_bytes"),
			 "%s to write into no files (write_files = 0)",
			 stt_fmt_bytes(su->write_bytes, a, sizeof(a)));

	if (run->concurrency > run->containers)
		key_fail(c, K(S_RUN, "concurrency"), "%u is more than containers (%u)",
			 run->concurrency, run->containers);
	if (!run->cold && !run->warm)
		key_fail(c, c->key_line[K(S_RUN, "warm")] ? K(S_RUN, "warm") : K(S_RUN, "cold"),
			 "cold and warm are both off: nothing to run");
}

static char *name_of(const char *source)
{
	const char *base = strrchr(source, '/');
	size_t n;

	base = base ? base + 1 : source;
	n = strlen(base);
	if (n > 4 && !strcmp(base + n - 4, ".ini"))
		n -= 4;
	return strndup(base, n);
}

int stt_profile_parse(const char *text, const char *source, struct stt_profile *p)
{
	struct parse *c = NULL;
	uint64_t h;
	int r = -ENOMEM, line;

	memset(p, 0, sizeof(*p));
	if (!source)
		source = "<string>";
	c = calloc(1, sizeof(*c));
	if (!c)
		goto nomem;
	p->source = strdup(source);
	p->name = name_of(source);
	p->text = strdup(text);
	if (!p->source || !p->name || !p->text)
		goto nomem;
	h = stt_fnv1a64(STT_FNV1A64_INIT, text, strlen(text));
	snprintf(p->hash, sizeof(p->hash), "fnv1a64:%016llx", (unsigned long long)h);
	set_defaults(p);

	c->source = p->source;
	c->p = p;
	c->pos = text;
	c->bol = true;
	c->cur = -1;
	line = ini_parse_stream(reader, c, handler, c);
	if (line == -2)
		goto nomem;
	if (line > 0)
		fail(c, (unsigned int)line, NULL, NULL,
		     "syntax error: expected \"key = value\" or \"[section]\"");
	if (c->failed)
		goto invalid;

	for (int s = 0; s < S_COUNT; s++)
		if (!c->sect_line[s])
			fail(c, 0, NULL, NULL, "missing section [%s]", section_names[s]);
	if (c->failed)
		goto invalid;
	for (size_t k = 0; k < NKEYS; k++)
		if (keys[k].required && !c->key_line[k])
			fail(c, c->sect_line[keys[k].section], section_names[keys[k].section],
			     keys[k].name, "missing (required)");
	if (c->failed)
		goto invalid;
	check(c);
	if (c->failed)
		goto invalid;
	r = 0;
	goto out;

nomem:
	r = stt_err(-ENOMEM, "%s: out of memory", source);
	goto out;
invalid:
	r = stt_err(-EINVAL, "%s", c->err);
out:
	free(c);
	if (r)
		stt_profile_release(p);
	return r;
}

void stt_profile_release(struct stt_profile *p)
{
	free(p->startup.trace);
	free(p->name);
	free(p->source);
	free(p->text);
	memset(p, 0, sizeof(*p));
}

/* The whole of @path, NUL-terminated, at most PROFILE_MAX_BYTES. */
static int read_text(const char *path, char **out)
{
	char *buf = NULL;
	size_t len = 0;
	struct stat st;
	int fd, r;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return stt_err(-errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st)) {
		r = stt_err(-errno, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = stt_err(-EINVAL, "%s: not a regular file", path);
		goto out;
	}
	if (st.st_size > PROFILE_MAX_BYTES) {
		r = stt_err(-EFBIG, "%s: larger than %u bytes: not a profile", path,
			    PROFILE_MAX_BYTES);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		r = stt_err(-ENOMEM, "%s: out of memory", path);
		goto out;
	}
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = stt_err(-errno, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (!n)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (strlen(buf) != len) {
		r = stt_err(-EINVAL, "%s: has a NUL byte: not a profile", path);
		goto out;
	}
	*out = buf;
	buf = NULL;
	r = 0;
out:
	free(buf);
	close(fd);
	return r;
}

static bool is_name(const char *s)
{
	size_t n = strlen(s);

	return n && !strchr(s, '/') && !(n >= 4 && !strcmp(s + n - 4, ".ini"));
}

int stt_profile_load(const char *name_or_path, struct stt_profile *p)
{
	char dirs[3][PATH_MAX], path[PATH_MAX], looked[3 * PATH_MAX + 16] = "", *text = NULL;
	const char *env = getenv("STT_PROFILE_DIR");
	unsigned int n = 0;
	ssize_t len;
	int r;

	memset(p, 0, sizeof(*p));
	if (!is_name(name_or_path)) {
		r = read_text(name_or_path, &text);
		if (!r)
			r = stt_profile_parse(text, name_or_path, p);
		goto out;
	}
	if (env && *env)
		snprintf(dirs[n++], PATH_MAX, "%s", env);
	len = readlink("/proc/self/exe", path, sizeof(path) - 1);
	if (len > 0) {
		char *slash;

		path[len] = '\0';
		slash = strrchr(path, '/');
		if (slash) {
			*slash = '\0';
			snprintf(dirs[n++], PATH_MAX, "%s/profiles", path);
		}
	}
	snprintf(dirs[n++], PATH_MAX, "%s/profiles", STT_DATADIR);
	for (unsigned int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s.ini", dirs[i], name_or_path);
		if (!access(path, F_OK)) {
			r = read_text(path, &text);
			if (!r)
				r = stt_profile_parse(text, path, p);
			goto out;
		}
		snprintf(looked + strlen(looked), sizeof(looked) - strlen(looked), "%s%s",
			 i ? ", " : "", dirs[i]);
	}
	r = stt_err(-ENOENT, "profile %s: not found (looked in %s)", name_or_path, looked);
out:
	free(text);
	return r;
}

static void add_u64(struct json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_uint64(v));
}

int stt_profile_to_json(const struct stt_profile *p, struct json_object **out)
{
	struct json_object *o = json_object_new_object();
	struct json_object *im = json_object_new_object();
	struct json_object *su = json_object_new_object();
	struct json_object *run = json_object_new_object();
	int r = -ENOMEM;

	*out = NULL;
	if (!o || !im || !su || !run)
		goto out;
	json_object_object_add(o, "name", json_object_new_string(p->name ? p->name : ""));
	json_object_object_add(o, "source", json_object_new_string(p->source ? p->source : ""));
	json_object_object_add(o, "hash", json_object_new_string(p->hash));

	add_u64(im, "layers", p->image.layers);
	add_u64(im, "files", p->image.files);
	add_u64(im, "size_bytes", p->image.size_bytes);
	json_object_object_add(im, "small_file_share",
			       json_object_new_double(p->image.small_file_share));
	add_u64(im, "small_file_max_bytes", p->image.small_file_max_bytes);
	add_u64(im, "large_files", p->image.large_files);
	add_u64(im, "large_file_bytes", p->image.large_file_bytes);
	add_u64(im, "dir_depth", p->image.dir_depth);
	add_u64(im, "dirs", p->image.dirs);
	add_u64(im, "seed", p->image.seed);
	json_object_object_add(o, "image", im);
	im = NULL;

	add_u64(su, "read_files", p->startup.read_files);
	add_u64(su, "read_bytes", p->startup.read_bytes);
	add_u64(su, "stat_files", p->startup.stat_files);
	add_u64(su, "readdirs", p->startup.readdirs);
	add_u64(su, "write_files", p->startup.write_files);
	add_u64(su, "write_bytes", p->startup.write_bytes);
	add_u64(su, "rewrite_files", p->startup.rewrite_files);
	json_object_object_add(su, "mid_write", json_object_new_boolean(p->startup.mid_write));
	json_object_object_add(su, "fsync_writes",
			       json_object_new_boolean(p->startup.fsync_writes));
	if (p->startup.trace)
		json_object_object_add(su, "trace", json_object_new_string(p->startup.trace));
	json_object_object_add(o, "startup", su);
	su = NULL;

	add_u64(run, "containers", p->run.containers);
	add_u64(run, "concurrency", p->run.concurrency);
	add_u64(run, "repetitions", p->run.repetitions);
	json_object_object_add(run, "cold", json_object_new_boolean(p->run.cold));
	json_object_object_add(run, "warm", json_object_new_boolean(p->run.warm));
	json_object_object_add(o, "run", run);
	run = NULL;

	json_object_object_add(o, "text", json_object_new_string(p->text ? p->text : ""));
	*out = o;
	o = NULL;
	r = 0;
out:
	json_object_put(run);
	json_object_put(su);
	json_object_put(im);
	json_object_put(o);
	if (r)
		return stt_err(r, "profile %s: out of memory", p->name ? p->name : "");
	return r;
}
