// SPDX-License-Identifier: GPL-2.0-or-later
#include "sys/dockerd.h"

#include "base/err.h"
#include "sys/containerd.h"
#include "sys/exec.h"
#include "sys/fsutil.h"
#include "sys/http.h"
#include "sys/journal.h"
#include "sys/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The longest socket path dockerd makes below its exec root (its containerd's). */
#define EXEC_SOCK_SUFFIX "/exec/containerd/containerd.sock.ttrpc"

static const char *const run_dirs[] = {"/run/docker", "/run/containerd"};

int stt_dockerd_find(char *path, size_t len, char *version, size_t vlen)
{
	const char *argv[] = {"dockerd", "--version", NULL};
	char out[512], *p;
	int st, r;

	if (!stt_exec_found("dockerd"))
		return stt_err(-ENOENT,
			       "dockerd: not installed (Debian: apt-get install docker.io)");
	r = stt_exec_capture(argv, out, sizeof(out), &st);
	if (r || st)
		return stt_err(r ? r : -EIO, "dockerd --version: %s", r ? strerror(-r) : "failed");
	/* "Docker version 20.10.24+dfsg1, build 5d6db84" */
	p = strstr(out, "version ");
	snprintf(version, vlen, "%s", p ? p + 8 : out);
	version[strcspn(version, ", \n")] = '\0';
	if (path) {
		const char *env = getenv("PATH");

		snprintf(path, len, "dockerd");
		for (const char *d = env ? env : "/usr/sbin:/usr/bin"; *d;) {
			size_t n = strcspn(d, ":");
			char cand[PATH_MAX];

			snprintf(cand, sizeof(cand), "%.*s/dockerd", (int)n, d);
			if (n && access(cand, X_OK) == 0) {
				snprintf(path, len, "%s", cand);
				break;
			}
			d += n;
			if (*d == ':')
				d++;
		}
	}
	return 0;
}

void stt_dockerd_log_tail(const char *log, unsigned int lines, char *buf, size_t len)
{
	char *text = NULL, *p;
	size_t n;
	FILE *f = fopen(log, "re");
	long size;

	buf[0] = '\0';
	if (!f)
		return;
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	if (size > 16384)
		fseek(f, size - 16384, SEEK_SET);
	else
		rewind(f);
	text = calloc(1, 16385);
	if (!text) {
		fclose(f);
		return;
	}
	n = fread(text, 1, 16384, f);
	fclose(f);
	while (n && text[n - 1] == '\n')
		text[--n] = '\0';
	p = text + n;
	for (unsigned int k = 0; p > text && k < lines;) {
		p--;
		if (*p == '\n')
			k++;
	}
	if (*p == '\n')
		p++;
	snprintf(buf, len, "%s", p);
	free(text);
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int rec(struct stt_dockerd *d, struct stt_journal *j, enum stt_jkind k, const char *a,
	       const char *b)
{
	int r = stt_journal_add(j, k, a, b, &d->recs[d->n_recs]);

	if (!r)
		d->n_recs++;
	return r;
}

static int undo(struct stt_dockerd *d, struct stt_journal *j)
{
	int first = 0;

	while (d->n_recs) {
		int r = stt_journal_undo_one(j, d->recs[--d->n_recs]);

		if (r && !first)
			first = r;
	}
	return first;
}

static int write_config(const struct stt_dockerd *d)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/daemon.json", d->dir);
	f = fopen(path, "we");
	if (!f)
		return stt_err(-errno, "%s: %s", path, strerror(errno));
	/* Its key in D, not in /etc/docker. */
	fprintf(f, "{ \"deprecated-key-path\": \"%s/key.json\" }\n", d->dir);
	if (fclose(f))
		return stt_err(-errno, "%s: %s", path, strerror(errno));
	return 0;
}

static int spawn(struct stt_dockerd *d, const struct stt_dockerd_opts *o)
{
	char a_driver[128], a_root[PATH_MAX + 16], a_exec[PATH_MAX + 16], a_host[PATH_MAX + 16],
	    a_pid[PATH_MAX + 16], a_cg[256], a_cfg[PATH_MAX + 16];
	const char *argv[64];
	size_t n = 0;

	snprintf(a_driver, sizeof(a_driver), "--storage-driver=%s", o->storage_driver);
	snprintf(a_root, sizeof(a_root), "--data-root=%s/root", d->dir);
	snprintf(a_exec, sizeof(a_exec), "--exec-root=%s/exec", d->dir);
	snprintf(a_host, sizeof(a_host), "--host=%s", d->address);
	snprintf(a_pid, sizeof(a_pid), "--pidfile=%s", d->pidfile);
	snprintf(a_cg, sizeof(a_cg), "--cgroup-parent=%s", d->cgroup);
	snprintf(a_cfg, sizeof(a_cfg), "--config-file=%s/daemon.json", d->dir);
	argv[n++] = d->binary;
	argv[n++] = "--iptables=false";
	argv[n++] = "--ip-masq=false";
	argv[n++] = "--bridge=none";
	argv[n++] = a_driver;
	for (size_t i = 0; o->storage_opts && o->storage_opts[i] && n < 50; i++) {
		argv[n++] = "--storage-opt";
		argv[n++] = o->storage_opts[i];
	}
	argv[n++] = a_root;
	argv[n++] = a_exec;
	argv[n++] = a_host;
	argv[n++] = a_pid;
	argv[n++] = a_cg;
	argv[n++] = a_cfg;
	argv[n] = NULL;

	return stt_proc_spawn_daemon(argv, d->log, d->ourpid, &d->pid);
}

