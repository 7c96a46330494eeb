// SPDX-License-Identifier: GPL-2.0-or-later
#include "sys/proc.h"

#include "base/err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CMDLINE_MAX 65536

static bool names_dir(const char *arg, const char *dir, size_t n)
{
	for (const char *p = strstr(arg, dir); p; p = strstr(p + 1, dir))
		if ((p == arg || p[-1] == '=' || p[-1] == ':') && (p[n] == '/' || !p[n]))
			return true;
	return false;
}

static bool cmdline_names(pid_t pid, const char *dir, size_t n)
{
	char path[64], *buf;
	bool found = false;
	ssize_t len = 0, k;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	buf = malloc(CMDLINE_MAX + 1);
	if (!buf) {
		close(fd);
		return false;
	}
	while (len < CMDLINE_MAX && (k = read(fd, buf + len, (size_t)(CMDLINE_MAX - len))) > 0)
		len += k;
	close(fd);
	buf[len] = '\0';
	for (ssize_t off = 0; off < len && !found; off += (ssize_t)strlen(buf + off) + 1)
		found = names_dir(buf + off, dir, n);
	free(buf);
	return found;
}

bool stt_proc_alive(pid_t pid)
{
	char path[64], buf[512], *p;
	int fd;
	ssize_t n;

	if (pid <= 0)
		return false;
	/* Reaps it when it is a child of ours that ended. */
	waitpid(pid, NULL, WNOHANG);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

int stt_proc_naming(const char *dir, pid_t *pids, size_t max, size_t *n)
{
	size_t len = strlen(dir);
	struct dirent *de;
	DIR *d;

	*n = 0;
	if (!len || dir[0] != '/')
		return -EINVAL;
	d = opendir("/proc");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 1 || pid == getpid())
			continue;
		if (cmdline_names((pid_t)pid, dir, len) && stt_proc_alive((pid_t)pid)) {
			if (*n < max)
				pids[*n] = (pid_t)pid;
			(*n)++;
		}
	}
	closedir(d);
	return 0;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int stt_proc_start_time(pid_t pid, unsigned long long *ticks)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	/* after the name: field 3 (state) .. field 22 (starttime) */
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (!p)
		return -EIO;
	*ticks = strtoull(p + 1, NULL, 10);
	return 0;
}

int stt_proc_kill_dir(const char *dir, const char *pidfile, unsigned int term_ms)
{
	pid_t pids[256];
	size_t n = 0;
	int r;

	if (pidfile) {
		char buf[64] = "", *end = NULL;
		unsigned long long want = 0, got = 0;
		FILE *f = fopen(pidfile, "re");
		bool ours = false;
		pid_t pid = 0;

		if (f) {
			if (fgets(buf, sizeof(buf), f)) {
				pid = (pid_t)strtol(buf, &end, 10);
				want = strtoull(end, NULL, 10);
			}
			fclose(f);
		}
		/* "PID STARTTIME": that very process; "PID": one that names @dir. */
		if (pid > 1 && pid != getpid() && stt_proc_alive(pid))
			ours = want ? !stt_proc_start_time(pid, &got) && got == want
				    : cmdline_names(pid, dir, strlen(dir));
		if (ours) {
			kill(pid, SIGTERM);
			for (unsigned int t = 0; t < term_ms && stt_proc_alive(pid); t += 50)
				sleep_ms(50);
			if (stt_proc_alive(pid))
				kill(pid, SIGKILL);
		}
	}
	for (int i = 0; i < 200; i++) {
		if ((r = stt_proc_naming(dir, pids, sizeof(pids) / sizeof(pids[0]), &n)))
			return r;
		if (!n)
			return 0;
		for (size_t k = 0; k < n && k < sizeof(pids) / sizeof(pids[0]); k++)
			kill(pids[k], SIGKILL);
		sleep_ms(50);
	}
	return stt_err(-EBUSY, "%s: %zu processes still run from it", dir, n);
}

/*
 * The child's pid and start time, so that an undo finds the very process even when it names
 * nothing of its directory. Until this file exists, the processes naming the directory are what
 * an undo finds (the daemons name it in their arguments from their exec on).
 */
static int write_ourpid(const char *ourpid, pid_t pid, const char *name)
{
	unsigned long long t = 0;
	char tmp[PATH_MAX + 8];
	FILE *f;

	if (stt_proc_start_time(pid, &t))
		return stt_err(-ECHILD, "%s (pid %d) exited at once", name, (int)pid);
	snprintf(tmp, sizeof(tmp), "%s.tmp", ourpid);
	f = fopen(tmp, "we");
	if (!f)
		return stt_err(-errno, "%s: %s", tmp, strerror(errno));
	fprintf(f, "%d %llu\n", (int)pid, t);
	if (fflush(f) || fsync(fileno(f)) || fclose(f) || rename(tmp, ourpid))
		return stt_err(-errno, "%s: %s", ourpid, strerror(errno));
	return 0;
}

int stt_proc_spawn_daemon(const char *const argv[], const char *log, const char *ourpid,
			  pid_t *pid)
{
	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	pid_t p = fork();

	if (p < 0)
		return stt_err(-errno, "%s: fork: %s", name, strerror(errno));
	if (!p) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
		sigset_t none;

		setsid();
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		if (fd < 0 || in < 0 || dup2(in, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	*pid = p;
	return write_ourpid(ourpid, p, name);
}
