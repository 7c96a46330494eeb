// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Interruption: `stortune selftest` killed with SIGTERM at random points of each phase
 * leaves nothing behind; killed with SIGKILL, `stortune cleanup` removes what it left.
 * Runs on every available backend (overlay natively; the dm backends in the VM tier).
 */
#include "priv.h"

#include "backend/backend.h"
#include "sys/dm.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TRIALS_TERM 20
#define TRIALS_KILL 6 /* one in each phase with objects: prepare .. remove layer */

static const char *const phases[] = { "prepare",	 "import layer",    "create and start",
				      "check",		 "stop and remove", "remove layer",
				      "teardown" };
#define N_PHASES (sizeof(phases) / sizeof(phases[0]))

static unsigned int seed;

/*
 * Starts the selftest, waits for the first line of @phase on its stderr, sleeps up to
 * @max_delay_us, sends @sig, and returns the exit status (or 128 + signal).
 */
static int run_and_kill(const char *backend, const char *work, const char *jdir,
			const char *phase, unsigned int max_delay_us, int sig, bool *sent)
{
	const char *dev = getenv("STT_PRIV_DEVICE");
	char want[128], cmd[2048], devopt[256] = "";

	/* containerd's snapshotters sync their bolt stores on every operation: fewer objects
	 * make phases as long (and keep make check short). */
	bool ctrd = !strncmp(backend, "containerd-", 11);

	snprintf(want, sizeof(want), "%s: %s", backend, phase);
	if (dev && !strcmp(backend, "direct-lvm"))
		snprintf(devopt, sizeof(devopt), "--device %s --destroy-data %s", dev, dev);
	/* Sizes: enough for phases of some length here; the VM tier makes them smaller. */
	snprintf(cmd, sizeof(cmd),
		 "exec %s selftest --backend %s --layers %s --containers %s --workdir '%s' "
		 "--journal-dir '%s' --scratch-size 4G --data-size 4G --meta-size 128M "
		 "--base-size 1G %s >/dev/null",
		 priv_stortune(), backend, getenv("STT_INT_LAYERS") ?: ctrd ? "10" : "30",
		 getenv("STT_INT_CONTAINERS") ?: ctrd ? "40" : "120", work, jdir, devopt);
	return priv_kill_at_line(cmd, want, sig, max_delay_us, &seed, sent);
}

static bool clean(const char *work, const char *jdir, const char *what)
{
	char dm[4096];
	bool ok = priv_run_left_nothing(work, jdir, what);

	if (stt_dm_list(dm, sizeof(dm)) > 0 && (strstr(dm, "stortune") || strstr(dm, "stt"))) {
		fprintf(stderr, "%s: dm devices left: %s\n", what, dm);
		ok = false;
	}
	return ok;
}

static void run_backend(const char *backend)
{
	const char *dev = getenv("STT_PRIV_DEVICE");
	char work[PATH_MAX], jdir[PATH_MAX], what[160];
	unsigned int phases_hit[N_PHASES] = { 0 };
	bool sent;
	int st;

	seed = (unsigned int)time(NULL);
	printf("\n  (seed %u) ", seed);
	snprintf(work, sizeof(work), "%s/int-%s", priv_dir(), backend);
	snprintf(jdir, sizeof(jdir), "%s/int-journal-%s", priv_dir(), backend);

	for (int t = 0; t < TRIALS_TERM; t++) {
		size_t p = (size_t)t % N_PHASES;

		st = run_and_kill(backend, work, jdir, phases[p], 20000, SIGTERM, &sent);
		snprintf(what, sizeof(what), "%s SIGTERM in %s (trial %d, exit %d)", backend,
			 phases[p], t, st);
		CU_ASSERT_TRUE(sent);
		/* Interrupted: exit 1 (or 0 when it had just finished); never killed by it. */
		CU_ASSERT(st == 1 || st == 0);
		CU_ASSERT_TRUE(clean(work, jdir, what));
		phases_hit[p] += st == 1;
	}
	/* Most interrupts land before the run ends; each long phase was interrupted. */
	for (size_t p = 1; p < N_PHASES - 1; p++)
		CU_ASSERT(phases_hit[p] > 0);

	for (int t = 0; t < TRIALS_KILL; t++) {
		size_t p = 1 + (size_t)t % (N_PHASES - 2);
		char *out = NULL;

		snprintf(what, sizeof(what), "%s SIGKILL in %s, finished first (trial %d)",
			 backend, phases[p], t);
		/*
		 * A short phase (remove layer) can end, and the run with it, before the delay
		 * is over -- the run exits 0, or the kill lands after it undid its work and its
		 * journal is gone: such a run tested nothing and must have left nothing; try
		 * again.
		 */
		for (int again = 0; again < 5; again++) {
			st = run_and_kill(backend, work, jdir, phases[p], 20000, SIGKILL, &sent);
			if (st == 128 + SIGKILL &&
			    priv_sh("[ -n \"$(ls -A '%s' 2>/dev/null)\" ]", jdir) == 0)
				break;
			CU_ASSERT_TRUE(clean(work, jdir, what));
		}
		CU_ASSERT_EQUAL(st, 128 + SIGKILL);
		CU_ASSERT_EQUAL(priv_capture(&out, "%s cleanup --journal-dir '%s'", priv_stortune(),
					     jdir),
				0);
		/* cleanup said what it removed. */
		CU_ASSERT_PTR_NOT_NULL(out ? strstr(out, "1 journal replayed") : NULL);
		free(out);
		snprintf(what, sizeof(what), "%s SIGKILL in %s + cleanup (trial %d)", backend,
			 phases[p], t);
		CU_ASSERT_TRUE(clean(work, jdir, what));
	}
	if (dev && !strcmp(backend, "direct-lvm"))
		CU_ASSERT_EQUAL(priv_sh("[ -z \"$(blkid -p -o value -s TYPE %s)\" ]", dev), 0);
	priv_sh("rmdir '%s' '%s' 2>/dev/null", work, jdir);
}

