// SPDX-License-Identifier: GPL-2.0-or-later
#include "sys/sysfs.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void rstrip(char *s)
{
	size_t n = strlen(s);

	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
}

int stt_sysfs_read(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd, r = 0;

	if (!len)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		r = -errno;
		n = 0;
	}
	buf[n] = '\0';
	rstrip(buf);
	close(fd);
	return r;
}

int stt_sysfs_read_u64(const char *path, uint64_t *v)
{
	char buf[64], *end;
	int r;

	r = stt_sysfs_read(path, buf, sizeof(buf));
	if (r)
		return r;
	errno = 0;
	*v = strtoull(buf, &end, 10);
	if (errno || end == buf || *end)
		return -EINVAL;
	return 0;
}

int stt_sysfs_slurp(const char *path, char **out)
{
	size_t cap = 4096, len = 0;
	char *buf = NULL, *nbuf;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(cap);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n;

		if (cap - len < 2) {
			nbuf = realloc(buf, cap * 2);
			if (!nbuf) {
				r = -ENOMEM;
				goto out;
			}
			buf = nbuf;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += n;
	}
	buf[len] = '\0';
	*out = buf;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return r;
}

/* Calls @fn for each line of @text (copied, so @fn may modify it); stops when @fn != 0. */
static int each_line(const char *text, int (*fn)(char *line, void *arg), void *arg)
{
	const char *p = text;
	char line[4096];
	int r;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		if (n >= sizeof(line))
			n = sizeof(line) - 1;
		memcpy(line, p, n);
		line[n] = '\0';
		r = fn(line, arg);
		if (r)
			return r;
		p = nl ? nl + 1 : p + strlen(p);
	}
	return 0;
}

struct fs_find {
	const char *fs;
};

static int fs_line(char *line, void *arg)
{
	struct fs_find *f = arg;
	char *tok, *last = NULL;

	for (tok = strtok(line, " \t"); tok; tok = strtok(NULL, " \t"))
		last = tok;
	return last && !strcmp(last, f->fs);
}

bool stt_sysfs_has_filesystem(const char *text, const char *fs)
{
	struct fs_find f = { fs };

	return each_line(text, fs_line, &f) == 1;
}

struct misc_find {
	const char *name;
	int minor;
};

static int misc_line(char *line, void *arg)
{
	struct misc_find *f = arg;
	char name[256];
	int minor;

	if (sscanf(line, "%d %255s", &minor, name) == 2 && !strcmp(name, f->name)) {
		f->minor = minor;
		return 1;
	}
	return 0;
}

int stt_sysfs_misc_minor(const char *text, const char *name)
{
	struct misc_find f = { name, -ENOENT };

	each_line(text, misc_line, &f);
	return f.minor;
}

int stt_sysfs_parse_scheduler(const char *text, char *active, size_t len)
{
	const char *o = strchr(text, '['), *c;

	if (!len)
		return -EINVAL;
	if (!o) {
		/* A single scheduler may be shown without brackets ("none"). */
		while (isspace((unsigned char)*text))
			text++;
		if (!*text || strchr(text, ' '))
			return -EINVAL;
		snprintf(active, len, "%s", text);
		rstrip(active);
		return 0;
	}
	c = strchr(o, ']');
	if (!c || c == o + 1)
		return -EINVAL;
	snprintf(active, len, "%.*s", (int)(c - o - 1), o + 1);
	return 0;
}

/* Decodes mountinfo's octal escapes (\040 space, \011 tab, \012 newline, \134 backslash). */
static void unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

int stt_sysfs_parse_mountinfo(char *line, struct stt_mountinfo *m)
{
	char *f[16], *save = NULL, *tok;
	int n = 0, sep = -1;

	for (tok = strtok_r(line, " ", &save); tok && n < 16; tok = strtok_r(NULL, " ", &save)) {
		if (sep < 0 && !strcmp(tok, "-") && n >= 6)
			sep = n;
		f[n++] = tok;
	}
	/* id parent maj:min root mountpoint options [optional...] - fstype source superopts */
	if (sep < 0 || n < sep + 3)
		return -EINVAL;
	if (sscanf(f[2], "%u:%u", &m->major, &m->minor) != 2)
		return -EINVAL;
	m->root = f[3];
	m->mountpoint = f[4];
	m->options = f[5];
	m->fstype = f[sep + 1];
	m->source = f[sep + 2];
	m->super_opts = n > sep + 3 ? f[sep + 3] : f[sep + 2] + strlen(f[sep + 2]);
	unescape(m->root);
	unescape(m->mountpoint);
	unescape(m->source);
	return 0;
}

static bool path_under(const char *path, const char *mp)
{
	size_t n = strlen(mp);

	if (!strcmp(mp, "/"))
		return path[0] == '/';
	return !strncmp(path, mp, n) && (path[n] == '\0' || path[n] == '/');
}

