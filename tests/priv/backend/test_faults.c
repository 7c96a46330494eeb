// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Real faults, made for real on this kernel (issue 16, part 2, the native ones):
 *
 * - the workdir's filesystem full (a small ext4 on a loop device made by the test, given
 *   as --workdir) while bench imports a `docker save` tar, while it creates the generated
 *   image's layers, and in the containers' first writes; the backend's own scratch
 *   filesystem full (ext4 --scratch-size 32M) in the create phase;
 * - SIGKILL at random points of each phase of bench and of qualify, each followed by
 *   `stortune cleanup --journal-dir DIR`.
 *
 * After each: exit 1 with a message naming the fault (or 137 for the kill), the results
 * document valid and marked incomplete, and nothing of the run left -- mounts, loop
 * devices, dm devices, files, journals, processes. Each fault prints a row of the table
 * (fault, phase, what stortune said, exit, seconds, objects left), and appends it to
 * $STT_FAULT_TABLE when set.
 *
 * Kills per phase: STT_FAULT_KILLS (bench, default 1), STT_FAULT_QUALIFY_KILLS (qualify,
 * default 1), STT_FAULT_TUNE_KILLS (tune, VM tier, default 1); `make check-faults` runs the
 * sweep of 20. STT_FAULT_TESTS=word,... runs only the tests whose title holds a word.
 * STT_FAULT_IOERR_PHASES and STT_FAULT_TUNE_PHASES (phase names, comma-separated) limit the
 * VM tier's dm-error and tune kills to those phases (make check's quick run).
 *
 * In the VM tier (STT_PRIV_DEVICE set, device-mapper present) also: direct-lvm on a
 * dm-linear over the disk, swapped to dm-error at a random point of each phase of bench, and
 * SIGKILL in each phase of tune; STT_FAULT_DM_ONLY=1 runs only those.
 */
#include "priv.h"

#include "advice/results.h"
#include "backend/backend.h"
#include "base/err.h"
#include "sys/dm.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/loop.h>
#include <limits.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char base[PATH_MAX]; /* priv_dir()/faults */
static unsigned int seed;

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* One row of the table, on stdout and in $STT_FAULT_TABLE. */
static void row(const char *fault, const char *phase, const char *said, int st, double secs,
		int left)
{
	const char *tab = getenv("STT_FAULT_TABLE");
	char msg[400];
	FILE *f;

	snprintf(msg, sizeof(msg), "%s", said);
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '|')
			*p = ' ';
	printf("\n    | %s | %s | %s | %d | %.1f | %d |", fault, phase, msg, st, secs, left);
	if (tab && (f = fopen(tab, "a"))) {
		fprintf(f, "| %s | %s | %s | %d | %.1f | %d |\n", fault, phase, msg, st, secs,
			left);
		fclose(f);
	}
}

/*
 * Objects of the run left: mounts under @work, loop devices backed by files under it, dm
 * devices of stortune, files under @work, journals in @jdir, processes naming @work.
 */
static int objects_left(const char *work, const char *jdir, const char *what)
{
	char dm[4096];
	int n = 0;

	if (priv_sh("grep -q ' %s/' /proc/self/mountinfo", work) == 0) {
		fprintf(stderr, "%s: mounts left:\n", what);
		priv_sh("grep ' %s/' /proc/self/mountinfo >&2", work);
		n++;
	}
	if (priv_sh("losetup -a | grep -q '(%s/'", work) == 0) {
		fprintf(stderr, "%s: loop devices left:\n", what);
		priv_sh("losetup -a | grep '(%s/' >&2", work);
		n++;
	}
	if (stt_dm_list(dm, sizeof(dm)) > 0 && (strstr(dm, "stortune") || strstr(dm, "stt"))) {
		fprintf(stderr, "%s: dm devices left: %s\n", what, dm);
		n++;
	}
	if (priv_sh("[ -z \"$(ls -A '%s' 2>/dev/null)\" ]", work)) {
		fprintf(stderr, "%s: files left in %s:\n", what, work);
		priv_sh("ls -la '%s' >&2", work);
		n++;
	}
	if (priv_sh("[ -z \"$(ls -A '%s' 2>/dev/null)\" ]", jdir)) {
		fprintf(stderr, "%s: journal left in %s\n", what, jdir);
		n++;
	}
	/* Processes naming @work; "[/]" so that grep and its shell do not match themselves. */
	if (priv_sh("grep -q '[%c]%s' /proc/[0-9]*/cmdline 2>/dev/null", work[0], work + 1) == 0) {
		fprintf(stderr, "%s: processes of the run left:\n", what);
		priv_sh("grep -l '[%c]%s' /proc/[0-9]*/cmdline >&2 2>/dev/null", work[0], work + 1);
		n++;
	}
	return n;
}

/* Runs a command line; its stderr into *@err (malloc'd), the exit status, the seconds. */
static int run_err(char **err, double *secs, const char *fmt, ...)
{
	char cmd[6144];
	va_list ap;
	double t0 = now_s();
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = priv_capture(err, "%s 2>&1 >/dev/null", cmd);
	*secs = now_s() - t0;
	return st;
}

/* The results document at @path: valid, marked incomplete, its reason holding @want. */
static void check_incomplete(const char *path, const char *want)
{
	struct json_object *doc = NULL, *v;
	const char *reason = "";

	CU_ASSERT_EQUAL(stt_results_load(path, &doc), 0);
	if (!doc) {
		fprintf(stderr, "%s: %s\n", path, stt_err_msg());
		return;
	}
	CU_ASSERT_TRUE(stt_results_incomplete(doc));
	if (json_object_object_get_ex(doc, "incomplete_reason", &v))
		reason = json_object_get_string(v);
	if (!strstr(reason, want))
		fprintf(stderr, "%s: incomplete_reason \"%s\" lacks \"%s\"\n", path, reason, want);
	CU_ASSERT_PTR_NOT_NULL(strstr(reason, want));
	json_object_put(doc);
}

