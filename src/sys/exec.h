/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_EXEC_H
#define STT_EXEC_H

#include <stddef.h>

/*
 * Runs @argv[0] (searched in PATH) with stdin from /dev/null, capturing stdout and stderr
 * together into @out (NUL-terminated, truncated to @len). *@status gets the exit code, or
 * 128 + signal. Returns 0 when the program ran, -ENOENT when it was not found, -errno else.
 */
__attribute__((warn_unused_result)) int stt_exec_capture(const char *const argv[], char *out,
							size_t len, int *status);

/* Whether a program is in PATH (or, with a '/', whether the path is executable). */
int stt_exec_found(const char *prog);

#endif
