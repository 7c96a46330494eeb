/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_DOCKER_VERSION_H
#define STT_DOCKER_VERSION_H

/* Docker Engine versions, and the storage drivers each generation offers. */

#include <stdbool.h>

/* A Docker Engine version: "20.10.24+dfsg1", "24.0.7", "Docker version 28.2.2, build e6534b4". */
struct stt_docker_version {
	bool known;
	int major, minor, patch;
	char text[64]; /* as given, trimmed */
};

/* 0, or -EINVAL when @s holds no "MAJOR[.MINOR[.PATCH]]". */
__attribute__((warn_unused_result)) int stt_docker_version_parse(const char *s,
								 struct stt_docker_version *v);

/* Storage drivers a Docker version offers (an unknown version gets the newest rules). */
enum {
	STT_DRIVER_OVERLAY2 = 1 << 0,
	STT_DRIVER_DEVICEMAPPER = 1 << 1,
};
unsigned int stt_docker_drivers(const struct stt_docker_version *v);
/*
 * What a version says about devicemapper, one sentence: deprecated (18.09 to 22.x), to be set
 * explicitly and deprecated (23 and 24), removed (25 and later).
 */
const char *stt_docker_dm_status(const struct stt_docker_version *v);

/* <0, 0 or >0 as @v is before, at or after MAJOR.MINOR. */
int stt_docker_version_cmp(const struct stt_docker_version *v, int major, int minor);

#endif