/* A small ext4 on a loop device at @dir/mnt (the loop device goes with the umount). */
static int smallfs_make(const char *dir, unsigned int mib)
{
	return priv_sh("mkdir -p '%1$s/mnt' && truncate -s %2$uM '%1$s/fs.img' && "
		       "mkfs.ext4 -q -F '%1$s/fs.img' && mount -o loop '%1$s/fs.img' '%1$s/mnt'",
		       dir, mib);
}

static void smallfs_drop(const char *dir)
{
	priv_sh("umount '%1$s/mnt' 2>/dev/null; rm -rf '%1$s'", dir);
}

static const char profile_fmt[] = "[image]\nlayers = 3\nfiles = 300\nsize = %s\n"
				  "small_file_share = 0.8\nsmall_file_max = 16k\n"
				  "large_files = 2\nlarge_file_size = %s\ndir_depth = 4\n"
				  "dirs = 40\nseed = 1\n"
				  "[startup]\nread_files = 20\nread_bytes = 256k\nstat_files = 40\n"
				  "readdirs = 4\nwrite_files = 4\nwrite_bytes = %s\n"
				  "rewrite_files = 1\nmid_write = yes\n"
				  "[run]\ncontainers = %u\nconcurrency = 2\nrepetitions = 1\n"
				  "cold = yes\nwarm = no\n";

static int write_profile(const char *path, const char *size, const char *large, const char *writes,
			 unsigned int containers)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fprintf(f, profile_fmt, size, large, writes, containers);
	return fclose(f) ? -1 : 0;
}

/*
 * bench on overlay with @extra options and the workdir @work, results into @out; expects
 * exit 1 with @want1 and @want2 in what it said, the document incomplete with @want1, and
 * nothing left.
 */
static void fault_run_on(const char *backend, const char *fault, const char *phase,
			 const char *work, const char *extra, const char *want1, const char *want2)
{
	char jdir[PATH_MAX], out[PATH_MAX], head[64], *err = NULL, *line;
	double secs;
	int st, left;

	snprintf(jdir, sizeof(jdir), "%s/journal", base);
	snprintf(out, sizeof(out), "%s/results.json", base);
	snprintf(head, sizeof(head), "stortune bench: %s: ", backend);
	unlink(out);
	st = run_err(&err, &secs,
		     "%s bench --backend %s --workdir '%s' --journal-dir '%s' %s -o '%s'",
		     priv_stortune(), backend, work, jdir, extra, out);
	left = objects_left(work, jdir, fault);
	/* the line that names the failure */
	line = err ? strstr(err, head) : NULL;
	if (line)
		line[strcspn(line, "\n")] = '\0';
	row(fault, phase, line ? line + strlen(head) : (err ? err : ""), st, secs, left);
	if (!line || !strstr(line, want1) || !strstr(line, want2))
		fprintf(stderr, "%s: said \"%s\", wanted \"%s\" and \"%s\"\n", fault,
			err ? err : "", want1, want2);
	CU_ASSERT_EQUAL(st, 1);
	CU_ASSERT_PTR_NOT_NULL(line);
	CU_ASSERT_PTR_NOT_NULL(line ? strstr(line, want1) : NULL);
	CU_ASSERT_PTR_NOT_NULL(line ? strstr(line, want2) : NULL);
	CU_ASSERT_EQUAL(left, 0);
	check_incomplete(out, want1);
	free(err);
	unlink(out);
	priv_sh("rm -rf '%s' '%s'", work, jdir);
}

static void fault_run(const char *fault, const char *phase, const char *work, const char *extra,
		      const char *want1, const char *want2)
{
	fault_run_on("overlay", fault, phase, work, extra, want1, want2);
}

/* A `docker save` tar of two layers of incompressible files, @mib MiB each. */
static int make_save_tar(const char *dir, const char *tar, unsigned int mib)
{
	return priv_sh(
	    "set -e; d='%1$s'; rm -rf \"$d\"; mkdir -p \"$d/l1/r/usr/lib\" \"$d/l2/r/opt\" "
	    "\"$d/t/l1\" \"$d/t/l2\"; "
	    "head -c %2$uM /dev/urandom > \"$d/l1/r/usr/lib/libbig.so\"; "
	    "head -c %2$uM /dev/urandom > \"$d/l2/r/opt/data.bin\"; "
	    "for i in $(seq 1 50); do echo $i > \"$d/l1/r/usr/lib/f$i\"; done; "
	    "tar --numeric-owner -cf \"$d/t/l1/layer.tar\" -C \"$d/l1/r\" .; "
	    "tar --numeric-owner -cf \"$d/t/l2/layer.tar\" -C \"$d/l2/r\" .; "
	    "echo '{}' > \"$d/t/config.json\"; "
	    "printf '[{\"Config\":\"config.json\",\"RepoTags\":[\"stt-fault:1\"],"
	    "\"Layers\":[\"l1/layer.tar\",\"l2/layer.tar\"]}]' > \"$d/t/manifest.json\"; "
	    "tar -cf '%3$s' -C \"$d/t\" manifest.json config.json l1 l2; rm -rf \"$d\"",
	    dir, mib, tar);
}

static void test_full_import_tar(void)
{
	char fs[PATH_MAX], work[PATH_MAX], tar[PATH_MAX], tmp[PATH_MAX], extra[PATH_MAX + 256];

	snprintf(fs, sizeof(fs), "%s/fs-tar", base);
	snprintf(work, sizeof(work), "%s/mnt/w", fs);
	snprintf(tar, sizeof(tar), "%s/image.tar", base);
	snprintf(tmp, sizeof(tmp), "%s/image.d", base);
	CU_ASSERT_EQUAL_FATAL(make_save_tar(tmp, tar, 40), 0);
	CU_ASSERT_EQUAL_FATAL(smallfs_make(fs, 100), 0);
	snprintf(extra, sizeof(extra),
		 "--image '%s' --containers 4 --repetitions 1 --scratch-size 1G", tar);
	fault_run("workdir filesystem full (100 MiB ext4), docker-save tar of 80 MiB", "import",
		  work, extra, "ENOSPC", "in import");
	smallfs_drop(fs);
	unlink(tar);
}

