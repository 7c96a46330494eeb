/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_CONTAINERD_H
#define STT_CONTAINERD_H

/*
 * A private containerd (Debian's containerd), started and stopped by stortune, and its CLI,
 * ctr. containerd's API is gRPC, which has no C library in Debian: stortune drives it with
 * `ctr -a SOCKET -n NAMESPACE ...`, one process a call.
 *
 * Everything it has lives in one directory D -- root D/root, state D/state, the sockets
 * D/containerd.sock and D/containerd.sock.ttrpc, its log D/containerd.log, the configuration
 * stortune writes, D/config.toml (version 2: those paths, the CRI plugin off, no debug or
 * metrics socket, and the snapshotter's section the caller gives), and the FIFOs of ctr's
 * tasks (D/fifo). Its containers live in a namespace of their own, NS: the shims keep runc's
 * state in /run/containerd/runc/NS and the containers' cgroups are /NS/<id>.
 *
 * Before it starts, the run's journal records (oldest first) D, /run/containerd when it does
 * not exist yet (its empty directories), /run/containerd/runc/NS, the cgroup NS, the mounts
 * below D, and the processes naming D (containerd, its shims, which name its socket, and the
 * ctr processes). Undone newest first, so SIGINT, SIGTERM and `stortune cleanup` after a
 * SIGKILL take it all down.
 */

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

struct stt_journal;

#define STT_CONTAINERD_TIMEOUT_MS	60000
/*
 * The longest unix socket path containerd takes: the BSDs' limit, which it keeps on Linux too,
 * where the kernel's is 107 (containerd 1.6 here: a socket path of 104 bytes starts, 105 makes
 * it exit -- also the one dockerd's containerd makes below dockerd's exec root).
 */
#define STT_CONTAINERD_SOCK_MAX		104
#define STT_CONTAINERD_SNAPSHOTTER_TYPE "io.containerd.snapshotter.v1"

struct stt_containerd_opts {
	const char *dir; /* D; must not exist; its parent must */
	const char *ns;	 /* the namespace of its containers: [a-z0-9-], at most 40 */
	const char
	    *plugins_toml; /* appended to config.toml (a snapshotter's section); may be NULL */
	unsigned int timeout_ms;     /* for its socket to answer; 0: STT_CONTAINERD_TIMEOUT_MS */
	struct stt_journal *journal; /* required */
};

struct stt_containerd {
	char dir[PATH_MAX];
	char sock[PATH_MAX], config[PATH_MAX], log[PATH_MAX], fifo[PATH_MAX];
	char ourpid[PATH_MAX]; /* "PID STARTTIME" of the process we started */
	char ns[48];
	char binary[PATH_MAX];
	char version[64]; /* containerd's, from `containerd --version` ("1.6.20~ds1") */
	pid_t pid;
	unsigned int recs[8]; /* journal records, oldest first */
	size_t n_recs;
};

/*
 * Finds containerd and ctr in PATH, and containerd's version. -ENOENT with a message saying
 * how to install them when one is not there.
 */
__attribute__((warn_unused_result)) int stt_containerd_find(char *path, size_t len, char *version,
							    size_t vlen);

/*
 * Starts it and waits until its socket answers. On failure everything is undone and the
 * message holds the last lines of its log: -ETIMEDOUT, -ECHILD (it exited), -ENOENT (not
 * installed, nothing made), -ENAMETOOLONG (D too long for its sockets), -EEXIST (D exists).
 */
__attribute__((warn_unused_result)) int stt_containerd_start(const struct stt_containerd_opts *o,
							     struct stt_containerd **out);

/* Stops it (SIGTERM, then what is left), unmounts, removes D and the rest; frees @c. */
int stt_containerd_stop(struct stt_containerd *c, struct stt_journal *j);

/*
 * The ctr arguments that reach this containerd: {"ctr", "-a", SOCK, "-n", NS} into @argv
 * (6 entries at least); returns how many were set (5).
 */
size_t stt_containerd_ctr_argv(const struct stt_containerd *c, const char **argv);

/*
 * Runs `ctr -a SOCK -n NS @args...` (@args NULL-terminated, at most 40), its output into @out.
 * 0; -EIO with ctr's last output line when it exits with an error.
 */
__attribute__((warn_unused_result)) int
stt_containerd_ctr(const struct stt_containerd *c, const char *const *args, char *out, size_t len);

/*
 * From the text of `ctr plugins ls` (@text, NUL-terminated): the status of the plugin of type
 * @type and id @id into @status ("ok", "skip", "error"; "" when it is not listed), and every
 * plugin of @type as "id (status), ..." into @list. 0, or -EINVAL when @text is not such a
 * listing (no header).
 */
__attribute__((warn_unused_result)) int
stt_containerd_parse_plugins(const char *text, const char *type, const char *id, char *status,
			     size_t slen, char *list, size_t llen);

/*
 * What `ctr plugins ls` reports for the snapshotter @name: 0 when "ok"; else -ENOTSUP with a
 * message naming its status, its error (from `ctr plugins ls --detailed`) and every snapshotter
 * this containerd reports. With @tolerated (may be NULL), an error whose message holds
 * @tolerated is 0 too (*@errored set), for a probe without the resource the run provides.
 */
__attribute__((warn_unused_result)) int
stt_containerd_snapshotter_check(const struct stt_containerd *c, const char *name,
				 const char *tolerated, int *errored);

#endif
