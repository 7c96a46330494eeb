// SPDX-License-Identifier: GPL-2.0-or-later
#include "sys/journal.h"

#include "sys/dm.h"
#include "base/err.h"
#include "sys/fsutil.h"
#include "sys/loop.h"
#include "sys/lvm.h"
#include "sys/proc.h"
#include "sys/sysfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAGIC "stortune-journal 1"

struct rec {
	unsigned int seq;
	enum stt_jkind kind;
	bool done;
	char *a, *b;
};

struct stt_journal {
	pthread_mutex_t lock; /* storms make objects from several threads */
	int fd; /* holds flock(LOCK_EX) while the run is alive */
	char path[PATH_MAX];
	struct rec *recs;
	size_t n, cap;
};

static const char *const kind_names[STT_J_NKINDS] = {
	[STT_J_DIR] = "dir", [STT_J_FILE] = "file", [STT_J_MOUNT] = "mount",
	[STT_J_LOOP] = "loop", [STT_J_DM] = "dm",    [STT_J_THIN] = "thin",
	[STT_J_VG] = "vg",     [STT_J_PV] = "pv",	     [STT_J_PROCS] = "procs",
	[STT_J_MOUNTS] = "mounts", [STT_J_CGROUP] = "cgroup", [STT_J_EMPTYDIRS] = "emptydirs",
	[STT_J_TRACEFS] = "tracefs",
	[STT_J_THINUSERS] = "thinusers",
};

const char *stt_journal_kind_name(enum stt_jkind k)
{
	return k < STT_J_NKINDS ? kind_names[k] : "?";
}

static int kind_parse(const char *s, enum stt_jkind *k)
{
	for (int i = 0; i < STT_J_NKINDS; i++)
		if (!strcmp(s, kind_names[i])) {
			*k = (enum stt_jkind)i;
			return 0;
		}
	return -EINVAL;
}

/* Signals */

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	if (!got_signal)
		got_signal = sig;
}

void stt_journal_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART; /* the flag is polled between steps */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

bool stt_journal_interrupted(void)
{
	return got_signal != 0;
}

int stt_journal_signal(void)
{
	return got_signal;
}

/* Undo actions: each is a no-op when the object is not there. */

static int undo_dir(const char *path)
{
	int r = stt_fs_rm_tree(path);

	if (r)
		return stt_err(r, "%s: cannot remove: %s", path, strerror(-r));
	return 0;
}

static bool is_mountpoint(const char *path)
{
	char *text = NULL, *line, *save = NULL;
	struct stt_mountinfo m;
	bool found = false;

	if (stt_sysfs_slurp("/proc/self/mountinfo", &text))
		return false;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (!stt_sysfs_parse_mountinfo(line, &m) && !strcmp(m.mountpoint, path))
			found = true;
	free(text);
	return found;
}

static int undo_mount(const char *path)
{
	/* Stacked mounts on one point: take them all. */
	for (int i = 0; i < 64 && is_mountpoint(path); i++)
		if (umount2(path, MNT_DETACH) && errno != EINVAL && errno != ENOENT)
			return stt_err(-errno, "%s: cannot unmount: %s", path, strerror(errno));
	return 0;
}

static int undo_loop(const char *backing)
{
	char want[PATH_MAX], got[PATH_MAX + 16], attr[300], dev[64];
	struct dirent *de;
	int r = 0;
	DIR *d;

	if (!realpath(backing, want))
		snprintf(want, sizeof(want), "%s", backing);
	d = opendir("/sys/block");
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		size_t n;

		if (strncmp(de->d_name, "loop", 4))
			continue;
		snprintf(attr, sizeof(attr), "/sys/block/%s/loop/backing_file", de->d_name);
		if (stt_sysfs_read(attr, got, sizeof(got)))
			continue;
		n = strlen(got);
		if (n > 10 && !strcmp(got + n - 10, " (deleted)"))
			got[n - 10] = '\0';
		if (strcmp(got, want) && strcmp(got, backing))
			continue;
		snprintf(dev, sizeof(dev), "/dev/%s", de->d_name);
		if (stt_loop_detach(dev) && !r)
			r = -EBUSY;
	}
	closedir(d);
	return r;
}

