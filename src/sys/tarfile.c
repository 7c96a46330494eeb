// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Tar archives over libarchive.
 */
#include "sys/tarfile.h"

#include "base/err.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define READ_BLOCK (1u << 16)

struct stt_tar {
	struct archive *a;
	struct archive_entry *ae;
	struct stt_tar *outer; /* a member's tar: read from here, through @buf */
	char *buf;
};

struct stt_tar_writer {
	struct archive *a;
	char *path;   /* the archive's, for messages */
	char *member; /* the member being written, for messages */
};

/* libarchive's error as -errno: not a tar (or a bad one) -EINVAL, its errno, else -EIO. */
static int tar_errno(struct archive *a)
{
	if (archive_errno(a) == EILSEQ) /* libarchive's ARCHIVE_ERRNO_FILE_FORMAT */
		return -EINVAL;
	return archive_errno(a) > 0 ? -archive_errno(a) : -EIO;
}

const char *stt_tar_error(struct stt_tar *t)
{
	const char *s = archive_error_string(t->a);

	return s ? s : "unknown error";
}

static struct archive *reader(void)
{
	struct archive *a = archive_read_new();

	if (a) {
		archive_read_support_filter_all(a);
		archive_read_support_format_tar(a);
	}
	return a;
}

int stt_tar_open(const char *path, const void *mem, size_t len, struct stt_tar **out)
{
	struct stt_tar *t;
	struct stat st;
	int ar;

	*out = NULL;
	if (!mem && stat(path, &st))
		return stt_err(-errno, "%s: %s", path, strerror(errno));
	t = calloc(1, sizeof(*t));
	if (!t || !(t->a = reader())) {
		free(t);
		return stt_err(-ENOMEM, "%s: out of memory", path);
	}
	if (mem)
		ar = archive_read_open_memory(t->a, mem, len);
	else
		ar = archive_read_open_filename(t->a, path, READ_BLOCK);
	if (ar != ARCHIVE_OK) {
		int r = stt_err(tar_errno(t->a), "%s: %s", path, stt_tar_error(t));

		stt_tar_close(t);
		return r;
	}
	*out = t;
	return 0;
}

static la_ssize_t member_read(struct archive *a, void *arg, const void **buf)
{
	struct stt_tar *t = arg;
	la_ssize_t n = archive_read_data(t->outer->a, t->buf, READ_BLOCK);

	if (n < 0) {
		archive_set_error(a, archive_errno(t->outer->a), "%s", stt_tar_error(t->outer));
		return -1;
	}
	*buf = t->buf;
	return n;
}

int stt_tar_open_member(struct stt_tar *outer, struct stt_tar **out)
{
	struct stt_tar *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (!t || !(t->buf = malloc(READ_BLOCK)) || !(t->a = reader())) {
		stt_tar_close(t);
		return stt_err(-ENOMEM, "out of memory");
	}
	t->outer = outer;
	archive_read_support_format_empty(t->a);
	if (archive_read_open(t->a, t, NULL, member_read, NULL) != ARCHIVE_OK) {
		int r = stt_err(-EIO, "%s", stt_tar_error(t));

		stt_tar_close(t);
		return r;
	}
	*out = t;
	return 0;
}

int stt_tar_next(struct stt_tar *t, struct stt_tar_entry *e)
{
	int ar = archive_read_next_header(t->a, &t->ae);

	if (ar == ARCHIVE_EOF)
		return 0;
	if (ar != ARCHIVE_OK)
		return tar_errno(t->a);
	memset(e, 0, sizeof(*e));
	e->path = archive_entry_pathname(t->ae);
	e->hardlink = archive_entry_hardlink(t->ae);
	switch (archive_entry_filetype(t->ae)) {
	case AE_IFREG:
		e->type = STT_TAR_FILE;
		break;
	case AE_IFDIR:
		e->type = STT_TAR_DIR;
		break;
	case AE_IFLNK:
		e->type = STT_TAR_SYMLINK;
		e->symlink = archive_entry_symlink(t->ae);
		break;
	default:
		e->type = STT_TAR_OTHER;
		break;
	}
	e->perm = archive_entry_perm(t->ae) & 07777;
	e->uid = (uint32_t)archive_entry_uid(t->ae);
	e->gid = (uint32_t)archive_entry_gid(t->ae);
	e->size = archive_entry_size(t->ae);
	return 1;
}

