// SPDX-License-Identifier: GPL-2.0-or-later
#include "unit.h"

#include "base/err.h"
#include "workload/profile.h"
#include "workload/trace.h"

#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const shipped[] = { "alpine",	  "ci",		  "ci-slow",
				       "debian-service", "java-version", "jvm-service",
				       "node-app",	  "perl-http-tiny", "python-http",
				       "python-app" };

/* The source tree's profiles/, unless STT_PROFILE_DIR says otherwise. */
static const char *profile_dir(void)
{
	const char *d = getenv("STT_PROFILE_DIR");

	return d && *d ? d : "profiles";
}

static int suite_init(void)
{
	return setenv("STT_PROFILE_DIR", profile_dir(), 1);
}

/* Every .ini in profiles/ loads by path, and each shipped one by name. */
static void test_shipped(void)
{
	char path[PATH_MAX];
	struct stt_profile p;
	struct dirent *de;
	unsigned int n = 0;
	DIR *d = opendir(profile_dir());

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (len < 5 || strcmp(de->d_name + len - 4, ".ini"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", profile_dir(), de->d_name);
		if (stt_profile_load(path, &p)) {
			fprintf(stderr, "\n%s: %s\n", path, stt_err_msg());
			CU_FAIL("a shipped profile does not load");
			continue;
		}
		CU_ASSERT_EQUAL(strncmp(p.name, de->d_name, len - 4), 0);
		/* benches stay feasible (a traced image is the real one, not generated) */
		CU_ASSERT(p.startup.trace || p.image.size_bytes <= 200ull << 20);
		stt_profile_release(&p);
		n++;
	}
	closedir(d);
	CU_ASSERT_EQUAL(n, sizeof(shipped) / sizeof(shipped[0]));
	for (size_t i = 0; i < sizeof(shipped) / sizeof(shipped[0]); i++) {
		CU_ASSERT_EQUAL_FATAL(stt_profile_load(shipped[i], &p), 0);
		CU_ASSERT_STRING_EQUAL(p.name, shipped[i]);
		CU_ASSERT_PTR_NOT_NULL(strstr(p.source, shipped[i]));
		/*
		 * Each says what it stands for and cites where its working set comes from: the
		 * HelloBench share, or a trace of a real start that loads and reads something.
		 */
		if (p.startup.trace) {
			struct stt_trace *t = NULL;

			CU_ASSERT_PTR_NOT_NULL(strstr(p.text, "stortune trace"));
			CU_ASSERT_EQUAL(stt_trace_load(p.startup.trace, &t), 0);
			CU_ASSERT_TRUE(t && t->n_files > 10 && stt_trace_read_bytes(t) > 100000);
			CU_ASSERT_EQUAL(p.startup.read_files, 0);
			stt_trace_free(t);
		} else {
			CU_ASSERT_PTR_NOT_NULL(strstr(p.text, "FAST '16"));
		}
		stt_profile_release(&p);
	}
}

static void test_values(void)
{
	struct stt_profile p;
	uint64_t small, medium, large;

	CU_ASSERT_EQUAL_FATAL(stt_profile_load("ci", &p), 0);
	CU_ASSERT_STRING_EQUAL(p.name, "ci");
	CU_ASSERT_EQUAL(p.image.layers, 3);
	CU_ASSERT_EQUAL(p.image.files, 300);
	CU_ASSERT_EQUAL(p.image.size_bytes, 4ull << 20);
	CU_ASSERT_DOUBLE_EQUAL(p.image.small_file_share, 0.8, 1e-12);
	CU_ASSERT_EQUAL(p.image.small_file_max_bytes, 16384);
	CU_ASSERT_EQUAL(p.image.large_files, 1);
	CU_ASSERT_EQUAL(p.image.large_file_bytes, 1 << 20);
	CU_ASSERT_EQUAL(p.image.dir_depth, 4);
	CU_ASSERT_EQUAL(p.image.dirs, 40);
	CU_ASSERT_EQUAL(p.image.seed, 1);
	CU_ASSERT_EQUAL(p.startup.read_files, 40);
	CU_ASSERT_EQUAL(p.startup.read_bytes, 256 << 10);
	CU_ASSERT_EQUAL(p.startup.stat_files, 80);
	CU_ASSERT_EQUAL(p.startup.readdirs, 8);
	CU_ASSERT_EQUAL(p.startup.write_files, 4);
	CU_ASSERT_EQUAL(p.startup.write_bytes, 64 << 10);
	CU_ASSERT_EQUAL(p.startup.rewrite_files, 2);
	CU_ASSERT_TRUE(p.startup.mid_write);
	CU_ASSERT_FALSE(p.startup.fsync_writes);
	CU_ASSERT_EQUAL(p.run.containers, 40);
	CU_ASSERT_EQUAL(p.run.concurrency, 2);
	CU_ASSERT_EQUAL(p.run.repetitions, 150);
	CU_ASSERT_TRUE(p.run.cold);
	CU_ASSERT_TRUE(p.run.warm);
	stt_profile_file_classes(&p.image, &small, &medium, &large);
	CU_ASSERT_EQUAL(large, 1);
	CU_ASSERT_EQUAL(small, 239); /* 0.8 of 299, to nearest */
	CU_ASSERT_EQUAL(medium, 60);
	stt_profile_release(&p);
	CU_ASSERT_PTR_NULL(p.text);
}

/* ci-slow is ci with one deliberate slowdown: every file of first-write fsynced. */
static void test_ci_slow(void)
{
	struct stt_profile ci, slow;

	CU_ASSERT_EQUAL_FATAL(stt_profile_load("ci", &ci), 0);
	CU_ASSERT_EQUAL_FATAL(stt_profile_load("ci-slow", &slow), 0);
	CU_ASSERT_TRUE(slow.startup.fsync_writes);
	slow.startup.fsync_writes = false;
	CU_ASSERT_EQUAL(memcmp(&ci.image, &slow.image, sizeof(ci.image)), 0);
	CU_ASSERT_EQUAL(memcmp(&ci.startup, &slow.startup, sizeof(ci.startup)), 0);
	CU_ASSERT_EQUAL(memcmp(&ci.run, &slow.run, sizeof(ci.run)), 0);
	CU_ASSERT_STRING_NOT_EQUAL(ci.hash, slow.hash);
	stt_profile_release(&ci);
	stt_profile_release(&slow);
}

/* Only the required keys: the rest take their defaults; other spellings of values. */
static void test_defaults(void)
{
	static const char text[] = "[image]\n"
				   "layers = 1\n"
				   "files = 0x10\n"
				   "size = 1.5m\n"
				   "small_file_share = 25%\n"
				   "[startup]\n"
				   "read_files = 0\n"
				   "read_bytes = 0\n"
				   "[run]\n"
				   "containers = 1\n"
				   "cold = off\n";
	struct stt_profile p;

	CU_ASSERT_EQUAL_FATAL(stt_profile_parse(text, "mem/min.ini", &p), 0);
	CU_ASSERT_STRING_EQUAL(p.name, "min");
	CU_ASSERT_STRING_EQUAL(p.source, "mem/min.ini");
	CU_ASSERT_EQUAL(p.image.files, 16);
	CU_ASSERT_EQUAL(p.image.size_bytes, 3 << 19);
	CU_ASSERT_DOUBLE_EQUAL(p.image.small_file_share, 0.25, 1e-12);
	CU_ASSERT_EQUAL(p.image.small_file_max_bytes, 16384);
	CU_ASSERT_EQUAL(p.image.large_files, 0);
	CU_ASSERT_EQUAL(p.image.dir_depth, 4);
	CU_ASSERT_EQUAL(p.image.dirs, 16);
	CU_ASSERT_EQUAL(p.image.seed, 1);
	CU_ASSERT_FALSE(p.startup.mid_write);
	CU_ASSERT_EQUAL(p.run.concurrency, 1);
	CU_ASSERT_EQUAL(p.run.repetitions, 3);
	CU_ASSERT_FALSE(p.run.cold);
	CU_ASSERT_TRUE(p.run.warm);
	stt_profile_release(&p);
}

static void test_hash(void)
{
	struct stt_profile a, b, c;
	char *text = NULL;

	/* FNV-1a 64 test vectors (Fowler, Noll, Vo). */
	CU_ASSERT_EQUAL(stt_fnv1a64(STT_FNV1A64_INIT, "", 0), 0xcbf29ce484222325ull);
	CU_ASSERT_EQUAL(stt_fnv1a64(STT_FNV1A64_INIT, "a", 1), 0xaf63dc4c8601ec8cull);
	CU_ASSERT_EQUAL(stt_fnv1a64(STT_FNV1A64_INIT, "foobar", 6), 0x85944171f73967e8ull);

	CU_ASSERT_EQUAL_FATAL(stt_profile_load("ci", &a), 0);
	CU_ASSERT_EQUAL_FATAL(stt_profile_parse(a.text, "elsewhere/ci.ini", &b), 0);
	CU_ASSERT_EQUAL(strncmp(a.hash, "fnv1a64:", 8), 0);
	CU_ASSERT_EQUAL(strlen(a.hash), 8 + 16);
	CU_ASSERT_STRING_EQUAL(a.hash, b.hash);
	/* One more comment line: the same values, another text, another hash. */
	CU_ASSERT(asprintf(&text, "%s\n# a comment changes the text\n", a.text) > 0);
	CU_ASSERT_EQUAL_FATAL(stt_profile_parse(text, "x.ini", &c), 0);
	CU_ASSERT_STRING_NOT_EQUAL(a.hash, c.hash);
	CU_ASSERT_EQUAL(c.image.files, a.image.files);
	free(text);
	stt_profile_release(&a);
	stt_profile_release(&b);
	stt_profile_release(&c);
}

/* Five kinds of malformed file and more: each names the file, the line, the section and key. */
static void test_errors(void)
{
	static const struct {
		const char *file, *msg; /* %s: the file's path */
	} bad[] = {
		{ "unknown-key.ini", "%s:4: [image] fils: unknown key" },
		{ "bad-number.ini", "%s:4: [image] files: not a number: 12x" },
		{ "unknown-section.ini", "%s:3: [imgae]: unknown section" },
		{ "missing-section.ini", "%s: missing section [run]" },
		{ "working-set.ini",
		  "%s:10: [startup] read_bytes: 10.0 MiB is larger than the image "
		  "(size = 1.00 MiB)" },
		{ "out-of-range.ini", "%s:3: [image] layers: 200 out of range (1..120)" },
		{ "bad-bool.ini", "%s:14: [run] cold: not a boolean (yes or no): maybe" },
		{ "duplicate-key.ini", "%s:6: [image] files: given twice (first on line 4)" },
		{ "syntax.ini", "%s:10: syntax error: expected \"key = value\" or \"[section]\"" },
		{ "concurrency.ini", "%s:14: [run] concurrency: 8 is more than containers (4)" },
		{ "missing-key.ini", "%s:2: [image] files: missing (required)" },
	};
	char path[PATH_MAX], want[PATH_MAX + 256];
	struct stt_profile p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "%s/profiles/%s", unit_data_dir(), bad[i].file);
		snprintf(want, sizeof(want), bad[i].msg, path);
		stt_err_clear();
		CU_ASSERT_EQUAL(stt_profile_load(path, &p), -EINVAL);
		if (strcmp(stt_err_msg(), want))
			fprintf(stderr, "\n  got:  %s\n  want: %s\n", stt_err_msg(), want);
		CU_ASSERT_STRING_EQUAL(stt_err_msg(), want);
		CU_ASSERT_PTR_NULL(p.text); /* nothing to release after an error */
	}
}