/* Every mount at or below @dir, deepest first. */
static int undo_mounts_below(const char *dir)
{
	size_t n = strlen(dir);
	int r = 0;

	for (int pass = 0; pass < 1000; pass++) {
		char *text = NULL, *line, *save = NULL, best[PATH_MAX] = "";
		struct stt_mountinfo m;

		if (stt_sysfs_slurp("/proc/self/mountinfo", &text))
			return 0;
		for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			if (!stt_sysfs_parse_mountinfo(line, &m) &&
			    !strncmp(m.mountpoint, dir, n) &&
			    (m.mountpoint[n] == '/' || !m.mountpoint[n]) &&
			    strlen(m.mountpoint) >= strlen(best))
				snprintf(best, sizeof(best), "%s", m.mountpoint);
		free(text);
		if (!*best)
			return r;
		if (umount2(best, MNT_DETACH) && errno != EINVAL && errno != ENOENT)
			return stt_err(-errno, "%s: cannot unmount: %s", best, strerror(errno));
	}
	return stt_err(-EBUSY, "%s: mounts keep coming back", dir);
}

/* Removes the empty directories of the tree @dir, deepest first; leaves anything else. */
static void rmdir_empty(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		char sub[PATH_MAX];

		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name) < sizeof(sub))
			rmdir_empty(sub);
	}
	closedir(d);
	rmdir(dir);
}

/* Kills what @dir (a cgroup's directory) holds, then removes it, children first. */
static int kill_cgroup_dir(const char *dir)
{
	char path[PATH_MAX], *text = NULL, *line, *save = NULL;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) < sizeof(path))
			kill_cgroup_dir(path);
	}
	closedir(d);
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	for (int i = 0; i < 50; i++) {
		bool any = false;

		text = NULL;
		if (stt_sysfs_slurp(path, &text))
			break;
		for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			pid_t pid = (pid_t)strtol(line, NULL, 10);

			if (pid > 1 && pid != getpid()) {
				kill(pid, SIGKILL);
				any = true;
			}
		}
		free(text);
		if (!any)
			break;
		usleep(100000);
	}
	if (rmdir(dir) && errno != ENOENT)
		return -errno;
	return 0;
}

static int undo_cgroup(const char *name)
{
	char path[PATH_MAX];
	struct dirent *de;
	int r = 0, e;
	DIR *d;

	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return stt_err(-EINVAL, "cgroup %s: not a plain name", name);
	snprintf(path, sizeof(path), "/sys/fs/cgroup/%s", name);
	if ((e = kill_cgroup_dir(path)))
		r = e;
	d = opendir("/sys/fs/cgroup");
	if (!d)
		return r;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/%s", de->d_name,
				     name) >= sizeof(path))
			continue;
		if ((e = kill_cgroup_dir(path)) && !r)
			r = e;
	}
	closedir(d);
	if (r)
		return stt_err(r, "cgroup %s: cannot remove: %s", name, strerror(-r));
	return 0;
}

