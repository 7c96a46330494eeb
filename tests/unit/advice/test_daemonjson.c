// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Merging into an existing daemon.json: unrelated keys (log driver, registry mirrors, nested
 * objects, unicode, numbers) keep their values exactly; conflicts show as a diff; invalid JSON
 * is refused with the position and the file left as it was; the write is atomic with a backup,
 * and a write killed between the temporary file and the rename leaves the old file intact
 * (the real binary, forked and exec'd, killed by its test hook).
 */
#include "unit.h"

#include "advice/daemonjson.h"
#include "base/err.h"
#include "base/json.h"
#include "advice/results.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* An operator's daemon.json: nested objects, arrays, unicode (raw and escaped), numbers. */
static const char existing[] =
    "{\n"
    "  \"log-driver\": \"json-file\",\n"
    "  \"log-opts\": { \"max-size\": \"10m\", \"max-file\": \"3\", \"labels\": \"a,b\" },\n"
    "  \"registry-mirrors\": [\"https://mirror.example.org/v2/\", \"http://10.0.0.1:5000\"],\n"
    "  \"storage-driver\": \"devicemapper\",\n"
    "  \"storage-opts\": [\"dm.thinpooldev=/dev/mapper/old-pool\", \"dm.basesize=20G\"],\n"
    "  \"labels\": [\"site=Zürich\", \"owner=\\u00e9quipe \\u2603\", \"emoji=\xf0\x9f\x98\x80\"],\n"
    "  \"default-ulimits\": { \"nofile\": { \"Name\": \"nofile\", \"Hard\": 64000, "
    "\"Soft\": 64000 } },\n"
    "  \"max-concurrent-downloads\": 3,\n"
    "  \"shutdown-timeout\": 15.50,\n"
    "  \"big\": 9007199254740993,\n"
    "  \"ratio\": 1e-3,\n"
    "  \"live-restore\": true,\n"
    "  \"bip\": null,\n"
    "  \"features\": { \"buildkit\": true },\n"
    "  \"data-root\": \"/srv/docker\"\n"
    "}\n";

static struct json_object *overlay2_ours(void)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "storage-driver", json_object_new_string("overlay2"));
	return o;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
}

