// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Listing a real directory tree (paths, types, modes, sizes and content hashes), for checking what
 * a backend's mount shows against what the image says.
 */
#include "workload/image_int.h"

#include "base/err.h"
#include "base/fmt.h"
#include "sys/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sys/sysmacros.h>

/* ---- listing a tree ---- */

struct listing {
	char **lines;
	size_t n, cap;
	const char *const *ignore;
};

static bool ignored(const struct listing *L, const char *rel)
{
	for (size_t i = 0; L->ignore && L->ignore[i]; i++)
		if (stt_img_has_prefix(rel, L->ignore[i]))
			return true;
	return false;
}

static int hash_file(const char *path, uint64_t *h)
{
	char buf[1 << 16];
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), r = 0;

	*h = STT_FNV1A64_INIT;
	if (fd < 0)
		return stt_err(-errno, "%s: %s", path, strerror(errno));
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = stt_err(-errno, "%s: %s", path, strerror(errno));
		if (n <= 0)
			break;
		*h = stt_fnv1a64(*h, buf, (size_t)n);
	}
	close(fd);
	return r;
}

static int list_add(struct listing *L, const char *full, const char *rel, const struct stat *st)
{
	char extra[PATH_MAX + 8] = "", *line;
	uint64_t h = 0, size = 0;
	char type = '?';
	int r;

	if (S_ISDIR(st->st_mode)) {
		type = 'd';
	} else if (S_ISREG(st->st_mode)) {
		type = 'f';
		size = (uint64_t)st->st_size;
		if ((r = hash_file(full, &h)))
			return r;
	} else if (S_ISLNK(st->st_mode)) {
		char t[PATH_MAX];
		ssize_t n = readlink(full, t, sizeof(t) - 1);

		if (n < 0)
			return stt_err(-errno, "%s: %s", full, strerror(errno));
		t[n] = '\0';
		type = 'l';
		h = stt_fnv1a64(STT_FNV1A64_INIT, t, (size_t)n);
		snprintf(extra, sizeof(extra), " -> %s", t);
	} else {
		type = S_ISCHR(st->st_mode)   ? 'c'
		       : S_ISBLK(st->st_mode) ? 'b'
		       : S_ISFIFO(st->st_mode) ? 'p'
					       : 's';
		size = ((uint64_t)major(st->st_rdev) << 32) | minor(st->st_rdev);
	}
	if (asprintf(&line, "%s %c %04o %u:%u %llu %016llx%s", rel, type,
		     (unsigned int)(st->st_mode & 07777), (unsigned int)st->st_uid,
		     (unsigned int)st->st_gid, (unsigned long long)size, (unsigned long long)h,
		     extra) < 0)
		return -ENOMEM;
	if (L->n == L->cap) {
		size_t cap = L->cap ? L->cap * 2 : 256;
		char **nl = realloc(L->lines, cap * sizeof(*nl));

		if (!nl) {
			free(line);
			return -ENOMEM;
		}
		L->lines = nl;
		L->cap = cap;
	}
	L->lines[L->n++] = line;
	return 0;
}

static int list_dir(struct listing *L, const char *full, const char *rel)
{
	DIR *d = opendir(full);
	struct dirent *de;
	int r = 0;

	if (!d)
		return stt_err(-errno, "%s: %s", full, strerror(errno));
	while (!r && (errno = 0, de = readdir(d))) {
		char f[PATH_MAX], rl[PATH_MAX];
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((size_t)snprintf(f, sizeof(f), "%s/%s", full, de->d_name) >= sizeof(f) ||
		    (size_t)snprintf(rl, sizeof(rl), "%s%s%s", rel, *rel ? "/" : "", de->d_name) >=
			    sizeof(rl)) {
			r = stt_err(-ENAMETOOLONG, "%s/%s: path too long", full, de->d_name);
			break;
		}
		if (ignored(L, rl))
			continue;
		if (lstat(f, &st)) {
			r = stt_err(-errno, "%s: %s", f, strerror(errno));
			break;
		}
		if ((r = list_add(L, f, rl, &st)))
			break;
		if (S_ISDIR(st.st_mode))
			r = list_dir(L, f, rl);
	}
	if (!r && errno)
		r = stt_err(-errno, "%s: %s", full, strerror(errno));
	closedir(d);
	return r;
}

int stt_image_tree_list(const char *root, const char *const *ignore, char **out)
{
	struct listing L = { .ignore = ignore };
	size_t len = 1;
	char *s, *p;
	int r;

	*out = NULL;
	r = list_dir(&L, root, "");
	if (r == -ENOMEM)
		r = stt_err(r, "%s: out of memory", root);
	if (r)
		goto out;
	if (L.n)
		qsort(L.lines, L.n, sizeof(*L.lines), stt_img_cmp_str);
	for (size_t i = 0; i < L.n; i++)
		len += strlen(L.lines[i]) + 1;
	s = malloc(len);
	if (!s) {
		r = stt_err(-ENOMEM, "%s: out of memory", root);
		goto out;
	}
	p = s;
	for (size_t i = 0; i < L.n; i++)
		p += sprintf(p, "%s\n", L.lines[i]);
	*p = '\0';
	*out = s;
out:
	stt_img_strv_free(L.lines, L.n);
	return r;
}
