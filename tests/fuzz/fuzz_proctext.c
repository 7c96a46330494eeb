// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The smaller kernel and tool texts: /proc/filesystems, /proc/misc, /proc/locks, a
 * queue/scheduler line, a program's --version output, Docker's version.
 */
#include "fuzz.h"

#include "advice/docker_version.h"
#include "sys/sysfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_str(data, size), out[64];
	struct stt_docker_version v;

	(void)stt_sysfs_has_filesystem(text, "overlay");
	(void)stt_sysfs_misc_minor(text, "device-mapper");
	(void)stt_sysfs_lock_holder(text, 0xfe, 0, 10969103);
	if (!stt_sysfs_parse_scheduler(text, out, sizeof(out)) && strlen(out) >= sizeof(out))
		abort();
	if (!stt_sysfs_parse_version(text, out, sizeof(out)) && strlen(out) >= sizeof(out))
		abort();
	if (!stt_docker_version_parse(text, &v)) {
		(void)stt_docker_drivers(&v);
		(void)stt_docker_dm_status(&v);
		(void)stt_docker_version_cmp(&v, 24, 0);
	}
	free(text);
	return 0;
}
