// SPDX-License-Identifier: GPL-2.0-or-later
/* A workload profile (INI, through inih): parse, describe as JSON, split the files. */
#include "fuzz.h"

#include "workload/profile.h"

#include <json-c/json.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_str(data, size);
	struct stt_profile p;
	struct json_object *j = NULL;
	uint64_t s, m, l;

	memset(&p, 0, sizeof(p));
	if (!stt_profile_parse(text, "fuzz.ini", &p)) {
		if (!stt_profile_to_json(&p, &j))
			json_object_put(j);
		stt_profile_file_classes(&p.image, &s, &m, &l);
		if (s + m + l != p.image.files)
			abort(); /* the classes split the files */
	}
	stt_profile_release(&p);
	free(text);
	return 0;
}