static int wait_ready(struct stt_dockerd *d, unsigned int timeout_ms)
{
	struct stt_http *h = NULL;
	char tail[2048];
	int r;

	if ((r = stt_http_open(d->address, &h)))
		return r;
	for (unsigned int t = 0;; t += 50) {
		struct stt_http_resp resp;

		if (stt_journal_interrupted()) {
			r = stt_err(-EINTR, "interrupted by signal %d", stt_journal_signal());
			break;
		}
		if (!stt_proc_alive(d->pid)) {
			stt_dockerd_log_tail(d->log, 8, tail, sizeof(tail));
			r = stt_err(-ECHILD, "dockerd exited while starting; %s, last lines:\n%s",
				    d->log, tail);
			break;
		}
		if (!access(d->sock, F_OK) &&
		    !stt_http_call(h, "GET", "/_ping", NULL, NULL, 0, NULL, 2000, &resp)) {
			long st = resp.status;

			stt_http_resp_release(&resp);
			if (st == 200) {
				r = 0;
				break;
			}
		}
		if (t >= timeout_ms) {
			stt_dockerd_log_tail(d->log, 8, tail, sizeof(tail));
			r = stt_err(
			    -ETIMEDOUT,
			    "dockerd did not answer on %s within %.1f s; %s, last lines:\n%s",
			    d->sock, timeout_ms / 1000.0, d->log, tail);
			break;
		}
		sleep_ms(50);
	}
	stt_http_close(h);
	return r;
}

int stt_dockerd_start(const struct stt_dockerd_opts *o, struct stt_dockerd **out)
{
	struct stt_journal *j = o->journal;
	struct stt_dockerd *d;
	const char *base;
	char rnd[9];
	int r;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	if ((r = stt_dockerd_find(d->binary, sizeof(d->binary), d->version, sizeof(d->version))))
		goto fail;
	if (strlen(o->dir) + strlen(EXEC_SOCK_SUFFIX) > STT_CONTAINERD_SOCK_MAX) {
		r = stt_err(-ENAMETOOLONG,
			    "%s: too long for dockerd's sockets below it (at most %zu bytes; use a "
			    "shorter --workdir)",
			    o->dir, STT_CONTAINERD_SOCK_MAX - strlen(EXEC_SOCK_SUFFIX));
		goto fail;
	}
	if (!access(o->dir, F_OK)) {
		r = stt_err(-EEXIST, "%s: exists already", o->dir);
		goto fail;
	}
	snprintf(d->dir, sizeof(d->dir), "%s", o->dir);
	snprintf(d->sock, sizeof(d->sock), "%s/docker.sock", o->dir);
	snprintf(d->address, sizeof(d->address), "unix://%s", d->sock);
	snprintf(d->pidfile, sizeof(d->pidfile), "%s/docker.pid", o->dir);
	snprintf(d->log, sizeof(d->log), "%s/dockerd.log", o->dir);
	/* Ours, not dockerd's own pid file: the pid and its start time, written once it runs. */
	snprintf(d->ourpid, sizeof(d->ourpid), "%s/stortune.pid", o->dir);
	/*
	 * The cgroup is named after D ("/var/tmp/x/dockerd" -> "stortune-var-tmp-x-dockerd-R"), so
	 * that what a run left is recognisable, with a random R: a killed run's cgroup may still
	 * be there under the same name.
	 */
	{
		struct timespec ts;
		unsigned int seed;
		size_t n, k;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		seed = (unsigned int)getpid() ^ (unsigned int)ts.tv_nsec ^ (unsigned int)ts.tv_sec;
		for (int i = 0; i < 8; i++)
			rnd[i] =
			    "abcdefghijklmnopqrstuvwxyz0123456789"[(unsigned)rand_r(&seed) % 36];
		n = (size_t)snprintf(d->cgroup, sizeof(d->cgroup), "stortune");
		base = o->dir;
		if (strlen(base) > sizeof(d->cgroup) - 20)
			base += strlen(base) - (sizeof(d->cgroup) - 20);
		for (k = 0; base[k] && n < sizeof(d->cgroup) - 11; k++)
			d->cgroup[n++] = base[k] == '/' ? '-' : base[k];
		snprintf(d->cgroup + n, sizeof(d->cgroup) - n, "-%s", rnd);
	}
	if ((r = rec(d, j, STT_J_DIR, d->dir, NULL)))
		goto fail;
	if (mkdir(d->dir, 0700)) {
		r = stt_err(-errno, "%s: %s", d->dir, strerror(errno));
		goto fail_undo;
	}
	for (size_t i = 0; i < sizeof(run_dirs) / sizeof(run_dirs[0]); i++)
		if (access(run_dirs[i], F_OK) &&
		    (r = rec(d, j, STT_J_EMPTYDIRS, run_dirs[i], NULL)))
			goto fail_undo;
	if ((r = rec(d, j, STT_J_CGROUP, d->cgroup, NULL)) ||
	    (r = rec(d, j, STT_J_MOUNTS, d->dir, NULL)) ||
	    (r = rec(d, j, STT_J_PROCS, d->dir, d->ourpid)))
		goto fail_undo;
	if ((r = write_config(d)) || (r = spawn(d, o)))
		goto fail_undo;
	if ((r = wait_ready(d, o->timeout_ms ? o->timeout_ms : STT_DOCKERD_TIMEOUT_MS)))
		goto fail_undo;
	*out = d;
	return 0;
fail_undo : {
	/* Keeps the message of the failure, not of the undo. */
	char msg[2560];

	snprintf(msg, sizeof(msg), "%s", stt_err_msg());
	undo(d, j);
	stt_err_set("%s", msg);
}
fail:
	free(d);
	return r;
}

int stt_dockerd_stop(struct stt_dockerd *d, struct stt_journal *j)
{
	int r;

	if (!d)
		return 0;
	r = undo(d, j);
	free(d);
	return r;
}
