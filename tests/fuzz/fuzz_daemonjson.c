// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * An operator's daemon.json: parse it, merge the recommended keys into it, and the merged
 * text must parse again and hold the recommended values.
 */
#include "fuzz.h"

#include "advice/daemonjson.h"

#include <json-c/json.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *base = NULL, *ours, *merged = NULL, *again = NULL, *v;
	char *diff = NULL;
	const char *text;
	int changed = 0;

	if (stt_daemonjson_parse((const char *)data, size, "fuzz.json", &base))
		return 0;
	ours = json_tokener_parse("{\"storage-driver\":\"overlay2\",\"data-root\":\"/srv/docker\","
				  "\"storage-opts\":[\"overlay2.size=8G\"]}");
	if (!ours)
		abort();
	if (!stt_daemonjson_merge(base, ours, "fuzz.json", &merged, &diff, &changed)) {
		text = stt_daemonjson_text(merged);
		if (!text || stt_daemonjson_parse(text, strlen(text), "merged", &again))
			abort(); /* what we write must read back */
		if (!json_object_object_get_ex(again, "storage-driver", &v) ||
		    strcmp(json_object_get_string(v), "overlay2"))
			abort();
	}
	free(diff);
	json_object_put(again);
	json_object_put(merged);
	json_object_put(ours);
	json_object_put(base);
	return 0;
}
