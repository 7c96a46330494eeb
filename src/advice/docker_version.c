// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Docker Engine versions and what each generation offers for storage (see docker_version.h).
 * Facts from Docker's deprecation notes and release notes: devicemapper deprecated in 18.09,
 * not chosen automatically from 23.0, removed in 25.0.
 */
#include "advice/docker_version.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int stt_docker_version_parse(const char *s, struct stt_docker_version *v)
{
	const char *p = s, *start;
	long part[3] = {0, 0, 0};
	int n = 0;

	memset(v, 0, sizeof(*v));
	if (!s)
		return -EINVAL;
	while (*p && (*p < '0' || *p > '9'))
		p++;
	start = p;
	while (n < 3 && *p >= '0' && *p <= '9') {
		char *end;

		part[n++] = strtol(p, &end, 10);
		if (part[n - 1] > 9999)
			return -EINVAL;
		p = end;
		if (*p != '.' || p[1] < '0' || p[1] > '9')
			break;
		p++;
	}
	if (!n)
		return -EINVAL;
	v->known = true;
	v->major = (int)part[0];
	v->minor = (int)part[1];
	v->patch = (int)part[2];
	/* the version word itself: "20.10.24+dfsg1" of "Docker version 20.10.24+dfsg1, build x" */
	snprintf(v->text, sizeof(v->text), "%.*s", (int)strcspn(start, " \t\r\n,"), start);
	return 0;
}

int stt_docker_version_cmp(const struct stt_docker_version *v, int major, int minor)
{
	if (v->major != major)
		return v->major < major ? -1 : 1;
	return v->minor < minor ? -1 : v->minor > minor;
}

unsigned int stt_docker_drivers(const struct stt_docker_version *v)
{
	if (!v->known || stt_docker_version_cmp(v, 25, 0) >= 0)
		return STT_DRIVER_OVERLAY2;
	return STT_DRIVER_OVERLAY2 | STT_DRIVER_DEVICEMAPPER;
}

const char *stt_docker_dm_status(const struct stt_docker_version *v)
{
	if (!v->known)
		return "the Docker version is unknown, so the newest rules apply: devicemapper was "
		       "removed in Docker 25.0";
	if (stt_docker_version_cmp(v, 25, 0) >= 0)
		return "devicemapper was removed in Docker 25.0 (deprecated since 18.09)";
	if (stt_docker_version_cmp(v, 23, 0) >= 0)
		return "devicemapper is deprecated (since 18.09), is never chosen automatically "
		       "from "
		       "Docker 23.0 on, so it must be set explicitly, and is gone in 25.0";
	return "devicemapper is deprecated since Docker 18.09 and gone in 25.0";
}
