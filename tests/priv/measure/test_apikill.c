// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The real engine interrupted: `stortune bench --engine docker --backend overlay` killed with
 * SIGINT in the middle of each of its steps (the private dockerd starting, the image loading,
 * and every phase of the containers) undoes everything itself; killed with SIGKILL there,
 * `stortune cleanup --journal-dir` removes what it left. After each: no process naming the
 * run's directory (dockerd, containerd, shims), no mount or loop device of it, no file in it,
 * no journal, no cgroup of its dockerd (named after its directory).
 */
#include "priv.h"


#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/*
 * Each trial is a run of its own (about 10-30 s here), so `make check` kills it in a few steps
 * (quick: SIGINT, 'k': SIGKILL) and STT_APIKILL_FULL=1 (`make check-engine`) in every step with
 * both signals.
 */
static const struct {
	const char *name;
	char quick; /* 'i': SIGINT in make check, 'k': SIGKILL, 0: only in the full run */
} steps[] = {
    {"starting the engine", 'i'}, {"load image", 'k'},	    {"cold create", 0},
    {"cold start", 'k'},	  {"cold first-read", 'i'}, {"cold first-write", 0},
    {"cold cow-write", 0},	  {"cold stop", 'i'},	    {"cold remove", 0},
};
#define N_STEPS (sizeof(steps) / sizeof(steps[0]))

static unsigned int seed;

/*
 * The cgroups of the private dockerds of runs in @work (named after their directory:
 * "stortune-<work with '-' for '/'>-overlay-...-mnt-dockerd-<random>"), as one string.
 */
static void cgroups(const char *work, char *out, size_t len)
{
	char pat[PATH_MAX + 64], *p;
	glob_t g;

	out[0] = '\0';
	p = pat + snprintf(pat, sizeof(pat), "/sys/fs/cgroup/*/stortune");
	snprintf(p, sizeof(pat) - (size_t)(p - pat), "%s-overlay-*", work);
	for (; *p; p++)
		if (*p == '/')
			*p = '-';
	if (glob(pat, 0, NULL, &g))
		return;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		size_t used = strlen(out);

		snprintf(out + used, len - used, "%s\n", g.gl_pathv[i]);
	}
	globfree(&g);
}

static int run_and_kill(const char *work, const char *jdir, const char *step, int sig, bool *sent)
{
	char want[128], cmd[2048];

	snprintf(want, sizeof(want), "overlay: %s\n", step);
	snprintf(cmd, sizeof(cmd),
		 "STT_PROGRESS=lines exec %s bench --engine docker --backend overlay --profile ci "
		 "--containers 4 --concurrency 2 --repetitions 1 --scratch-size 2G --workdir '%s' "
		 "--journal-dir '%s' >/dev/null",
		 priv_stortune(), work, jdir);
	/* In the middle of the step: most take 0.1 s to a few seconds here. */
	return priv_kill_at_line(cmd, want, sig, 150000, &seed, sent);
}

static bool clean(const char *work, const char *jdir, const char *cg_before, const char *what)
{
	char cg[8192];
	bool ok = priv_run_left_nothing(work, jdir, what);

	cgroups(work, cg, sizeof(cg));
	if (strcmp(cg, cg_before)) {
		fprintf(stderr, "%s: cgroups left:\n%s", what, cg);
		ok = false;
	}
	return ok;
}

