// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * containerd accepts what stortune recommends for it, and runs a container: a real results
 * file (stortune bench on overlay, natively) goes through `stortune recommend
 * --engine-version "containerd <installed>"` with an operator's config.toml; the drop-in it
 * writes is imported by the config of a private containerd (its own root, state and socket,
 * scripts/containerd-test.sh), which must start with it; a busybox image (a `docker save`
 * tar) is imported and containers are created, started and deleted with
 * `ctr --snapshotter overlayfs`, timed, beside the time of `ctr version` alone (the CLI's
 * own start and one round trip). The devmapper drop-in is parsed and merged by containerd
 * too; running on it natively (no device-mapper here) must be refused, exit 2, naming what
 * `ctr plugins ls` reports. Bad input: a config.toml containerd's parser rejects, and no
 * containerd in PATH, each exit 2 with nothing written. Everything is stopped and removed:
 * no process, mount or directory of the containerd is left.
 *
 * Registered only when containerd and ctr are installed (it says why not otherwise).
 */
#include "priv.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char work[PATH_MAX];	 /* results, outputs, configs */
static char cdir[PATH_MAX + 8];	 /* the containerd's (overlayfs drop-in) */
static char cdir2[PATH_MAX + 8]; /* the second (devmapper drop-in) */
static char version[64];	 /* the installed containerd's */

static const char *script(void)
{
	const char *s = getenv("STT_CONTAINERD_TEST");

	return s ? s : "scripts/containerd-test.sh";
}

static int suite_clean(void)
{
	if (cdir[0])
		priv_sh("'%s' stop '%s' >/dev/null 2>&1", script(), cdir);
	if (cdir2[0])
		priv_sh("'%s' stop '%s' >/dev/null 2>&1", script(), cdir2);
	if (work[0])
		priv_sh("rm -rf '%s'", work);
	return 0;
}

/* An operator's config.toml, with a key of its own that must survive the import. */
static const char main_config[] = "version = 2\n"
				  "oom_score = -999\n"
				  "[plugins.\"io.containerd.grpc.v1.cri\"]\n"
				  "  sandbox_image = \"registry.example/pause:stt\"\n";

static void test_results(void)
{
	FILE *f;
	char path[PATH_MAX + 32];

	CU_ASSERT_EQUAL_FATAL(priv_sh("mkdir -p '%s'", work), 0);
	CU_ASSERT_EQUAL_FATAL(
	    priv_sh("%s bench --backend overlay --profile ci --containers 4 --repetitions 2 "
		    "--workdir '%s/bench' --journal-dir '%s/j' -q -o '%s/results.json' "
		    ">/dev/null",
		    priv_stortune(), work, work, work),
	    0);
	snprintf(path, sizeof(path), "%s/config.toml", work);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(main_config, f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/bad.toml", work);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("version = 2\n[plugins.\"io.containerd.snapshotter.v1.devmapper\"\n", f);
	fclose(f);
}

static void test_bad_input(void)
{
	char *out = NULL;

	/* containerd's own parser rejects the config: exit 2, its message, nothing written */
	CU_ASSERT_EQUAL(priv_capture(&out,
				     "%s recommend '%s/results.json' --engine-version "
				     "'containerd %s' --containerd-config '%s/bad.toml' "
				     "-o '%s/bad-out' 2>&1",
				     priv_stortune(), work, version, work, work),
			2);
	CU_ASSERT_PTR_NOT_NULL(out ? strstr(out, "containerd's parser rejects it") : NULL);
	CU_ASSERT_PTR_NOT_NULL(out ? strstr(out, "failed to load TOML") : NULL);
	free(out);
	CU_ASSERT_NOT_EQUAL(priv_sh("[ -e '%s/bad-out' ]", work), 0);
	/* no containerd: exit 2 with how to install it, nothing written */
	CU_ASSERT_EQUAL(priv_capture(&out,
				     "PATH=/nonexistent %s recommend '%s/results.json' "
				     "--engine-version 'containerd %s' -o '%s/bad-out' 2>&1",
				     priv_stortune(), work, version, work),
			2);
	CU_ASSERT_PTR_NOT_NULL(out ? strstr(out, "apt-get install containerd") : NULL);
	free(out);
	CU_ASSERT_NOT_EQUAL(priv_sh("[ -e '%s/bad-out' ]", work), 0);
	/* a snapshotter stortune does not configure */
	CU_ASSERT_EQUAL(priv_sh("%s recommend '%s/results.json' --engine-version 'containerd %s' "
				"--snapshotter btrfs -o '%s/bad-out' 2>/dev/null",
				priv_stortune(), work, version, work),
			2);
	CU_ASSERT_NOT_EQUAL(priv_sh("[ -e '%s/bad-out' ]", work), 0);
}

static double value(const char *out, const char *key)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof(k), "%s=", key);
	p = out ? strstr(out, k) : NULL;
	return p ? atof(p + strlen(k)) : -1;
}

