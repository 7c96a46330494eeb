// SPDX-License-Identifier: GPL-2.0-or-later
#include "sys/containerd.h"

#include "base/err.h"
#include "sys/dockerd.h"
#include "sys/exec.h"
#include "sys/journal.h"
#include "sys/proc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define TTRPC_SUFFIX "/containerd.sock.ttrpc"
#define RUN_DIR	     "/run/containerd"
#define RUNC_ROOT    RUN_DIR "/runc"

static int find_in_path(const char *prog, char *path, size_t len)
{
	const char *env = getenv("PATH");

	for (const char *d = env ? env : "/usr/sbin:/usr/bin:/sbin:/bin"; *d;) {
		size_t n = strcspn(d, ":");
		char cand[PATH_MAX];

		snprintf(cand, sizeof(cand), "%.*s/%s", (int)n, d, prog);
		if (n && access(cand, X_OK) == 0) {
			snprintf(path, len, "%s", cand);
			return 0;
		}
		d += n;
		if (*d == ':')
			d++;
	}
	return -ENOENT;
}

int stt_containerd_find(char *path, size_t len, char *version, size_t vlen)
{
	const char *argv[] = {"containerd", "--version", NULL};
	char out[512], bin[PATH_MAX], *p;
	int st, r;

	for (int i = 0; i < 2; i++)
		if (!stt_exec_found(i ? "ctr" : "containerd"))
			return stt_err(-ENOENT,
				       "%s: not installed (Debian: apt-get install containerd)",
				       i ? "ctr" : "containerd");
	r = stt_exec_capture(argv, out, sizeof(out), &st);
	if (r || st)
		return stt_err(r ? r : -EIO, "containerd --version: %s",
			       r ? strerror(-r) : "failed");
	/* "containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3" */
	p = strstr(out, "containerd/containerd ");
	p = p ? p + strlen("containerd/containerd ") : out;
	snprintf(version, vlen, "%s", p);
	version[strcspn(version, " \n")] = '\0';
	if (path && find_in_path("containerd", bin, sizeof(bin)) == 0)
		snprintf(path, len, "%s", bin);
	else if (path)
		snprintf(path, len, "containerd");
	return 0;
}

static int rec(struct stt_containerd *c, struct stt_journal *j, enum stt_jkind k, const char *a,
	       const char *b)
{
	int r = stt_journal_add(j, k, a, b, &c->recs[c->n_recs]);

	if (!r)
		c->n_recs++;
	return r;
}

static int undo(struct stt_containerd *c, struct stt_journal *j)
{
	int first = 0;

	while (c->n_recs) {
		int r = stt_journal_undo_one(j, c->recs[--c->n_recs]);

		if (r && !first)
			first = r;
	}
	return first;
}

static int write_config(const struct stt_containerd *c, const char *plugins)
{
	FILE *f = fopen(c->config, "wxe");

	if (!f)
		return stt_err(-errno, "%s: %s", c->config, strerror(errno));
	fprintf(f,
		"# stortune's private containerd: everything below %s\n"
		"version = 2\n"
		"root = \"%s/root\"\n"
		"state = \"%s/state\"\n"
		"disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n"
		"[grpc]\n  address = \"%s\"\n"
		"[ttrpc]\n  address = \"%s.ttrpc\"\n"
		"[debug]\n  address = \"\"\n"
		"[metrics]\n  address = \"\"\n",
		c->dir, c->dir, c->dir, c->sock, c->sock);
	if (plugins)
		fputs(plugins, f);
	if (fclose(f))
		return stt_err(-errno, "%s: %s", c->config, strerror(errno));
	return 0;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static bool answers(const char *sock)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return false;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock);
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

static int wait_ready(struct stt_containerd *c, unsigned int timeout_ms)
{
	char tail[2048], out[512];
	static const char *const args[] = {"version", NULL};

	for (unsigned int t = 0;; t += 50) {
		if (stt_journal_interrupted())
			return stt_err(-EINTR, "interrupted by signal %d", stt_journal_signal());
		if (!stt_proc_alive(c->pid)) {
			stt_dockerd_log_tail(c->log, 8, tail, sizeof(tail));
			return stt_err(-ECHILD,
				       "containerd exited while starting; %s, last lines:\n%s",
				       c->log, tail);
		}
		if (answers(c->sock) && !stt_containerd_ctr(c, args, out, sizeof(out)))
			return 0;
		if (t >= timeout_ms) {
			stt_dockerd_log_tail(c->log, 8, tail, sizeof(tail));
			return stt_err(-ETIMEDOUT,
				       "containerd did not answer on %s within %.1f s; %s, last "
				       "lines:\n%s",
				       c->sock, timeout_ms / 1000.0, c->log, tail);
		}
		sleep_ms(50);
	}
}

