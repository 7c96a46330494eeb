// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Docker accepts what stortune recommends: a real results file (stortune bench on overlay,
 * natively, a small profile) goes through `stortune recommend`; the daemon.json it writes,
 * merged into a configuration that has keys of its own (log options, labels with non-ASCII
 * text), is given to Debian's dockerd (its own data root and socket, scripts/dockerd-test.sh).
 * dockerd must start, `docker info` must report the recommended driver, the data root and the
 * labels, and a container of a locally imported image (busybox) must run. Then dockerd is
 * stopped and nothing of it may be left: no process, no mount, no directory.
 *
 * The suite is registered only when dockerd is installed (it says why not otherwise).
 */
#include "priv.h"

#include "base/json.h"

#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char work[PATH_MAX];	   /* results, outputs, the image */
static char ddir[PATH_MAX];	   /* the dockerd's */
static char docker[PATH_MAX + 64]; /* "/usr/bin/docker -H unix://.../docker.sock" */
static char driver[32];		   /* what recommend chose */
static bool running;

static int dockerd_stop(void)
{
	return priv_dockerd_stop(ddir, &running);
}

static int suite_clean(void)
{
	dockerd_stop();
	priv_sh("rm -rf '%s'", work);
	return 0;
}

/* The configuration an operator already has: keys recommend must keep. */
static const char base_config[] = "{\n"
				  "  \"log-driver\": \"json-file\",\n"
				  "  \"log-opts\": { \"max-size\": \"1m\", \"max-file\": \"2\" },\n"
				  "  \"labels\": [\"stortune-test=Zürich ☃\", \"site=lab/1\"],\n"
				  "  \"storage-driver\": \"vfs\",\n"
				  "  \"max-concurrent-downloads\": 2\n"
				  "}\n";

static void test_recommend(void)
{
	char *out = NULL, cfg[PATH_MAX + 32];
	struct json_object *rec;
	FILE *f;

	CU_ASSERT_EQUAL_FATAL(priv_sh("mkdir -p '%s'", work), 0);
	CU_ASSERT_EQUAL_FATAL(
	    priv_sh("%s bench --backend overlay --profile ci --containers 4 "
		    "--repetitions 2 --workdir '%s/bench' --journal-dir '%s/j' -q "
		    "-o '%s/results.json' >/dev/null",
		    priv_stortune(), work, work, work),
	    0);
	/* the recommendation for this host's dockerd (dockerd --version), data-root in DIR */
	CU_ASSERT_EQUAL_FATAL(priv_capture(&out,
					   "%s recommend '%s/results.json' -o '%s/out' "
					   "--data-root '%s/root' --json",
					   priv_stortune(), work, work, ddir),
			      0);
	rec = json_tokener_parse(out);
	free(out);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rec);
	snprintf(driver, sizeof(driver), "%s",
		 json_object_get_string(stt_json_get(rec, "driver")) ?: "");
	/* overlay ran here and the host's Docker is Debian's: overlay2, measured */
	CU_ASSERT_STRING_EQUAL(driver, "overlay2");
	CU_ASSERT_PTR_NOT_NULL(stt_json_get(rec, "docker.version"));
	json_object_put(rec);
	CU_ASSERT_EQUAL(
	    priv_sh("grep -q '\"storage-driver\": \"overlay2\"' '%s/out/daemon.json'", work), 0);
	CU_ASSERT_EQUAL(priv_sh("test -x '%s/out/setup-direct-lvm.sh' && sh -n "
				"'%s/out/setup-direct-lvm.sh'",
				work, work),
			0);

	/* merged into an existing configuration, which is what dockerd gets */
	snprintf(cfg, sizeof(cfg), "%s/daemon.json", work);
	f = fopen(cfg, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(base_config, f);
	fclose(f);
	CU_ASSERT_EQUAL_FATAL(priv_sh("%s recommend '%s/results.json' -o '%s/out2' "
				      "--data-root '%s/root' --merge '%s' -q >'%s/merge.txt'",
				      priv_stortune(), work, work, ddir, cfg, work),
			      0);
	CU_ASSERT_EQUAL(
	    priv_sh("grep -q '^+  \"storage-driver\": \"overlay2\"' '%s/merge.txt'", work), 0);
	CU_ASSERT_EQUAL(priv_sh("ls '%s'/daemon.json.bak-* >/dev/null", work), 0);
	CU_ASSERT_EQUAL(priv_sh("grep -q 'stortune-test=Zürich ☃' '%s'", cfg), 0);
}