static int undo(enum stt_jkind kind, const char *a, const char *b)
{
	switch (kind) {
	case STT_J_DIR:
		return undo_dir(a);
	case STT_J_FILE:
		if (unlink(a) && errno != ENOENT)
			return stt_err(-errno, "%s: cannot remove: %s", a, strerror(errno));
		return 0;
	case STT_J_MOUNT:
		return undo_mount(a);
	case STT_J_LOOP:
		return undo_loop(a);
	case STT_J_DM:
		return stt_dm_remove(a);
	case STT_J_THIN:
		return stt_dm_thin_delete(a, (unsigned int)strtoul(b, NULL, 10));
	case STT_J_VG:
		return stt_lvm_vgremove(a, b);
	case STT_J_PV:
		return stt_lvm_pvremove(a);
	case STT_J_PROCS:
		return stt_proc_kill_dir(a, *b ? b : NULL, 30000);
	case STT_J_MOUNTS:
		return undo_mounts_below(a);
	case STT_J_CGROUP:
		return undo_cgroup(a);
	case STT_J_EMPTYDIRS:
		rmdir_empty(a);
		return 0;
	case STT_J_TRACEFS:
		/* An instance goes with its events and buffer; nothing else is rmdir'able there. */
		if (rmdir(a) && errno != ENOENT)
			return stt_err(-errno, "%s: cannot remove: %s", a, strerror(errno));
		return 0;
	case STT_J_THINUSERS:
		return stt_dm_remove_thin_users(a);
	default:
		return -EINVAL;
	}
}

/* The journal file */

/*
 * Appends @line; with @sync, waits until it is on disk. A record must be on disk before its
 * object exists; a "done" line need not be: if it is lost, replaying undoes an object that is
 * already gone, which is a no-op.
 */
static int append_line(struct stt_journal *j, const char *line, bool sync)
{
	size_t len = strlen(line), off = 0;

	while (off < len) {
		ssize_t n = write(j->fd, line + off, len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return stt_err(-errno, "%s: cannot write: %s", j->path, strerror(errno));
		}
		off += (size_t)n;
	}
	if (sync && fdatasync(j->fd))
		return stt_err(-errno, "%s: cannot sync: %s", j->path, strerror(errno));
	return 0;
}

