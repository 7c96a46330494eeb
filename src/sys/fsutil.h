/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_FSUTIL_H
#define STT_FSUTIL_H

/* Small filesystem helpers shared by the modules. */

#include <stddef.h>

/* mkdir -p; the last component gets @mode, parents 0755. 0 or -errno. */
__attribute__((warn_unused_result)) int stt_fs_mkdir_p(const char *dir, unsigned int mode);

/*
 * Whether @dir may hold this run's own files: when it exists, it must be a directory (not a
 * symbolic link to one) owned by this user. 0 when it is, or when it does not exist; -ELOOP
 * (a symlink), -ENOTDIR or -EPERM (another owner) with a message that names it and says what
 * to do.
 */
__attribute__((warn_unused_result)) int stt_fs_check_own_dir(const char *dir);
/* stt_fs_mkdir_p(@dir, @mode), then stt_fs_check_own_dir(@dir). */
__attribute__((warn_unused_result)) int stt_fs_own_dir(const char *dir, unsigned int mode);

/*
 * Takes the lock of scratch directory @dir (an exclusive flock on the directory itself, opened
 * without following a symlink: nothing is left in it, and a killed holder's lock goes with
 * it) for as long as *@fd is open. -EBUSY with "DIR: in use by another stortune run (pid N)
 * ..." (the pid from /proc/locks) when another process holds it.
 */
__attribute__((warn_unused_result)) int stt_fs_lock_dir(const char *dir, int *fd);

/*
 * Replaces (or makes) the file @path with @len bytes of @text and a newline when it does not
 * end with one, atomically: a new file beside it (mkstemp: never an existing file or a
 * symlink), mode exactly @mode, fsync'd, renamed over @path, and the directory fsync'd. A crash
 * leaves the old file or the new one, never a part. 0 or -errno with a message.
 */
__attribute__((warn_unused_result)) int stt_fs_write_atomic(const char *path, const char *text,
							   size_t len, unsigned int mode);

/*
 * The same, the new file also given @owner's uid and gid when @owner is not NULL (a file
 * replaced for its owner, as daemon.json; EPERM from fchown is not an error).
 * STT_TEST_DIE_BEFORE_RENAME=1 kills the process between the write and the rename: the test
 * of a write interrupted there.
 */
struct stat;
__attribute__((warn_unused_result)) int stt_fs_replace(const char *path, const char *text,
						      size_t len, unsigned int mode,
						      const struct stat *owner);

/* write(2) of all @len bytes of @p, again on EINTR and short writes. 0 or -errno. */
__attribute__((warn_unused_result)) int stt_fs_write_all(int fd, const void *p, size_t len);

/*
 * rm -r of @path, depth first, never following symlinks and never crossing into another
 * mount (what is mounted below is left and makes the removal fail with -EBUSY).
 * 0 when @path does not exist.
 */
__attribute__((warn_unused_result)) int stt_fs_rm_tree(const char *path);

#endif