int stt_containerd_start(const struct stt_containerd_opts *o, struct stt_containerd **out)
{
	struct stt_journal *j = o->journal;
	struct stt_containerd *c;
	char runc[PATH_MAX];
	const char *argv[4];
	int r;

	if (strlen(o->ns) > 40 || !*o->ns ||
	    strspn(o->ns, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(o->ns))
		return stt_err(-EINVAL, "%s: not a namespace stortune makes", o->ns);
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if ((r = stt_containerd_find(c->binary, sizeof(c->binary), c->version, sizeof(c->version))))
		goto fail;
	if (strlen(o->dir) + strlen(TTRPC_SUFFIX) > STT_CONTAINERD_SOCK_MAX) {
		r = stt_err(-ENAMETOOLONG,
			    "%s: too long for containerd's sockets in it (at most %zu bytes; use a "
			    "shorter --workdir)",
			    o->dir, STT_CONTAINERD_SOCK_MAX - strlen(TTRPC_SUFFIX));
		goto fail;
	}
	if (!access(o->dir, F_OK)) {
		r = stt_err(-EEXIST, "%s: exists already", o->dir);
		goto fail;
	}
	snprintf(c->dir, sizeof(c->dir), "%s", o->dir);
	snprintf(c->ns, sizeof(c->ns), "%s", o->ns);
	snprintf(c->sock, sizeof(c->sock), "%s/containerd.sock", o->dir);
	snprintf(c->config, sizeof(c->config), "%s/config.toml", o->dir);
	snprintf(c->log, sizeof(c->log), "%s/containerd.log", o->dir);
	snprintf(c->fifo, sizeof(c->fifo), "%s/fifo", o->dir);
	snprintf(c->ourpid, sizeof(c->ourpid), "%s/stortune.pid", o->dir);
	snprintf(runc, sizeof(runc), RUNC_ROOT "/%s", o->ns);
	if ((r = rec(c, j, STT_J_DIR, c->dir, NULL)))
		goto fail;
	if (mkdir(c->dir, 0700) || mkdir(c->fifo, 0700)) {
		r = stt_err(-errno, "%s: %s", c->dir, strerror(errno));
		goto fail_undo;
	}
	if ((access(RUN_DIR, F_OK) && (r = rec(c, j, STT_J_EMPTYDIRS, RUN_DIR, NULL))) ||
	    (r = rec(c, j, STT_J_DIR, runc, NULL)) || (r = rec(c, j, STT_J_CGROUP, c->ns, NULL)) ||
	    (r = rec(c, j, STT_J_MOUNTS, c->dir, NULL)) ||
	    (r = rec(c, j, STT_J_PROCS, c->dir, c->ourpid)))
		goto fail_undo;
	if ((r = write_config(c, o->plugins_toml)))
		goto fail_undo;
	argv[0] = c->binary;
	argv[1] = "--config";
	argv[2] = c->config;
	argv[3] = NULL;
	if ((r = stt_proc_spawn_daemon(argv, c->log, c->ourpid, &c->pid)))
		goto fail_undo;
	if ((r = wait_ready(c, o->timeout_ms ? o->timeout_ms : STT_CONTAINERD_TIMEOUT_MS)))
		goto fail_undo;
	*out = c;
	return 0;
fail_undo : {
	/* Keeps the message of the failure, not of the undo. */
	char msg[2560];

	snprintf(msg, sizeof(msg), "%s", stt_err_msg());
	undo(c, j);
	stt_err_set("%s", msg);
}
fail:
	free(c);
	return r;
}

int stt_containerd_stop(struct stt_containerd *c, struct stt_journal *j)
{
	int r;

	if (!c)
		return 0;
	r = undo(c, j);
	free(c);
	return r;
}

size_t stt_containerd_ctr_argv(const struct stt_containerd *c, const char **argv)
{
	argv[0] = "ctr";
	argv[1] = "-a";
	argv[2] = c->sock;
	argv[3] = "-n";
	argv[4] = c->ns;
	return 5;
}

int stt_containerd_ctr(const struct stt_containerd *c, const char *const *args, char *out,
		       size_t len)
{
	const char *argv[48];
	size_t n = stt_containerd_ctr_argv(c, argv);
	int st, r;

	for (size_t i = 0; args[i] && n < 46; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	r = stt_exec_capture(argv, out, len, &st);
	if (r)
		return stt_err(r, "ctr %s: %s", args[0], strerror(-r));
	if (st) {
		char *last;
		size_t k = strlen(out);

		while (k && out[k - 1] == '\n')
			out[--k] = '\0';
		last = strrchr(out, '\n');
		return stt_err(-EIO, "ctr %s%s%s: exit %d: %s", args[0], args[1] ? " " : "",
			       args[1] ? args[1] : "", st, last ? last + 1 : out);
	}
	return 0;
}

int stt_containerd_parse_plugins(const char *text, const char *type, const char *id, char *status,
				 size_t slen, char *list, size_t llen)
{
	size_t used = 0;
	bool header = false;

	status[0] = '\0';
	list[0] = '\0';
	for (const char *line = text; *line;) {
		size_t n = strcspn(line, "\n");
		char buf[512], *f[4], *save = NULL;
		int k = 0;

		snprintf(buf, sizeof(buf), "%.*s", (int)(n < sizeof(buf) ? n : sizeof(buf) - 1),
			 line);
		line += n + (line[n] == '\n');
		for (char *t = strtok_r(buf, " \t", &save); t && k < 4;
		     t = strtok_r(NULL, " \t", &save))
			f[k++] = t;
		/* "TYPE ID PLATFORMS STATUS" */
		if (k == 4 && !strcmp(f[0], "TYPE") && !strcmp(f[3], "STATUS")) {
			header = true;
			continue;
		}
		if (!header || k != 4 || strcmp(f[0], type))
			continue;
		if (!strcmp(f[1], id))
			snprintf(status, slen, "%s", f[3]);
		if (used < llen)
			used += (size_t)snprintf(list + used, llen - used, "%s%s (%s)",
						 used ? ", " : "", f[1], f[3]);
	}
	return header ? 0 : -EINVAL;
}

/* The "Message:" of plugin @id's error in `ctr plugins ls --detailed`, into @msg. */
static void detailed_error(const char *text, const char *id, char *msg, size_t len)
{
	char want[128];
	const char *p, *m;

	msg[0] = '\0';
	snprintf(want, sizeof(want), "\nID:");
	for (p = strstr(text, want); p; p = strstr(p + 1, want)) {
		const char *v = p + strlen(want), *next;

		v += strspn(v, " \t");
		if (strncmp(v, id, strlen(id)) || (v[strlen(id)] != '\n' && v[strlen(id)] != ' '))
			continue;
		next = strstr(v, "\nType:");
		m = strstr(v, "Message:");
		if (!m || (next && m > next))
			return;
		m += strlen("Message:");
		m += strspn(m, " \t");
		snprintf(msg, len, "%.*s", (int)strcspn(m, "\n"), m);
		return;
	}
}

int stt_containerd_snapshotter_check(const struct stt_containerd *c, const char *name,
				     const char *tolerated, int *errored)
{
	static const char *const ls[] = {"plugins", "ls", NULL};
	static const char *const lsd[] = {"plugins", "ls", "--detailed", NULL};
	char *out = malloc(65536), status[32], list[1024], msg[512] = "";
	int r;

	if (errored)
		*errored = 0;
	if (!out)
		return -ENOMEM;
	if ((r = stt_containerd_ctr(c, ls, out, 65536)))
		goto out;
	if (stt_containerd_parse_plugins(out, STT_CONTAINERD_SNAPSHOTTER_TYPE, name, status,
					 sizeof(status), list, sizeof(list))) {
		r = stt_err(-EIO, "ctr plugins ls: not a plugin listing: %.200s", out);
		goto out;
	}
	if (!strcmp(status, "ok"))
		goto out;
	if (*status && strcmp(status, "skip") && !stt_containerd_ctr(c, lsd, out, 65536))
		detailed_error(out, name, msg, sizeof(msg));
	if (!strcmp(status, "error") && tolerated && *msg && strstr(msg, tolerated)) {
		if (errored)
			*errored = 1;
		goto out;
	}
	if (!*status)
		r = stt_err(-ENOTSUP,
			    "snapshotter %s: containerd %s has none of that name; ctr plugins ls "
			    "reports: %s",
			    name, c->version, list);
	else
		r = stt_err(-ENOTSUP,
			    "snapshotter %s: ctr plugins ls reports it as \"%s\"%s%s%s (containerd "
			    "%s; snapshotters: %s)",
			    name, status, *msg ? " (" : "", msg, *msg ? ")" : "", c->version, list);
out:
	free(out);
	return r;
}