struct mount_find {
	const char *path;
	unsigned int major, minor;
	size_t best_len;
	bool found;
	char *mountpoint, *fstype, *source;
	size_t mp_len, fs_len, src_len;
};

static int find_line(char *line, void *arg)
{
	struct mount_find *f = arg;
	struct stt_mountinfo m;
	size_t n;

	if (stt_sysfs_parse_mountinfo(line, &m) || m.major != f->major || m.minor != f->minor)
		return 0;
	if (!path_under(f->path, m.mountpoint))
		return 0;
	n = strlen(m.mountpoint);
	if (f->found && n < f->best_len)
		return 0;
	f->found = true;
	f->best_len = n;
	snprintf(f->mountpoint, f->mp_len, "%s", m.mountpoint);
	snprintf(f->fstype, f->fs_len, "%s", m.fstype);
	snprintf(f->source, f->src_len, "%s", m.source);
	return 0;
}

int stt_sysfs_find_mount(const char *text, const char *path, unsigned int major,
			 unsigned int minor, char *mountpoint, size_t mp_len, char *fstype,
			 size_t fs_len, char *source, size_t src_len)
{
	struct mount_find f = {
		.path = path, .major = major, .minor = minor,
		.mountpoint = mountpoint, .mp_len = mp_len,
		.fstype = fstype, .fs_len = fs_len,
		.source = source, .src_len = src_len,
	};

	each_line(text, find_line, &f);
	return f.found ? 0 : -ENOENT;
}

struct mounts_of {
	unsigned int major, minor;
	char *out;
	size_t len;
	int count;
};

static int mounts_line(char *line, void *arg)
{
	struct mounts_of *f = arg;
	struct stt_mountinfo m;
	size_t used;

	if (stt_sysfs_parse_mountinfo(line, &m) || m.major != f->major || m.minor != f->minor)
		return 0;
	used = strlen(f->out);
	snprintf(f->out + used, f->len - used, "%s%s", f->count ? ", " : "", m.mountpoint);
	f->count++;
	return 0;
}

int stt_sysfs_mounts_of(const char *text, unsigned int major, unsigned int minor, char *out,
			size_t len)
{
	struct mounts_of f = { major, minor, out, len, 0 };

	if (!len)
		return 0;
	out[0] = '\0';
	each_line(text, mounts_line, &f);
	return f.count;
}

struct lock_find {
	unsigned int major, minor;
	uint64_t ino;
	int pid;
};

static int lock_line(char *line, void *arg)
{
	struct lock_find *f = arg;
	unsigned int ma, mi;
	uint64_t ino;
	int pid;

	/* "1: FLOCK  ADVISORY  WRITE 24418 fe:00:10969103 0 EOF" */
	if (strstr(line, "->") ||
	    sscanf(line, "%*d: %*s %*s %*s %d %x:%x:%" SCNu64, &pid, &ma, &mi, &ino) != 4)
		return 0;
	if (ma != f->major || mi != f->minor || ino != f->ino || pid <= 0)
		return 0;
	f->pid = pid;
	return 1;
}

int stt_sysfs_lock_holder(const char *text, unsigned int major, unsigned int minor, uint64_t ino)
{
	struct lock_find f = { major, minor, ino, -ENOENT };

	each_line(text, lock_line, &f);
	return f.pid;
}

struct swap_find {
	const char *path;
};

static int swap_line(char *line, void *arg)
{
	struct swap_find *f = arg;
	char *sp = strpbrk(line, " \t");

	if (!strncmp(line, "Filename", 8)) /* the header */
		return 0;
	if (sp)
		*sp = '\0';
	unescape(line);
	return !strcmp(line, f->path);
}

bool stt_sysfs_is_swap(const char *text, const char *path)
{
	struct swap_find f = { path };

	return each_line(text, swap_line, &f) == 1;
}

/* The version inside one word: "20.10.24+dfsg1,", "v1.6.20", "fio-3.33", "2.03.16(2)". */
static bool word_version(const char *start, const char *end, char *out, size_t len)
{
	const char *v = NULL;

	if (isdigit((unsigned char)*start))
		v = start;
	else if (*start == 'v' && end - start > 1 && isdigit((unsigned char)start[1]))
		v = start + 1;
	else
		for (const char *p = start; p + 1 < end; p++)
			if (*p == '-' && isdigit((unsigned char)p[1])) {
				v = p + 1;
				break;
			}
	if (!v || !strchr(v, '.') || strchr(v, '.') >= end)
		return false;
	for (const char *p = v; p < end; p++)
		if (*p == '(') {
			end = p;
			break;
		}
	while (end > v && strchr(",;:.)", end[-1]))
		end--;
	snprintf(out, len, "%.*s", (int)(end - v), v);
	return true;
}

int stt_sysfs_parse_version(const char *text, char *out, size_t len)
{
	const char *p = text;

	while (*p) {
		const char *start;

		while (*p && isspace((unsigned char)*p))
			p++;
		start = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		if (start < p && word_version(start, p, out, len))
			return 0;
	}
	return -ENOENT;
}
