// SPDX-License-Identifier: GPL-2.0-or-later
/* The undo journal `cleanup` replays: what it would undo (nothing is undone here). */
#include "fuzz.h"

#include "sys/journal.h"

static void seen(enum stt_jkind kind, const char *a, const char *b, int result, void *arg)
{
	unsigned int *n = arg;

	if (kind >= STT_J_NKINDS || !a || !b || result)
		abort();
	(*n)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned int pending = 0, calls = 0;

	if (!stt_journal_parse((const char *)data, size, "fuzz.journal", seen, &calls, &pending) &&
	    pending != calls)
		abort();
	return 0;
}
