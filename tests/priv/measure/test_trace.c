// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * `stortune trace` for real: a bookworm image made with debootstrap (scripts/trace-image.sh,
 * cached in build/trace/), `python3 -c 'import http.server'` traced in it under the private
 * dockerd, the trace checked (the interpreter's pages faulted in, http.server's bytecode read
 * whole, libc mapped, every range inside its file, nothing lost), then replayed by
 * `bench --profile` on overlay, emulated and through the engine (tools/replay.c in the
 * containers). Bad input (a command not in the image, a tar that is not a
 * docker save, a trace profile without its image) is exit 2 with nothing made; SIGINT undoes
 * a trace, SIGKILL + `cleanup` too. After each: no process, mount, loop device, file or journal
 * of the run, and no tracefs instance of ours.
 */
#include "priv.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PACKAGES "python3,perl"
#define TAG	 "stortune-trace:python-perl"

static char image[PATH_MAX];
static bool have_image;

static const char *image_path(void)
{
	const char *s = getenv("STT_TRACE_IMAGE");

	return s && *s ? s : "build/trace/debian-python-perl.tar";
}

/* The image, built once (minutes: debootstrap) and kept in build/trace/. */
static int suite_init(void)
{
	snprintf(image, sizeof(image), "%s", image_path());
	if (access("/usr/sbin/dockerd", X_OK) && access("/usr/bin/dockerd", X_OK)) {
		printf("\n  (dockerd not installed: trace skipped) ");
		return 0;
	}
	if (priv_sh("scripts/trace-image.sh '%s' '%s' '%s'", image, TAG, PACKAGES)) {
		fprintf(stderr, "trace: cannot build the debootstrap image %s\n", image);
		return 0; /* the tests then fail on the missing image */
	}
	have_image = true;
	return 0;
}

/* Nothing of the run left (priv_run_left_nothing), once its lazily freed loop devices went. */
static bool clean(const char *work, const char *jdir, const char *what)
{
	/* A loop device whose filesystem was lazily unmounted goes when its last user has. */
	for (int i = 0; i < 50 && priv_sh("losetup -a | grep -q '%s'", work) == 0; i++)
		usleep(100000);
	return priv_run_left_nothing(work, jdir, what);
}

/* jq -e @q on @file; says which check failed. */
static int jq(const char *file, const char *q)
{
	int st = priv_sh("jq -e '%s' '%s' >/dev/null", q, file);

	if (st)
		fprintf(stderr, "\ntrace check failed: %s\n", q);
	return st;
}

