// SPDX-License-Identifier: GPL-2.0-or-later
/* The command table and the global behaviour of cmd_main(): help, version, exit codes. */
#include "unit.h"

#include "cmd.h"

#include "advice/results.h"
#include "sys/fsutil.h"

#include <json-c/json.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * A run's scratch and journal directories in a hostile environment, through the commands:
 * refused with exit 2 before anything is made (selftest; bench and tune share the code):
 * a journal directory that is a symlink, a scratch directory that is one, a scratch directory
 * another run holds; and cleanup of a journal directory that is a symlink.
 */
static void test_hostile_dirs(void)
{
	char base[] = "/tmp/stt-unit-hostile-XXXXXX", real[128], link[128], work[128], jdir[128];
	char cmd[256], want[128], c;
	int p[2], q[2], fd, st;
	struct stat sb;
	pid_t pid;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(base));
	snprintf(real, sizeof(real), "%s/real", base);
	snprintf(link, sizeof(link), "%s/link", base);
	snprintf(work, sizeof(work), "%s/work", base);
	snprintf(jdir, sizeof(jdir), "%s/journals", base);
	CU_ASSERT_EQUAL_FATAL(mkdir(real, 0700), 0);
	CU_ASSERT_EQUAL_FATAL(symlink(real, link), 0);

	CU_ASSERT_EQUAL(unit_cmd("stortune", "selftest", "--backend", "overlay", "--workdir", work,
				 "--journal-dir", link, NULL),
			2);
	CU_ASSERT_PTR_NOT_NULL(strstr(unit_err, "a symbolic link"));
	CU_ASSERT_EQUAL(lstat(work, &sb), -1); /* nothing made */

	CU_ASSERT_EQUAL(unit_cmd("stortune", "selftest", "--backend", "overlay", "--workdir", link,
				 "--journal-dir", jdir, NULL),
			2);
	CU_ASSERT_PTR_NOT_NULL(strstr(unit_err, "a symbolic link"));
	CU_ASSERT_EQUAL(rmdir(real), 0); /* still empty */
	CU_ASSERT_EQUAL(mkdir(real, 0700), 0);

	CU_ASSERT_EQUAL(unit_cmd("stortune", "cleanup", "--journal-dir", link, NULL), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(unit_err, "nothing replayed"));

	/* another run holds the scratch directory */
	CU_ASSERT_EQUAL_FATAL(mkdir(work, 0700), 0);
	CU_ASSERT_EQUAL_FATAL(pipe(p) || pipe(q), 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (!pid) {
		if (stt_fs_lock_dir(work, &fd) || write(q[1], "l", 1) != 1 ||
		    read(p[0], &c, 1) != 1)
			_exit(1);
		_exit(0);
	}
	CU_ASSERT_EQUAL(read(q[0], &c, 1), 1);
	CU_ASSERT_EQUAL(unit_cmd("stortune", "selftest", "--backend", "overlay", "--workdir", work,
				 "--journal-dir", jdir, NULL),
			2);
	snprintf(want, sizeof(want), "in use by another stortune run (pid %d", (int)pid);
	CU_ASSERT_PTR_NOT_NULL(strstr(unit_err, want));
	CU_ASSERT_EQUAL(lstat(jdir, &sb), -1); /* no journal made either */
	/* qualify takes it before its raw figures, which it makes in the scratch directory */
	CU_ASSERT_EQUAL(unit_cmd("stortune", "qualify", "--profile", "profiles/ci.ini", "--workdir",
				 work, "--journal-dir", jdir, NULL),
			2);
	CU_ASSERT_PTR_NOT_NULL(strstr(unit_err, want));
	snprintf(cmd, sizeof(cmd), "[ -z \"$(ls -A '%s')\" ]", work);
	CU_ASSERT_EQUAL(system(cmd), 0);
	CU_ASSERT_EQUAL(write(p[1], "x", 1), 1);
	waitpid(pid, &st, 0);
	CU_ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

/* recommend -o DIR: its files with their stated modes (0755 for the script), whatever the umask. */
static void test_recommend_modes(void)
{
	static const char *const files[] = { "daemon.json", "docker-thinpool.profile",
					     "setup-direct-lvm.sh", "containerd-devmapper.toml",
					     "RECOMMENDATION.md" };
	char base[] = "/tmp/stt-unit-modes-XXXXXX", in[4096], path[256], cmd[128];
	mode_t old;
	struct stat st;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(base));
	snprintf(in, sizeof(in), "%s/fuzz/results/tune-point-without-chunk.json", unit_data_dir());
	old = umask(077);
	CU_ASSERT_EQUAL(unit_cmd("stortune", "recommend", in, "-o", base, "--docker-version",
				 "24.0.7", NULL),
			0);
	umask(old);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", base, files[i]);
		CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
		CU_ASSERT_EQUAL(st.st_mode & 07777, strstr(files[i], ".sh") ? 0755 : 0644);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

/* The summary table of @doc, as bench and qualify print it, into @buf. */
static void summary_text(struct json_object *doc, char *buf, size_t len)
{
	FILE *f = tmpfile();
	size_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	cmd_print_summary(doc, f);
	rewind(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/*
 * The summary of a results document from outside: a backend without "modes" (found by the
 * fuzzer: a NULL object iterated), warnings that are not arrays.
 */
static void test_summary_hostile(void)
{
	static const char odd[] =
	    "{\"schema\":\"stortune-results\",\"schema_version\":1,\"warnings\":\"w\","
	    "\"backends\":[{\"backend\":\"overlay\",\"status\":\"ok\",\"modes\":[1],"
	    "\"warnings\":{\"a\":1}},{\"status\":\"failed\"},7]}";
	struct json_object *doc = NULL;
	char path[4096], out[8192];

	snprintf(path, sizeof(path), "%s/fuzz/results/backend-without-modes.json", unit_data_dir());
	CU_ASSERT_EQUAL_FATAL(stt_results_load(path, &doc), 0);
	summary_text(doc, out, sizeof(out));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "dm-loop (vm-tcg)     no modes"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "overlay (vm-tcg)     cold"));
	json_object_put(doc);

	CU_ASSERT_EQUAL_FATAL(stt_results_parse(odd, sizeof(odd) - 1, "odd", &doc), 0);
	summary_text(doc, out, sizeof(out));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "overlay              no modes"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "?                    failed: no reason given"));
	CU_ASSERT_PTR_NULL(strstr(out, "warning:"));
	json_object_put(doc);
}