static void test_merge_keeps(void)
{
	struct json_object *base, *merged, *back, *ours = overlay2_ours();
	const char *text;
	char *diff;
	int changed;

	CU_ASSERT_EQUAL_FATAL(
	    stt_daemonjson_parse(existing, strlen(existing), "daemon.json", &base), 0);
	CU_ASSERT_EQUAL_FATAL(
	    stt_daemonjson_merge(base, ours, "/etc/docker/daemon.json", &merged, &diff, &changed),
	    0);
	text = stt_daemonjson_text(merged);
	CU_ASSERT_EQUAL_FATAL(stt_daemonjson_parse(text, strlen(text), "merged", &back), 0);
	/* every key but the driver's, with an equal value after a parse of the output */
	json_object_object_foreach(base, k, v)
	{
		struct json_object *w = NULL;

		if (!strcmp(k, "storage-driver") || !strcmp(k, "storage-opts"))
			continue;
		CU_ASSERT_TRUE(json_object_object_get_ex(back, k, &w));
		if (!json_object_equal(v, w))
			fprintf(stderr, "\n%s: %s became %s\n", k, json_object_to_json_string(v),
				json_object_to_json_string(w));
		CU_ASSERT_TRUE(json_object_equal(v, w));
	}
	CU_ASSERT_STRING_EQUAL(json_object_get_string(stt_json_get(back, "storage-driver")),
			       "overlay2");
	/* the devicemapper options belong to the old driver: gone */
	CU_ASSERT_PTR_NULL(stt_json_get(back, "storage-opts"));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(stt_json_get(back, "data-root")),
			       "/srv/docker");
	/* the text itself: UTF-8 as it was, no "\/", numbers as they were written */
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "site=Zürich"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "owner=\xc3\xa9quipe \xe2\x98\x83"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "emoji=\xf0\x9f\x98\x80"));
	CU_ASSERT_PTR_NULL(strstr(text, "\\/"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "https://mirror.example.org/v2/"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "15.50"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "9007199254740993"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "1e-3"));
	/* the order of the keys is kept: the driver where it was */
	CU_ASSERT(strstr(text, "\"registry-mirrors\"") < strstr(text, "\"storage-driver\""));
	CU_ASSERT(strstr(text, "\"storage-driver\"") < strstr(text, "\"default-ulimits\""));
	/* the diff: the driver and its options */
	CU_ASSERT_EQUAL(changed, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(diff, "--- /etc/docker/daemon.json\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(diff, "-  \"storage-driver\": \"devicemapper\"\n"
					    "+  \"storage-driver\": \"overlay2\"\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(diff, "-  \"storage-opts\": [ "
					    "\"dm.thinpooldev=/dev/mapper/old-pool\""));
	CU_ASSERT_PTR_NULL(strstr(diff, "log-driver"));
	free(diff);
	json_object_put(merged);
	json_object_put(back);

	/* merged again: nothing changes */
	CU_ASSERT_EQUAL_FATAL(stt_daemonjson_merge(base, ours, "x", &merged, &diff, &changed), 0);
	json_object_put(base);
	base = merged;
	free(diff);
	CU_ASSERT_EQUAL_FATAL(stt_daemonjson_merge(base, ours, "x", &merged, &diff, &changed), 0);
	CU_ASSERT_EQUAL(changed, 0);
	CU_ASSERT_STRING_EQUAL(diff, "");
	CU_ASSERT_TRUE(json_object_equal(base, merged));
	free(diff);
	json_object_put(merged);

	/* ours with a data-root and options: they replace, a new key goes at the end */
	json_object_object_add(ours, "data-root", json_object_new_string("/mnt/x/docker"));
	json_object_object_add(ours, "storage-opts", json_object_new_array());
	json_object_array_add(json_object_object_get(ours, "storage-opts"),
			      json_object_new_string("overlay2.size=10G"));
	CU_ASSERT_EQUAL_FATAL(stt_daemonjson_merge(base, ours, "x", &merged, &diff, &changed), 0);
	CU_ASSERT_EQUAL(changed, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(diff, "-  \"data-root\": \"/srv/docker\"\n"
					    "+  \"data-root\": \"/mnt/x/docker\"\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(diff, "+  \"storage-opts\": [ \"overlay2.size=10G\" ]\n"));
	free(diff);
	json_object_put(merged);
	/* no existing file: ours */
	CU_ASSERT_EQUAL_FATAL(stt_daemonjson_merge(NULL, ours, "x", &merged, &diff, &changed), 0);
	CU_ASSERT_TRUE(json_object_equal(merged, ours));
	CU_ASSERT_EQUAL(changed, 3);
	free(diff);
	json_object_put(merged);
	json_object_put(base);
	json_object_put(ours);
}

static void test_invalid(void)
{
	static const struct {
		const char *text, *what;
	} bad[] = {
	    {"{\"a\": 1,}", "line 1"},
	    {"{\n  \"log-driver\": \"json-file\"\n  \"x\": 1\n}", "line 3, column 3"},
	    {"{\"a\": 1", "unexpected end"},
	    {"{\"a\": 1} x", "line 1, column 10"},
	    {"{'a': 1}", "single-quoted string at line 1, column 2"},
	    {"{\"a\": [1, 2,\n 'x']}", "line 2, column 2"},
	    {"[1, 2]", "not a JSON object"},
	    {"{\"a\": \"\xff\"}", "line 1"},
	};
	struct json_object *o;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		stt_err_clear();
		CU_ASSERT_EQUAL(stt_daemonjson_parse(bad[i].text, strlen(bad[i].text),
						     "/etc/docker/daemon.json", &o),
				-EINVAL);
		CU_ASSERT_PTR_NULL(o);
		if (!strstr(stt_err_msg(), bad[i].what))
			fprintf(stderr, "\n'%s': %s\n", bad[i].text, stt_err_msg());
		CU_ASSERT_PTR_NOT_NULL(strstr(stt_err_msg(), bad[i].what));
		CU_ASSERT_PTR_NOT_NULL(strstr(stt_err_msg(), "/etc/docker/daemon.json: "));
		CU_ASSERT_PTR_NULL(strchr(stt_err_msg(), '\n'));
	}
	/* an empty file is dockerd's "no configuration" */
	CU_ASSERT_EQUAL(stt_daemonjson_parse(" \n", 2, "e", &o), 0);
	CU_ASSERT_EQUAL(json_object_object_length(o), 0);
	json_object_put(o);
	CU_ASSERT_EQUAL(stt_daemonjson_load("/nonexistent/daemon.json", &o), -ENOENT);
}

