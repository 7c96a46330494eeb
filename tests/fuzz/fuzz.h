/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_TEST_FUZZ_H
#define STT_TEST_FUZZ_H

/*
 * The fuzz harnesses (libFuzzer, clang, ASan and UBSan): one file per parser of outside input,
 * each defining LLVMFuzzerTestOneInput. Build and run: `make fuzz FUZZ_SECONDS=N`.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* @data as a string of exactly @size + 1 bytes (so that ASan sees any read past its end). */
static inline char *fuzz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