static void test_table(void)
{
	int n = 0;

	for (const struct cmd_entry *const *e = cmd_table; *e; e++, n++) {
		CU_ASSERT_PTR_NOT_NULL((*e)->name);
		CU_ASSERT_PTR_NOT_NULL((*e)->summary);
		CU_ASSERT_PTR_NOT_NULL((*e)->synopsis);
		CU_ASSERT_PTR_NOT_NULL((*e)->run);
		/* The synopsis starts with the name. */
		CU_ASSERT_EQUAL(strncmp((*e)->synopsis, (*e)->name, strlen((*e)->name)), 0);
		CU_ASSERT_PTR_EQUAL(cmd_lookup((*e)->name), *e);
		for (const struct cmd_entry *const *f = e + 1; *f; f++)
			CU_ASSERT_NOT_EQUAL(strcmp((*e)->name, (*f)->name), 0);
	}
	CU_ASSERT(n >= 2);
	CU_ASSERT_PTR_NOT_NULL(cmd_lookup("probe"));
	CU_ASSERT_PTR_NULL(cmd_lookup("prob"));
	CU_ASSERT_PTR_NULL(cmd_lookup(""));
}

static void test_version(void)
{
	char want[64];

	snprintf(want, sizeof(want), "stortune %s\n", STT_VERSION);
	CU_ASSERT_EQUAL(unit_cmd("stortune", "--version", NULL), 0);
	CU_ASSERT_STRING_EQUAL(unit_out, want);
	CU_ASSERT_STRING_EQUAL(unit_err, "");
}

