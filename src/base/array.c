// SPDX-License-Identifier: GPL-2.0-or-later
/* A growing array's room for one more element. */
#include "base/array.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int stt_array_reserve(void *arrp, size_t *cap, size_t n, size_t elem, size_t first)
{
	size_t c = *cap ? 2 * *cap : first;
	void *a, *na;

	if (n < *cap)
		return 0;
	if (c <= n)
		c = n + 1;
	if (c > SIZE_MAX / elem)
		return -ENOMEM;
	memcpy(&a, arrp, sizeof(a));
	na = realloc(a, c * elem);
	if (!na)
		return -ENOMEM;
	memcpy(arrp, &na, sizeof(na));
	*cap = c;
	return 0;
}