static void test_overlay(void)
{
	run_backend("overlay");
}

static void test_dmloop(void)
{
	run_backend("dm-loop");
}

static void test_directlvm(void)
{
	run_backend("direct-lvm");
}

static void test_ctrd_overlay(void)
{
	run_backend("containerd-overlayfs");
}

static void test_ctrd_devmapper(void)
{
	run_backend("containerd-devmapper");
}

/* Whether @name is one of the comma-separated @list. */
static bool in_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	for (;;) {
		size_t k = strcspn(p, ",");

		if (k == n && !strncmp(p, name, n))
			return true;
		if (!p[k])
			return false;
		p += k + 1;
	}
}

/*
 * Two runs on one scratch directory: while the first makes its containers, a second is refused
 * (exit 2, naming the first's pid) and cleanup replays nothing of the live run; the first then
 * ends normally and nothing is left.
 */
static void test_two_runs(void)
{
	char work[PATH_MAX], jdir[PATH_MAX], want[64], *out = NULL;
	const char *first;
	int rc;

	snprintf(work, sizeof(work), "%s/two-work", priv_dir());
	snprintf(jdir, sizeof(jdir), "%s/two-journal", priv_dir());
	rc = priv_capture(&out,
			  "S=%s; W='%s'; J='%s'\n"
			  "$S selftest --backend overlay --layers 5 --containers 400 --workdir \"$W\" "
			  "--journal-dir \"$J\" >\"$W.first\" 2>&1 & P=$!\n"
			  "for i in $(seq 600); do grep -q 'create and start' \"$W.first\" && break; "
			  "sleep 0.1; done\n"
			  "kill -0 $P || exit 10\n"
			  "echo \"first=$P\"\n"
			  "$S selftest --backend overlay --workdir \"$W\" --journal-dir \"$J\" 2>&1\n"
			  "echo \"second=$?\"\n"
			  "$S cleanup --journal-dir \"$J\"; echo \"cleanup=$?\"\n"
			  "kill -0 $P && echo alive\n"
			  "wait $P; echo \"end=$?\"; rm -f \"$W.first\"",
			  priv_stortune(), work, jdir);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	if (!strstr(out, "second=2"))
		fprintf(stderr, "\n%s\n", out);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "second=2\n"));
	first = strstr(out, "first=");
	snprintf(want, sizeof(want), "(pid %d)", first ? atoi(first + 6) : 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "in use by another stortune run"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "0 journals replayed, 0 objects removed\ncleanup=0\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "alive\nend=0\n"));
	CU_ASSERT_TRUE(clean(work, jdir, "two runs"));
	free(out);
	priv_sh("rmdir '%s' '%s' 2>/dev/null", work, jdir);
}

int priv_register_interrupt(void)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{ "overlay", test_overlay },
		{ "dm-loop", test_dmloop },
		{ "direct-lvm", test_directlvm },
		{ "containerd-overlayfs", test_ctrd_overlay },
		{ "containerd-devmapper", test_ctrd_devmapper },
	};
	CU_pSuite s = CU_add_suite("interrupt", NULL, NULL);
	const char *req = getenv("STT_PRIV_REQUIRE"), *only = getenv("STT_PRIV_BACKENDS");

	if (!s)
		return CU_get_error();
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		const struct stt_backend_ops *ops = stt_backend_lookup(tests[i].name);
		struct stt_backend_opts o;
		char reason[256] = "", title[160];

		stt_backend_opts_init(&o);
		if (ops->available(&o, reason, sizeof(reason)) &&
		    !(req && strstr(req, tests[i].name)))
			continue;
		/* STT_PRIV_BACKENDS=a,b: only those (a run for one backend). */
		if (only && !in_list(only, tests[i].name))
			continue;
		snprintf(title, sizeof(title),
			 "%s: SIGTERM at %d random points across the phases, SIGKILL + cleanup "
			 "at %d",
			 tests[i].name, TRIALS_TERM, TRIALS_KILL);
		CU_add_test(s, strdup(title), tests[i].fn);
	}
	/* Here only: the VM tier (STT_INT_CONTAINERS set) makes runs too short to overlap. */
	if (stt_backend_lookup("overlay") && !getenv("STT_INT_CONTAINERS")) {
		struct stt_backend_opts o;
		char reason[256] = "";

		stt_backend_opts_init(&o);
		if (!stt_backend_lookup("overlay")->available(&o, reason, sizeof(reason)))
			CU_add_test(s, "two runs on one scratch directory; cleanup during a run",
				    test_two_runs);
	}
	return CU_get_error();
}