static void test_start(void)
{
	int r = priv_sh("'%s' start '%s' --config-file '%s/daemon.json'", priv_dockerd_script(),
			ddir, work);

	if (r)
		priv_sh("cat '%s/daemon.json' >&2", work);
	CU_ASSERT_EQUAL_FATAL(r, 0);
	running = true;
}

static void test_info(void)
{
	char *out = NULL, root[PATH_MAX + 8];

	CU_ASSERT_FATAL(running);
	CU_ASSERT_EQUAL_FATAL(priv_capture(&out, "%s info --format '{{.Driver}}'", docker), 0);
	out[strcspn(out, "\n")] = '\0';
	CU_ASSERT_STRING_EQUAL(out, driver);
	free(out);
	CU_ASSERT_EQUAL_FATAL(priv_capture(&out, "%s info --format '{{.DockerRootDir}}'", docker),
			      0);
	out[strcspn(out, "\n")] = '\0';
	snprintf(root, sizeof(root), "%s/root", ddir);
	CU_ASSERT_STRING_EQUAL(out, root);
	free(out);
	/* the operator's own keys reached the daemon */
	CU_ASSERT_EQUAL(priv_capture(&out, "%s info --format '{{json .Labels}}'", docker), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "stortune-test=Zürich ☃"));
	free(out);
	CU_ASSERT_EQUAL(priv_capture(&out, "%s info --format '{{.LoggingDriver}}'", docker), 0);
	CU_ASSERT_EQUAL(strncmp(out, "json-file", 9), 0);
	free(out);
}

static void test_run(void)
{
	char *out = NULL;

	CU_ASSERT_FATAL(running);
	CU_ASSERT_EQUAL_FATAL(priv_sh("set -e; cd '%s'; mkdir -p rootfs/bin rootfs/tmp; "
				      "cp /bin/busybox rootfs/bin/busybox; "
				      "tar --numeric-owner -cf rootfs.tar -C rootfs . ; "
				      "%s import rootfs.tar stt-recommend-test >/dev/null",
				      work, docker),
			      0);
	CU_ASSERT_EQUAL(priv_capture(&out,
				     "%s run --rm --network none stt-recommend-test "
				     "/bin/busybox sh -c 'echo written >/tmp/f && cat /tmp/f'",
				     docker),
			0);
	CU_ASSERT_STRING_EQUAL(out, "written\n");
	free(out);
	CU_ASSERT_EQUAL(
	    priv_sh("%s run --rm --network none stt-recommend-test /bin/busybox true", docker), 0);
}

static void test_stop(void)
{
	CU_ASSERT_EQUAL(dockerd_stop(), 0);
	/* (awk's own command line holds the parts, never the joined path) */
	CU_ASSERT_NOT_EQUAL(priv_sh("ps -eo args | awk -v d='%s' 'index($0, d \"/exec\") || "
				    "index($0, d \"/root \") { found = 1 } END { exit !found }'",
				    ddir),
			    0);
	CU_ASSERT_NOT_EQUAL(priv_sh("grep -qF ' %s' /proc/self/mountinfo", ddir), 0);
	CU_ASSERT_NOT_EQUAL(priv_sh("[ -e '%s' ]", ddir), 0);
}

int priv_register_docker(void)
{
	CU_pSuite s;

	snprintf(work, sizeof(work), "%s/recommend-docker", priv_dir());
	snprintf(ddir, sizeof(ddir), "%s/dockerd-rec", priv_dir());
	snprintf(docker, sizeof(docker), "%s -H unix://%s/docker.sock",
		 access("/usr/bin/docker", X_OK) ? "docker" : "/usr/bin/docker", ddir);
	if (priv_sh("command -v dockerd >/dev/null 2>&1")) {
		fprintf(stderr, "priv: docker: skipped: dockerd is not installed (docker.io)\n");
		return CUE_SUCCESS;
	}
	s = CU_add_suite("docker (the recommended daemon.json, for real)", NULL, suite_clean);
	if (!s)
		return CU_get_error();
	CU_add_test(s, "bench, recommend, merge into an existing daemon.json", test_recommend);
	CU_add_test(s, "dockerd starts with it", test_start);
	CU_add_test(s, "docker info: the driver, data root and labels", test_info);
	CU_add_test(s, "a container of an imported image runs", test_run);
	CU_add_test(s, "dockerd stopped, nothing left", test_stop);
	return CU_get_error();
}