/* Values out of range and keys against each other, from strings. */
static void test_checks(void)
{
	static const char head[] = "[startup]\nread_files = 1\nread_bytes = 1k\n[run]\n"
				   "containers = 2\n[image]\nlayers = 2\n";
	static const struct {
		const char *image, *msg;
	} bad[] = {
		{ "files = 10\nsize = 1m\nsmall_file_share = 1.5\n",
		  "t.ini:10: [image] small_file_share: 1.5 out of range (0..1)" },
		{ "files = 10\nsize = lots\n", "t.ini:9: [image] size: not a size (4096, 16k, "
					       "1.5m, 2g): lots" },
		{ "files = 10\nsize = 1m\nlarge_files = 11\n",
		  "t.ini:10: [image] large_files: 11 is more than files (10)" },
		{ "files = 10\nsize = 1m\nlarge_files = 2\nlarge_file_size = 1m\n",
		  "t.ini:10: [image] large_files: 2 files of 1.00 MiB are more than size "
		  "(1.00 MiB)" },
		{ "files = 10\nsize = 20k\nsmall_file_share = 0\n",
		  "t.ini:9: [image] size: 20.0 KiB is too small: 10 files above small_file_max "
		  "(16.0 KiB) need more" },
		{ "files = 10\nsize = 1m\nsmall_file_share = 1\n",
		  "t.ini:9: [image] size: 1.00 MiB is too large: 10 small files of at most "
		  "16.0 KiB hold 160 KiB" },
		{ "files = 10\nsize = 1m\ndirs = 2\ndir_depth = 3\n",
		  "t.ini:10: [image] dirs: 2 directories cannot reach dir_depth 3" },
		{ "files = 10\nsize = 1m\nlayers = 3\n",
		  "t.ini:10: [image] layers: given twice (first on line 7)" },
		{ "files = 99999999999999999999\n",
		  "t.ini:8: [image] files: 99999999999999999999 out of range (1..10000000)" },
		{ "files = -1\n", "t.ini:8: [image] files: not a number: -1" },
		{ "files = 10\nsize = 1m\n[nope]\n", "t.ini:10: [nope]: unknown section" },
		{ "files = 10\nsize = 1m\n[run]\n", "t.ini:10: [run]: section given twice (first "
						    "on line 4)" },
	};
	char text[1024];
	struct stt_profile p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "%s%s", head, bad[i].image);
		CU_ASSERT_EQUAL(stt_profile_parse(text, "t.ini", &p), -EINVAL);
		if (strcmp(stt_err_msg(), bad[i].msg))
			fprintf(stderr, "\n  got:  %s\n  want: %s\n", stt_err_msg(), bad[i].msg);
		CU_ASSERT_STRING_EQUAL(stt_err_msg(), bad[i].msg);
	}
	CU_ASSERT_EQUAL(stt_profile_parse("x = 1\n", "t.ini", &p), -EINVAL);
	CU_ASSERT_STRING_EQUAL(stt_err_msg(), "t.ini:1: x: outside any section");
	CU_ASSERT_EQUAL(stt_profile_parse("", NULL, &p), -EINVAL);
	CU_ASSERT_STRING_EQUAL(stt_err_msg(), "<string>: missing section [image]");
}

