/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_PROC_H
#define STT_PROC_H

/*
 * Processes found by what their command lines name: a daemon stortune starts (dockerd) is given
 * its roots in one directory, and so are the processes it starts in turn (containerd, the
 * shims name their state directories below it). That directory is how a later run or `stortune
 * cleanup` finds them, even when the pid of the run that started them is gone.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * The pids (other than this process) whose command line holds an argument naming @dir or a
 * path below it ("D", "D/x", "--opt=D/x"); at most @max into @pids, the count into *@n.
 */
int stt_proc_naming(const char *dir, pid_t *pids, size_t max, size_t *n);

/* Whether @pid runs (a zombie does not). */
bool stt_proc_alive(pid_t pid);

/* The start time of @pid (clock ticks after boot, /proc/PID/stat's field 22). */
int stt_proc_start_time(pid_t pid, unsigned long long *ticks);

/*
 * Stops what runs from @dir: the process in @pidfile (may be NULL; "PID STARTTIME", that
 * process, or "PID", when its command line names @dir) first with SIGTERM and up to @term_ms to
 * end (then SIGKILL); then SIGKILL to every process
 * stt_proc_naming() finds, until none is left (at most 10 s). 0, or -EBUSY with a message.
 */
int stt_proc_kill_dir(const char *dir, const char *pidfile, unsigned int term_ms);

/*
 * Starts the daemon @argv (@argv[0] a path) in a session of its own (a terminal's ^C reaches
 * stortune, which stops it), stdin from /dev/null, stdout and stderr appended to @log; writes
 * "PID STARTTIME" to @ourpid (atomically, synced), what stt_proc_kill_dir() takes as its pid
 * file. Its pid into *@pid. -ECHILD when it exited at once.
 */
__attribute__((warn_unused_result)) int stt_proc_spawn_daemon(const char *const argv[],
							      const char *log,
							      const char *ourpid, pid_t *pid);

#endif
