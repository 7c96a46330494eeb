/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_ARRAY_H
#define STT_ARRAY_H

#include <stddef.h>

/*
 * Room for one more element in a growing array: when @n elements fill *@cap, the array that
 * @arrp points to (a T **) is reallocated to twice as many elements of @elem bytes, or @first
 * when it has none. 0, or -ENOMEM with the array as it was.
 */
__attribute__((warn_unused_result)) int stt_array_reserve(void *arrp, size_t *cap, size_t n,
							  size_t elem, size_t first);

#endif