static void test_not_found(void)
{
	struct stt_profile p;

	CU_ASSERT_EQUAL(stt_profile_load("no-such-profile", &p), -ENOENT);
	CU_ASSERT_EQUAL(strncmp(stt_err_msg(), "profile no-such-profile: not found (looked in ",
				strlen("profile no-such-profile: not found (looked in ")),
			0);
	CU_ASSERT_PTR_NOT_NULL(strstr(stt_err_msg(), STT_DATADIR "/profiles)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(stt_err_msg(), profile_dir()));
	CU_ASSERT_EQUAL(stt_profile_load("/nonexistent/x.ini", &p), -ENOENT);
	CU_ASSERT_STRING_EQUAL(stt_err_msg(), "/nonexistent/x.ini: No such file or directory");
}

static void test_json(void)
{
	struct json_object *o = NULL, *v, *sect;
	struct stt_profile p;

	CU_ASSERT_EQUAL_FATAL(stt_profile_load("ci", &p), 0);
	CU_ASSERT_EQUAL_FATAL(stt_profile_to_json(&p, &o), 0);
	CU_ASSERT_TRUE(json_object_object_get_ex(o, "hash", &v));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(v), p.hash);
	CU_ASSERT_TRUE(json_object_object_get_ex(o, "image", &sect));
	CU_ASSERT_TRUE(json_object_object_get_ex(sect, "size_bytes", &v));
	CU_ASSERT_EQUAL(json_object_get_uint64(v), 4ull << 20);
	CU_ASSERT_TRUE(json_object_object_get_ex(sect, "small_file_max_bytes", &v));
	CU_ASSERT_EQUAL(json_object_get_uint64(v), 16384);
	CU_ASSERT_TRUE(json_object_object_get_ex(o, "startup", &sect));
	CU_ASSERT_TRUE(json_object_object_get_ex(sect, "mid_write", &v));
	CU_ASSERT_TRUE(json_object_get_boolean(v));
	CU_ASSERT_TRUE(json_object_object_get_ex(o, "run", &sect));
	CU_ASSERT_TRUE(json_object_object_get_ex(sect, "containers", &v));
	CU_ASSERT_EQUAL(json_object_get_int(v), 40);
	CU_ASSERT_TRUE(json_object_object_get_ex(o, "text", &v));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(v), p.text);
	json_object_put(o);
	stt_profile_release(&p);
}

