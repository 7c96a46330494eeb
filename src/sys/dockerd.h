/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_DOCKERD_H
#define STT_DOCKERD_H

/*
 * A private dockerd (Debian's docker.io), started and stopped by stortune: everything it has
 * lives in one directory D -- data root D/root, exec root D/exec, socket D/docker.sock, pid file
 * D/docker.pid, its log D/dockerd.log, its configuration D/daemon.json (so the host's
 * /etc/docker/daemon.json plays no part) -- and its containers go in a cgroup of their own.
 * No iptables, no bridge, no NAT: it never touches the host's own dockerd or network.
 *
 * Before it starts, the run's journal records (oldest first) D, /run/docker and /run/containerd
 * when they do not exist yet (their empty directories), the cgroup, the mounts below D, and the
 * processes naming D. Undone newest first: the processes are stopped (dockerd with SIGTERM, what
 * is left with SIGKILL), the mounts below D unmounted, the cgroup emptied and removed, D
 * removed. So SIGINT, SIGTERM and `stortune cleanup` after a SIGKILL take it all down.
 */

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

struct stt_journal;

#define STT_DOCKERD_TIMEOUT_MS 60000

struct stt_dockerd_opts {
	const char *dir;		 /* D; must not exist; its parent must */
	const char *storage_driver;	 /* "overlay2", "devicemapper" */
	const char *const *storage_opts; /* --storage-opt values, NULL-terminated; may be NULL */
	unsigned int timeout_ms;	 /* for its socket to answer; 0: STT_DOCKERD_TIMEOUT_MS */
	struct stt_journal *journal;	 /* required */
};

struct stt_dockerd {
	char dir[PATH_MAX];
	char address[PATH_MAX]; /* "unix://D/docker.sock" */
	char sock[PATH_MAX], pidfile[PATH_MAX], log[PATH_MAX];
	char ourpid[PATH_MAX]; /* "PID STARTTIME" of the process we started */
	char cgroup[200];
	char binary[PATH_MAX];
	char version[64]; /* the daemon's, from `dockerd --version` ("20.10.24+dfsg1") */
	pid_t pid;
	unsigned int recs[8]; /* journal records, oldest first */
	size_t n_recs;
};

/*
 * Finds dockerd in PATH and its version. -ENOENT with a message saying how to install it when
 * it is not there.
 */
__attribute__((warn_unused_result)) int stt_dockerd_find(char *path, size_t len, char *version,
							 size_t vlen);

/*
 * Starts it and waits until its socket answers /_ping. On failure everything is undone and the
 * message holds the last lines of its log: -ETIMEDOUT (no answer within the timeout), -ECHILD
 * (it exited), -ENOENT (not installed, nothing made), -ENAMETOOLONG (D too long for a socket).
 */
__attribute__((warn_unused_result)) int stt_dockerd_start(const struct stt_dockerd_opts *o,
							  struct stt_dockerd **out);

/* Stops it (SIGTERM, then what is left), unmounts, removes D and the cgroup; frees @d. */
int stt_dockerd_stop(struct stt_dockerd *d, struct stt_journal *j);

/* The last @lines lines of its log into @buf. */
void stt_dockerd_log_tail(const char *log, unsigned int lines, char *buf, size_t len);

#endif
