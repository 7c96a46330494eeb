// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The real containerd (bench --engine containerd --backend containerd-overlayfs): a whole run
 * with every phase, the engine member and ctr's own cost; SIGINT in the middle of its steps
 * undoes everything itself, SIGKILL then `stortune cleanup` too; the snapshotter check before
 * measuring (devmapper here, where the kernel has no device-mapper: exit 2 naming what `ctr
 * plugins ls` reports); containerd not installed. After each: no process naming the run's
 * directory (containerd, its shims, ctr), no mount or loop device of it, no file in it, no
 * journal, no cgroup or runc state of a namespace of ours (stortune-ctrd-*) that was not
 * there before.
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

#define BENCH_ARGS \
	"bench --engine containerd --backend containerd-overlayfs --profile ci --scratch-size 2G "

static unsigned int seed;

static bool have_containerd(void)
{
	if (!access("/usr/bin/containerd", X_OK) && !access("/usr/bin/ctr", X_OK))
		return true;
	printf("\n  (containerd not installed: skipped) ");
	return false;
}

/* The cgroups and runc state directories of namespaces "stortune-ctrd-*", as one string. */
static void namespaces(char *out, size_t len)
{
	static const char *const pats[] = {"/sys/fs/cgroup/*/stortune-ctrd-*",
					   "/run/containerd/runc/stortune-ctrd-*"};

	out[0] = '\0';
	for (size_t k = 0; k < 2; k++) {
		glob_t g;

		if (glob(pats[k], 0, NULL, &g))
			continue;
		for (size_t i = 0; i < g.gl_pathc; i++) {
			size_t used = strlen(out);

			snprintf(out + used, len - used, "%s\n", g.gl_pathv[i]);
		}
		globfree(&g);
	}
}

static bool clean(const char *work, const char *jdir, const char *ns_before, const char *what)
{
	char ns[8192];
	bool ok = priv_run_left_nothing(work, jdir, what);

	namespaces(ns, sizeof(ns));
	if (strcmp(ns, ns_before)) {
		fprintf(stderr, "%s: cgroups or runc state left:\n%s", what, ns);
		ok = false;
	}
	return ok;
}

static int run_and_kill(const char *work, const char *jdir, const char *step, int sig, bool *sent)
{
	char want[128], cmd[2048];

	snprintf(want, sizeof(want), "containerd-overlayfs: %s\n", step);
	snprintf(cmd, sizeof(cmd),
		 "STT_PROGRESS=lines exec %s " BENCH_ARGS "--containers 3 --concurrency 2 "
		 "--repetitions 1 --workdir '%s' --journal-dir '%s' >/dev/null",
		 priv_stortune(), work, jdir);
	return priv_kill_at_line(cmd, want, sig, 150000, &seed, sent);
}