static int push(struct stt_journal *j, unsigned int seq, enum stt_jkind kind, const char *a,
		const char *b)
{
	struct rec *r;

	if (j->n == j->cap) {
		size_t cap = j->cap ? j->cap * 2 : 64;
		struct rec *nr = realloc(j->recs, cap * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		j->recs = nr;
		j->cap = cap;
	}
	r = &j->recs[j->n];
	r->seq = seq;
	r->kind = kind;
	r->done = false;
	r->a = strdup(a ? a : "");
	r->b = strdup(b ? b : "");
	if (!r->a || !r->b) {
		free(r->a);
		free(r->b);
		return -ENOMEM;
	}
	j->n++;
	return 0;
}

int stt_journal_open(const char *dir, struct stt_journal **out)
{
	struct stt_journal *j;
	char hdr[128];
	int r;

	if (!dir)
		dir = STT_JOURNAL_DIR;
	r = stt_fs_own_dir(dir, 0700);
	if (r)
		return r;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	pthread_mutex_init(&j->lock, NULL);
	snprintf(j->path, sizeof(j->path), "%s/run-%d-%lld.journal", dir, (int)getpid(),
		 (long long)time(NULL));
	j->fd = open(j->path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
	if (j->fd < 0) {
		r = stt_err(-errno, "%s: cannot create: %s", j->path, strerror(errno));
		free(j);
		return r;
	}
	if (flock(j->fd, LOCK_EX | LOCK_NB)) {
		r = stt_err(-errno, "%s: cannot lock: %s", j->path, strerror(errno));
		goto fail;
	}
	snprintf(hdr, sizeof(hdr), MAGIC "\t%d\t%lld\n", (int)getpid(), (long long)time(NULL));
	r = append_line(j, hdr, true);
	if (r)
		goto fail;
	*out = j;
	return 0;
fail:
	close(j->fd);
	unlink(j->path);
	free(j);
	return r;
}

const char *stt_journal_path(const struct stt_journal *j)
{
	return j->path;
}

int stt_journal_add(struct stt_journal *j, enum stt_jkind kind, const char *a, const char *b,
		    unsigned int *id)
{
	char line[2 * PATH_MAX + 64];
	unsigned int seq;
	int r;

	if (kind >= STT_J_NKINDS || !a || strpbrk(a, "\t\n") || (b && strpbrk(b, "\t\n")))
		return stt_err(-EINVAL, "journal: %s: name holds a tab or newline", a ? a : "");
	pthread_mutex_lock(&j->lock);
	seq = (unsigned int)j->n;
	snprintf(line, sizeof(line), "%u\t%s\t%s\t%s\n", seq, kind_names[kind], a, b ? b : "");
	r = push(j, seq, kind, a, b);
	if (!r) {
		r = append_line(j, line, true);
		if (r) {
			j->n--;
			free(j->recs[j->n].a);
			free(j->recs[j->n].b);
		}
	}
	pthread_mutex_unlock(&j->lock);
	if (!r && id)
		*id = seq;
	return r;
}

int stt_journal_done(struct stt_journal *j, unsigned int id)
{
	char line[32];
	int r = 0;

	if (id == STT_JOURNAL_NONE)
		return 0;
	pthread_mutex_lock(&j->lock);
	if (id >= j->n) {
		r = -EINVAL;
	} else if (!j->recs[id].done) {
		snprintf(line, sizeof(line), "%u\tdone\n", id);
		j->recs[id].done = true;
		r = append_line(j, line, false);
	}
	pthread_mutex_unlock(&j->lock);
	return r;
}

int stt_journal_undo_one(struct stt_journal *j, unsigned int id)
{
	char a[PATH_MAX], b[PATH_MAX];
	enum stt_jkind kind;
	int r;

	if (id == STT_JOURNAL_NONE)
		return 0;
	pthread_mutex_lock(&j->lock);
	if (id >= j->n || j->recs[id].done) {
		r = id >= j->n ? -EINVAL : 1;
	} else {
		/* Copied: another thread's add may move the array meanwhile. */
		kind = j->recs[id].kind;
		snprintf(a, sizeof(a), "%s", j->recs[id].a);
		snprintf(b, sizeof(b), "%s", j->recs[id].b);
		r = 0;
	}
	pthread_mutex_unlock(&j->lock);
	if (r)
		return r < 0 ? r : 0;
	r = undo(kind, a, b);
	if (r)
		return r;
	return stt_journal_done(j, id);
}

static int undo_recs(struct rec *recs, size_t n, stt_journal_report_fn fn, void *arg,
		     struct stt_journal *j, unsigned int *count)
{
	int first = 0;

	for (size_t i = n; i-- > 0;) {
		int r;

		if (recs[i].done)
			continue;
		r = undo(recs[i].kind, recs[i].a, recs[i].b);
		if (fn)
			fn(recs[i].kind, recs[i].a, recs[i].b, r, arg);
		if (r) {
			if (!first)
				first = r;
			continue;
		}
		if (count)
			(*count)++;
		/* A lost "done" line only makes a later replay a no-op. */
		if (!j || stt_journal_done(j, recs[i].seq))
			recs[i].done = true;
	}
	return first;
}

int stt_journal_undo_all(struct stt_journal *j, stt_journal_report_fn fn, void *arg)
{
	return undo_recs(j->recs, j->n, fn, arg, j, NULL);
}

size_t stt_journal_pending(const struct stt_journal *j)
{
	size_t n = 0;

	for (size_t i = 0; i < j->n; i++)
		n += !j->recs[i].done;
	return n;
}

static void free_recs(struct rec *recs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(recs[i].a);
		free(recs[i].b);
	}
	free(recs);
}

void stt_journal_close(struct stt_journal *j)
{
	if (!j)
		return;
	if (stt_journal_pending(j) == 0)
		unlink(j->path);
	close(j->fd);
	free_recs(j->recs, j->n);
	free(j);
}

/* Replay */

/* Reads the records of journal @text (modified) into @j; @path names it in messages. */
static int load_text(char *text, const char *path, struct stt_journal *j)
{
	char *line, *save = NULL;
	bool first = true;
	int r = 0;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[4] = { NULL, NULL, NULL, NULL }, *s2 = NULL, *tok;
		enum stt_jkind k;
		int n = 0;

		if (first) {
			first = false;
			if (strncmp(line, MAGIC, strlen(MAGIC))) {
				r = stt_err(-EINVAL, "%s: not a stortune journal", path);
				goto out;
			}
			continue;
		}
		/* strtok would merge empty fields: split by hand. */
		tok = line;
		while (n < 4) {
			f[n++] = tok;
			s2 = strchr(tok, '\t');
			if (!s2)
				break;
			*s2 = '\0';
			tok = s2 + 1;
		}
		if (n == 2 && !strcmp(f[1], "done")) {
			unsigned int seq = (unsigned int)strtoul(f[0], NULL, 10);

			for (size_t i = 0; i < j->n; i++)
				if (j->recs[i].seq == seq)
					j->recs[i].done = true;
			continue;
		}
		if (n < 3 || kind_parse(f[1], &k))
			continue; /* a torn last line: the object was never made */
		r = push(j, (unsigned int)strtoul(f[0], NULL, 10), k, f[2], f[3]);
		if (r)
			goto out;
	}
	if (first)
		r = stt_err(-EINVAL, "%s: empty journal", path);
out:
	return r;
}

