/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_SYSFS_H
#define STT_SYSFS_H

/*
 * Reading and parsing the kernel's text interfaces: /sys, /proc. The parsers take text so
 * that the tests can feed them captured samples; the readers take paths.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Reads a small file into @buf, trailing whitespace stripped. 0 or -errno. */
__attribute__((warn_unused_result)) int stt_sysfs_read(const char *path, char *buf, size_t len);
__attribute__((warn_unused_result)) int stt_sysfs_read_u64(const char *path, uint64_t *v);
/* Reads a whole file of any size; *out is malloc'd and NUL-terminated. */
__attribute__((warn_unused_result)) int stt_sysfs_slurp(const char *path, char **out);

/* "/proc/filesystems" text: whether @fs is listed (nodev or not). */
bool stt_sysfs_has_filesystem(const char *text, const char *fs);

/* "/proc/misc" text: the minor of @name, or -ENOENT. */
int stt_sysfs_misc_minor(const char *text, const char *name);

/* A "queue/scheduler" line such as "[mq-deadline] kyber none": the one in brackets. */
__attribute__((warn_unused_result)) int stt_sysfs_parse_scheduler(const char *text, char *active,
								 size_t len);

/* One line of /proc/self/mountinfo. Strings point into @buf. */
struct stt_mountinfo {
	unsigned int major, minor;
	char *root;        /* root of the mount within its filesystem */
	char *mountpoint;  /* octal escapes (\040) decoded */
	char *fstype;
	char *source;
	char *options;     /* per-mount options */
	char *super_opts;  /* per-superblock options */
};

/*
 * Parses one mountinfo line, in place (@line is modified). 0 or -EINVAL when the line is
 * not a mountinfo line.
 */
__attribute__((warn_unused_result)) int stt_sysfs_parse_mountinfo(char *line,
								 struct stt_mountinfo *m);

/*
 * The mount of mountinfo @text that holds @path (a canonical path) on device @major:@minor:
 * the last such mount with the longest mount point that is a prefix of @path. Copies its
 * mount point, fstype and source. 0, or -ENOENT.
 */
__attribute__((warn_unused_result)) int
stt_sysfs_find_mount(const char *text, const char *path, unsigned int major, unsigned int minor,
		     char *mountpoint, size_t mp_len, char *fstype, size_t fs_len, char *source,
		     size_t src_len);

/* Mount points of mountinfo @text on @major:@minor, ", "-separated into @out. Count, or 0. */
int stt_sysfs_mounts_of(const char *text, unsigned int major, unsigned int minor, char *out,
			size_t len);

/*
 * "/proc/locks" text: the pid of the process holding a lock on inode @ino of the filesystem
 * @major:@minor (waiters, "->" lines, not counted), or -ENOENT.
 */
int stt_sysfs_lock_holder(const char *text, unsigned int major, unsigned int minor, uint64_t ino);

/* "/proc/swaps" text: whether the device @path is an active swap. */
bool stt_sysfs_is_swap(const char *text, const char *path);

/*
 * A version from a program's "--version" text: the first word holding a dotted number
 * (at its start, after a 'v', or after a '-'), trailing punctuation and "(...)" removed.
 * "Docker version 20.10.24+dfsg1, build 297e128" gives "20.10.24+dfsg1", "fio-3.33"
 * gives "3.33". -ENOENT when there is none.
 */
__attribute__((warn_unused_result)) int stt_sysfs_parse_version(const char *text, char *out,
							       size_t len);

#endif
