/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_ENGINE_GEN_H
#define STT_ENGINE_GEN_H

/*
 * Container engine generations and what storage settings each takes (README "Engine
 * versions" has the table and the source of every fact):
 *  - Docker <= 24: graph drivers, devicemapper still there (deprecated);
 *  - Docker 25-28: graph drivers, overlay2; devicemapper removed; the containerd image store
 *    only when daemon.json sets "features": {"containerd-snapshotter": true};
 *  - Docker >= 29: the containerd image store is the default of fresh installations (an
 *    upgraded daemon keeps its graph driver until the feature is set); "storage-driver" then
 *    names a containerd snapshotter ("overlayfs");
 *  - containerd itself: config.toml (version 2), a snapshotter per plugin section.
 *
 * For containerd the recommendation is a drop-in file for its "imports" mechanism: containerd
 * replaces a whole plugin section with an imported one (it does not merge keys), so the
 * drop-in holds only the devmapper snapshotter's section; the CRI plugin's snapshotter key
 * stays in the main config, set by hand.
 */

#include "advice/docker_version.h"

#include <stdbool.h>

struct stt_rec;

enum stt_engine_gen {
	STT_ENGINE_DOCKER_DM,	 /* Docker <= 24 */
	STT_ENGINE_DOCKER_GRAPH, /* Docker 25-28 */
	STT_ENGINE_DOCKER_CTRD,	 /* Docker >= 29 (and an unknown Docker: the newest rules) */
	STT_ENGINE_CONTAINERD,	 /* containerd's own config.toml */
};

struct stt_engine {
	enum stt_engine_gen gen;
	struct stt_docker_version v; /* Docker's, or containerd's for STT_ENGINE_CONTAINERD */
};

/*
 * "28.1", "docker 29.0.1", "docker:24", "containerd 1.7.24", "containerd:2.0". 0, or -EINVAL
 * (with a message) for anything else.
 */
__attribute__((warn_unused_result)) int stt_engine_gen_parse(const char *s, struct stt_engine *e);
/* The generation of a Docker version (unknown: the newest). */
void stt_engine_gen_docker(const struct stt_docker_version *v, struct stt_engine *e);

/* "docker-24-and-older", "docker-25-28", "docker-29-and-newer", "containerd". */
const char *stt_engine_gen_name(enum stt_engine_gen g);
/* What the generation uses for storage and what it gets, for RECOMMENDATION.md. */
const char *stt_engine_gen_story(enum stt_engine_gen g);

#define STT_ENGINE_DROPIN     "containerd-snapshotter.toml"
#define STT_ENGINE_DROPIN_DIR "/etc/containerd/conf.d"

/*
 * The containerd drop-in (version 2) for @snapshotter ("overlayfs": nothing to configure,
 * a comment; "devmapper": its plugin section from @r's pool values, pool @pool_name).
 * -EINVAL for another snapshotter, -ENOMEM.
 */
__attribute__((warn_unused_result)) int stt_engine_gen_dropin(const struct stt_rec *r,
							      const char *snapshotter,
							      const char *pool_name, char **out);
/*
 * The Markdown section for @e: the story, and for containerd the "imports" line the main
 * config needs (@has_imports: it has one already) and the CRI snapshotter key; for Docker
 * 25 and later the daemon.json "features" key. Malloc'd.
 */
__attribute__((warn_unused_result)) int stt_engine_gen_markdown(const struct stt_engine *e,
								const char *snapshotter,
								const char *dropin_path,
								bool has_imports, char **out);

#endif
