// SPDX-License-Identifier: GPL-2.0-or-later
#include "unit.h"

#include "base/err.h"
#include "workload/trace.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Ranges merge while they continue one another (same kind), are clipped, and round-trip. */
static void test_merge_roundtrip(void)
{
	struct stt_trace *t = NULL, *u = NULL;
	struct json_object *doc = NULL, *tot;
	const char *text;
	size_t a, b, again;

	CU_ASSERT_EQUAL_FATAL(stt_trace_new(&t), 0);
	CU_ASSERT_EQUAL(stt_trace_file(t, "usr/bin/python3.11", 10000, &a), 0);
	CU_ASSERT_EQUAL(stt_trace_file(t, "usr/lib/libc.so.6", 20000, &b), 0);
	CU_ASSERT_EQUAL(stt_trace_file(t, "usr/bin/python3.11", 10000, &again), 0);
	CU_ASSERT_EQUAL(a, 0);
	CU_ASSERT_EQUAL(b, 1);
	CU_ASSERT_EQUAL(again, 0);
	/* 0-4095 then 4096-8191: one read range; the last page clipped to the size */
	CU_ASSERT_EQUAL(stt_trace_add(t, a, 'r', 0, 4096), 0);
	CU_ASSERT_EQUAL(stt_trace_add(t, a, 'r', 4096, 8192), 0);
	/* a fault elsewhere, then a read that goes back: new ranges, in order */
	CU_ASSERT_EQUAL(stt_trace_add(t, a, 'f', 4096, 4096), 0);
	CU_ASSERT_EQUAL(stt_trace_add(t, a, 'r', 0, 4096), 0);
	/* beyond the end: nothing */
	CU_ASSERT_EQUAL(stt_trace_add(t, b, 'r', 20480, 4096), 0);
	CU_ASSERT_EQUAL(stt_trace_add(t, b, 'm', 0, 65536), 0);
	stt_trace_reader(t, a, "python3");
	stt_trace_reader(t, a, "runc:[2:INIT]");
	stt_trace_reader(t, a, "python3");
	CU_ASSERT_STRING_EQUAL(t->files[a].readers, "python3,runc:[2:INIT]");
	CU_ASSERT_EQUAL_FATAL(t->files[a].n_ranges, 3);
	CU_ASSERT_EQUAL(t->files[a].ranges[0].off_bytes, 0);
	CU_ASSERT_EQUAL(t->files[a].ranges[0].len_bytes, 10000);
	CU_ASSERT_EQUAL(t->files[a].ranges[1].kind, 'f');
	CU_ASSERT_EQUAL(t->files[b].n_ranges, 1);
	CU_ASSERT_EQUAL(t->files[b].ranges[0].len_bytes, 20000);
	/* replayed: r and f (10000 + 4096 + 4096), distinct: 10000; m is not replayed */
	CU_ASSERT_EQUAL(stt_trace_file_read_bytes(&t->files[a]), 18192);
	CU_ASSERT_EQUAL(stt_trace_file_unique_bytes(&t->files[a]), 10000);
	CU_ASSERT_EQUAL(stt_trace_read_bytes(t), 18192);
	json_object_object_add(t->meta, "command", json_object_new_string("python3"));

	CU_ASSERT_EQUAL_FATAL(stt_trace_to_json(t, &doc), 0);
	tot = json_object_object_get(doc, "totals");
	CU_ASSERT_EQUAL(json_object_get_int64(json_object_object_get(tot, "files")), 2);
	CU_ASSERT_EQUAL(json_object_get_int64(json_object_object_get(tot, "read_bytes")), 18192);
	CU_ASSERT_EQUAL(json_object_get_int64(json_object_object_get(tot, "mapped_bytes")), 20000);
	text = json_object_to_json_string(doc);
	CU_ASSERT_EQUAL_FATAL(stt_trace_parse(text, strlen(text), "x.json", &u), 0);
	CU_ASSERT_EQUAL_FATAL(u->n_files, 2);
	CU_ASSERT_STRING_EQUAL(u->files[0].path, "usr/bin/python3.11");
	CU_ASSERT_EQUAL_FATAL(u->files[0].n_ranges, 3);
	CU_ASSERT_EQUAL(u->files[0].ranges[2].kind, 'r');
	CU_ASSERT_EQUAL(u->files[0].ranges[2].len_bytes, 4096);
	CU_ASSERT_STRING_EQUAL(u->files[0].readers, "python3,runc:[2:INIT]");
	CU_ASSERT_EQUAL(stt_trace_read_bytes(u), 18192);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(u->meta, "command")),
			       "python3");
	stt_trace_free(u);
	json_object_put(doc);
	stt_trace_free(t);
}

static void refused(const char *text, const char *want)
{
	struct stt_trace *t = NULL;

	CU_ASSERT_EQUAL(stt_trace_parse(text, strlen(text), "x.json", &t), -EINVAL);
	CU_ASSERT_PTR_NULL(t);
	if (!strstr(stt_err_msg(), want))
		fprintf(stderr, "\nwanted '%s' in '%s'\n", want, stt_err_msg());
	CU_ASSERT_PTR_NOT_NULL(strstr(stt_err_msg(), want));
}

#define HEAD "{\"schema\": \"stortune-trace\", \"schema_version\": 1, "

static void test_bad(void)
{
	refused("not json", "x.json: not JSON");
	refused("{\"schema\": \"stortune-results\"}", "x.json: schema: not \"stortune-trace\"");
	refused("{\"schema\": \"stortune-trace\", \"schema_version\": 2}", "schema_version");
	refused(HEAD "\"files\": 3}", "x.json: files: missing or not an array");
	refused(HEAD "\"files\": [{\"path\": \"/etc/passwd\", \"size_bytes\": 1, \"ranges\": []}]}",
		"files[0].path: missing, or not a relative path");
	refused(HEAD "\"files\": [{\"path\": \"a/../../b\", \"size_bytes\": 1, \"ranges\": []}]}",
		"files[0].path");
	refused(HEAD "\"files\": [{\"path\": \"a\", \"size_bytes\": -1, \"ranges\": []}]}",
		"files[0].size_bytes");
	refused(HEAD "\"files\": [{\"path\": \"a\", \"size_bytes\": 10, \"ranges\": [[0, 11, "
		     "\"r\"]]}]}",
		"files[0].ranges[0]: empty, or beyond the file's size_bytes");
	refused(HEAD "\"files\": [{\"path\": \"a\", \"size_bytes\": 10, \"ranges\": [[0, 1, "
		     "\"x\"]]}]}",
		"files[0].ranges[0]: kind must be");
	refused(HEAD "\"files\": [{\"path\": \"a\", \"size_bytes\": 10, \"ranges\": [[0, 1]]}]}",
		"files[0].ranges[0]: not [offset, length, kind]");
	refused(HEAD "\"files\": [{\"path\": \"a\", \"size_bytes\": 10, \"ranges\": []}, "
		     "{\"path\": \"a\", \"size_bytes\": 10, \"ranges\": []}]}",
		"files[1].path: given twice");
}

int unit_register_trace(void)
{
	CU_pSuite s = CU_add_suite("trace", NULL, NULL);

	if (!s)
		return CU_get_error();
	CU_add_test(s, "ranges merged in order, JSON round trip", test_merge_roundtrip);
	CU_add_test(s, "bad trace files refused with the member named", test_bad);
	return CU_get_error();
}