/* A whole run: every phase of both modes with n = 2 and an interval, the engine member. */
static void test_ctrrun(void)
{
	static const char *const ph[] = {"create",    "start", "first-read", "first-write",
					 "cow-write", "stop",  "remove"};
	char work[PATH_MAX], jdir[PATH_MAX], out[PATH_MAX], ns0[8192], *sockets = NULL;
	int st;

	if (!have_containerd())
		return;
	snprintf(work, sizeof(work), "%s/ctrrun", priv_dir());
	snprintf(jdir, sizeof(jdir), "%s/ctrrun-journal", priv_dir());
	snprintf(out, sizeof(out), "%s/ctrrun.json", priv_dir());
	namespaces(ns0, sizeof(ns0));
	st = priv_sh("%s " BENCH_ARGS "--containers 3 --concurrency 2 --repetitions 2 "
		     "--workdir '%s' --journal-dir '%s' -q -o '%s' >/dev/null",
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
			    m ? "warm" : "cold", ph[p]);
			st = priv_sh("jq -e '%s' '%s' >/dev/null", q, out);
			if (st)
				fprintf(stderr, "\n%s %s: no n = 2 with a 95%% interval\n",
					m ? "warm" : "cold", ph[p]);
			CU_ASSERT_EQUAL(st, 0);
		}
	/* the engine member: what ran, and ctr's own cost once per container and repetition */
	CU_ASSERT_EQUAL(
	    priv_sh(
		"jq -e '.options.engine == \"containerd\" and (.backends[0] | .status == \"ok\" "
		"and .engine.name == \"containerd\" and .engine.snapshotter == \"overlayfs\" "
		"and (.engine.version | length) > 0 and .engine.private and "
		".engine.cli_overhead_ns.n == 12 and .engine.cli_overhead_ns.median > 0 and "
		".engine.attach_round_trip_ns.n == 12)' '%s' >/dev/null",
		out),
	    0);
	/* containerd's root was on the backend's filesystem: the import and writes reached it */
	CU_ASSERT_EQUAL(priv_sh("jq -e '.backends[0].modes.cold.phases[\"first-write\"].device."
				"write_bytes.median > 0 and .backends[0].import.device_write_bytes "
				"> 0' '%s' >/dev/null",
				out),
			0);
	/* no shim socket of its containers is left in /run/containerd/s (sha256 of
	 * socket/namespace/id, as containerd 1.6 names them) */
	CU_ASSERT_EQUAL(
	    priv_capture(&sockets,
			 "a=$(jq -r '.backends[0].engine.address' '%s'); "
			 "n=$(jq -r '.backends[0].engine.namespace' '%s'); i=0; "
			 "while [ $i -lt 3 ]; do h=$(printf '%%s' \"$a/$n/$n-$i\" | "
			 "sha256sum | cut -d' ' -f1); [ -e /run/containerd/s/$h ] && echo $h; "
			 "i=$((i + 1)); done; true",
			 out, out),
	    0);
	CU_ASSERT_STRING_EQUAL(sockets ? sockets : "?", "");
	free(sockets);
	CU_ASSERT_TRUE(clean(work, jdir, ns0, "a whole run"));
	priv_sh("rm -f '%s'; rmdir '%s' '%s' 2>/dev/null", out, work, jdir);
}

static void test_ctrkill(void)
{
	static const struct {
		const char *step;
		int sig;
	} trials[] = {
	    {"import image", SIGINT},
	    {"cold first-read", SIGINT},
	    {"cold start", SIGKILL},
	};
	char work[PATH_MAX], jdir[PATH_MAX], what[200], ns0[8192];
	bool sent;
	int st;

	if (!have_containerd())
		return;
	seed = (unsigned int)time(NULL);
	printf("\n  (seed %u) ", seed);
	snprintf(work, sizeof(work), "%s/ctrkill", priv_dir());
	snprintf(jdir, sizeof(jdir), "%s/ctrkill-journal", priv_dir());
	namespaces(ns0, sizeof(ns0));
	for (size_t t = 0; t < sizeof(trials) / sizeof(trials[0]); t++) {
		int sig = trials[t].sig;

		for (int again = 0; again < 3; again++) {
			st = run_and_kill(work, jdir, trials[t].step, sig, &sent);
			if (sig != SIGKILL || st != 0)
				break;
			/* ended before the kill landed: nothing tested, nothing may be left */
			CU_ASSERT_TRUE(clean(work, jdir, ns0, "finished before SIGKILL"));
		}
		snprintf(what, sizeof(what), "%s in %s (exit %d)",
			 sig == SIGINT ? "SIGINT" : "SIGKILL", trials[t].step, st);
		CU_ASSERT_TRUE(sent);
		if (sig == SIGINT) {
			/* Interrupted: exit 1 (0 when it had just finished); never killed by it. */
			CU_ASSERT(st == 1 || st == 0);
		} else {
			char *out = NULL;

			CU_ASSERT_EQUAL(st, 128 + SIGKILL);
			/* the shims' sockets the journal names: gone after the cleanup */
			priv_sh("cut -f3 '%s'/* | grep '^/run/containerd/s/' >'%s.socks'", jdir,
				work);
			CU_ASSERT_EQUAL(priv_capture(&out, "%s cleanup --journal-dir '%s'",
						     priv_stortune(), jdir),
					0);
			CU_ASSERT_PTR_NOT_NULL(out ? strstr(out, "1 journal replayed") : NULL);
			free(out);
			CU_ASSERT_EQUAL(priv_sh("[ -s '%s.socks' ] && ! xargs ls -d <'%s.socks' "
						"2>/dev/null",
						work, work),
					0);
			priv_sh("rm -f '%s.socks'", work);
		}
		if (!clean(work, jdir, ns0, what) || !sent) {
			fprintf(stderr, "%s\n", what);
			CU_FAIL("left something");
		}
	}
	priv_sh("rmdir '%s' '%s' 2>/dev/null", work, jdir);
}