static char tmpdir[64];

static int count_backups(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += strstr(e->d_name, "daemon.json.bak-") != NULL;
	if (d)
		closedir(d);
	return n;
}

static void test_write(void)
{
	char path[128], bak[256], *text;
	struct stat st;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/stt-unit-dj-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(tmpdir));
	snprintf(path, sizeof(path), "%s/daemon.json", tmpdir);
	/* a new file: 0644, no backup */
	CU_ASSERT_EQUAL(stt_daemonjson_write(path, "{}", bak, sizeof(bak)), 0);
	CU_ASSERT_STRING_EQUAL(bak, "");
	text = slurp(path);
	CU_ASSERT_STRING_EQUAL(text, "{}\n");
	free(text);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0644);
	/* an existing one: its mode kept, the old bytes in the backup */
	put(path, existing);
	chmod(path, 0600);
	CU_ASSERT_EQUAL(
	    stt_daemonjson_write(path, "{ \"storage-driver\": \"overlay2\" }\n", bak, sizeof(bak)),
	    0);
	CU_ASSERT_PTR_NOT_NULL(strstr(bak, "daemon.json.bak-"));
	text = slurp(bak);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_STRING_EQUAL(text, existing);
	free(text);
	text = slurp(path);
	CU_ASSERT_STRING_EQUAL(text, "{ \"storage-driver\": \"overlay2\" }\n");
	free(text);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
	/* a second backup in the same second does not overwrite the first */
	CU_ASSERT_EQUAL(stt_daemonjson_write(path, "{}", bak, sizeof(bak)), 0);
	CU_ASSERT_EQUAL(count_backups(tmpdir), 2);
	/* not a regular file */
	CU_ASSERT_EQUAL(stt_daemonjson_write(tmpdir, "{}", NULL, 0), -EINVAL);
}

/* A results file the binary accepts (no backends: the rules fall back to the defaults). */
static void results_file(const char *path)
{
	struct json_object *doc;

	CU_ASSERT_EQUAL_FATAL(stt_results_new(NULL, "native", &doc), 0);
	CU_ASSERT_EQUAL_FATAL(stt_results_write(doc, path), 0);
	json_object_put(doc);
}

static const char *binary(void)
{
	const char *s = getenv("STORTUNE");

	return s ? s : "./stortune";
}