static int load(const char *path, struct stt_journal *j)
{
	char *text = NULL;
	int r;

	r = stt_sysfs_slurp(path, &text);
	if (r)
		return r;
	r = load_text(text, path, j);
	free(text);
	return r;
}

int stt_journal_parse(const char *text, size_t len, const char *name, stt_journal_report_fn fn,
		      void *arg, unsigned int *pending)
{
	struct stt_journal j = { .fd = -1 };
	char *copy;
	int r;

	*pending = 0;
	/* The text ends at its first NUL, as the file read by replay does. */
	len = strnlen(text, len);
	copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, text, len);
	copy[len] = '\0';
	r = load_text(copy, name, &j);
	free(copy);
	for (size_t i = j.n; !r && i-- > 0;) {
		if (j.recs[i].done)
			continue;
		(*pending)++;
		if (fn)
			fn(j.recs[i].kind, j.recs[i].a, j.recs[i].b, 0, arg);
	}
	free_recs(j.recs, j.n);
	return r;
}

int stt_journal_replay_dir(const char *dir, stt_journal_report_fn fn, void *arg,
			   unsigned int *n_journals, unsigned int *n_objects)
{
	struct dirent *de;
	int first = 0;
	DIR *d;

	*n_journals = *n_objects = 0;
	if (!dir)
		dir = STT_JOURNAL_DIR;
	/* A journal says what to remove: only from a directory, and files, of this user. */
	if ((first = stt_fs_check_own_dir(dir)))
		return first;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : stt_err(-errno, "%s: %s", dir, strerror(errno));
	while ((de = readdir(d))) {
		struct stt_journal j = { .fd = -1 };
		size_t n = strlen(de->d_name);
		struct stat st;
		char path[PATH_MAX];
		int fd, r;

		if (n < 8 || strcmp(de->d_name + n - 8, ".journal"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		if (fd < 0) {
			if (errno == ELOOP && !first)
				first = stt_err(-ELOOP, "%s: a symbolic link; not replayed", path);
			continue;
		}
		if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
			if (!first)
				first = stt_err(-EPERM,
						"%s: not a regular file of this user (uid %u); not "
						"replayed",
						path, (unsigned int)geteuid());
			close(fd);
			continue;
		}
		if (flock(fd, LOCK_EX | LOCK_NB)) { /* its run is alive */
			close(fd);
			continue;
		}
		r = load(path, &j);
		if (!r) {
			(*n_journals)++;
			r = undo_recs(j.recs, j.n, fn, arg, NULL, n_objects);
		}
		if (!r)
			unlink(path);
		else if (!first)
			first = r;
		free_recs(j.recs, j.n);
		close(fd);
	}
	closedir(d);
	return first;
}