/* trace = FILE: relative to the profile's directory; the reads are the trace's alone. */
static void test_trace_key(void)
{
	static const char base[] = "[image]\nlayers = 1\nfiles = 10\nsize = 1m\n"
				   "[run]\ncontainers = 1\n[startup]\n";
	char text[512];
	struct stt_profile p;

	snprintf(text, sizeof(text), "%sread_files = 0\nread_bytes = 0\ntrace = t/x.json\n", base);
	CU_ASSERT_EQUAL_FATAL(stt_profile_parse(text, "some/dir/p.ini", &p), 0);
	CU_ASSERT_STRING_EQUAL(p.startup.trace, "some/dir/t/x.json");
	stt_profile_release(&p);
	snprintf(text, sizeof(text), "%sread_files = 0\nread_bytes = 0\ntrace = /abs/x.json\n",
		 base);
	CU_ASSERT_EQUAL_FATAL(stt_profile_parse(text, "some/dir/p.ini", &p), 0);
	CU_ASSERT_STRING_EQUAL(p.startup.trace, "/abs/x.json");
	stt_profile_release(&p);
	snprintf(text, sizeof(text), "%sread_files = 3\nread_bytes = 4k\ntrace = x.json\n", base);
	CU_ASSERT_EQUAL(stt_profile_parse(text, "p.ini", &p), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(stt_err_msg(), "p.ini:8: [startup] read_files: must be 0 "
						     "with trace"));
	snprintf(text, sizeof(text), "%sread_files = 0\nread_bytes = 0\ntrace =\n", base);
	CU_ASSERT_EQUAL(stt_profile_parse(text, "p.ini", &p), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(stt_err_msg(), "[startup] trace: empty path"));
}

int unit_register_profile(void)
{
	CU_pSuite s = CU_add_suite("profile", suite_init, NULL);

	if (!s)
		return CU_get_error();
	CU_add_test(s, "every shipped profile loads", test_shipped);
	CU_add_test(s, "values of ci.ini", test_values);
	CU_add_test(s, "ci-slow is ci with fsync", test_ci_slow);
	CU_add_test(s, "defaults and value spellings", test_defaults);
	CU_add_test(s, "hash of the text", test_hash);
	CU_add_test(s, "malformed files: file, line, section, key", test_errors);
	CU_add_test(s, "ranges and keys against each other", test_checks);
	CU_add_test(s, "unknown profile", test_not_found);
	CU_add_test(s, "json", test_json);
	CU_add_test(s, "[startup] trace", test_trace_key);
	return CU_get_error();
}
