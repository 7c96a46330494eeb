// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The undo journal with objects that need no root (directories and files): records are
 * undone newest first, done records are not, the file goes when all is done, and a journal
 * left by a dead run is replayed while a live run's is left alone.
 */
#include "unit.h"

#include "base/err.h"
#include "sys/journal.h"
#include "sys/proc.h"

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char base[64];

static int setup(void)
{
	snprintf(base, sizeof(base), "/tmp/stt-unit-journal-XXXXXX");
	return mkdtemp(base) ? 0 : -1;
}

static int teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

static bool exists(const char *p)
{
	struct stat st;

	return lstat(p, &st) == 0;
}

static size_t count_journals(const char *dir)
{
	char cmd[256];
	FILE *f;
	size_t n = 0;
	char line[256];

	snprintf(cmd, sizeof(cmd), "ls '%s' 2>/dev/null | grep -c '\\.journal$'", dir);
	f = popen(cmd, "r");
	if (f && fgets(line, sizeof(line), f))
		n = (size_t)atoi(line);
	if (f)
		pclose(f);
	return n;
}

struct seen {
	char order[8][256];
	int n;
};

static void record(enum stt_jkind kind, const char *a, const char *b, int result, void *arg)
{
	struct seen *s = arg;

	(void)kind;
	(void)b;
	if (!result && s->n < 8)
		snprintf(s->order[s->n++], sizeof(s->order[0]), "%s", a);
}

static void test_undo_order(void)
{
	char jdir[128], d[128], f[160], keep[160];
	struct stt_journal *j;
	struct seen seen = { 0 };
	unsigned int rd, rf, rk;
	int fd;

	snprintf(jdir, sizeof(jdir), "%s/j1", base);
	snprintf(d, sizeof(d), "%s/tree", base);
	snprintf(f, sizeof(f), "%s/tree/file", base);
	snprintf(keep, sizeof(keep), "%s/kept", base);
	CU_ASSERT_EQUAL_FATAL(stt_journal_open(jdir, &j), 0);
	CU_ASSERT_EQUAL(count_journals(jdir), 1);

	CU_ASSERT_EQUAL(stt_journal_add(j, STT_J_DIR, d, NULL, &rd), 0);
	CU_ASSERT_EQUAL(mkdir(d, 0700), 0);
	CU_ASSERT_EQUAL(stt_journal_add(j, STT_J_FILE, f, NULL, &rf), 0);
	fd = open(f, O_CREAT | O_WRONLY, 0600);
	close(fd);
	CU_ASSERT_EQUAL(stt_journal_add(j, STT_J_FILE, keep, NULL, &rk), 0);
	fd = open(keep, O_CREAT | O_WRONLY, 0600);
	close(fd);
	/* Taken down normally: not undone again. */
	CU_ASSERT_EQUAL(stt_journal_done(j, rk), 0);
	CU_ASSERT_EQUAL(stt_journal_pending(j), 2);

	CU_ASSERT_EQUAL(stt_journal_undo_all(j, record, &seen), 0);
	CU_ASSERT_EQUAL(seen.n, 2);
	CU_ASSERT_STRING_EQUAL(seen.order[0], f); /* newest first */
	CU_ASSERT_STRING_EQUAL(seen.order[1], d);
	CU_ASSERT_FALSE(exists(d));
	CU_ASSERT_TRUE(exists(keep));
	CU_ASSERT_EQUAL(stt_journal_pending(j), 0);
	stt_journal_close(j);
	/* All done: the journal file is gone. */
	CU_ASSERT_EQUAL(count_journals(jdir), 0);
	unlink(keep);
}