ssize_t stt_tar_read(struct stt_tar *t, void *buf, size_t len)
{
	la_ssize_t n = archive_read_data(t->a, buf, len);

	return n < 0 ? tar_errno(t->a) : (ssize_t)n;
}

void stt_tar_close(struct stt_tar *t)
{
	if (!t)
		return;
	if (t->a)
		archive_read_free(t->a);
	free(t->buf);
	free(t);
}

/* ---- writing ---- */

static int write_err(struct stt_tar_writer *w, const char *what)
{
	const char *s = archive_error_string(w->a);

	return stt_err(-EIO, "%s: %s", what, s ? s : "unknown error");
}

int stt_tar_create(const char *path, struct stt_tar_writer **out)
{
	struct stt_tar_writer *w = calloc(1, sizeof(*w));
	int r;

	*out = NULL;
	if (!w || !(w->path = strdup(path)) || !(w->a = archive_write_new())) {
		stt_tar_abandon(w);
		return stt_err(-ENOMEM, "%s: out of memory", path);
	}
	if (archive_write_set_format_pax_restricted(w->a) != ARCHIVE_OK ||
	    archive_write_open_filename(w->a, path) != ARCHIVE_OK) {
		r = write_err(w, path);
		stt_tar_abandon(w);
		return r;
	}
	*out = w;
	return 0;
}

int stt_tar_add(struct stt_tar_writer *w, const struct stt_tar_entry *e, time_t mtime)
{
	static const mode_t types[] = {[STT_TAR_OTHER] = AE_IFREG,
				       [STT_TAR_FILE] = AE_IFREG,
				       [STT_TAR_DIR] = AE_IFDIR,
				       [STT_TAR_SYMLINK] = AE_IFLNK};
	struct archive_entry *ae = archive_entry_new();
	int r = 0;

	free(w->member);
	w->member = strdup(e->path);
	if (!ae || !w->member) {
		if (ae)
			archive_entry_free(ae);
		return stt_err(-ENOMEM, "%s: out of memory", e->path);
	}
	archive_entry_set_pathname(ae, e->path);
	archive_entry_set_filetype(ae, types[e->type]);
	archive_entry_set_perm(ae, e->perm & 07777);
	archive_entry_set_mtime(ae, mtime, 0);
	archive_entry_set_uid(ae, e->uid);
	archive_entry_set_gid(ae, e->gid);
	if (e->symlink)
		archive_entry_set_symlink(ae, e->symlink);
	if (e->hardlink)
		archive_entry_set_hardlink(ae, e->hardlink);
	archive_entry_set_size(ae, e->hardlink ? 0 : (la_int64_t)e->size);
	if (archive_write_header(w->a, ae) != ARCHIVE_OK)
		r = write_err(w, e->path);
	archive_entry_free(ae);
	return r;
}

int stt_tar_write(struct stt_tar_writer *w, const void *buf, size_t len)
{
	if (archive_write_data(w->a, buf, len) != (la_ssize_t)len)
		return write_err(w, w->member ? w->member : w->path);
	return 0;
}

int stt_tar_finish(struct stt_tar_writer *w)
{
	int r = 0;

	if (archive_write_close(w->a) != ARCHIVE_OK)
		r = write_err(w, w->path);
	stt_tar_abandon(w);
	return r;
}

void stt_tar_abandon(struct stt_tar_writer *w)
{
	if (!w)
		return;
	if (w->a)
		archive_write_free(w->a);
	free(w->path);
	free(w->member);
	free(w);
}
