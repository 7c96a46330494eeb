// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * /proc/self/mountinfo text: each line parsed in place (the strings must lie in the line),
 * the mount holding a path, the mount points of a device.
 */
#include "fuzz.h"

#include "sys/sysfs.h"

static void in_line(const char *s, const char *line, size_t len)
{
	if (!s || s < line || s > line + len)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_str(data, size), *copy = fuzz_str(data, size), *line, *save = NULL;
	char mp[256], fs[32], src[256], list[512];
	unsigned int major = 8, minor = 1;
	bool first = true;

	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t len = strlen(line);
		struct stt_mountinfo m;

		if (stt_sysfs_parse_mountinfo(line, &m))
			continue;
		in_line(m.root, line, len);
		in_line(m.mountpoint, line, len);
		in_line(m.fstype, line, len);
		in_line(m.source, line, len);
		in_line(m.options, line, len);
		in_line(m.super_opts, line, len);
		if (first) { /* look up what the first mount names */
			major = m.major;
			minor = m.minor;
			first = false;
		}
	}
	if (!stt_sysfs_find_mount(text, "/var/lib/docker/overlay2", major, minor, mp, sizeof(mp),
				  fs, sizeof(fs), src, sizeof(src)) &&
	    mp[0] != '/')
		abort(); /* path_under() only accepts a mount point that is a prefix of the path */
	(void)!stt_sysfs_find_mount(text, "/", major, minor, mp, sizeof(mp), fs, sizeof(fs), src,
				    sizeof(src));
	(void)stt_sysfs_mounts_of(text, major, minor, list, sizeof(list));
	(void)stt_sysfs_mounts_of(text, major, minor, list, 8);
	free(copy);
	free(text);
	return 0;
}