/* Runs `stortune recommend RESULTS --merge FILE ...`, optionally killed before the rename. */
static int run_merge(const char *results, const char *file, const char *outdir, bool die, char *err,
		     size_t errlen)
{
	char errpath[160];
	int st, fd;
	pid_t pid;

	snprintf(errpath, sizeof(errpath), "%s/stderr", tmpdir);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0)
			dup2(fd, 2);
		fd = open("/dev/null", O_WRONLY);
		if (fd >= 0)
			dup2(fd, 1);
		if (die)
			setenv("STT_TEST_DIE_BEFORE_RENAME", "1", 1);
		if (outdir)
			execl(binary(), binary(), "recommend", results, "--merge", file,
			      "--docker-version", "24.0.7", "-o", outdir, (char *)NULL);
		else
			execl(binary(), binary(), "recommend", results, "--merge", file,
			      "--docker-version", "24.0.7", (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	if (err) {
		char *t = slurp(errpath);

		snprintf(err, errlen, "%s", t ? t : "");
		free(t);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void test_interrupted(void)
{
	char path[128], results[128], out[128], err[1024], *text;
	int rc;

	if (access(binary(), X_OK)) {
		fprintf(stderr, "\n%s not built: the merge is tested through the library only\n",
			binary());
		CU_FAIL("stortune not built (run make first)");
		return;
	}
	snprintf(path, sizeof(path), "%s/daemon.json", tmpdir);
	snprintf(results, sizeof(results), "%s/results.json", tmpdir);
	snprintf(out, sizeof(out), "%s/out", tmpdir);
	results_file(results);
	put(path, existing);

	/* killed between the fsync of the temporary file and the rename */
	rc = run_merge(results, path, NULL, true, err, sizeof(err));
	CU_ASSERT_EQUAL(rc, 128 + SIGKILL);
	text = slurp(path);
	CU_ASSERT_STRING_EQUAL(text, existing);
	free(text);

	/* not valid JSON: one line, exit 2, the file and the output directory untouched */
	put(path, "{ \"log-driver\": \"json-file\", }\n");
	rc = run_merge(results, path, out, false, err, sizeof(err));
	CU_ASSERT_EQUAL(rc, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not valid JSON"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "line 1, column"));
	/* one line */
	CU_ASSERT_PTR_NOT_NULL(strchr(err, '\n'));
	CU_ASSERT_EQUAL(strchr(err, '\n') - err + 1, (long)strlen(err));
	text = slurp(path);
	CU_ASSERT_STRING_EQUAL(text, "{ \"log-driver\": \"json-file\", }\n");
	free(text);
	CU_ASSERT_NOT_EQUAL(access(out, F_OK), 0);

	/* and uninterrupted: merged, backed up, every key kept */
	put(path, existing);
	rc = run_merge(results, path, out, false, err, sizeof(err));
	CU_ASSERT_EQUAL(rc, 0);
	if (rc)
		fprintf(stderr, "\n%s\n", err);
	{
		struct json_object *a, *b, *c;

		CU_ASSERT_EQUAL_FATAL(stt_daemonjson_parse(existing, strlen(existing), "a", &a), 0);
		CU_ASSERT_EQUAL_FATAL(stt_daemonjson_load(path, &b), 0);
		CU_ASSERT_STRING_EQUAL(json_object_get_string(stt_json_get(b, "storage-driver")),
				       "overlay2");
		CU_ASSERT_TRUE(
		    json_object_equal(stt_json_get(a, "labels"), stt_json_get(b, "labels")));
		CU_ASSERT_TRUE(json_object_equal(stt_json_get(a, "default-ulimits"),
						 stt_json_get(b, "default-ulimits")));
		/* the output directory's daemon.json is the merged file */
		snprintf(results, sizeof(results), "%s/daemon.json", out);
		CU_ASSERT_EQUAL_FATAL(stt_daemonjson_load(results, &c), 0);
		CU_ASSERT_TRUE(json_object_equal(b, c));
		json_object_put(a);
		json_object_put(b);
		json_object_put(c);
	}
	CU_ASSERT(count_backups(tmpdir) >= 3);
}

static int clean(void)
{
	char cmd[128];

	if (tmpdir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd))
			return 1;
	}
	return 0;
}

int unit_register_daemonjson(void)
{
	CU_pSuite s = CU_add_suite("daemonjson", NULL, clean);

	if (!s)
		return CU_get_error();
	CU_add_test(s, "merge keeps every other key and value", test_merge_keeps);
	CU_add_test(s, "invalid JSON refused with its position", test_invalid);
	CU_add_test(s, "atomic write with backup", test_write);
	CU_add_test(s, "interrupted write, refusal, merge (the binary)", test_interrupted);
	return CU_get_error();
}