static void test_apikill(void)
{
	char work[PATH_MAX], jdir[PATH_MAX], what[200], cg0[8192];
	bool sent, full;
	int st;

	if (access("/usr/sbin/dockerd", X_OK) && access("/usr/bin/dockerd", X_OK)) {
		printf("\n  (dockerd not installed: skipped) ");
		return;
	}
	seed = (unsigned int)time(NULL);
	printf("\n  (seed %u) ", seed);
	snprintf(work, sizeof(work), "%s/apikill", priv_dir());
	snprintf(jdir, sizeof(jdir), "%s/apikill-journal", priv_dir());
	cgroups(work, cg0, sizeof(cg0));
	full = getenv("STT_APIKILL_FULL") && !strcmp(getenv("STT_APIKILL_FULL"), "1");
	printf("(%s) ", full ? "every step, both signals" : "quick: STT_APIKILL_FULL=1 for all");

	for (size_t s = 0; s < N_STEPS; s++) {
		if (!full && steps[s].quick != 'i')
			continue;
		st = run_and_kill(work, jdir, steps[s].name, SIGINT, &sent);
		snprintf(what, sizeof(what), "SIGINT in %s (exit %d)", steps[s].name, st);
		CU_ASSERT_TRUE(sent);
		/* Interrupted: exit 1 (0 when it had just finished); never killed by it. */
		CU_ASSERT(st == 1 || st == 0);
		CU_ASSERT_TRUE(clean(work, jdir, cg0, what));
		if (!sent || (st != 0 && st != 1))
			fprintf(stderr, "%s\n", what);
	}
	for (size_t s = 0; s < N_STEPS; s++) {
		char *out = NULL;

		if (!full && steps[s].quick != 'k')
			continue;
		/* A run that ended before the kill tested nothing (and must have left nothing). */
		for (int again = 0; again < 4; again++) {
			st = run_and_kill(work, jdir, steps[s].name, SIGKILL, &sent);
			if (st != 0)
				break;
			snprintf(what, sizeof(what), "SIGKILL in %s, finished first",
				 steps[s].name);
			CU_ASSERT_TRUE(clean(work, jdir, cg0, what));
		}
		CU_ASSERT_EQUAL(st, 128 + SIGKILL);
		CU_ASSERT_EQUAL(
		    priv_capture(&out, "%s cleanup --journal-dir '%s'", priv_stortune(), jdir), 0);
		CU_ASSERT_PTR_NOT_NULL(out ? strstr(out, "1 journal replayed") : NULL);
		free(out);
		snprintf(what, sizeof(what), "SIGKILL in %s + cleanup", steps[s].name);
		CU_ASSERT_TRUE(clean(work, jdir, cg0, what));
	}
	priv_sh("rmdir '%s' '%s' 2>/dev/null", work, jdir);
}

/*
 * Bad input and faults of the real engine: dockerd not installed (exit 2, one line saying how
 * to install it, nothing made); a dockerd that never answers (here a stand-in in PATH that
 * only sleeps: the timeout logic is what is tested) gives its log's last lines, exit 1 and
 * leaves nothing; an unreachable --docker-host is exit 2.
 */
static void test_apibad(void)
{
	char work[PATH_MAX], jdir[PATH_MAX], fake[PATH_MAX], cg0[8192], *out = NULL;
	int st;

	snprintf(work, sizeof(work), "%s/apibad", priv_dir());
	snprintf(jdir, sizeof(jdir), "%s/apibad-journal", priv_dir());
	snprintf(fake, sizeof(fake), "%s/apibad-bin", priv_dir());
	cgroups(work, cg0, sizeof(cg0));

	/* no dockerd in PATH */
	st = priv_capture(&out,
			  "mkdir -p '%s' && PATH='%s' %s bench --engine docker --backend overlay "
			  "--workdir '%s' --journal-dir '%s' 2>&1",
			  fake, fake, priv_stortune(), work, jdir);
	CU_ASSERT_EQUAL(st, 2);
	CU_ASSERT_PTR_NOT_NULL(out ? strstr(out, "dockerd: not installed") : NULL);
	CU_ASSERT_PTR_NOT_NULL(out ? strstr(out, "apt-get install docker.io") : NULL);
	CU_ASSERT(out && !strchr(out, '\n')[1]); /* one line */
	free(out);
	CU_ASSERT_EQUAL(
	    priv_sh("[ ! -e '%s' ] && [ -z \"$(ls -A '%s' 2>/dev/null)\" ]", work, jdir), 0);

	/* a dockerd that never answers: --dockerd-timeout, its log, everything undone */
	CU_ASSERT_EQUAL_FATAL(
	    priv_sh(
		"printf '%%s\\n' '#!/bin/sh' "
		"'[ \"$1\" = --version ] && { echo Docker version 20.10.24, build x; exit 0; }' "
		"'echo stand-in dockerd: waiting for nothing >&2' 'exec sleep 600' "
		">'%s/dockerd' && chmod +x '%s/dockerd'",
		fake, fake),
	    0);
	st = priv_capture(&out,
			  "PATH='%s':\"$PATH\" %s bench --engine docker --backend overlay "
			  "--dockerd-timeout 2 --containers 2 --repetitions 1 --scratch-size 2G "
			  "--workdir '%s' --journal-dir '%s' 2>&1",
			  fake, priv_stortune(), work, jdir);
	CU_ASSERT_EQUAL(st, 1);
	CU_ASSERT_PTR_NOT_NULL(out ? strstr(out, "did not answer") : NULL);
	CU_ASSERT_PTR_NOT_NULL(out ? strstr(out, "stand-in dockerd: waiting for nothing") : NULL);
	if (st != 1 && out)
		fprintf(stderr, "%s\n", out);
	free(out);
	CU_ASSERT_TRUE(clean(work, jdir, cg0, "dockerd timeout"));

	/* --docker-host that nothing answers */
	st = priv_capture(&out,
			  "%s bench --engine docker --docker-host unix://%s/none.sock "
			  "--workdir '%s' --journal-dir '%s' 2>&1",
			  priv_stortune(), priv_dir(), work, jdir);
	CU_ASSERT_EQUAL(st, 2);
	CU_ASSERT_PTR_NOT_NULL(out ? strstr(out, "unreachable") : NULL);
	free(out);
	CU_ASSERT_EQUAL(priv_sh("[ -z \"$(ls -A '%s' 2>/dev/null)\" ]", work), 0);
	priv_sh("rm -rf '%s'; rmdir '%s' '%s' 2>/dev/null", fake, work, jdir);
}