static void test_overlayfs(void)
{
	char *out = NULL;

	CU_ASSERT_EQUAL_FATAL(priv_capture(&out,
					   "%s recommend '%s/results.json' --engine-version "
					   "'containerd %s' --snapshotter overlayfs "
					   "--containerd-config '%s/config.toml' -o '%s/out'",
					   priv_stortune(), work, version, work, work),
			      0);
	CU_ASSERT_PTR_NOT_NULL(out ? strstr(out, "accepted the merged configuration") : NULL);
	free(out);
	CU_ASSERT_EQUAL(priv_sh("grep -q 'imports = \\[\"/etc/containerd/conf.d/\\*.toml\"\\]' "
				"'%s/out/RECOMMENDATION.md'",
				work),
			0);
	/* the user's config.toml was not touched */
	CU_ASSERT_EQUAL(priv_sh("grep -q 'registry.example/pause:stt' '%s/config.toml' && "
				"! grep -q imports '%s/config.toml'",
				work, work),
			0);

	/* a private containerd whose config imports the drop-in */
	CU_ASSERT_EQUAL_FATAL(
	    priv_sh("'%s' start '%s' --import '%s/out/containerd-snapshotter.toml'", script(), cdir,
		    work),
	    0);
	CU_ASSERT_EQUAL(priv_sh("grep -q 'containerd-snapshotter.toml' '%s/config.dump'", cdir), 0);
	CU_ASSERT_EQUAL_FATAL(priv_sh("'%s' image '%s'", script(), cdir), 0);
	CU_ASSERT_EQUAL(priv_capture(&out, "'%s' run '%s' overlayfs 5", script(), cdir), 0);
	printf("\n    real containerd %s, overlayfs, 5 containers (medians): create %.0f ms, "
	       "start (runs /bin/true) %.0f ms, delete %.0f ms; ctr version alone %.0f ms; "
	       "import %.0f ms ",
	       version, value(out, "create_ms"), value(out, "start_ms"), value(out, "remove_ms"),
	       value(out, "ctr_version_ms"), value(out, "import_ms"));
	CU_ASSERT(value(out, "create_ms") >= 0);
	CU_ASSERT(value(out, "start_ms") > 0);
	CU_ASSERT(value(out, "remove_ms") >= 0);
	CU_ASSERT(value(out, "ctr_version_ms") > 0);
	CU_ASSERT(value(out, "snapshots") >= 1); /* the image's committed layer */
	free(out);
	/* its snapshots are containerd's overlayfs layout: snapshots/<n>/fs */
	CU_ASSERT_EQUAL(priv_sh("ls -d '%s'/root/io.containerd.snapshotter.v1.overlayfs/"
				"snapshots/*/fs >/dev/null && [ -s '%s'/root/"
				"io.containerd.snapshotter.v1.overlayfs/metadata.db ]",
				cdir, cdir),
			0);
	CU_ASSERT_EQUAL(priv_sh("'%s' stop '%s'", script(), cdir), 0);
	CU_ASSERT_NOT_EQUAL(priv_sh("[ -e '%s' ]", cdir), 0);
	CU_ASSERT_NOT_EQUAL(priv_sh("grep -q ' %s' /proc/self/mountinfo", cdir), 0);
}