static void test_trace_and_replay(void)
{
	char work[PATH_MAX], jdir[PATH_MAX], out[PATH_MAX], prof[PATH_MAX], res[PATH_MAX];
	char *text = NULL;
	int st;

	if (!have_image) {
		CU_ASSERT_TRUE(access("/usr/sbin/dockerd", X_OK) &&
			       access("/usr/bin/dockerd", X_OK));
		return;
	}
	snprintf(work, sizeof(work), "%s/trace", priv_dir());
	snprintf(jdir, sizeof(jdir), "%s/trace-journal", priv_dir());
	snprintf(out, sizeof(out), "%s/python.trace.json", priv_dir());
	snprintf(prof, sizeof(prof), "%s/python-trace.ini", priv_dir());
	snprintf(res, sizeof(res), "%s/python-trace.results.json", priv_dir());

	st = priv_sh("%s trace '%s' --seconds 30 --scratch-size 4G --workdir '%s' "
		     "--journal-dir '%s' -q -o '%s' -- python3 -c 'import http.server' >/dev/null",
		     priv_stortune(), image, work, jdir, out);
	CU_ASSERT_EQUAL_FATAL(st, 0);
	CU_ASSERT_TRUE(clean(work, jdir, "a trace"));
	/* The command ran to its end, within the time, and nothing was lost. */
	CU_ASSERT_EQUAL(jq(out, ".schema == \"stortune-trace\" and .ended == \"exited\" and "
				".exit_code == 0 and .totals.lost_events == 0 and "
				".command == [\"python3\", \"-c\", \"import http.server\"]"),
			0);
	/* The interpreter: its pages came by faults on the mapping, not by read(). */
	CU_ASSERT_EQUAL(jq(out, ".files[] | select(.path == \"usr/bin/python3.11\") | "
				"([.ranges[] | select(.[2] == \"f\")] | length) > 5 and "
				".size_bytes > 1000000 and (.readers | test(\"python3\"))"),
			0);
	/* libc mapped by the dynamic loader, before http.server's modules. */
	CU_ASSERT_EQUAL(jq(out, "[.files[].path] | index(\"usr/lib/x86_64-linux-gnu/libc.so.6\") "
				"< index(\"usr/lib/python3.11/http/__pycache__/"
				"server.cpython-311.pyc\")"),
			0);
	/* http.server's bytecode read whole from offset 0 by read(). */
	CU_ASSERT_EQUAL(jq(out, ".files[] | select(.path == \"usr/lib/python3.11/http/__pycache__/"
				"server.cpython-311.pyc\") | .ranges[0][0] == 0 and "
				".ranges[0][2] == \"r\" and .unique_bytes == .size_bytes"),
			0);
	/* Every range inside its file; a cold start brings pages from storage. */
	CU_ASSERT_EQUAL(jq(out,
			   "all(.files[]; .size_bytes as $s | all(.ranges[]; .[0] >= 0 and "
			   ".[1] > 0 and .[0] + .[1] <= $s)) and .totals.cached_bytes > 1000000 "
			   "and .totals.files > 40 and .totals.read_bytes > 1000000"),
			0);
	/* Nothing of another program's image: every path is python's, the loader's or a config. */
	CU_ASSERT_EQUAL(jq(out, "all(.files[].path; test(\"^(usr|etc)/\"))"), 0);

	/* Replayed by bench on overlay, against the same image. */
	CU_ASSERT_EQUAL_FATAL(
	    priv_sh("sed -e 's|^trace = .*|trace = %s|' -e 's|^containers = .*|containers = 3|' "
		    "-e 's|^repetitions = .*|repetitions = 1|' profiles/python-http.ini >'%s'",
		    out, prof),
	    0);
	st =
	    priv_capture(&text,
			 "%s bench --backend overlay --profile '%s' --image '%s' --scratch-size 4G "
			 "--workdir '%s' --journal-dir '%s' -q -o '%s' 2>&1",
			 priv_stortune(), prof, image, work, jdir, res);
	if (st)
		fprintf(stderr, "\n%s\n", text ? text : "");
	free(text);
	CU_ASSERT_EQUAL(st, 0);
	CU_ASSERT_TRUE(clean(work, jdir, "a bench replaying the trace"));
	CU_ASSERT_EQUAL(jq(res, ".trace.files > 40 and .trace.read_bytes > 1000000 and "
				".backends[0].status == \"ok\" and "
				".backends[0].modes.cold.phases[\"first-read\"].p50_ns.median > 0"),
			0);
	/* The cold replay read from the device under overlay. */
	CU_ASSERT_EQUAL(jq(res, ".backends[0].modes.cold.phases[\"first-read\"].device.read_bytes."
				"median > 100000"),
			0);

	/* And through the real engine: the static replayer in the containers. */
	st = priv_capture(&text,
			  "%s bench --engine docker --backend overlay --profile '%s' --image '%s' "
			  "--containers 2 --repetitions 1 --scratch-size 4G --workdir '%s' "
			  "--journal-dir '%s' -q -o '%s' 2>&1",
			  priv_stortune(), prof, image, work, jdir, res);
	if (st)
		fprintf(stderr, "\n%s\n", text ? text : "");
	free(text);
	CU_ASSERT_EQUAL(st, 0);
	CU_ASSERT_TRUE(clean(work, jdir, "bench --engine docker replaying the trace"));
	CU_ASSERT_EQUAL(jq(res,
			   ".backends[0].status == \"ok\" and "
			   "(.backends[0].engine.trace_replay | startswith(\"stortune-replay\")) "
			   "and .backends[0].modes.cold.phases[\"first-read\"].device.read_bytes."
			   "median > 100000"),
			0);

	/* The trace profile without its image: exit 2, nothing made. */
	st = priv_capture(&text,
			  "%s bench --backend overlay --profile '%s' --workdir '%s' "
			  "--journal-dir '%s' 2>&1",
			  priv_stortune(), prof, work, jdir);
	CU_ASSERT_EQUAL(st, 2);
	CU_ASSERT_PTR_NOT_NULL(text ? strstr(text, "give that image with --image") : NULL);
	free(text);
	CU_ASSERT_TRUE(clean(work, jdir, "a trace profile without its image"));
	priv_sh("rm -f '%s' '%s' '%s'; rmdir '%s' '%s' 2>/dev/null", out, prof, res, work, jdir);
}

static void test_trace_bad(void)
{
	char work[PATH_MAX], jdir[PATH_MAX], bad[PATH_MAX], *text = NULL;
	int st;

	if (!have_image) {
		CU_ASSERT_TRUE(access("/usr/sbin/dockerd", X_OK) &&
			       access("/usr/bin/dockerd", X_OK));
		return;
	}
	snprintf(work, sizeof(work), "%s/trace-bad", priv_dir());
	snprintf(jdir, sizeof(jdir), "%s/trace-bad-journal", priv_dir());
	snprintf(bad, sizeof(bad), "%s/not-a-save.tar", priv_dir());

	st =
	    priv_capture(&text, "%s trace '%s' --workdir '%s' --journal-dir '%s' -- nodejs -v 2>&1",
			 priv_stortune(), image, work, jdir);
	CU_ASSERT_EQUAL(st, 2);
	CU_ASSERT_PTR_NOT_NULL(text ? strstr(text, "nodejs: not in the image") : NULL);
	free(text);
	CU_ASSERT_EQUAL(priv_sh("[ ! -e '%s' ]", work), 0);
	CU_ASSERT_TRUE(clean(work, jdir, "a command not in the image"));

	st = priv_capture(
	    &text, "%s trace '%s' --workdir '%s' --journal-dir '%s' -- /usr/bin/python2 2>&1",
	    priv_stortune(), image, work, jdir);
	CU_ASSERT_EQUAL(st, 2);
	CU_ASSERT_PTR_NOT_NULL(text ? strstr(text, "/usr/bin/python2: not in the image") : NULL);
	free(text);

	CU_ASSERT_EQUAL_FATAL(priv_sh("tar -cf '%s' -C /etc hostname", bad), 0);
	st = priv_capture(&text, "%s trace '%s' --workdir '%s' --journal-dir '%s' -- sh 2>&1",
			  priv_stortune(), bad, work, jdir);
	CU_ASSERT_EQUAL(st, 2);
	CU_ASSERT_PTR_NOT_NULL(text ? strstr(text, "manifest.json") : NULL);
	free(text);
	CU_ASSERT_TRUE(clean(work, jdir, "not a docker save"));
	priv_sh("rm -f '%s'; rmdir '%s' '%s' 2>/dev/null", bad, work, jdir);
}

