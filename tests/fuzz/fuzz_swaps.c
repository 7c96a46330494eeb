// SPDX-License-Identifier: GPL-2.0-or-later
/* /proc/swaps text: whether a device is an active swap. */
#include "fuzz.h"

#include "sys/sysfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_str(data, size);

	(void)stt_sysfs_is_swap(text, "/dev/sda2");
	(void)stt_sysfs_is_swap(text, "/swap file");
	(void)stt_sysfs_is_swap(text, "");
	free(text);
	return 0;
}
