/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_EXEC_H
#define STT_EXEC_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Runs @argv[0] (searched in PATH) with stdin from /dev/null, capturing stdout and stderr
 * together into @out (NUL-terminated, truncated to @len). *@status gets the exit code, or
 * 128 + signal. Returns 0 when the program ran, -ENOENT when it was not found, -errno else.
 */
__attribute__((warn_unused_result)) int stt_exec_capture(const char *const argv[], char *out,
							size_t len, int *status);

/*
 * Starts @argv[0] (searched in PATH) with stdin from a pipe whose write end goes to *@in (or
 * from /dev/null when @in is NULL), stdout and stderr together into a pipe whose read end goes
 * to *@out; both ends close-on-exec. Its pid into *@pid, for stt_exec_wait(). Safe in threads
 * (posix_spawn). 0, -ENOENT when it is not found, -errno else.
 */
__attribute__((warn_unused_result)) int stt_exec_spawn(const char *const argv[], int *in,
						      int *out, pid_t *pid);
/* Waits for @pid; *@status gets its exit code or 128 + signal. 0 or -errno. */
__attribute__((warn_unused_result)) int stt_exec_wait(pid_t pid, int *status);

/* Whether a program is in PATH (or, with a '/', whether the path is executable). */
int stt_exec_found(const char *prog);

#endif