/*
 * A trace of `sleep` that runs out of --seconds; then one killed while it records: SIGINT
 * undoes it all, SIGKILL + cleanup too.
 */
static void test_trace_kill(void)
{
	static const int sigs[] = {SIGINT, SIGKILL};
	char work[PATH_MAX], jdir[PATH_MAX], what[64];
	unsigned int seed = (unsigned int)time(NULL);

	if (!have_image) {
		CU_ASSERT_TRUE(access("/usr/sbin/dockerd", X_OK) &&
			       access("/usr/bin/dockerd", X_OK));
		return;
	}
	snprintf(work, sizeof(work), "%s/tk", priv_dir());
	snprintf(jdir, sizeof(jdir), "%s/tk-journal", priv_dir());
	/* A command that outlives --seconds: recorded for that long, then stopped and removed. */
	{
		char out[PATH_MAX];

		snprintf(out, sizeof(out), "%s/sleep.trace.json", priv_dir());
		CU_ASSERT_EQUAL(
		    priv_sh("%s trace '%s' --seconds 3 --scratch-size 4G --workdir '%s' "
			    "--journal-dir '%s' -q -o '%s' -- sleep 120 >/dev/null",
			    priv_stortune(), image, work, jdir, out),
		    0);
		CU_ASSERT_EQUAL(jq(out, ".ended == \"seconds\" and .exit_code == null and "
					".traced_ms >= 3000 and (.files | map(.path) | "
					"index(\"usr/bin/sleep\")) != null"),
				0);
		CU_ASSERT_TRUE(clean(work, jdir, "a trace that ran out of seconds"));
		priv_sh("rm -f '%s'", out);
	}
	for (size_t i = 0; i < 2; i++) {
		char cmd[2048];
		pid_t pid;
		int st;

		snprintf(cmd, sizeof(cmd),
			 "exec %s trace '%s' --seconds 60 --scratch-size 4G --workdir '%s' "
			 "--journal-dir '%s' -q -- sleep 120 >/dev/null 2>&1",
			 priv_stortune(), image, work, jdir);
		pid = fork();
		CU_ASSERT_FATAL(pid >= 0);
		if (!pid) {
			execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
			_exit(127);
		}
		/*
		 * While it records: its tracefs is mounted (under the workdir) just before the
		 * container starts; then up to 2 s more.
		 */
		for (int k = 0; k < 1200; k++) {
			if (!priv_sh("grep -q ' %s/tracefs-' /proc/self/mountinfo", work))
				break;
			usleep(100000);
		}
		CU_ASSERT_EQUAL(priv_sh("grep -q ' %s/tracefs-' /proc/self/mountinfo", work), 0);
		usleep(200000 + (unsigned int)rand_r(&seed) % 1800000);
		kill(pid, sigs[i]);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		if (sigs[i] == SIGINT) {
			CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 1);
		} else {
			char *out = NULL;

			CU_ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
			CU_ASSERT_EQUAL(priv_capture(&out, "%s cleanup --journal-dir '%s'",
						     priv_stortune(), jdir),
					0);
			CU_ASSERT_PTR_NOT_NULL(out ? strstr(out, "1 journal replayed") : NULL);
			free(out);
		}
		snprintf(what, sizeof(what), "%s during a trace",
			 sigs[i] == SIGINT ? "SIGINT" : "SIGKILL + cleanup");
		CU_ASSERT_TRUE(clean(work, jdir, what));
		/* Our instance went with it (tracefs is ours, so its instances are all gone). */
	}
	priv_sh("rmdir '%s' '%s' 2>/dev/null", work, jdir);
}

int priv_register_trace(void)
{
	CU_pSuite s = CU_add_suite("trace", suite_init, NULL);

	if (!s ||
	    !CU_add_test(s, "trace python3 in a debootstrapped image; bench replays it",
			 test_trace_and_replay) ||
	    !CU_add_test(s, "trace: bad input is exit 2 and makes nothing", test_trace_bad) ||
	    !CU_add_test(s, "trace: --seconds up, SIGINT, SIGKILL + cleanup leave nothing",
			 test_trace_kill))
		return CU_get_error();
	return CU_get_error();
}
