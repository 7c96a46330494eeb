/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_EMIT_H
#define STT_EMIT_H

/*
 * The files a recommendation (recommend.h) turns into, each deployable without editing:
 * daemon.json (for either driver), the LVM profile, the direct-lvm setup script, containerd's
 * devmapper snapshotter snippet, RECOMMENDATION.md, and the decisions as JSON. Texts are
 * malloc'd (the caller frees them); nothing is written here.
 */

#include <stddef.h>

struct json_object;
struct stt_rec;

/* The names the files get in the output directory. */
#define STT_EMIT_DAEMON_JSON	"daemon.json"
#define STT_EMIT_DAEMON_DM_JSON "daemon-devicemapper.json"
#define STT_EMIT_PROFILE	"docker-thinpool.profile"
#define STT_EMIT_SETUP		"setup-direct-lvm.sh"
#define STT_EMIT_CONTAINERD	"containerd-devmapper.toml"
#define STT_EMIT_MARKDOWN	"RECOMMENDATION.md"

/*
 * daemon.json for @driver ("overlay2" or "devicemapper"): "storage-driver", "data-root" when
 * one was decided, and "storage-opts" (the driver's options that are emitted; absent when
 * there are none). 0 or -ENOMEM; -EINVAL for a driver this Docker version does not have.
 */
__attribute__((warn_unused_result)) int
stt_emit_daemon_json(const struct stt_rec *r, const char *driver, struct json_object **out);

/* The LVM profile docker-thinpool (autoextend threshold and percent). */
__attribute__((warn_unused_result)) int stt_emit_lvm_profile(const struct stt_rec *r, char **out);

/*
 * setup-direct-lvm.sh: POSIX sh, idempotent; refuses a device with any signature that is not
 * a PV of its own VG; PV, VG docker, pool docker/thinpool with the chosen chunk size, zeroing
 * and sizes, the profile, monitoring; prints each step. The device is the recommendation's,
 * overridable by its first argument.
 */
__attribute__((warn_unused_result)) int stt_emit_setup_script(const struct stt_rec *r, char **out);

/* containerd's devmapper snapshotter on the same kind of pool (config.toml, version 2). */
__attribute__((warn_unused_result)) int stt_emit_containerd(const struct stt_rec *r, char **out);

struct stt_emit_file {
	const char *name; /* "daemon.json" */
	const char *path; /* where it was written */
	const char *what; /* one line */
};

/*
 * RECOMMENDATION.md: the settings with value, source and rule, the evidence of each, what was
 * not measured, the files and how to deploy them. @merge_note (may be NULL) says what the
 * merge into an existing daemon.json did.
 */
__attribute__((warn_unused_result)) int stt_emit_markdown(const struct stt_rec *r,
							  const struct stt_emit_file *files,
							  size_t nfiles, const char *merge_note,
							  char **out);

/*
 * The recommendation for machines: { "docker": {...}, "driver", "device", "decisions": [ {
 * "key", "value", "source", "scope", "rule", "evidence" } ], "not_measured": [...] }.
 */
__attribute__((warn_unused_result)) int stt_emit_json(const struct stt_rec *r,
						      struct json_object **out);

#endif