static void test_help(void)
{
	CU_ASSERT_EQUAL(unit_cmd("stortune", "--help", NULL), 0);
	for (const struct cmd_entry *const *e = cmd_table; *e; e++)
		CU_ASSERT_PTR_NOT_NULL(strstr(unit_out, (*e)->summary));
	CU_ASSERT_STRING_EQUAL(unit_err, "");

	CU_ASSERT_EQUAL(unit_cmd("stortune", "help", NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(unit_out, "commands:"));

	for (const struct cmd_entry *const *e = cmd_table; *e; e++) {
		char want[256];

		snprintf(want, sizeof(want), "usage: stortune %s\n", (*e)->synopsis);
		CU_ASSERT_EQUAL(unit_cmd("stortune", "help", (*e)->name, NULL), 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(unit_out, want));
		CU_ASSERT_EQUAL(unit_cmd("stortune", (*e)->name, "--help", NULL), 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(unit_out, want));
		CU_ASSERT_STRING_EQUAL(unit_err, "");
	}
}

static void test_usage_errors(void)
{
	CU_ASSERT_EQUAL(unit_cmd("stortune", NULL), 2);
	CU_ASSERT_STRING_EQUAL(unit_out, "");
	CU_ASSERT_PTR_NOT_NULL(strstr(unit_err, "usage: stortune"));

	CU_ASSERT_EQUAL(unit_cmd("stortune", "frobnicate", NULL), 2);
	CU_ASSERT_STRING_EQUAL(unit_out, "");
	CU_ASSERT_PTR_NOT_NULL(strstr(unit_err, "'frobnicate' is not a stortune command"));

	CU_ASSERT_EQUAL(unit_cmd("stortune", "--frobnicate", NULL), 2);
	CU_ASSERT_STRING_EQUAL(unit_out, "");
	CU_ASSERT_PTR_NOT_NULL(strstr(unit_err, "frobnicate"));

	CU_ASSERT_EQUAL(unit_cmd("stortune", "probe", "--frobnicate", NULL), 2);
	CU_ASSERT_STRING_EQUAL(unit_out, "");
	CU_ASSERT_PTR_NOT_NULL(strstr(unit_err, "usage: stortune probe"));

	CU_ASSERT_EQUAL(unit_cmd("stortune", "help", "frobnicate", NULL), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(unit_err, "frobnicate"));

	CU_ASSERT_EQUAL(unit_cmd("stortune", "probe", "/nonexistent/stortune-test", NULL), 2);
	CU_ASSERT_STRING_EQUAL(unit_out, "");
	CU_ASSERT_STRING_EQUAL(unit_err,
			       "stortune probe: /nonexistent/stortune-test: does not exist\n");

	CU_ASSERT_EQUAL(unit_cmd("stortune", "probe", "/proc/self/status", NULL), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(unit_err, "is neither a directory nor a block device"));
}

/* The commands' whole numbers: digits only, within 64 bits and the range. */
static void test_parse_uint(void)
{
	static const char *const bad[] = {
	    "", "-1", "+1", " 1", "1 ", "1x", "0x10", "1.0", "18446744073709551616", "4294967297"};
	unsigned int v = 7;
	uint64_t u;

	CU_ASSERT_EQUAL(cmd_parse_uint("0", 0, 10, &v), 0);
	CU_ASSERT_EQUAL(v, 0);
	CU_ASSERT_EQUAL(cmd_parse_uint("010", 0, 10, &v), 0);
	CU_ASSERT_EQUAL(v, 10);
	CU_ASSERT_EQUAL(cmd_parse_uint("11", 0, 10, &v), -EINVAL);
	CU_ASSERT_EQUAL(cmd_parse_uint("0", 1, 10, &v), -EINVAL);
	CU_ASSERT_EQUAL(v, 10); /* untouched when refused */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(cmd_parse_uint(bad[i], 0, UINT32_MAX, &v), -EINVAL);
	CU_ASSERT_EQUAL(cmd_parse_u64("18446744073709551615", &u), 0);
	CU_ASSERT_EQUAL(u, UINT64_MAX);
	CU_ASSERT_EQUAL(cmd_parse_u64("18446744073709551616", &u), -EINVAL);
}

/* tune refuses bad input before it makes anything: exit 2, one line naming the value. */
static void test_tune_input(void)
{
	static const struct {
		const char *a[6], *says;
	} cases[] = {
		{ { "tune", NULL }, "--backend: required" },
		{ { "tune", "--backend", "overlay", NULL }, "--backend overlay: tune sweeps a thin pool" },
		{ { "tune", "--backend", "dm-loop", "--chunk-sizes", "64K,96K", NULL },
		  "--chunk-sizes: 96K: must be a multiple of 64K" },
		{ { "tune", "--backend", "dm-loop", "--chunk-sizes", "4G", NULL }, "4G" },
		{ { "tune", "--backend", "dm-loop", "--zeroing", "sometimes", NULL },
		  "--zeroing: sometimes" },
		{ { "tune", "--backend", "dm-loop", "--chunk-size", "64K", NULL },
		  "use --chunk-sizes" },
		{ { "tune", "--backend", "dm-loop", "--containers", "0", NULL }, "--containers 0" },
		{ { "tune", "--backend", "dm-loop", "--profile", "/nonexistent/p.ini", NULL },
		  "/nonexistent/p.ini" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *const *a = cases[i].a;

		CU_ASSERT_EQUAL(unit_cmd("stortune", a[0], a[1], a[2], a[3], a[4], a[5]), 2);
		CU_ASSERT_STRING_EQUAL(unit_out, "");
		CU_ASSERT_PTR_NOT_NULL(strstr(unit_err, cases[i].says));
		CU_ASSERT_PTR_NOT_NULL(strstr(unit_err, "stortune tune: "));
	}
}

/* Output that cannot be written is a failure, exit 1 (git's run_builtin). */
static void test_stdout_error(void)
{
	char *argv[] = { (char *)"stortune", (char *)"--help", NULL };
	int so, full, se, null, r;

	full = open("/dev/full", O_WRONLY);
	null = open("/dev/null", O_WRONLY);
	CU_ASSERT_FATAL(full >= 0 && null >= 0);
	fflush(stdout);
	fflush(stderr);
	so = dup(1);
	se = dup(2);
	dup2(full, 1);
	dup2(null, 2);
	r = cmd_main(2, argv);
	clearerr(stdout);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	close(full);
	close(null);
	CU_ASSERT_EQUAL(r, 1);
}

int unit_register_cmd(void)
{
	CU_pSuite s = CU_add_suite("cmd", NULL, NULL);

	if (!s)
		return CU_get_error();
	CU_add_test(s, "command table", test_table);
	CU_add_test(s, "--version", test_version);
	CU_add_test(s, "--help, help CMD, CMD --help", test_help);
	CU_add_test(s, "usage errors exit 2", test_usage_errors);
	CU_add_test(s, "whole numbers of the options", test_parse_uint);
	CU_add_test(s, "tune: bad input exits 2 naming it", test_tune_input);
	CU_add_test(s, "write error on stdout exits 1", test_stdout_error);
	CU_add_test(s, "summary table of a hostile results document", test_summary_hostile);
	CU_add_test(s, "recommend -o: files with their stated modes", test_recommend_modes);
	CU_add_test(s, "hostile scratch and journal directories refused (exit 2)",
		    test_hostile_dirs);
	return CU_get_error();
}