/*
 * A whole run through the real engine: every phase of both modes with n = the repetitions and
 * a 95% interval, the engine member, device counters that saw the writes; then nothing left.
 */
static void test_apirun(void)
{
	char work[PATH_MAX], jdir[PATH_MAX], out[PATH_MAX], cg0[8192];
	static const char *const ph[] = {"create",    "start", "first-read", "first-write",
					 "cow-write", "stop",  "remove"};
	const char *modes[] = {"cold", "warm"};
	int st;

	if (access("/usr/sbin/dockerd", X_OK) && access("/usr/bin/dockerd", X_OK)) {
		printf("\n  (dockerd not installed: skipped) ");
		return;
	}
	snprintf(work, sizeof(work), "%s/apirun", priv_dir());
	snprintf(jdir, sizeof(jdir), "%s/apirun-journal", priv_dir());
	snprintf(out, sizeof(out), "%s/apirun.json", priv_dir());
	cgroups(work, cg0, sizeof(cg0));
	st = priv_sh("%s bench --engine docker --backend overlay --profile ci --containers 3 "
		     "--concurrency 2 --repetitions 2 --scratch-size 2G --workdir '%s' "
		     "--journal-dir '%s' -q -o '%s' >/dev/null",
		     priv_stortune(), work, jdir, out);
	CU_ASSERT_EQUAL_FATAL(st, 0);
	for (size_t m = 0; m < 2; m++)
		for (size_t p = 0; p < sizeof(ph) / sizeof(ph[0]); p++) {
			char q[256];

			snprintf(
			    q, sizeof(q),
			    ".backends[0].modes.%s.phases[\"%s\"].p50_ns | .n == 2 and "
			    "(.ci95 | length) == 2 and .median > 0 and .ci95[0] <= .median and "
			    ".median <= .ci95[1]",
			    modes[m], ph[p]);
			st = priv_sh("jq -e '%s' '%s' >/dev/null", q, out);
			if (st)
				fprintf(stderr, "\n%s %s: no n = 2 with a 95%% interval\n",
					modes[m], ph[p]);
			CU_ASSERT_EQUAL(st, 0);
		}
	CU_ASSERT_EQUAL(
	    priv_sh("jq -e '.backends[0] | .status == \"ok\" and .engine.name == "
		    "\"docker\" and .engine.driver == \"overlay2\" and "
		    ".engine.driver_status[\"Backing Filesystem\"] == \"xfs\" and "
		    ".engine.private and (.engine.version | length) > 0' '%s' >/dev/null",
		    out),
	    0);
	/* the writes reached the device under the engine's data root */
	CU_ASSERT_EQUAL(priv_sh("jq -e '.backends[0].modes.cold.phases[\"first-write\"].device."
				"write_bytes.median > 0 and .backends[0].import.device_write_bytes "
				"> 0' '%s' >/dev/null",
				out),
			0);
	CU_ASSERT_TRUE(clean(work, jdir, cg0, "a whole run"));
	priv_sh("rm -f '%s'; rmdir '%s' '%s' 2>/dev/null", out, work, jdir);
}

int priv_register_apikill(void)
{
	CU_pSuite s = CU_add_suite("apikill", NULL, NULL);

	if (!s ||
	    !CU_add_test(s, "bench --engine docker: every phase, n and intervals, nothing left",
			 test_apirun) ||
	    !CU_add_test(s, "bench --engine docker: SIGINT, SIGKILL + cleanup in each step",
			 test_apikill) ||
	    !CU_add_test(s,
			 "bench --engine docker: no dockerd, a dockerd that never answers, "
			 "--docker-host unreachable",
			 test_apibad))
		return CUE_NOMEMORY;
	return CUE_SUCCESS;
}
