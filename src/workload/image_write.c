// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Writing an image's entries into a layer through a backend's layer writer, as Docker's layer
 * application does: what is in the way goes, missing parents are made, attributes are set.
 */
#include "workload/image_int.h"

#include "base/err.h"
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

/* ---- filling a layer ---- */

static int full_path(const struct stt_layer_writer *w, const char *path, char *buf, size_t len)
{
	if ((size_t)snprintf(buf, len, "%s/%s", w->root, path) >= len)
		return stt_err(-ENAMETOOLONG, "%s/%s: path too long", w->root, path);
	return 0;
}

/*
 * Makes room for @path as Docker's layer application does: what is there goes unless both are
 * directories; a missing parent is made (0755).
 */
int stt_img_prepare(const struct stt_layer_writer *w, const char *path, bool dir)
{
	char full[PATH_MAX], *slash;
	struct stat st;
	int r;

	if ((r = full_path(w, path, full, sizeof(full))))
		return r;
	if (!lstat(full, &st)) {
		if (dir && S_ISDIR(st.st_mode))
			return 0;
		if ((r = stt_fs_rm_tree(full)))
			return stt_err(r, "%s: cannot replace: %s", full, strerror(-r));
		return 0;
	}
	if (errno != ENOENT)
		return stt_err(-errno, "%s: %s", full, strerror(errno));
	slash = strrchr(full, '/');
	*slash = '\0';
	if (lstat(full, &st)) {
		if (errno != ENOENT)
			return stt_err(-errno, "%s: %s", full, strerror(errno));
		if ((r = stt_fs_mkdir_p(full, 0755)))
			return stt_err(r, "%s: cannot create: %s", full, strerror(-r));
	} else if (!S_ISDIR(st.st_mode)) {
		return stt_err(-ENOTDIR, "%s: not a directory", full);
	}
	return 0;
}

/* Owner (when @own) and mode (not for symlinks), in that order: chown clears setuid. */
int stt_img_set_attrs(const struct stt_layer_writer *w, const struct stt_image_entry *e, bool own)
{
	char full[PATH_MAX];
	int r;

	if ((r = full_path(w, e->path, full, sizeof(full))))
		return r;
	if (own && lchown(full, e->uid, e->gid))
		return stt_err(-errno, "%s: cannot chown: %s", full, strerror(errno));
	if (e->type != STT_IMAGE_SYMLINK && chmod(full, e->mode & 07777))
		return stt_err(-errno, "%s: cannot chmod: %s", full, strerror(errno));
	return 0;
}

/* Fills @buf with the next @len bytes of a file; 0 or -errno. */
int stt_img_write_file(struct stt_layer_writer *w, const struct stt_image_entry *e,
		      source_fn src, void *arg, char *buf)
{
	uint64_t left = e->size_bytes;
	size_t n = left < IO_CHUNK ? (size_t)left : IO_CHUNK;
	char full[PATH_MAX];
	int fd = -1, r;

	if ((r = src(arg, buf, n)) || (r = stt_layer_write(w, e->path, buf, n, e->mode & 0777)))
		return r;
	left -= n;
	if (!left)
		return 0;
	if ((r = full_path(w, e->path, full, sizeof(full))))
		return r;
	fd = open(full, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return stt_err(-errno, "%s: %s", full, strerror(errno));
	while (left && !r) {
		size_t off = 0;

		n = left < IO_CHUNK ? (size_t)left : IO_CHUNK;
		if ((r = src(arg, buf, n)))
			break;
		while (off < n) {
			ssize_t k = write(fd, buf + off, n - off);

			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0) {
				r = stt_err(-errno, "%s: cannot write: %s", full, strerror(errno));
				break;
			}
			off += (size_t)k;
		}
		left -= n;
	}
	if (close(fd) && !r)
		r = stt_err(-errno, "%s: cannot write: %s", full, strerror(errno));
	return r;
}

int stt_img_make_dir(struct stt_layer_writer *w, const struct stt_image_entry *e, bool own)
{
	int r;

	if ((r = stt_img_prepare(w, e->path, true)) || (r = stt_layer_mkdir(w, e->path, e->mode & 0777)))
		return r;
	return stt_img_set_attrs(w, e, own);
}

int stt_img_make_symlink(struct stt_layer_writer *w, const struct stt_image_entry *e, bool own)
{
	int r;

	if ((r = stt_img_prepare(w, e->path, false)) || (r = stt_layer_symlink(w, e->target, e->path)))
		return r;
	return stt_img_set_attrs(w, e, own);
}

int stt_img_make_hardlink(struct stt_layer_writer *w, const struct stt_image_entry *e)
{
	char from[PATH_MAX], to[PATH_MAX];
	int r;

	if ((r = stt_img_prepare(w, e->path, false)) ||
	    (r = full_path(w, e->target, from, sizeof(from))) ||
	    (r = full_path(w, e->path, to, sizeof(to))))
		return r;
	if (link(from, to))
		return stt_err(-errno, "%s: cannot link to %s: %s", to, from, strerror(errno));
	return 0;
}
