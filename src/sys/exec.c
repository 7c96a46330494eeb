// SPDX-License-Identifier: GPL-2.0-or-later
#include "sys/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int stt_exec_found(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	if (strchr(prog, '/'))
		return access(prog, X_OK) == 0;
	if (!path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");

		if (n && snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, prog) <
				 (int)sizeof(buf) &&
		    access(buf, X_OK) == 0)
			return 1;
		path += n;
		if (*path == ':')
			path++;
	}
	return 0;
}

int stt_exec_capture(const char *const argv[], char *out, size_t len, int *status)
{
	posix_spawn_file_actions_t fa;
	int pipefd[2] = { -1, -1 }, wst, r;
	size_t used = 0;
	pid_t pid;

	if (!len)
		return -EINVAL;
	out[0] = '\0';
	if (!stt_exec_found(argv[0]))
		return -ENOENT;
	if (pipe2(pipefd, O_CLOEXEC))
		return -errno;
	r = -posix_spawn_file_actions_init(&fa);
	if (r)
		goto out_pipe;
	if ((r = -posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)) ||
	    (r = -posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1)) ||
	    (r = -posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2)))
		goto out_fa;
	r = -posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	if (r)
		goto out_fa;
	close(pipefd[1]);
	pipefd[1] = -1;
	for (;;) {
		char sink[4096];
		ssize_t n;

		if (used < len - 1)
			n = read(pipefd[0], out + used, len - 1 - used);
		else
			n = read(pipefd[0], sink, sizeof(sink)); /* drain what does not fit */
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (used < len - 1)
			used += n;
	}
	out[used] = '\0';
	while (waitpid(pid, &wst, 0) < 0) {
		if (errno != EINTR) {
			r = -errno;
			goto out_fa;
		}
	}
	*status = WIFEXITED(wst) ? WEXITSTATUS(wst) : 128 + WTERMSIG(wst);
	r = 0;
out_fa:
	posix_spawn_file_actions_destroy(&fa);
out_pipe:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	return r;
}

int stt_exec_spawn(const char *const argv[], int *in, int *out, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	int ip[2] = { -1, -1 }, op[2] = { -1, -1 }, r;

	if (!stt_exec_found(argv[0]))
		return -ENOENT;
	if ((in && pipe2(ip, O_CLOEXEC)) || pipe2(op, O_CLOEXEC)) {
		r = -errno;
		goto out_pipes;
	}
	r = -posix_spawn_file_actions_init(&fa);
	if (r)
		goto out_pipes;
	if ((r = in ? -posix_spawn_file_actions_adddup2(&fa, ip[0], 0)
		    : -posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)) ||
	    (r = -posix_spawn_file_actions_adddup2(&fa, op[1], 1)) ||
	    (r = -posix_spawn_file_actions_adddup2(&fa, op[1], 2)))
		goto out_fa;
	r = -posix_spawnp(pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	if (r)
		goto out_fa;
	if (in) {
		*in = ip[1];
		ip[1] = -1;
	}
	*out = op[0];
	op[0] = -1;
out_fa:
	posix_spawn_file_actions_destroy(&fa);
out_pipes:
	for (int k = 0; k < 2; k++) {
		if (ip[k] >= 0)
			close(ip[k]);
		if (op[k] >= 0)
			close(op[k]);
	}
	return r;
}

int stt_exec_wait(pid_t pid, int *status)
{
	int wst;

	while (waitpid(pid, &wst, 0) < 0)
		if (errno != EINTR)
			return -errno;
	*status = WIFEXITED(wst) ? WEXITSTATUS(wst) : 128 + WTERMSIG(wst);
	return 0;
}
