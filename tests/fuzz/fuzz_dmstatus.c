// SPDX-License-Identifier: GPL-2.0-or-later
/* A device-mapper thin-pool status line (dm_get_next_target's params). */
#include "fuzz.h"

#include "backend/thinpool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_str(data, size);
	struct stt_pool_status st;

	(void)!stt_thinpool_parse_status(text, &st);
	free(text);
	return 0;
}
