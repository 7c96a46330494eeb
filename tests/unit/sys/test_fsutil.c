// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The directories a run writes into (its scratch and journal directories) in a hostile
 * environment: a symbolic link put in their place, a file, another user's directory are
 * refused; the scratch lock lets one run at a time hold a directory.
 */
#include "unit.h"

#include "base/err.h"
#include "sys/fsutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char base[64];

static int setup(void)
{
	snprintf(base, sizeof(base), "/tmp/stt-unit-fsutil-XXXXXX");
	return mkdtemp(base) ? 0 : -1;
}

static int teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_own_dir(void)
{
	char dir[128], link[128], file[128], other[128], below[160];
	struct stat st;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/d/e", base);
	snprintf(link, sizeof(link), "%s/link", base);
	snprintf(file, sizeof(file), "%s/file", base);
	snprintf(other, sizeof(other), "%s/other", base);
	snprintf(below, sizeof(below), "%s/link/sub", base);

	/* missing: made, 0700, ours */
	CU_ASSERT_EQUAL(stt_fs_check_own_dir(dir), 0);
	CU_ASSERT_EQUAL(stt_fs_own_dir(dir, 0700), 0);
	CU_ASSERT_EQUAL_FATAL(lstat(dir, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0700);
	CU_ASSERT_EQUAL(stt_fs_own_dir(dir, 0700), 0); /* again: fine */

	/* a symlink to a directory of ours: refused, nothing made through it */
	CU_ASSERT_EQUAL_FATAL(symlink(dir, link), 0);
	CU_ASSERT_EQUAL(stt_fs_own_dir(link, 0700), -ELOOP);
	CU_ASSERT_PTR_NOT_NULL(strstr(stt_err_msg(), "a symbolic link (to "));
	CU_ASSERT_PTR_NOT_NULL(strstr(stt_err_msg(), "refusing"));
	CU_ASSERT_EQUAL(stt_fs_check_own_dir(link), -ELOOP);

	/* a file */
	f = fopen(file, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fclose(f);
	CU_ASSERT_EQUAL(stt_fs_own_dir(file, 0700), -ENOTDIR);

	/* another user's directory (needs root to make one) */
	if (geteuid() == 0) {
		CU_ASSERT_EQUAL_FATAL(mkdir(other, 0777), 0);
		CU_ASSERT_EQUAL_FATAL(chown(other, 65534, 65534), 0);
		CU_ASSERT_EQUAL(stt_fs_own_dir(other, 0700), -EPERM);
		CU_ASSERT_PTR_NOT_NULL(strstr(stt_err_msg(), "owned by uid 65534"));
	}
	CU_ASSERT_EQUAL(lstat(below, &st), -1); /* nothing was made through the link */
}

/* A child takes the lock and waits for a byte on @p[0]; 0 when it holds it. */
static pid_t lock_holder(const char *dir, int p[2], int q[2])
{
	pid_t pid;
	char c;
	int fd;

	if (pipe(p) || pipe(q))
		return -1;
	pid = fork();
	if (pid)
		return pid;
	if (stt_fs_lock_dir(dir, &fd))
		_exit(1);
	if (write(q[1], "l", 1) != 1 || read(p[0], &c, 1) != 1)
		_exit(2);
	_exit(0);
}

static void test_lock(void)
{
	char dir[128], want[128], c;
	int p[2], q[2], fd, st;
	pid_t pid;

	snprintf(dir, sizeof(dir), "%s/scratch", base);
	CU_ASSERT_EQUAL_FATAL(stt_fs_own_dir(dir, 0700), 0);

	/* free: taken, and taken again after its release */
	CU_ASSERT_EQUAL_FATAL(stt_fs_lock_dir(dir, &fd), 0);
	close(fd);

	pid = lock_holder(dir, p, q);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL_FATAL(read(q[0], &c, 1), 1);
	CU_ASSERT_EQUAL(stt_fs_lock_dir(dir, &fd), -EBUSY);
	CU_ASSERT_EQUAL(fd, -1);
	snprintf(want, sizeof(want), "in use by another stortune run (pid %d)", (int)pid);
	CU_ASSERT_PTR_NOT_NULL(strstr(stt_err_msg(), want));
	CU_ASSERT_PTR_NOT_NULL(strstr(stt_err_msg(), "another --workdir"));
	CU_ASSERT_EQUAL(write(p[1], "x", 1), 1);
	waitpid(pid, &st, 0);
	CU_ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);

	/* its holder gone (even killed: the kernel drops the lock), it is free */
	CU_ASSERT_EQUAL(stt_fs_lock_dir(dir, &fd), 0);
	close(fd);
}

/* The files a run writes: atomic, mode exactly as stated whatever the umask, no temporary left. */
static void test_write_atomic(void)
{
	char dir[128], path[160], link[160], victim[160], buf[64], cmd[256];
	struct stat st;
	mode_t old = umask(077);
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/out", base);
	snprintf(path, sizeof(path), "%s/setup.sh", dir);
	snprintf(link, sizeof(link), "%s/daemon.json", dir);
	snprintf(victim, sizeof(victim), "%s/victim", base);
	CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0755), 0);

	CU_ASSERT_EQUAL(stt_fs_write_atomic(path, "#!/bin/sh\n", 10, 0755), 0);
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0755);
	CU_ASSERT_EQUAL(st.st_size, 10);
	/* replaced: the stated mode, not the old file's; a newline added */
	CU_ASSERT_EQUAL(chmod(path, 0600), 0);
	CU_ASSERT_EQUAL(stt_fs_write_atomic(path, "x", 1, 0644), 0);
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0644);
	CU_ASSERT_EQUAL(st.st_size, 2);

	/* a symlink in the file's place is replaced, its target left as it was */
	f = fopen(victim, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("keep", f);
	fclose(f);
	CU_ASSERT_EQUAL_FATAL(symlink(victim, link), 0);
	CU_ASSERT_EQUAL(stt_fs_write_atomic(link, "{}", 2, 0644), 0);
	CU_ASSERT_EQUAL_FATAL(lstat(link, &st), 0);
	CU_ASSERT_TRUE(S_ISREG(st.st_mode));
	f = fopen(victim, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_PTR_NOT_NULL(fgets(buf, sizeof(buf), f));
	fclose(f);
	CU_ASSERT_STRING_EQUAL(buf, "keep");

	/* no temporary file left; a missing directory is an error naming the file */
	snprintf(cmd, sizeof(cmd), "[ $(ls -A '%s' | wc -l) = 2 ]", dir);
	CU_ASSERT_EQUAL(system(cmd), 0);
	CU_ASSERT_EQUAL(stt_fs_write_atomic("/nonexistent-stt/x", "x", 1, 0644), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(stt_err_msg(), "/nonexistent-stt/x"));
	umask(old);
}

int unit_register_fsutil(void)
{
	CU_pSuite s = CU_add_suite("fsutil", setup, teardown);

	if (!s)
		return CU_get_error();
	CU_add_test(s, "own directories: symlink, file, other owner refused", test_own_dir);
	CU_add_test(s, "scratch lock: one run at a time", test_lock);
	CU_add_test(s, "atomic writes with stated modes", test_write_atomic);
	return CU_get_error();
}