static void test_full_import_layers(void)
{
	char fs[PATH_MAX], work[PATH_MAX], prof[PATH_MAX], extra[PATH_MAX + 128];

	snprintf(fs, sizeof(fs), "%s/fs-gen", base);
	snprintf(work, sizeof(work), "%s/mnt/w", fs);
	snprintf(prof, sizeof(prof), "%s/big.ini", base);
	CU_ASSERT_EQUAL_FATAL(write_profile(prof, "64m", "24m", "64k", 8), 0);
	CU_ASSERT_EQUAL_FATAL(smallfs_make(fs, 100), 0);
	snprintf(extra, sizeof(extra), "--profile '%s' --scratch-size 1G", prof);
	fault_run("workdir filesystem full (100 MiB ext4), generated image of 64 MiB",
		  "import (layer create)", work, extra, "ENOSPC", "in import");
	smallfs_drop(fs);
	unlink(prof);
}

static void test_full_first_write(void)
{
	char fs[PATH_MAX], work[PATH_MAX], prof[PATH_MAX], extra[PATH_MAX + 128];

	snprintf(fs, sizeof(fs), "%s/fs-write", base);
	snprintf(work, sizeof(work), "%s/mnt/w", fs);
	snprintf(prof, sizeof(prof), "%s/writes.ini", base);
	/* 8 MiB image; 40 containers writing 4 MiB each */
	CU_ASSERT_EQUAL_FATAL(write_profile(prof, "8m", "2m", "1m", 40), 0);
	CU_ASSERT_EQUAL_FATAL(smallfs_make(fs, 128), 0);
	snprintf(extra, sizeof(extra), "--profile '%s' --scratch-size 1G", prof);
	fault_run("workdir filesystem full (128 MiB ext4), 40 containers writing 4 MiB each",
		  "first-write", work, extra, "ENOSPC", "first-write");
	smallfs_drop(fs);
	unlink(prof);
}

static void test_full_scratch_create(void)
{
	char work[PATH_MAX], prof[PATH_MAX], extra[PATH_MAX + 128];

	snprintf(work, sizeof(work), "%s/w-create", base);
	snprintf(prof, sizeof(prof), "%s/create.ini", base);
	CU_ASSERT_EQUAL_FATAL(write_profile(prof, "16m", "4m", "64k", 3000), 0);
	snprintf(extra, sizeof(extra), "--profile '%s' --fs ext4 --scratch-size 32M", prof);
	fault_run("scratch filesystem full (--fs ext4 --scratch-size 32M), 3000 containers",
		  "create (layer create)", work, extra, "No space left on device",
		  "create container");
	unlink(prof);
}

/* ---- SIGKILL at random points of each phase, then cleanup ---- */

struct phase {
	const char *name;
	const char *label; /* what the progress shows while in it */
	int max_ms;	   /* the kill lands 0..max_ms after the label shows (0: 60) */
};

static const struct phase bench_phases[] = {
    {"prepare", "overlay: prepare", 0},	  {"import", "import layer", 0},
    {"create", "cold create", 0},	  {"start", "cold start", 0},
    {"first-read", "cold first-read", 0}, {"first-write", "cold first-write", 0},
    {"cow-write", "cold cow-write", 0},	  {"stop", "cold stop", 0},
    {"remove", "cold remove", 0},	  {"teardown", "overlay: teardown", 0},
};

static const struct phase qualify_phases[] = {
    {"raw", "qualify: raw", 9000}, /* 3 jobs of 3 s on a 1 GiB file */
    {"prepare", "overlay: prepare", 0}, {"import", "import layer", 0},
    {"create", "cold create", 0},	{"first-write", "cold first-write", 0},
    {"remove", "cold remove", 0},
};

/* The phase whose label appears last in @buf (-1: none yet). */
static int current(const char *buf, const struct phase *ph, size_t n)
{
	const char *best = NULL;
	int idx = -1;

	for (size_t i = 0; i < n; i++) {
		const char *p = buf, *last = NULL;

		while ((p = strstr(p, ph[i].label)))
			last = p++;
		if (last && (!best || last > best)) {
			best = last;
			idx = (int)i;
		}
	}
	return idx;
}

/* Reads what the pty gives within @ms into @buf (keeps the tail when full). */
static bool pump(int fd, char *buf, size_t cap, size_t *len, int ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	double end = now_s() + ms / 1e3;

	for (;;) {
		int left = (int)((end - now_s()) * 1e3), k;
		ssize_t n;

		if (left < 0)
			left = 0;
		k = poll(&pfd, 1, left);
		if (k <= 0)
			return true;
		if (*len + 4096 >= cap) {
			memmove(buf, buf + cap / 2, *len - cap / 2);
			*len -= cap / 2;
		}
		n = read(fd, buf + *len, 4095);
		if (n <= 0)
			return false; /* the child closed the pty: it ended */
		*len += (size_t)n;
		buf[*len] = '\0';
		if (!left)
			return true;
	}
}

/*
 * Starts @cmd on a pty (so that it shows its progress), waits until it is in phase @want,
 * waits a random 0..@max_ms more (the phase's own bound >> @aim when it has one), and kills
 * it with SIGKILL. *@hit: the phase it was in at the kill (-1: it ended first). Returns the exit
 * status (128 + signal when killed).
 */
