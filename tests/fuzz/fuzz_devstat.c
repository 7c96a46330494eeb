// SPDX-License-Identifier: GPL-2.0-or-later
/* A block device's "stat" line and /proc/meminfo text (device counters, page cache). */
#include "fuzz.h"

#include "sys/devstat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_str(data, size);
	struct stt_devstat a, b, d;
	uint64_t v;

	if (!stt_devstat_parse(text, &a)) {
		memset(&b, 0, sizeof(b));
		stt_devstat_delta(&b, &a, &d);
	}
	(void)!stt_meminfo_field(text, "HugePages_Free", &v);
	(void)!stt_meminfo_field(text, "Cached", &v);
	(void)!stt_devstat_parse_cached(text, &v);
	free(text);
	return 0;
}