static void test_devmapper(void)
{
	char *out = NULL, *err = NULL;

	CU_ASSERT_EQUAL_FATAL(priv_capture(&out,
					   "%s recommend '%s/results.json' --engine-version "
					   "'containerd %s' --snapshotter devmapper "
					   "--containerd-config '%s/config.toml' -o '%s/out-dm'",
					   priv_stortune(), work, version, work, work),
			      0);
	CU_ASSERT_PTR_NOT_NULL(out ? strstr(out, "accepted the merged configuration") : NULL);
	free(out);
	CU_ASSERT_EQUAL_FATAL(
	    priv_sh("'%s' start '%s' --import '%s/out-dm/containerd-snapshotter.toml'", script(),
		    cdir2, work),
	    0);
	/* containerd's merged configuration has the pool */
	CU_ASSERT_EQUAL(
	    priv_sh("grep -q 'pool_name = \"docker-thinpool\"' '%s/config.dump'", cdir2), 0);
	CU_ASSERT_EQUAL_FATAL(priv_sh("'%s' image '%s'", script(), cdir2), 0);
	if (priv_sh("grep -qw device-mapper /proc/misc")) {
		/* natively: no device-mapper, so the snapshotter is in error: refused, named */
		CU_ASSERT_EQUAL(
		    priv_capture(&err, "'%s' run '%s' devmapper 1 2>&1", script(), cdir2), 2);
		CU_ASSERT_PTR_NOT_NULL(err ? strstr(err, "ctr plugins ls reports it as") : NULL);
		CU_ASSERT_PTR_NOT_NULL(err ? strstr(err, "overlayfs (ok)") : NULL);
		free(err);
	}
	/* a snapshotter this containerd does not have at all */
	CU_ASSERT_EQUAL(priv_capture(&err, "'%s' run '%s' stargz 1 2>&1", script(), cdir2), 2);
	CU_ASSERT_PTR_NOT_NULL(err ? strstr(err, "has none of that name") : NULL);
	free(err);
	CU_ASSERT_EQUAL(priv_sh("'%s' stop '%s'", script(), cdir2), 0);
	CU_ASSERT_NOT_EQUAL(priv_sh("[ -e '%s' ]", cdir2), 0);
}

/* A main config with imports of its own: RECOMMENDATION.md says to add the drop-in to them. */
static void test_has_imports(void)
{
	char *out = NULL, path[PATH_MAX + 32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/with-imports.toml", work);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fprintf(f, "version = 2\nimports = [\"%s/none/*.toml\"]\n", work);
	fclose(f);
	CU_ASSERT_EQUAL(priv_capture(&out,
				     "%s recommend '%s/results.json' --engine-version "
				     "'containerd %s' --containerd-config '%s' -o '%s/out-imp'",
				     priv_stortune(), work, version, path, work),
			0);
	CU_ASSERT_PTR_NOT_NULL(out ? strstr(out, "accepted the merged configuration") : NULL);
	CU_ASSERT_PTR_NULL(out ? strstr(out, "with the imports line") : "x");
	free(out);
	CU_ASSERT_EQUAL(
	    priv_sh("grep -q 'already has an `imports` line' '%s/out-imp/RECOMMENDATION.md'", work),
	    0);
}

int priv_register_containerd(void)
{
	CU_pSuite s;
	char *out = NULL;

	if (priv_capture(&out, "containerd --version 2>/dev/null | awk '{ print $3 }'") || !out ||
	    !out[0] || priv_sh("command -v ctr >/dev/null")) {
		printf("containerd: not installed (apt-get install containerd): suite skipped\n");
		free(out);
		return CUE_SUCCESS;
	}
	snprintf(version, sizeof(version), "%.*s", (int)strcspn(out, "\n"), out);
	free(out);
	snprintf(work, sizeof(work), "%s/containerd", priv_dir());
	snprintf(cdir, sizeof(cdir), "%s/c1", work);
	snprintf(cdir2, sizeof(cdir2), "%s/c2", work);
	s = CU_add_suite("containerd", NULL, suite_clean);
	if (!s)
		return CU_get_error();
	CU_add_test(s, "results for the recommendation", test_results);
	CU_add_test(s, "bad input: rejected config.toml, no containerd, other snapshotter",
		    test_bad_input);
	CU_add_test(s, "a config.toml with imports of its own", test_has_imports);
	CU_add_test(s, "overlayfs: the drop-in imported, a container run with ctr, timed",
		    test_overlayfs);
	CU_add_test(s, "devmapper: the drop-in merged; a missing or failed snapshotter refused",
		    test_devmapper);
	return CU_get_error();
}
