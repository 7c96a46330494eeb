// SPDX-License-Identifier: GPL-2.0-or-later
#include "sys/fsutil.h"

#include "base/err.h"
#include "sys/sysfs.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

int stt_fs_mkdir_p(const char *dir, unsigned int mode)
{
	char buf[PATH_MAX];

	if ((size_t)snprintf(buf, sizeof(buf), "%s", dir) >= sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

int stt_fs_check_own_dir(const char *dir)
{
	char target[PATH_MAX];
	struct stat st;
	ssize_t n;

	if (lstat(dir, &st))
		return errno == ENOENT ? 0 : stt_err(-errno, "%s: %s", dir, strerror(errno));
	if (S_ISLNK(st.st_mode)) {
		n = readlink(dir, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		return stt_err(-ELOOP,
			       "%s: a symbolic link (to %s), not a directory; refusing: another "
			       "user could redirect what stortune writes and removes there (remove "
			       "the link, or choose another directory)",
			       dir, target);
	}
	if (!S_ISDIR(st.st_mode))
		return stt_err(-ENOTDIR, "%s: exists and is not a directory; refusing", dir);
	if (st.st_uid != geteuid())
		return stt_err(-EPERM,
			       "%s: owned by uid %u, not by this user (uid %u); refusing: its "
			       "owner could change what stortune writes and removes there (choose "
			       "another directory)",
			       dir, (unsigned int)st.st_uid, (unsigned int)geteuid());
	return 0;
}

int stt_fs_own_dir(const char *dir, unsigned int mode)
{
	int r = stt_fs_check_own_dir(dir);

	if (r)
		return r;
	r = stt_fs_mkdir_p(dir, mode);
	if (r)
		return stt_err(r, "%s: cannot create: %s", dir, strerror(-r));
	/* again: it may have been made by someone else meanwhile */
	return stt_fs_check_own_dir(dir);
}

int stt_fs_lock_dir(const char *dir, int *fd)
{
	char *locks = NULL, pid[32] = "unknown";
	struct stat st;
	int r, e;

	*fd = -1;
	r = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (r < 0)
		return stt_err(-errno, "%s: cannot open: %s", dir, strerror(errno));
	if (!flock(r, LOCK_EX | LOCK_NB)) {
		*fd = r;
		return 0;
	}
	e = errno;
	if (e == EWOULDBLOCK && !fstat(r, &st) && !stt_sysfs_slurp("/proc/locks", &locks)) {
		int p = stt_sysfs_lock_holder(locks, major(st.st_dev), minor(st.st_dev),
					      (uint64_t)st.st_ino);

		if (p > 0)
			snprintf(pid, sizeof(pid), "%d", p);
	}
	free(locks);
	close(r);
	if (e != EWOULDBLOCK)
		return stt_err(-e, "%s: cannot lock: %s", dir, strerror(e));
	return stt_err(-EBUSY,
		       "%s: in use by another stortune run (pid %s); wait for it to end, or give "
		       "this run another --workdir",
		       dir, pid);
}

int stt_fs_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int stt_fs_write_atomic(const char *path, const char *text, size_t len, unsigned int mode)
{
	return stt_fs_replace(path, text, len, mode, NULL);
}

int stt_fs_replace(const char *path, const char *text, size_t len, unsigned int mode,
		   const struct stat *owner)
{
	char dir[PATH_MAX], tmp[PATH_MAX + 32];
	const char *slash = strrchr(path, '/'), *die;
	int fd, r;

	if (slash)
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	else
		snprintf(dir, sizeof(dir), ".");
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.stortune-XXXXXX", dir,
			     slash ? slash + 1 : path) >= sizeof(tmp))
		return stt_err(-ENAMETOOLONG, "%s: path too long", path);
	fd = mkstemp(tmp);
	if (fd < 0)
		return stt_err(-errno, "%s: cannot create a file in %s: %s", path, dir,
			       strerror(errno));
	r = stt_fs_write_all(fd, text, len);
	if (!r && (!len || text[len - 1] != '\n'))
		r = stt_fs_write_all(fd, "\n", 1);
	if (!r && fchmod(fd, mode))
		r = -errno;
	if (!r && owner && fchown(fd, owner->st_uid, owner->st_gid) && errno != EPERM)
		r = -errno;
	if (!r && fsync(fd))
		r = -errno;
	close(fd);
	die = getenv("STT_TEST_DIE_BEFORE_RENAME");
	if (!r && die && !strcmp(die, "1"))
		raise(SIGKILL); /* the test of a write interrupted here */
	if (!r && rename(tmp, path))
		r = -errno;
	if (r) {
		unlink(tmp);
		return stt_err(r, "%s: cannot write: %s", path, strerror(-r));
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		r = fsync(fd) ? -errno : 0;
		close(fd);
	}
	if (r)
		return stt_err(r, "%s: cannot sync: %s", dir, strerror(-r));
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) && errno != ENOENT ? errno : 0;
	return unlink(path) && errno != ENOENT ? errno : 0;
}

int stt_fs_rm_tree(const char *path)
{
	struct stat st;
	int r;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) ? -errno : 0;
	r = nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	if (r == -1)
		return -errno;
	if (r > 0)
		return r == ENOTEMPTY ? -EBUSY : -r;
	return 0;
}