static int kill_in(const char *cmd, const struct phase *ph, size_t n, int want, int max_ms, int aim,
		   int *hit)
{
	static char buf[1 << 16];
	size_t len = 0;
	bool alive = true;
	int fd, st, delay;
	pid_t pid;

	*hit = -1;
	buf[0] = '\0';
	pid = forkpty(&fd, NULL, NULL, NULL);
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	/* until the phase shows (output can come in bursts: seen, not necessarily last) */
	while (alive && !strstr(buf, ph[want].label))
		alive = pump(fd, buf, sizeof(buf), &len, 100);
	if (alive) {
		if (ph[want].max_ms)
			max_ms = ph[want].max_ms >> aim;
		delay = max_ms ? (int)(rand_r(&seed) % (unsigned int)(max_ms + 1)) : 0;
		alive = pump(fd, buf, sizeof(buf), &len, delay);
		*hit = current(buf, ph, n);
		kill(pid, SIGKILL);
	}
	/* drain, so that the child never blocks on a full pty */
	while (pump(fd, buf, sizeof(buf), &len, 200))
		if (waitpid(pid, &st, WNOHANG) == pid)
			goto done;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
done:
	if (*hit < 0)
		fprintf(stderr, "run ended before the kill (aimed at %s); its output ended: %s\n",
			ph[want].name, len > 600 ? buf + len - 600 : buf);
	close(fd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static unsigned int env_count(const char *name, unsigned int def)
{
	const char *v = getenv(name);

	return v && atoi(v) > 0 ? (unsigned int)atoi(v) : def;
}

/* Whether phase @name is among $@env (names, comma-separated; unset or empty: every phase). */
static bool phase_wanted(const char *env, const char *name)
{
	const char *v = env ? getenv(env) : NULL;
	size_t len = strlen(name);

	if (!v || !*v)
		return true;
	for (const char *p = v; (p = strstr(p, name)); p += len)
		if ((p == v || p[-1] == ',') && (p[len] == ',' || !p[len]))
			return true;
	return false;
}

/* @phases: the environment variable naming the phases to kill in (NULL: all). */
static void kill_sweep(const char *what, const char *fmt, const struct phase *ph, size_t n,
		       unsigned int per_phase, int max_ms, const char *phases)
{
	char work[PATH_MAX], jdir[PATH_MAX], out[PATH_MAX], cmd[4096], label[160];
	unsigned int hits[16] = {0}, left_at[16] = {0}, bad_cleanup[16] = {0};
	double cleanup_max[16] = {0};

	snprintf(work, sizeof(work), "%s/kill-%s", base, what);
	snprintf(jdir, sizeof(jdir), "%s/kill-journal-%s", base, what);
	snprintf(out, sizeof(out), "%s/kill-%s.out", base, what);
	snprintf(cmd, sizeof(cmd), fmt, priv_stortune(), work, jdir, out);
	for (size_t p = 0; p < n; p++) {
		for (unsigned int t = 0; t < per_phase && phase_wanted(phases, ph[p].name); t++) {
			/*
			 * A kill aimed at a short phase can land in the next one (it counts for
			 * that one, and is checked as well); aim again, sooner, up to 4 times.
			 */
			for (int aim = 0; aim < 4; aim++) {
				char *cl = NULL;
				double t0, dt;
				int st = 0, hit = -1, left, cst, ms = max_ms >> aim;

				/*
				 * A run can end before the kill lands (on a quiet machine the
				 * teardown takes milliseconds, and the kill can follow the last
				 * output by more): it must have left nothing; again.
				 */
				for (int again = 0; again < 4; again++) {
					priv_sh("rm -f '%s'", out);
					st = kill_in(cmd, ph, n, (int)p, ms, aim, &hit);
					if (hit >= 0 && st == 128 + SIGKILL)
						break;
					left =
					    objects_left(work, jdir, "a run that ended by itself");
					CU_ASSERT_EQUAL(left, 0);
					priv_sh("rm -rf '%s'", out);
					hit = -1;
				}
				if (st != 128 + SIGKILL)
					continue; /* never caught alive: aim sooner */
				t0 = now_s();
				cst = priv_capture(&cl, "%s cleanup --journal-dir '%s' 2>&1",
						   priv_stortune(), jdir);
				dt = now_s() - t0;
				snprintf(label, sizeof(label),
					 "%s SIGKILL in %s (aimed at %s, trial %u)", what,
					 hit >= 0 ? ph[hit].name : "?", ph[p].name, t);
				if (cst)
					fprintf(stderr, "%s: cleanup exit %d: %s\n", label, cst,
						cl ? cl : "");
				CU_ASSERT_EQUAL(cst, 0);
				free(cl);
				left = objects_left(work, jdir, label);
				CU_ASSERT_EQUAL(left, 0);
				if (hit >= 0) {
					hits[hit]++;
					left_at[hit] += (unsigned int)left;
					bad_cleanup[hit] += cst != 0;
					if (dt > cleanup_max[hit])
						cleanup_max[hit] = dt;
				}
				/*
				 * A killed run writes no document, or -- killed after it wrote it,
				 * on its way out of teardown -- a whole one (written by rename): never
				 * a part of one.
				 */
				CU_ASSERT(access(out, F_OK) != 0 ||
					  priv_sh("jq -e '.backends | length > 0' '%s' >/dev/null",
						  out) == 0);
				if (hit == (int)p)
					break;
			}
		}
	}
	for (size_t p = 0; p < n; p++) {
		char fault[160], said[200];

		if (!phase_wanted(phases, ph[p].name))
			continue;
		snprintf(fault, sizeof(fault), "%s: SIGKILL, then cleanup", what);
		snprintf(said, sizeof(said),
			 "%u kills landed here; cleanup failed %u times; slowest cleanup (the "
			 "time column) in s",
			 hits[p], bad_cleanup[p]);
		row(fault, ph[p].name, said, 137, cleanup_max[p], (int)left_at[p]);
		/*
		 * Every phase was hit at least once in a sweep; with one kill a phase, a short
		 * phase can be over before the kill on a fast machine (it counts for the next).
		 */
		if (per_phase >= 5)
			CU_ASSERT(hits[p] > 0);
	}
	priv_sh("rm -rf '%s' '%s' '%s'", work, jdir, out);
}

static void test_kill_bench(void)
{
	char prof[PATH_MAX], fmt[PATH_MAX + 512];

	seed = (unsigned int)time(NULL);
	printf("\n    (seed %u)", seed);
	snprintf(prof, sizeof(prof), "%s/kill.ini", base);
	CU_ASSERT_EQUAL_FATAL(write_profile(prof, "4m", "1m", "64k", 40), 0);
	snprintf(fmt, sizeof(fmt),
		 "exec %%s bench --backend overlay --profile '%s' --workdir '%%s' "
		 "--journal-dir '%%s' --scratch-size 2G -o '%%s'",
		 prof);
	kill_sweep("bench", fmt, bench_phases, sizeof(bench_phases) / sizeof(bench_phases[0]),
		   env_count("STT_FAULT_KILLS", 1), 60, NULL);
	unlink(prof);
}

static void test_kill_qualify(void)
{
	char prof[PATH_MAX], fmt[PATH_MAX + 512];

	seed = (unsigned int)time(NULL) + 1;
	printf("\n    (seed %u)", seed);
	snprintf(prof, sizeof(prof), "%s/killq.ini", base);
	CU_ASSERT_EQUAL_FATAL(write_profile(prof, "4m", "1m", "64k", 40), 0);
	/* the raw phase runs 3 jobs of 3 s on a 1 GiB file: kills land anywhere in it */
	snprintf(fmt, sizeof(fmt),
		 "exec %%s qualify --backend overlay --profile '%s' --workdir '%%s' "
		 "--journal-dir '%%s' --scratch-size 2G -o '%%s'",
		 prof);
	/*
	 * Every qualify run reads for 9 s before its bench: in `make check` only its own phases
	 * (raw, prepare, import); with STT_FAULT_QUALIFY_KILLS all of them.
	 */
	kill_sweep("qualify", fmt, qualify_phases,
		   getenv("STT_FAULT_QUALIFY_KILLS")
		       ? sizeof(qualify_phases) / sizeof(qualify_phases[0])
		       : 3,
		   env_count("STT_FAULT_QUALIFY_KILLS", 1), 60, NULL);
	unlink(prof);
}

/* ---- I/O errors under direct-lvm (the VM tier): the disk turns into dm-error mid-phase ---- */

#define FAULT_DISK "faultdisk" /* a dm-linear over $STT_PRIV_DEVICE, swapped to error */

static const struct phase lvm_phases[] = {
    {"prepare", "direct-lvm: prepare", 0},
    {"import", "import layer", 0},
    {"create", "cold create", 0},
    {"start", "cold start", 0},
    {"first-read", "cold first-read", 0},
    {"first-write", "cold first-write", 0},
    {"stop", "cold stop", 0},
    {"remove", "cold remove", 0},
    /* not aimed at in make check; a fault aimed at remove can land here */
    {"teardown", "direct-lvm: teardown", 0},
};

/*
 * As kill_in(), but at the point it runs @action (a shell command) instead of killing, then
 * waits for the run to end, at most @bound_s seconds (then SIGKILL: a hang). *@secs: from
 * the fault to the exit; @errbuf gets the tail of what it printed.
 */
static int fault_in(const char *cmd, const struct phase *ph, size_t n, int want, int max_ms,
		    const char *action, int bound_s, int *hit, double *secs, bool *hung,
		    char *errbuf, size_t errlen)
{
	static char buf[1 << 16];
	size_t len = 0;
	bool alive = true;
	int fd, st = 0, delay;
	double t0 = 0;
	pid_t pid;

	*hit = -1;
	*secs = 0;
	*hung = false;
	buf[0] = '\0';
	pid = forkpty(&fd, NULL, NULL, NULL);
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	/* until the phase shows (output can come in bursts: seen, not necessarily last) */
	while (alive && !strstr(buf, ph[want].label))
		alive = pump(fd, buf, sizeof(buf), &len, 100);
	if (alive) {
		delay = max_ms ? (int)(rand_r(&seed) % (unsigned int)(max_ms + 1)) : 0;
		alive = pump(fd, buf, sizeof(buf), &len, delay);
		*hit = current(buf, ph, n);
		t0 = now_s();
		if (priv_sh("%s", action))
			fprintf(stderr, "fault: %s: failed\n", action);
	}
	for (;;) {
		bool more = pump(fd, buf, sizeof(buf), &len, 200);

		if (waitpid(pid, &st, WNOHANG) == pid)
			break;
		if (t0 && now_s() - t0 > bound_s && !*hung) {
			*hung = true;
			kill(pid, SIGKILL);
		}
		if (!more && waitpid(pid, &st, 0) == pid)
			break;
	}
	*secs = t0 ? now_s() - t0 : 0;
	close(fd);
	snprintf(errbuf, errlen, "%s", len > errlen - 1 ? buf + len - (errlen - 1) : buf);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static bool vg_left(void)
{
	return priv_sh("vgs --noheadings -o vg_name 2>/dev/null | grep -q '^ *stt'") == 0;
}

static void test_ioerr_directlvm(void)
{
	const char *dev = getenv("STT_PRIV_DEVICE");
	char work[PATH_MAX], jdir[PATH_MAX], out[PATH_MAX], prof[PATH_MAX], cmd[4096];
	char linear[512], error[512], tail[4096], fault[160];
	unsigned long long sectors = 0;
	char *sz = NULL;

	seed = (unsigned int)time(NULL) + 2;
	printf("\n    (seed %u)", seed);
	CU_ASSERT_EQUAL_FATAL(priv_capture(&sz, "blockdev --getsz '%s'", dev), 0);
	sectors = strtoull(sz, NULL, 10);
	free(sz);
	/*
	 * From 1 MiB into the disk: LVM would see the PV label on both the disk and a whole-disk
	 * linear over it, and refuse the duplicates.
	 */
	CU_ASSERT_FATAL(sectors > 4096);
	sectors -= 2048;
	snprintf(work, sizeof(work), "%s/ioerr", base);
	snprintf(jdir, sizeof(jdir), "%s/ioerr-journal", base);
	snprintf(out, sizeof(out), "%s/ioerr.json", base);
	snprintf(prof, sizeof(prof), "%s/ioerr.ini", base);
	CU_ASSERT_EQUAL_FATAL(write_profile(prof, "2m", "256k", "64k", 6), 0);
	snprintf(linear, sizeof(linear),
		 "dmsetup load " FAULT_DISK " --table '0 %llu linear %s 2048' && "
		 "dmsetup resume " FAULT_DISK,
		 sectors, dev);
	snprintf(error, sizeof(error),
		 "dmsetup load " FAULT_DISK " --table '0 %llu error' && dmsetup resume " FAULT_DISK,
		 sectors);
	snprintf(cmd, sizeof(cmd),
		 "exec %s bench --backend direct-lvm --device /dev/mapper/" FAULT_DISK
		 " --destroy-data /dev/mapper/" FAULT_DISK " --profile '%s' --workdir '%s' "
		 "--journal-dir '%s' --base-size 512M --env-label vm-tcg -o '%s'",
		 priv_stortune(), prof, work, jdir, out);
	for (size_t p = 0; p < sizeof(lvm_phases) / sizeof(lvm_phases[0]); p++) {
		char *cl = NULL, *line;
		double secs;
		bool hung;
		int st, hit, left, cst;

		if (!phase_wanted("STT_FAULT_IOERR_PHASES", lvm_phases[p].name))
			continue;

		CU_ASSERT_EQUAL_FATAL(priv_sh("dmsetup create " FAULT_DISK
					      " --table '0 %llu linear %s 2048'",
					      sectors, dev),
				      0);
		unlink(out);
		st = fault_in(cmd, lvm_phases, sizeof(lvm_phases) / sizeof(lvm_phases[0]), (int)p,
			      200, error, 180, &hit, &secs, &hung, tail, sizeof(tail));
		/* the disk comes back; what the run could not undo, cleanup does */
		CU_ASSERT_EQUAL(priv_sh("%s", linear), 0);
		cst =
		    priv_capture(&cl, "%s cleanup --journal-dir '%s' 2>&1", priv_stortune(), jdir);
		snprintf(fault, sizeof(fault),
			 "direct-lvm: disk I/O errors (dm-error), aimed at %s", lvm_phases[p].name);
		left = objects_left(work, jdir, fault);
		if (vg_left()) {
			fprintf(stderr, "%s: VG left:\n", fault);
			priv_sh("vgs >&2");
			left++;
		}
		if (priv_sh("[ -z \"$(blkid -p -o value -s TYPE /dev/mapper/" FAULT_DISK ")\" ]")) {
			fprintf(stderr, "%s: signature left on the disk:\n", fault);
			priv_sh("blkid -p /dev/mapper/" FAULT_DISK " >&2");
			left++;
		}
		fprintf(stderr, "%s: cleanup said: %s\n", fault, cl ? cl : "");
		line = strstr(tail, "stortune bench: direct-lvm: ");
		if (line)
			line[strcspn(line, "\r\n")] = '\0';
		row(fault, hit >= 0 ? lvm_phases[hit].name : "(ended first)",
		    line ? line + strlen("stortune bench: ") : tail, st, secs, left);
		if (cst || !line)
			fprintf(stderr, "%s: exit %d, cleanup exit %d: %s\n%s\n", fault, st, cst,
				cl ? cl : "", tail);
		free(cl);
		CU_ASSERT_FALSE(hung);
		/* the fault was made while the run was in a phase */
		CU_ASSERT(hit >= 0);
		CU_ASSERT_EQUAL(st, 1);
		CU_ASSERT_PTR_NOT_NULL(line);
		CU_ASSERT_EQUAL(cst, 0);
		CU_ASSERT_EQUAL(left, 0);
		if (st == 1)
			check_incomplete(out, "direct-lvm");
		/* whatever a failed trial left, the next starts from a clean disk */
		priv_sh("for v in $(vgs --noheadings -o vg_name 2>/dev/null | grep '^ *stt'); do "
			"vgremove -ff $v; done >/dev/null 2>&1; "
			"for d in $(dmsetup ls 2>/dev/null | awk '/stortune|stt/ {print $1}'); do "
			"dmsetup remove $d; done >/dev/null 2>&1; "
			"wipefs -a /dev/mapper/" FAULT_DISK " >/dev/null 2>&1; "
			"pvremove -ff -y /dev/mapper/" FAULT_DISK " >/dev/null 2>&1");
		priv_sh("dmsetup remove " FAULT_DISK);
		priv_sh("rm -rf '%s' '%s' '%s'", work, jdir, out);
	}
	unlink(prof);
}

/*
 * ---- Loop devices exhausted (the VM tier: STT_FAULT_LOOP_EXHAUST=1) ----
 *
 * LOOP_CTL_GET_FREE adds a device whenever none is free; it fails only when the kernel can
 * add none. loop_add() numbers a device's first minor idx << part_shift, and add_disk()
 * refuses a first minor beyond MINORMASK (20 bits): with the loop module loaded with
 * max_part=255 (part_shift 8) that is 4096 devices, which a test can bind (faults.sh
 * reloads the guest's loop module so). With max_part=0 it would be 2^20.
 */
#define LOOP_CAP 8192

struct hog {
	int *idx;
	size_t n;
	int err; /* errno of the GET_FREE that failed */
};

/*
 * Binds, read-only to the empty file @file, every loop device the kernel can number: each
 * index is added (LOOP_CTL_ADD: GET_FREE's scan of every device would make this quadratic,
 * minutes under TCG) and bound unless another holds it, until the kernel refuses to add
 * one. Then GET_FREE must fail: h->err.
 */
static int hog_all(const char *file, struct hog *h)
{
	int ctl, ffd, r = 0;

	h->idx = calloc(LOOP_CAP, sizeof(*h->idx));
	h->n = 0;
	h->err = 0;
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	ffd = open(file, O_RDONLY | O_CLOEXEC);
	if (!h->idx || ctl < 0 || ffd < 0) {
		r = -1;
		goto out;
	}
	for (int i = 0; i < LOOP_CAP; i++) {
		struct loop_config cfg;
		char dev[32];
		int lfd;

		if (ioctl(ctl, LOOP_CTL_ADD, i) < 0 && errno != EEXIST)
			break; /* the kernel can number no more */
		snprintf(dev, sizeof(dev), "/dev/loop%d", i);
		lfd = open(dev, O_RDWR | O_CLOEXEC);
		if (lfd < 0) {
			r = -1;
			break;
		}
		memset(&cfg, 0, sizeof(cfg));
		cfg.fd = ffd;
		cfg.info.lo_flags = LO_FLAGS_READ_ONLY;
		if (ioctl(lfd, LOOP_CONFIGURE, &cfg) == 0)
			h->idx[h->n++] = i;
		else if (errno != EBUSY)
			r = -1; /* EBUSY: bound by another */
		close(lfd);
		if (r)
			break;
	}
	if (!r && ioctl(ctl, LOOP_CTL_GET_FREE) < 0)
		h->err = errno;
out:
	if (ctl >= 0)
		close(ctl);
	if (ffd >= 0)
		close(ffd);
	return r;
}

static int unhog_one(int idx)
{
	char dev[32];
	int fd, r;

	snprintf(dev, sizeof(dev), "/dev/loop%d", idx);
	fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = ioctl(fd, LOOP_CLR_FD, 0);
	close(fd);
	return r;
}

/* 1 when /dev/loop@idx is bound, 0 when free, -1 when it cannot be asked. */
static int loop_bound(int idx)
{
	struct loop_info64 info;
	char dev[32];
	int fd, r;

	snprintf(dev, sizeof(dev), "/dev/loop%d", idx);
	fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = ioctl(fd, LOOP_GET_STATUS64, &info) == 0 ? 1 : errno == ENXIO ? 0 : -1;
	close(fd);
	return r;
}

static void test_loop_exhausted(void)
{
	char work[PATH_MAX], jdir[PATH_MAX], file[PATH_MAX], prof[PATH_MAX], extra[PATH_MAX + 64];
	char *part = NULL, *err = NULL, *line;
	struct hog h = {0};
	double t0, secs;
	int st, left, last;

	CU_ASSERT_EQUAL_FATAL(priv_capture(&part, "cat /sys/module/loop/parameters/max_part"), 0);
	/* faults.sh loads the loop module with max_part=255: 4096 devices at most */
	CU_ASSERT_EQUAL_FATAL(atoi(part), 255);
	free(part);
	snprintf(work, sizeof(work), "%s/loopx", base);
	snprintf(jdir, sizeof(jdir), "%s/loopx-journal", base);
	/* outside the run's directory: with STT_FAULT_LOOP_KEEP its devices stay bound */
	snprintf(file, sizeof(file), "/var/tmp/stt-loophog-%d.img", (int)getpid());
	snprintf(prof, sizeof(prof), "%s/loopx.ini", base);
	CU_ASSERT_EQUAL_FATAL(write_profile(prof, "2m", "256k", "64k", 2), 0);
	CU_ASSERT_EQUAL_FATAL(priv_sh(": > '%s'", file), 0);
	t0 = now_s();
	CU_ASSERT_EQUAL(hog_all(file, &h), 0);
	printf("\n    (%zu loop devices bound in %.1f s; then LOOP_CTL_GET_FREE: %s)", h.n,
	       now_s() - t0, strerror(h.err));
	/* the kernel ran out: 1 << (20 - 8) minus the devices others hold */
	CU_ASSERT(h.err != 0 && h.n > 0 && h.n <= 4096);
	if (!h.err || !h.n)
		goto out;

	/* 1. none free: the data file's device cannot be had */
	snprintf(extra, sizeof(extra),
		 "--profile '%s' --data-size 256M --meta-size 16M --base-size 512M", prof);
	fault_run_on("dm-loop", "loop devices exhausted (none free, the kernel can add none)",
		     "prepare (data device)", work, extra, "no free loop device",
		     "LOOP_CTL_GET_FREE");

	/* 2. one free: the data file gets it, the metadata file none; the first is given back */
	last = h.idx[--h.n];
	CU_ASSERT_EQUAL(unhog_one(last), 0);
	fault_run_on("dm-loop", "loop devices exhausted (one free: data attached, metadata not)",
		     "prepare (metadata device)", work, extra, "no free loop device",
		     "LOOP_CTL_GET_FREE");
	CU_ASSERT_EQUAL(loop_bound(last), 0);

	/* 3. selftest on dm-loop, none free but that one */
	st = run_err(&err, &secs, "%s selftest --backend dm-loop --workdir '%s' --journal-dir '%s'",
		     priv_stortune(), work, jdir);
	left = objects_left(work, jdir, "selftest, loop devices exhausted");
	line = err ? strstr(err, "no free loop device") : NULL;
	if (line)
		line[strcspn(line, "\n")] = '\0';
	row("loop devices exhausted (one free), selftest --backend dm-loop", "prepare",
	    line ? line : (err ? err : ""), st, secs, left);
	if (!line)
		fprintf(stderr, "selftest said: %s\n", err ? err : "");
	CU_ASSERT_EQUAL(st, 1);
	CU_ASSERT_PTR_NOT_NULL(line);
	CU_ASSERT_EQUAL(left, 0);
	CU_ASSERT_EQUAL(loop_bound(last), 0);
	free(err);
	priv_sh("rm -rf '%s' '%s'", work, jdir);
out:
	/*
	 * STT_FAULT_LOOP_KEEP=1: the devices stay bound (the guest ends next, and 4096
	 * LOOP_CLR_FDs take about 90 s under TCG).
	 */
	if (!getenv("STT_FAULT_LOOP_KEEP")) {
		t0 = now_s();
		for (size_t i = 0; i < h.n; i++)
			CU_ASSERT_EQUAL(unhog_one(h.idx[i]), 0);
		printf("\n    (%zu released in %.1f s)", h.n, now_s() - t0);
		CU_ASSERT_EQUAL(priv_sh("losetup -a | grep -qF '%s'", file), 1);
		unlink(file);
	}
	free(h.idx);
	unlink(prof);
}

/* tune (thin pools only: the VM tier): its phases are bench's, per point of the sweep. */
static const struct phase tune_phases[] = {
    {"prepare", "off: prepare", 0},
    {"import", "import layer", 0},
    {"provisioning", "provisioning: first write", 0},
    {"create", "cold create", 0},
    {"first-write", "cold first-write", 0},
    {"remove", "cold remove", 0},
    {"teardown", "off: teardown", 0},
};

static void test_kill_tune(void)
{
	char prof[PATH_MAX], fmt[PATH_MAX + 512];

	seed = (unsigned int)time(NULL) + 3;
	printf("\n    (seed %u)", seed);
	snprintf(prof, sizeof(prof), "%s/killt.ini", base);
	CU_ASSERT_EQUAL_FATAL(write_profile(prof, "2m", "256k", "64k", 6), 0);
	snprintf(fmt, sizeof(fmt),
		 "exec %%s tune --backend dm-loop --chunk-sizes 64K --zeroing off --profile '%s' "
		 "--workdir '%%s' --journal-dir '%%s' --base-size 512M --data-size 2G "
		 "--meta-size 64M -o '%%s'",
		 prof);
	kill_sweep("tune", fmt, tune_phases, sizeof(tune_phases) / sizeof(tune_phases[0]),
		   env_count("STT_FAULT_TUNE_KILLS", 1), 200, "STT_FAULT_TUNE_PHASES");
	unlink(prof);
}

static int suite_init(void)
{
	snprintf(base, sizeof(base), "%s/faults", priv_dir());
	return priv_sh("mkdir -p '%s'", base) ? -1 : 0;
}

static int suite_clean(void)
{
	priv_sh("rm -rf '%s'", base);
	return 0;
}

/* STT_FAULT_TESTS=word,...: only the tests whose title holds one of the words. */
static void add(CU_pSuite s, const char *title, CU_TestFunc fn)
{
	const char *only = getenv("STT_FAULT_TESTS");
	char buf[256], *tok, *save = NULL;
	bool want = !only;

	if (only) {
		snprintf(buf, sizeof(buf), "%s", only);
		for (tok = strtok_r(buf, ",", &save); tok && !want;
		     tok = strtok_r(NULL, ",", &save))
			want = strstr(title, tok) != NULL;
	}
	if (want)
		CU_add_test(s, title, fn);
}

int priv_register_faults(void)
{
	CU_pSuite s = CU_add_suite("faults", suite_init, suite_clean);
	const struct stt_backend_ops *lvm = stt_backend_lookup("direct-lvm");
	struct stt_backend_opts o;
	char reason[256];

	if (!s)
		return CU_get_error();
	stt_backend_opts_init(&o);
	/* The dm faults: in the VM tier, on its disk (STT_PRIV_DEVICE). */
	if (getenv("STT_PRIV_DEVICE") && !lvm->available(&o, reason, sizeof(reason)))
		add(s,
		    "direct-lvm: the disk turns into dm-error in each phase: exit 1, "
		    "bounded, nothing left after cleanup",
		    test_ioerr_directlvm);
	if (!stt_backend_lookup("dm-loop")->available(&o, reason, sizeof(reason)))
		add(s,
		    "tune (dm-loop): SIGKILL at random points of its phases, then "
		    "cleanup: nothing left",
		    test_kill_tune);
	/* Only where the loop module allows 4096 devices (faults.sh reloads it so). */
	if (getenv("STT_FAULT_LOOP_EXHAUST"))
		add(s,
		    "dm-loop: loop devices exhausted (bench with none and one free, selftest): "
		    "exit 1 naming it, nothing left",
		    test_loop_exhausted);
	/* STT_FAULT_DM_ONLY=1: only those (the guest runs the rest natively already). */
	if (getenv("STT_FAULT_DM_ONLY"))
		return CU_get_error();
	add(s,
	    "workdir full during import of a docker save tar: exit 1, ENOSPC named, "
	    "document incomplete, nothing left",
	    test_full_import_tar);
	add(s, "workdir full while the generated layers are created", test_full_import_layers);
	add(s, "workdir full in the containers' first writes", test_full_first_write);
	add(s, "the backend's scratch filesystem full in the create phase",
	    test_full_scratch_create);
	add(s, "bench: SIGKILL at random points of each phase, then cleanup: nothing left",
	    test_kill_bench);
	add(s, "qualify: SIGKILL at random points of its phases, then cleanup: nothing left",
	    test_kill_qualify);
	return CU_get_error();
}