/*
 * Before anything is measured: a snapshotter that ctr plugins ls does not report "ok" (devmapper
 * here: the kernel has no device-mapper) is exit 2 with what it reports; containerd not
 * installed is exit 2 saying how to install it; a Docker backend under containerd is skipped.
 */
static void test_ctrbad(void)
{
	char work[PATH_MAX], jdir[PATH_MAX], fake[PATH_MAX], ns0[8192], *out = NULL;
	int st;

	if (!have_containerd())
		return;
	snprintf(work, sizeof(work), "%s/ctrbad", priv_dir());
	snprintf(jdir, sizeof(jdir), "%s/ctrbad-journal", priv_dir());
	snprintf(fake, sizeof(fake), "%s/ctrbad-bin", priv_dir());
	namespaces(ns0, sizeof(ns0));

	if (access("/dev/mapper/control", F_OK) == 0 &&
	    priv_sh("dmsetup version >/dev/null 2>&1") == 0) {
		printf("\n  (device-mapper present: the devmapper refusal is the VM tier's) ");
	} else {
		st = priv_capture(&out,
				  "mkdir -p '%s' && %s bench --engine containerd --backend "
				  "containerd-devmapper --workdir '%s' --journal-dir '%s' 2>&1",
				  work, priv_stortune(), work, jdir);
		CU_ASSERT_EQUAL(st, 2);
		CU_ASSERT_PTR_NOT_NULL(out ? strstr(out, "snapshotter devmapper: ctr plugins ls "
							 "reports it as \"error\"")
					   : NULL);
		CU_ASSERT_PTR_NOT_NULL(out ? strstr(out, "overlayfs (ok)") : NULL);
		if (st != 2 && out)
			fprintf(stderr, "%s\n", out);
		free(out);
		CU_ASSERT_TRUE(clean(work, jdir, ns0, "devmapper refused"));
	}

	/* no containerd in PATH */
	st = priv_capture(&out,
			  "mkdir -p '%s' && PATH='%s' %s " BENCH_ARGS
			  "--workdir '%s' --journal-dir '%s' 2>&1",
			  fake, fake, priv_stortune(), work, jdir);
	CU_ASSERT_EQUAL(st, 2);
	CU_ASSERT_PTR_NOT_NULL(out ? strstr(out, "containerd: not installed") : NULL);
	CU_ASSERT_PTR_NOT_NULL(out ? strstr(out, "apt-get install containerd") : NULL);
	CU_ASSERT(out && strchr(out, '\n') && !strchr(out, '\n')[1]); /* one line */
	free(out);
	CU_ASSERT_TRUE(clean(work, jdir, ns0, "containerd not installed"));

	/* --docker-host is dockerd's */
	st = priv_capture(&out,
			  "%s " BENCH_ARGS "--docker-host unix:///none.sock --workdir '%s' "
			  "--journal-dir '%s' 2>&1",
			  priv_stortune(), work, jdir);
	CU_ASSERT_EQUAL(st, 2);
	free(out);
	priv_sh("rm -rf '%s'; rmdir '%s' '%s' 2>/dev/null", fake, work, jdir);
}

int priv_register_ctrkill(void)
{
	CU_pSuite s = CU_add_suite("ctrkill", NULL, NULL);

	if (!s ||
	    !CU_add_test(s, "bench --engine containerd: every phase, ctr's cost, nothing left",
			 test_ctrrun) ||
	    !CU_add_test(s, "bench --engine containerd: SIGINT in steps, SIGKILL + cleanup",
			 test_ctrkill) ||
	    !CU_add_test(s,
			 "bench --engine containerd: a snapshotter ctr plugins ls lacks, no "
			 "containerd, --docker-host",
			 test_ctrbad))
		return CUE_NOMEMORY;
	return CUE_SUCCESS;
}