static void test_names(void)
{
	struct stt_journal *j;
	char jdir[128];

	snprintf(jdir, sizeof(jdir), "%s/j2", base);
	CU_ASSERT_EQUAL_FATAL(stt_journal_open(jdir, &j), 0);
	CU_ASSERT_EQUAL(stt_journal_add(j, STT_J_DIR, "/tmp/a\tb", NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(stt_journal_add(j, STT_J_DIR, "/tmp/a\nb", NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(stt_journal_undo_one(j, STT_JOURNAL_NONE), 0);
	CU_ASSERT_EQUAL(stt_journal_done(j, STT_JOURNAL_NONE), 0);
	CU_ASSERT_EQUAL(stt_journal_done(j, 99), -EINVAL);
	/* Undoing an object that was never made is a no-op. */
	CU_ASSERT_EQUAL(stt_journal_add(j, STT_J_DIR, "/tmp/stt-never-made-dir", NULL, NULL), 0);
	CU_ASSERT_EQUAL(stt_journal_undo_all(j, NULL, NULL), 0);
	stt_journal_close(j);
	CU_ASSERT_EQUAL(count_journals(jdir), 0);
	CU_ASSERT_STRING_EQUAL(stt_journal_kind_name(STT_J_THIN), "thin");
}

/* A child makes objects and dies without undoing; replay removes them; a live run's stays. */
static void test_replay(void)
{
	char jdir[128], d[128], f[160], lf[160];
	struct stt_journal *live;
	unsigned int nj = 0, no = 0;
	pid_t pid;
	int st, fd;

	snprintf(jdir, sizeof(jdir), "%s/j3", base);
	snprintf(d, sizeof(d), "%s/dead-tree", base);
	snprintf(f, sizeof(f), "%s/dead-tree/sub/file", base);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		struct stt_journal *j;
		char sub[160];
		int fd;

		snprintf(sub, sizeof(sub), "%s/sub", d);
		if (stt_journal_open(jdir, &j) || stt_journal_add(j, STT_J_DIR, d, NULL, NULL))
			_exit(1);
		mkdir(d, 0700);
		mkdir(sub, 0700);
		fd = open(f, O_CREAT | O_WRONLY, 0600);
		close(fd);
		_exit(0); /* killed, in effect: no undo, no close */
	}
	waitpid(pid, &st, 0);
	CU_ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CU_ASSERT_TRUE(exists(f));
	CU_ASSERT_EQUAL(count_journals(jdir), 1);

	/* A live run's journal beside it, with a pending object. */
	CU_ASSERT_EQUAL_FATAL(stt_journal_open(jdir, &live), 0);
	snprintf(lf, sizeof(lf), "%s/live-object", base);
	fd = open(lf, O_CREAT | O_WRONLY, 0600);
	CU_ASSERT(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL(stt_journal_add(live, STT_J_FILE, lf, NULL, NULL), 0);

	CU_ASSERT_EQUAL(stt_journal_replay_dir(jdir, NULL, NULL, &nj, &no), 0);
	CU_ASSERT_EQUAL(nj, 1);
	CU_ASSERT_EQUAL(no, 1);
	CU_ASSERT_FALSE(exists(d));
	CU_ASSERT_EQUAL(count_journals(jdir), 1); /* the live one */
	CU_ASSERT_TRUE(exists(lf));		  /* and its object */
	CU_ASSERT_EQUAL(stt_journal_undo_all(live, NULL, NULL), 0);
	stt_journal_close(live);
	CU_ASSERT_EQUAL(count_journals(jdir), 0);
	/* Nothing left: replay is a no-op. */
	CU_ASSERT_EQUAL(stt_journal_replay_dir(jdir, NULL, NULL, &nj, &no), 0);
	CU_ASSERT_EQUAL(nj, 0);
}

/*
 * The kinds a private daemon needs, on real processes: "procs" stops the process of a pid
 * file ("PID STARTTIME") and every process naming the directory; a pid file naming another
 * start time is not trusted. "emptydirs" removes empty directories and keeps a file's.
 */
static void test_procs(void)
{
	char dir[128], pidfile[160], marker[160], keep[160], path[200];
	unsigned long long t = 0;
	struct stt_journal *j;
	pid_t a, b, n[4];
	size_t nn = 0;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/daemon", base);
	snprintf(pidfile, sizeof(pidfile), "%s/our.pid", dir);
	snprintf(marker, sizeof(marker), "--root=%s/x", dir);
	CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
	a = fork();
	if (!a) {
		execl("/bin/sleep", "sleep", "60", (char *)NULL);
		_exit(127);
	}
	b = fork();
	if (!b) {
		/* names the directory in an argument, as dockerd's --data-root=D/root */
		execl("/bin/sh", "sh", "-c", "exec sleep 60", "sh", marker, (char *)NULL);
		_exit(127);
	}
	usleep(200000);
	CU_ASSERT_EQUAL(stt_proc_naming(dir, n, 4, &nn), 0);
	CU_ASSERT_EQUAL(nn, 0); /* exec sleep dropped the argument: nothing names it now */
	kill(b, SIGKILL);
	waitpid(b, NULL, 0);
	b = fork();
	if (!b) {
		execl("/bin/sh", "sh", "-c", "sleep 60; :", "sh", marker, (char *)NULL);
		_exit(127);
	}
	usleep(200000);
	CU_ASSERT_EQUAL(stt_proc_naming(dir, n, 4, &nn), 0);
	CU_ASSERT_EQUAL_FATAL(nn, 1);
	CU_ASSERT_EQUAL(n[0], b);

	/* a pid file with another start time: that pid is not ours */
	CU_ASSERT_EQUAL_FATAL(stt_proc_start_time(a, &t), 0);
	f = fopen(pidfile, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fprintf(f, "%d %llu\n", (int)a, t + 1);
	fclose(f);
	CU_ASSERT_EQUAL(stt_proc_kill_dir(dir, pidfile, 1000), 0);
	CU_ASSERT_TRUE(stt_proc_alive(a));
	CU_ASSERT_FALSE(stt_proc_alive(b));

	/* the right start time: stopped through the journal */
	f = fopen(pidfile, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fprintf(f, "%d %llu\n", (int)a, t);
	fclose(f);
	snprintf(keep, sizeof(keep), "%s/tree/full", base);
	snprintf(path, sizeof(path), "mkdir -p '%s/tree/empty/deeper' '%s' && touch '%s/f'", base,
		 keep, keep);
	CU_ASSERT_EQUAL_FATAL(system(path), 0);
	CU_ASSERT_EQUAL_FATAL(stt_journal_open(base, &j), 0);
	snprintf(path, sizeof(path), "%s/tree", base);
	CU_ASSERT_EQUAL(stt_journal_add(j, STT_J_EMPTYDIRS, path, NULL, NULL), 0);
	CU_ASSERT_EQUAL(stt_journal_add(j, STT_J_PROCS, dir, pidfile, NULL), 0);
	CU_ASSERT_EQUAL(stt_journal_undo_all(j, NULL, NULL), 0);
	CU_ASSERT_FALSE(stt_proc_alive(a));
	snprintf(path, sizeof(path), "%s/f", keep);
	CU_ASSERT_EQUAL(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/tree/empty", base);
	CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0);
	stt_journal_close(j);
	kill(a, SIGKILL);
	kill(b, SIGKILL);
	waitpid(a, NULL, 0);
	waitpid(b, NULL, 0);
	snprintf(path, sizeof(path), "rm -rf '%s/tree' '%s'", base, dir);
	CU_ASSERT_EQUAL(system(path), 0);
}

/* The records of a journal text, in the order replay would undo them (no undo here). */
static void seen_rec(enum stt_jkind kind, const char *a, const char *b, int result, void *arg)
{
	char *out = arg;
	size_t n = strlen(out);

	snprintf(out + n, 1024 - n, "%s %s %s %d;", stt_journal_kind_name(kind), a, b, result);
}

static void test_parse(void)
{
	static const char text[] = "stortune-journal 1\t42\t1764950400\n"
				   "0\tdir\t/x/run\t\n"
				   "1\tloop\t/x/run/pool.img\t\n"
				   "2\tthin\tpool\t7\n"
				   "2\tdone\n"
				   "3\tmount\t/x/run/a b\n"
				   "4\tbogus\t/y\t\n"
				   "5\tfile\t/x/torn";
	char out[1024] = "";
	unsigned int n = 9;

	CU_ASSERT_EQUAL(stt_journal_parse(text, sizeof(text) - 1, "t", seen_rec, out, &n), 0);
	CU_ASSERT_EQUAL(n, 4);
	CU_ASSERT_STRING_EQUAL(out, "file /x/torn  0;mount /x/run/a b  0;loop /x/run/pool.img  0;"
				    "dir /x/run  0;");
	CU_ASSERT_EQUAL(stt_journal_parse("not a journal\n", 14, "t", NULL, NULL, &n), -EINVAL);
	CU_ASSERT_EQUAL(stt_journal_parse("", 0, "t", NULL, NULL, &n), -EINVAL);
	/* the text ends at a NUL, as a file read whole does */
	CU_ASSERT_EQUAL(stt_journal_parse("stortune-journal 1\n0\tdir\t/a\t\n\0001\tdir\t/b\t\n",
				      33, "t", NULL, NULL, &n),
			0);
	CU_ASSERT_EQUAL(n, 1);
}

/* Writes a dead run's journal (a record of @victim) at @path, owned by @uid. */
static void plant(const char *path, const char *victim, uid_t uid)
{
	FILE *f = fopen(path, "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fprintf(f, "stortune-journal 1\t1\t1\n0\tfile\t%s\t\n", victim);
	fclose(f);
	CU_ASSERT_EQUAL(chown(path, uid, uid), 0);
}

/*
 * Journals say what to remove, so replay trusts only this user's: a journal directory that is
 * a symlink is refused (so is making a journal in it), and a journal that is a symlink or
 * another user's file is not replayed (its object stays) but reported.
 */
static void test_hostile(void)
{
	char real[128], link[128], victim[128], j1[160], j2[160], target[160];
	struct stt_journal *j = NULL;
	unsigned int nj = 0, no = 0;
	FILE *f;

	snprintf(real, sizeof(real), "%s/hostile-real", base);
	snprintf(link, sizeof(link), "%s/hostile-link", base);
	snprintf(victim, sizeof(victim), "%s/victim", base);
	CU_ASSERT_EQUAL_FATAL(mkdir(real, 0700), 0);
	CU_ASSERT_EQUAL_FATAL(symlink(real, link), 0);
	f = fopen(victim, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fclose(f);

	CU_ASSERT_EQUAL(stt_journal_open(link, &j), -ELOOP);
	CU_ASSERT_PTR_NOT_NULL(strstr(stt_err_msg(), "a symbolic link"));
	CU_ASSERT_EQUAL(count_journals(real), 0);
	snprintf(j1, sizeof(j1), "%s/run-1-1.journal", real);
	plant(j1, victim, geteuid());
	CU_ASSERT_EQUAL(stt_journal_replay_dir(link, NULL, NULL, &nj, &no), -ELOOP);
	CU_ASSERT_TRUE(exists(victim));
	unlink(j1);

	/* a journal that is a symlink to one elsewhere */
	snprintf(target, sizeof(target), "%s/elsewhere.journal", base);
	plant(target, victim, geteuid());
	CU_ASSERT_EQUAL_FATAL(symlink(target, j1), 0);
	CU_ASSERT_EQUAL(stt_journal_replay_dir(real, NULL, NULL, &nj, &no), -ELOOP);
	CU_ASSERT_EQUAL(nj, 0);
	CU_ASSERT_TRUE(exists(victim));
	unlink(j1);

	/* another user's journal (root can make one) */
	if (geteuid() == 0) {
		snprintf(j2, sizeof(j2), "%s/run-2-2.journal", real);
		plant(j2, victim, 65534);
		CU_ASSERT_EQUAL(stt_journal_replay_dir(real, NULL, NULL, &nj, &no), -EPERM);
		CU_ASSERT_PTR_NOT_NULL(strstr(stt_err_msg(), "not a regular file of this user"));
		CU_ASSERT_EQUAL(nj, 0);
		CU_ASSERT_TRUE(exists(victim));
		unlink(j2);
	}
	/* and the same journal of this user is replayed */
	plant(j1, victim, geteuid());
	CU_ASSERT_EQUAL(stt_journal_replay_dir(real, NULL, NULL, &nj, &no), 0);
	CU_ASSERT_EQUAL(nj, 1);
	CU_ASSERT_FALSE(exists(victim));
}

int unit_register_journal(void)
{
	CU_pSuite s = CU_add_suite("journal", setup, teardown);

	if (!s)
		return CU_get_error();
	CU_add_test(s, "undo newest first, done records kept", test_undo_order);
	CU_add_test(s, "bad names, no-ops", test_names);
	CU_add_test(s, "replay of a dead run, live run left alone", test_replay);
	CU_add_test(s, "processes by pid file and by the directory they name; empty dirs",
		    test_procs);
	CU_add_test(s, "parse: what replay would undo", test_parse);
	CU_add_test(s, "hostile: symlinked directory, symlinked or foreign journals", test_hostile);
	return CU_get_error();
}
