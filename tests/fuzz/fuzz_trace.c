// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A trace file (`stortune trace`, JSON) and a line of tracefs's trace_pipe: parse; a trace that
 * parses is written back and must parse again to the same files and ranges.
 */
#include "fuzz.h"

#include "sys/tracefs.h"
#include "workload/trace.h"

#include <json-c/json.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_str(data, size);
	struct stt_tracefs_event ev;
	struct stt_trace *t = NULL, *u = NULL;
	struct json_object *doc = NULL;

	if (!stt_tracefs_parse_line(text, &ev) && ev.last_page < ev.first_page)
		abort(); /* a range the wrong way round */
	if (!stt_trace_parse(text, size, "fuzz.json", &t)) {
		const char *out;

		if (stt_trace_to_json(t, &doc))
			abort();
		out = json_object_to_json_string(doc);
		if (stt_trace_parse(out, strlen(out), "again.json", &u) ||
		    u->n_files != t->n_files || stt_trace_read_bytes(u) != stt_trace_read_bytes(t))
			abort();
		for (size_t i = 0; i < t->n_files; i++)
			if (u->files[i].n_ranges != t->files[i].n_ranges ||
			    stt_trace_file_unique_bytes(&t->files[i]) > t->files[i].size_bytes)
				abort();
	}
	json_object_put(doc);
	stt_trace_free(u);
	stt_trace_free(t);
	free(text);
	return 0;
}
