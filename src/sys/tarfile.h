/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_TARFILE_H
#define STT_TARFILE_H

/*
 * Tar archives read and written with libarchive (the only includer of its headers): a docker
 * save tar and the layer tars inside it. Reading takes any compression libarchive knows;
 * writing makes restricted pax (ustar where it suffices, as `docker save` does).
 */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

enum stt_tar_type { STT_TAR_OTHER, STT_TAR_FILE, STT_TAR_DIR, STT_TAR_SYMLINK };

struct stt_tar_entry {
	const char *path; /* as stored; NULL when the member has none */
	enum stt_tar_type type;
	const char *hardlink; /* the member a hard link names, else NULL */
	const char *symlink;  /* a symlink's target, else NULL */
	unsigned int perm;    /* mode & 07777 */
	uint32_t uid, gid;
	int64_t size;
};

struct stt_tar;

/*
 * The archive at @path, or the @len bytes at @mem when @mem is not NULL (@path then only names
 * it). -errno with a message naming @path: -EINVAL when it is no tar.
 */
__attribute__((warn_unused_result)) int stt_tar_open(const char *path, const void *mem, size_t len,
						     struct stt_tar **out);
/*
 * The data of @outer's current member, read as a tar (an empty member is an empty one). @outer
 * must outlive it and not move on while it is read. -errno with libarchive's message.
 */
__attribute__((warn_unused_result)) int stt_tar_open_member(struct stt_tar *outer,
							    struct stt_tar **out);
/* 1 and *@e (valid until the next call): the next member; 0: the end; -errno: a bad archive. */
int stt_tar_next(struct stt_tar *t, struct stt_tar_entry *e);
/* Up to @len bytes of the current member's data: their count, 0 at its end, or -errno. */
ssize_t stt_tar_read(struct stt_tar *t, void *buf, size_t len);
/* What went wrong last, in libarchive's words. */
const char *stt_tar_error(struct stt_tar *t);
void stt_tar_close(struct stt_tar *t);

struct stt_tar_writer;

/* A new archive at @path. -errno with a message naming @path. */
__attribute__((warn_unused_result)) int stt_tar_create(const char *path,
						       struct stt_tar_writer **out);
/*
 * The header of member @e (its size: the bytes that stt_tar_write() must give next; a hard
 * link carries none), dated @mtime. -EIO with a message naming the member.
 */
int stt_tar_add(struct stt_tar_writer *w, const struct stt_tar_entry *e, time_t mtime);
int stt_tar_write(struct stt_tar_writer *w, const void *buf, size_t len);
/* Completes the archive and frees @w; -EIO with a message when the end could not be written. */
int stt_tar_finish(struct stt_tar_writer *w);
/* Frees @w without completing the archive (after a failure). */
void stt_tar_abandon(struct stt_tar_writer *w);

#endif
