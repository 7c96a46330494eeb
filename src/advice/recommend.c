// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The rule table of recommend.h, over the facts recommend_facts.c gathers (which backend ran
 * where, with what figures; this host's probe facts; the image; a tuning sweep). The rows
 * come in the order the settings depend on each other: the driver, then where its data goes,
 * its options, the devicemapper options, the thin pool and its profile.
 *
 * Facts checked against Docker's documentation of the devicemapper driver and daemon.json
 * and against moby v24 (the last release with devicemapper): dm.basesize 10G,
 * dm.min_free_space 10%, dm.fs xfs, dm.blkdiscard true, deferred removal and deletion off,
 * XFS retrying forever on ENOSPC unless dm.xfs_nospace_max_retries is set; the direct-lvm
 * procedure (VG docker, thinpool 95%VG, thinpoolmeta 1%VG, lvconvert --zero n -c 512K,
 * autoextend 80/20 in the profile docker-thinpool, monitored by dmeventd).
 */
#include "advice/recommend_int.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOCKER_BASESIZE (10ull << 30)
#define DOCKER_CHUNK	(512ull << 10)
/* devicemapper beats overlay2 only when clearly faster: 1.25x the storm rate, no slower start. */
#define DM_STORM_MARGIN 1.25
/* Deferred removal needs the device-mapper ioctl interface 4.27 (Linux 3.13). */
#define DM_DEFERRED_MAJOR 4
#define DM_DEFERRED_MINOR 27

const char *stt_rec_source_name(enum stt_rec_source s)
{
	switch (s) {
	case STT_REC_MEASURED:
		return "measured";
	case STT_REC_DEFAULT:
		return "default";
	case STT_REC_GIVEN:
		return "given";
	case STT_REC_NOT_APPLICABLE:
		return "not-applicable";
	case STT_REC_REFUSED:
		return "refused";
	}
	return "?";
}

const char *stt_rec_scope_name(enum stt_rec_scope s)
{
	static const char *const names[] = {"daemon",	 "overlay2",	"devicemapper",
					    "thin-pool", "lvm-profile", "advice"};

	return (unsigned int)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

const char *stt_rec_size(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "KMGT";
	int u = -1;

	while (u < 3 && bytes && !(bytes & 1023)) {
		bytes >>= 10;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%llu", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)bytes, units[u]);
	return buf;
}

/* ---- Rows ------------------------------------------------------------------------------- */

__attribute__((format(printf, 2, 3))) static void ev(struct stt_rec_decision *d, const char *fmt,
						     ...)
{
	size_t n = strlen(d->evidence);
	va_list ap;

	if (n >= sizeof(d->evidence) - 1)
		return;
	/* sentences and clauses join with a space; punctuation sticks to what it ends */
	if (n && d->evidence[n - 1] != ' ' && !strchr(".,;:)", fmt[0]))
		d->evidence[n++] = ' ';
	va_start(ap, fmt);
	vsnprintf(d->evidence + n, sizeof(d->evidence) - n, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 2, 3))) static void val(struct stt_rec_decision *d, const char *fmt,
						      ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->value, sizeof(d->value), fmt, ap);
	va_end(ap);
}

/* Something no figure backs: listed under "not measured". */
__attribute__((format(printf, 2, 3))) static void not_measured(struct ctx *c, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (c->r->nnot >= STT_REC_NOTES_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < c->r->nnot; i++)
		if (!strcmp(c->r->not_measured[i], buf))
			return;
	c->r->not_measured[c->r->nnot] = strdup(buf);
	if (c->r->not_measured[c->r->nnot])
		c->r->nnot++;
}

/* "start p50 0.46 ms, first-read p50 0.54 ms, 27.5 containers/s (cold, native)" */
static void figures(struct stt_rec_decision *d, const struct be *b)
{
	char a[32], f[32];

	ev(d, "start p50 %s, first-read p50 %s, %.1f containers/s (%s, %s)", ms(b->start, a, 32),
	   ms(b->fr, f, 32), b->storm, b->mode, b->env);
}

/* What qualify --engine both found, when it ran. */
static void engine_ev(struct ctx *c, struct stt_rec_decision *d)
{
	if (*c->engine_note)
		ev(d, "%s", c->engine_note);
}

static const char *vm_caveat(const struct be *b)
{
	return b->native ? "" : " (emulated: shows the backend works, not this host's speed)";
}

/* -- storage-driver -- */

static bool ov_native(struct ctx *c)
{
	return c->be[BE_OVERLAY].j && c->be[BE_OVERLAY].native;
}

static bool dlvm_native(struct ctx *c)
{
	return c->be[BE_DLVM].j && c->be[BE_DLVM].native;
}

static bool when_driver_dm_only(struct ctx *c)
{
	return c->r->dm_allowed && !ov_native(c) && dlvm_native(c);
}

static void driver_dm(struct ctx *c, struct stt_rec_decision *d)
{
	const struct be *o = &c->be[BE_OVERLAY], *l = &c->be[BE_DLVM];

	val(d, "devicemapper");
	c->r->driver = "devicemapper";
	if (o->j) {
		char a[32], b[32];

		ev(d,
		   "direct-lvm beat overlay on this host: %.1f vs %.1f containers/s, start p50 "
		   "%s vs %s.",
		   l->storm, o->storm, ms(l->start, a, 32), ms(o->start, b, 32));
	} else {
		ev(d, "overlay did not run on this host (%s); direct-lvm did:",
		   o->reason ? o->reason : "not measured");
		figures(d, l);
		ev(d, ".");
	}
	ev(d, "Note: %s; plan the move to overlay2 before upgrading Docker.",
	   stt_docker_dm_status(&c->r->docker));
	engine_ev(c, d);
}

static bool when_driver_dm_faster(struct ctx *c)
{
	const struct be *o = &c->be[BE_OVERLAY], *l = &c->be[BE_DLVM];

	return c->r->dm_allowed && ov_native(c) && dlvm_native(c) && known(l->storm) &&
	       known(o->storm) && l->storm >= DM_STORM_MARGIN * o->storm && l->start <= o->start;
}

static void driver_overlay2(struct ctx *c, struct stt_rec_decision *d)
{
	const struct be *o = &c->be[BE_OVERLAY], *l = &c->be[BE_DLVM];
	char a[32];

	val(d, "overlay2");
	c->r->driver = "overlay2";
	ev(d, "overlay ran on this host:");
	figures(d, o);
	ev(d, ".");
	if (l->j && l->native)
		ev(d,
		   "direct-lvm here: %.1f containers/s, start p50 %s; devicemapper would need "
		   "%.2fx overlay's storm rate and no slower start to be chosen.",
		   l->storm, ms(l->start, a, 32), DM_STORM_MARGIN);
	else if (l->j)
		ev(d,
		   "direct-lvm was measured only in %s (start p50 %s, %.1f containers/s): that "
		   "shows it works, not how fast it is on this host, so it cannot outweigh "
		   "overlay's native figures.",
		   l->env, ms(l->start, a, 32), l->storm);
	else
		ev(d, "direct-lvm was not measured (%s).",
		   l->reason ? l->reason : "not in the results");
	if (!c->r->dm_allowed)
		ev(d, "For Docker %s devicemapper is not an option: %s.",
		   c->r->docker.known ? c->r->docker.text : "(unknown version)",
		   stt_docker_dm_status(&c->r->docker));
	engine_ev(c, d);
}

static void driver_overlay2_default(struct ctx *c, struct stt_rec_decision *d)
{
	const struct be *o = &c->be[BE_OVERLAY];

	val(d, "overlay2");
	c->r->driver = "overlay2";
	if (o->j)
		ev(d, "overlay was measured only in %s;", o->env);
	else
		ev(d, "overlay did not run on this host (%s);",
		   o->reason ? o->reason : "not measured");
	ev(d, "overlay2 is Docker's default and preferred driver.");
	if (c->be[BE_DLVM].j && !c->be[BE_DLVM].native)
		ev(d, "direct-lvm ran only in %s, which cannot show this host's speed.",
		   c->be[BE_DLVM].env);
	if (!c->r->dm_allowed)
		ev(d, "%s.", stt_docker_dm_status(&c->r->docker));
	not_measured(c, "overlay on this host (storage-driver falls back to Docker's default)");
}

/* -- devicemapper and loop-lvm (advice) -- */

static bool when_dm_removed(struct ctx *c)
{
	return !c->r->dm_allowed;
}

static void dm_removed(struct ctx *c, struct stt_rec_decision *d)
{
	ev(d,
	   "Docker %s: %s. For thin pools, containerd's devmapper snapshotter "
	   "(containerd-devmapper.toml) remains.",
	   c->r->docker.known ? c->r->docker.text : "version unknown",
	   stt_docker_dm_status(&c->r->docker));
}

static bool when_dm_recommended(struct ctx *c)
{
	return !strcmp(c->r->driver, "devicemapper");
}

static void dm_recommended(struct ctx *c, struct stt_rec_decision *d)
{
	val(d, "recommended (daemon.json)");
	ev(d, "%s.", stt_docker_dm_status(&c->r->docker));
}

static void dm_alternative(struct ctx *c, struct stt_rec_decision *d)
{
	struct json_object *h = c->host;
	bool dm_here = json_object_get_boolean(stt_json_get(h, "kernel.device_mapper.present"));

	val(d, "alternative (daemon-devicemapper.json)");
	ev(d, "Not the recommendation (see storage-driver); written for Docker %s, where %s.",
	   c->r->docker.text, stt_docker_dm_status(&c->r->docker));
	if (c->dm)
		ev(d, "Its thin-pool figures come from %s in %s%s.", be_names[c->dm - c->be],
		   c->dm->env, vm_caveat(c->dm));
	if (h && !dm_here)
		ev(d,
		   "This host cannot run devicemapper (%s): the devicemapper files are for a "
		   "host whose kernel has device-mapper.",
		   str(h, "kernel.device_mapper.reason") ?: "no device-mapper");
}

static void loop_lvm(struct ctx *c, struct stt_rec_decision *d)
{
	const struct be *lp = &c->be[BE_DMLOOP], *ref = NULL;
	char a[32], b[32];

	ev(d, "loop-lvm (devicemapper on sparse files over loop devices, Docker's fallback when "
	      "no pool is named) is for testing only, never production; the devicemapper settings "
	      "here always name a pool (dm.thinpooldev), so Docker never falls back to it.");
	if (!lp->j)
		return;
	if (c->be[BE_DLVM].j && !strcmp(c->be[BE_DLVM].env, lp->env))
		ref = &c->be[BE_DLVM];
	else if (c->be[BE_OVERLAY].j && !strcmp(c->be[BE_OVERLAY].env, lp->env))
		ref = &c->be[BE_OVERLAY];
	if (ref && known(ref->start) && ref->start > 0 && known(ref->storm) && lp->storm > 0) {
		double st = lp->start / ref->start, sr = ref->storm / lp->storm;

		ev(d,
		   "Measured in %s against %s there: %.1f vs %.1f containers/s (%.1fx %s), "
		   "start p50 %s vs %s (%.1fx %s).",
		   lp->env, be_names[ref - c->be], lp->storm, ref->storm, sr >= 1 ? sr : 1 / sr,
		   sr >= 1 ? "slower" : "faster", ms(lp->start, a, 32), ms(ref->start, b, 32),
		   st >= 1 ? st : 1 / st, st >= 1 ? "slower" : "faster");
	} else
		ev(d, "Measured in %s: start p50 %s, %.1f containers/s.", lp->env,
		   ms(lp->start, a, 32), lp->storm);
}

/* -- data-root -- */

static bool when_data_root_given(struct ctx *c)
{
	return c->in->data_root && *c->in->data_root;
}

static void data_root_given(struct ctx *c, struct stt_rec_decision *d)
{
	val(d, "%s", c->in->data_root);
	ev(d, "Given with --data-root.");
}

static bool when_driver_is_dm(struct ctx *c)
{
	return !strcmp(c->r->driver, "devicemapper");
}

static void data_root_dm(struct ctx *c, struct stt_rec_decision *d)
{
	(void)c;
	ev(d, "With devicemapper the layers live in the thin pool; data-root keeps Docker's "
	      "default /var/lib/docker, which holds only metadata.");
}

static const char *qualified_device(struct ctx *c)
{
	const char *dev = str(c->options, "device");

	if (dev && *dev)
		return dev;
	if (c->target && str(c->target, "kind") && !strcmp(str(c->target, "kind"), "block"))
		return str(c->target, "path");
	return NULL;
}

static bool when_data_root_device(struct ctx *c)
{
	return c->host_native && qualified_device(c);
}

static void data_root_device(struct ctx *c, struct stt_rec_decision *d)
{
	bool pq =
	    str(c->host, "kernel.xfs_pquota") && !strcmp(str(c->host, "kernel.xfs_pquota"), "yes");

	val(d, "/var/lib/docker");
	ev(d,
	   "The qualified device is %s: make xfs on it (mkfs.xfs -n ftype=1) and mount it at "
	   "/var/lib/docker%s before Docker starts.",
	   qualified_device(c), pq ? " with -o pquota" : "");
	if (c->be[BE_OVERLAY].j)
		ev(d,
		   "overlay's figures were taken on a filesystem in the workdir (%s), not on "
		   "the device itself.",
		   str(c->options, "workdir") ?: "?");
}

static bool target_is_dir(struct ctx *c)
{
	const char *k = str(c->target, "kind");

	return c->host_native && k && !strcmp(k, "directory");
}

static bool when_data_root_no_dtype(struct ctx *c)
{
	struct json_object *dt = stt_json_get(c->target, "d_type");

	return target_is_dir(c) && dt && !json_object_get_boolean(dt);
}

static void data_root_no_dtype(struct ctx *c, struct stt_rec_decision *d)
{
	ev(d,
	   "The measured filesystem (%s at %s) has no d_type, which overlay2 refuses: put "
	   "data-root on a filesystem that has it (xfs with ftype=1, ext4).",
	   str(c->target, "fstype") ?: "?", str(c->target, "mountpoint") ?: "?");
}

static bool when_data_root_mount(struct ctx *c)
{
	const char *m = str(c->target, "mountpoint");

	return target_is_dir(c) && m && strcmp(m, "/");
}

static void data_root_mount(struct ctx *c, struct stt_rec_decision *d)
{
	const char *m = str(c->target, "mountpoint");

	val(d, "%s/docker", m);
	ev(d,
	   "The qualified target %s is on %s (%s from %s, d_type yes), not on the root "
	   "filesystem where Docker's default /var/lib/docker is.",
	   str(c->target, "path") ?: "?", m, str(c->target, "fstype") ?: "?",
	   str(c->target, "source") ?: "?");
}

static void data_root_default(struct ctx *c, struct stt_rec_decision *d)
{
	if (target_is_dir(c))
		ev(d,
		   "The qualified target %s is on the root filesystem (%s from %s), where "
		   "Docker's default /var/lib/docker is: nothing to change.",
		   str(c->target, "path") ?: "?", str(c->target, "fstype") ?: "?",
		   str(c->target, "source") ?: "?");
	else
		ev(d,
		   "No qualified target recorded on this host: Docker's default /var/lib/docker.");
}

/* -- overlay2 options -- */

static bool when_not_overlay2(struct ctx *c)
{
	return strcmp(c->r->driver, "overlay2") != 0;
}

static void not_overlay2(struct ctx *c, struct stt_rec_decision *d)
{
	ev(d, "The recommended driver is %s.", c->r->driver);
}

static bool data_root_xfs(struct ctx *c)
{
	const char *fs = str(c->target, "fstype");

	return qualified_device(c) || (fs && !strcmp(fs, "xfs"));
}

static bool when_overlay2_size(struct ctx *c)
{
	const char *pq = str(c->host, "kernel.xfs_pquota");

	return c->host_native && pq && !strcmp(pq, "yes") && data_root_xfs(c);
}

static void overlay2_size(struct ctx *c, struct stt_rec_decision *d)
{
	const struct be *o = &c->be[BE_OVERLAY];
	double w =
	    (known(o->fw_bytes) ? o->fw_bytes : 0) + (known(o->cow_bytes) ? o->cow_bytes : 0);
	uint64_t size = DOCKER_BASESIZE;
	char a[32], b[32];

	if (w * 4 > (double)size)
		size = gib_ceil(w * 4);
	snprintf(c->r->overlay2_size, sizeof(c->r->overlay2_size), "%s",
		 stt_rec_size(size, a, sizeof(a)));
	val(d, "overlay2.size=%s", c->r->overlay2_size);
	ev(d, "xfs project quota works on this host and data-root is on xfs (mount it with "
	      "-o pquota): each container's writable layer can be capped.");
	if (w > 0)
		ev(d,
		   "A container of the profile wrote %s at startup (first-write and cow-write "
		   "device bytes);",
		   mib(w, b, 32));
	ev(d, "%s is at least 4x that and the cap devicemapper's default basesize gives.", a);
}

static void overlay2_size_na(struct ctx *c, struct stt_rec_decision *d)
{
	const char *pq = str(c->host, "kernel.xfs_pquota");

	if (!pq || strcmp(pq, "yes"))
		ev(d,
		   "overlay2.size needs data-root on xfs mounted with pquota; xfs project quota "
		   "on this host: %s (%s).",
		   pq ? pq : "not probed", str(c->host, "kernel.xfs_pquota_detail") ?: "-");
	else
		ev(d,
		   "overlay2.size needs data-root on xfs with pquota; the measured filesystem is "
		   "%s.",
		   str(c->target, "fstype") ?: "unknown");
}

static bool when_okc_removed(struct ctx *c)
{
	return !c->r->docker.known || stt_docker_version_cmp(&c->r->docker, 24, 0) >= 0;
}

static void okc_removed(struct ctx *c, struct stt_rec_decision *d)
{
	ev(d,
	   "Removed in Docker 24.0 (dockerd refuses unknown overlay2 options), never emitted "
	   "for Docker %s.",
	   c->r->docker.known ? c->r->docker.text : "of unknown version");
}

static bool when_okc_ignored(struct ctx *c)
{
	return stt_docker_version_cmp(&c->r->docker, 20, 10) >= 0;
}

static void okc_ignored(struct ctx *c, struct stt_rec_decision *d)
{
	ev(d,
	   "Docker %s no longer checks the kernel version for overlay2, so the option does "
	   "nothing (it was removed in 24.0).",
	   c->r->docker.text);
}

static int kernel_major_minor(struct ctx *c, int *maj, int *min)
{
	const char *rel = str(c->host, "kernel.release");

	return rel && sscanf(rel, "%d.%d", maj, min) == 2 ? 0 : -1;
}

static bool when_okc_old_kernel(struct ctx *c)
{
	int maj, min;

	return ov_native(c) && !kernel_major_minor(c, &maj, &min) && maj < 4;
}

static void okc_old_kernel(struct ctx *c, struct stt_rec_decision *d)
{
	val(d, "overlay2.override_kernel_check=true");
	ev(d,
	   "Kernel %s is older than 4.0, which this Docker's overlay2 refuses without the "
	   "option, yet overlay ran here with multiple lower layers.",
	   str(c->host, "kernel.release"));
}

static void okc_not_needed(struct ctx *c, struct stt_rec_decision *d)
{
	ev(d, "Kernel %s passes overlay2's check without it.",
	   str(c->host, "kernel.release") ?: "(unknown)");
}

/* -- devicemapper options -- */

static bool dlvm_any(struct ctx *c)
{
	return c->be[BE_DLVM].j != NULL;
}

static void thinpooldev(struct ctx *c, struct stt_rec_decision *d)
{
	val(d, "dm.thinpooldev=/dev/mapper/docker-thinpool");
	ev(d, "The pool setup-direct-lvm.sh makes (VG docker, LV thinpool, as Docker documents); "
	      "naming a pool keeps Docker off loop-lvm.");
	if (c->be[BE_DLVM].j)
		ev(d, "direct-lvm ran in %s: start p50 %s.", c->be[BE_DLVM].env,
		   ms(c->be[BE_DLVM].start, (char[32]){0}, 32));
	else
		not_measured(c, "direct-lvm (the thin pool settings follow Docker's procedure)");
}

/* The device-mapper driver version of the host devicemapper would run on. */
static const char *dm_version(struct ctx *c, const char **where)
{
	struct json_object *h = c->host;

	if (!json_object_get_boolean(stt_json_get(h, "kernel.device_mapper.present")) && c->dm)
		h = c->dm->host;
	*where = h == c->host ? (c->host_native ? "this host" : "the measured host") : c->dm->env;
	return str(h, "kernel.device_mapper.driver_version");
}

static int dm_version_cmp(struct ctx *c)
{
	const char *where, *v = dm_version(c, &where);
	int maj, min;

	if (!v || sscanf(v, "%d.%d", &maj, &min) != 2)
		return 2; /* unknown */
	if (maj != DM_DEFERRED_MAJOR)
		return maj < DM_DEFERRED_MAJOR ? -1 : 1;
	return min < DM_DEFERRED_MINOR ? -1 : 1;
}

static bool when_deferred_unsupported(struct ctx *c)
{
	return dm_version_cmp(c) == -1;
}

static void deferred_unsupported(struct ctx *c, struct stt_rec_decision *d)
{
	const char *where, *v = dm_version(c, &where);

	c->r->deferred_removal = false;
	ev(d, "device-mapper %s (%s) predates deferred removal (%d.%d): Docker's default, off.", v,
	   where, DM_DEFERRED_MAJOR, DM_DEFERRED_MINOR);
}

static bool when_deferred_supported(struct ctx *c)
{
	return dm_version_cmp(c) == 1;
}

static void deferred_removal(struct ctx *c, struct stt_rec_decision *d)
{
	const char *where, *v = dm_version(c, &where);
	char a[32];

	c->r->deferred_removal = true;
	val(d, "dm.use_deferred_removal=true");
	if (v)
		ev(d, "device-mapper %s (%s) supports it (%d.%d and later):", v, where,
		   DM_DEFERRED_MAJOR, DM_DEFERRED_MINOR);
	ev(d, "a device still busy when its container stops is removed once released, instead "
	      "of failing the stop; Docker's direct-lvm procedure sets it.");
	if (c->dm)
		ev(d, "Stop p50 on %s: %s (%s).", be_names[c->dm - c->be], ms(c->dm->stop, a, 32),
		   c->dm->env);
	if (!v)
		not_measured(c, "the device-mapper version of the host (deferred removal assumed "
				"supported)");
}

static bool when_no_deferred_removal(struct ctx *c)
{
	return !c->r->deferred_removal;
}

static void deferred_deletion_off(struct ctx *c, struct stt_rec_decision *d)
{
	c->r->deferred_deletion = false;
	ev(d, "Deferred deletion needs deferred removal, which is off.");
}

static bool when_dm_remove_measured(struct ctx *c)
{
	return c->dm && known(c->dm->rm);
}

static void deferred_deletion(struct ctx *c, struct stt_rec_decision *d)
{
	char a[32];

	c->r->deferred_deletion = true;
	val(d, "dm.use_deferred_deletion=true");
	ev(d, "Deleting a thin device then happens in the background and never fails a removal "
	      "because the device is busy;");
	if (c->dm && known(c->dm->rm))
		ev(d, "the synchronous removal measured %s p50 on %s (%s).", ms(c->dm->rm, a, 32),
		   be_names[c->dm - c->be], c->dm->env);
	else
		ev(d, "Docker's direct-lvm procedure sets it.");
}

static bool when_image_known(struct ctx *c)
{
	return known(c->image_bytes) && c->image_bytes > 0;
}

static void basesize(struct ctx *c, struct stt_rec_decision *d)
{
	const struct be *b = c->dm ? c->dm : &c->be[BE_OVERLAY];
	double w =
	    (known(b->fw_bytes) ? b->fw_bytes : 0) + (known(b->cow_bytes) ? b->cow_bytes : 0);
	double need = c->image_bytes + w;
	uint64_t v = gib_ceil(need * 1.5);
	char a[32], x[32], y[32];

	if (v < DOCKER_BASESIZE)
		v = DOCKER_BASESIZE;
	c->r->basesize_bytes = v;
	val(d, "dm.basesize=%s", stt_rec_size(v, a, sizeof(a)));
	ev(d,
	   "The image of profile %s is %s and a container wrote %s at startup; with 50%% "
	   "headroom for the filesystem and what containers add, rounded up to GiB,",
	   c->profile ? c->profile : "?", mib(c->image_bytes, x, 32), mib(w, y, 32));
	if (v == DOCKER_BASESIZE)
		ev(d, "that fits in Docker's default 10G, kept.");
	else
		ev(d, "that needs %s, above Docker's default 10G.", a);
	ev(d, "It can be raised later, never lowered.");
}

static void basesize_default(struct ctx *c, struct stt_rec_decision *d)
{
	c->r->basesize_bytes = DOCKER_BASESIZE;
	val(d, "dm.basesize=10G");
	ev(d, "No image size in the results: Docker's default.");
	not_measured(c, "the image size (dm.basesize is Docker's default)");
}

/* The pool to size reserves against: the qualified device, else the measured pool. */
static void find_pool_bytes(struct ctx *c)
{
	const char *k = str(c->target, "kind");
	double sz = num(c->target, "size_bytes");

	if (c->host_native && k && !strcmp(k, "block") && known(sz) && sz > 0) {
		c->pool_bytes = sz * c->r->data_pct / 100.0;
		snprintf(c->pool_from, sizeof(c->pool_from), "%u%% of %s", c->r->data_pct,
			 str(c->target, "path") ?: "the device");
	} else if (c->dm && known(c->dm->pool_bytes) && c->dm->pool_bytes > 0) {
		c->pool_bytes = c->dm->pool_bytes;
		snprintf(c->pool_from, sizeof(c->pool_from), "the pool measured on %s (%s)",
			 be_names[c->dm - c->be], c->dm->env);
	}
}

static bool when_pool_growth_known(struct ctx *c)
{
	return c->pool_bytes > 0 && c->dm && known(c->dm->data_per_ctr) &&
	       c->dm->data_per_ctr > 0 && known(c->dm->containers);
}

static double storm_bytes(struct ctx *c)
{
	return c->dm->data_per_ctr * c->dm->containers;
}

/*
 * What a full pool did where one was measured (bench's "fault" record; the VM tier's
 * tests/vm/faults.sh makes both kinds for real): which phase, after how many containers,
 * how long the run took to give up. Nothing when no results hold one.
 */
static void cite_pool_full(struct ctx *c, struct stt_rec_decision *d)
{
	const struct pool_full *p[2] = {&c->full_data, &c->full_meta};

	for (int i = 0; i < 2; i++) {
		const struct pool_full *f = p[i];
		double nst;

		if (!f->f)
			continue;
		nst = num(f->f, "no_space_timeout_s");
		ev(d,
		   "Measured full (%s, %s): the pool ran %s in %s after %.0f of %.0f containers,",
		   f->backend, f->env, str(f->f, "what"), str(f->f, "phase"),
		   num(f->f, "containers_done"), num(f->f, "containers"));
		/* dm-thin turns error_if_no_space on itself when its queue timeout expires */
		if (i == 0 && known(nst) && nst > 0 && num(f->f, "seconds_to_give_up") >= nst)
			ev(d,
			   "dm-thin held their writes for its no_space_timeout of %.0f s before "
			   "failing them,",
			   nst);
		else if (i == 1)
			ev(d, "the pool turned read-only and refused every later device,");
		ev(d, "and the run gave up %.1f s into that phase.",
		   num(f->f, "seconds_to_give_up"));
	}
}

static void min_free_space(struct ctx *c, struct stt_rec_decision *d)
{
	double pct = ceil(100.0 * storm_bytes(c) / c->pool_bytes);
	char a[32], b[32];

	c->r->min_free_pct = pct > 10 ? (pct > 50 ? 50 : to_uint(pct)) : 10;
	val(d, "dm.min_free_space=%u%%", c->r->min_free_pct);
	ev(d,
	   "A container took %s of pool data (%s, %s); a storm of %.0f takes %s, %.2f%% of "
	   "%s (%s).",
	   mib(c->dm->data_per_ctr, a, 32), be_names[c->dm - c->be], c->dm->env, c->dm->containers,
	   mib(storm_bytes(c), b, 32), 100.0 * storm_bytes(c) / c->pool_bytes, c->pool_from,
	   mib(c->pool_bytes, (char[32]){0}, 32));
	if (c->r->min_free_pct == 10)
		ev(d, "Docker's default reserve of 10%% holds it.");
	else
		ev(d, "Docker's default 10%% would not hold one storm: the reserve is raised to "
		      "cover it.");
	if (c->full_data.f || c->full_meta.f)
		ev(d, "Below the reserve Docker makes no new device, so containers are refused "
		      "before the pool fills.");
	cite_pool_full(c, d);
}

static void min_free_space_default(struct ctx *c, struct stt_rec_decision *d)
{
	c->r->min_free_pct = 10;
	val(d, "dm.min_free_space=10%%");
	ev(d, "Pool growth per container or the pool size was not measured: Docker's default.");
	if (c->full_data.f || c->full_meta.f)
		ev(d, "Below the reserve Docker makes no new device, so containers are refused "
		      "before the pool fills.");
	cite_pool_full(c, d);
	not_measured(c, "thin-pool data per container (reserve and autoextend are Docker's "
			"defaults)");
}

static bool when_no_xfs(struct ctx *c)
{
	struct json_object *x = stt_json_get(c->host, "kernel.filesystems.xfs");
	struct json_object *m = stt_json_get(c->host, "software.mkfs.xfs.installed");

	return (x && !json_object_get_boolean(x)) || (m && !json_object_get_boolean(m));
}

static void fs_ext4(struct ctx *c, struct stt_rec_decision *d)
{
	snprintf(c->r->fs, sizeof(c->r->fs), "ext4");
	val(d, "dm.fs=ext4");
	ev(d, "This host has no xfs (kernel or mkfs.xfs): ext4.");
}

static bool when_dm_fs_measured(struct ctx *c)
{
	return c->dm && c->dm->fs && (!strcmp(c->dm->fs, "xfs") || !strcmp(c->dm->fs, "ext4"));
}

static void fs_measured(struct ctx *c, struct stt_rec_decision *d)
{
	snprintf(c->r->fs, sizeof(c->r->fs), "%s", c->dm->fs);
	val(d, "dm.fs=%s", c->dm->fs);
	ev(d, "The thin devices were measured with %s (%s, %s)%s.", c->dm->fs,
	   be_names[c->dm - c->be], c->dm->env,
	   strcmp(c->dm->fs, "xfs") ? "" : "; xfs is also Docker's default");
}

static void fs_default(struct ctx *c, struct stt_rec_decision *d)
{
	snprintf(c->r->fs, sizeof(c->r->fs), "xfs");
	val(d, "dm.fs=xfs");
	ev(d, "Docker's default.");
}

static bool when_no_discard(struct ctx *c)
{
	const char *k = str(c->target, "kind");
	double m = num(c->target, "discard_max_bytes");

	return c->host_native && k && !strcmp(k, "block") && known(m) && m == 0;
}

static void blkdiscard_no_discard(struct ctx *c, struct stt_rec_decision *d)
{
	c->r->blkdiscard = false;
	val(d, "dm.blkdiscard=false");
	ev(d,
	   "%s does not support discard (discard max 0 bytes): a discard would reach nothing, "
	   "and deleting a thin device returns its blocks to the pool anyway.",
	   str(c->target, "path") ?: "The device");
}

static bool when_discard_compared(struct ctx *c)
{
	const struct be *lp = &c->be[BE_DMLOOP], *l = &c->be[BE_DLVM];

	return lp->j && l->j && !strcmp(lp->env, l->env) && known(lp->rm) && known(l->rm) &&
	       lp->rm > l->rm;
}

static void blkdiscard_compared(struct ctx *c, struct stt_rec_decision *d)
{
	const struct be *lp = &c->be[BE_DMLOOP], *l = &c->be[BE_DLVM];
	char a[32], b[32];

	c->r->blkdiscard = false;
	val(d, "dm.blkdiscard=false");
	ev(d,
	   "Remove p50 with a discard before delete (dm-loop, Docker's default) %s vs without "
	   "(direct-lvm) %s in %s (%.1fx; loop devices add to it). Deleting a thin device "
	   "returns its blocks to the pool anyway; the discard is what loop-lvm needs to give "
	   "space back to its sparse file. Set it to true only to pass discards to an SSD.",
	   ms(lp->rm, a, 32), ms(l->rm, b, 32), l->env, lp->rm / l->rm);
}

static void blkdiscard_default(struct ctx *c, struct stt_rec_decision *d)
{
	c->r->blkdiscard = true;
	val(d, "dm.blkdiscard=true");
	ev(d, "Docker's default: removal with and without the discard was not compared. false "
	      "makes removal faster; the pool gets the blocks back on delete either way.");
	not_measured(c, "removal with and without dm.blkdiscard (Docker's default kept)");
}

static bool when_fs_xfs(struct ctx *c)
{
	return !strcmp(c->r->fs, "xfs");
}

static void nospace_retries(struct ctx *c, struct stt_rec_decision *d)
{
	(void)c;
	val(d, "dm.xfs_nospace_max_retries=0");
	ev(d, "XFS retries I/O failing with ENOSPC forever, which leaves processes unkillable when "
	      "the pool fills; with 0 the filesystem shuts down instead (Docker documents 0).");
}

static void nospace_na(struct ctx *c, struct stt_rec_decision *d)
{
	ev(d, "dm.fs is %s, not xfs.", c->r->fs);
}

/* -- the thin pool -- */

static bool when_tune(struct ctx *c)
{
	return c->tune_ok;
}

static const char *tune_where(struct ctx *c, char *buf, size_t len)
{
	snprintf(buf, len, "the %s sweep in %s%s", c->tune_backend, c->tune_env,
		 strcmp(c->tune_env, "native")
		     ? " (emulated: relative costs, not this host's speed)"
		     : "");
	return buf;
}

static void chunk_tune(struct ctx *c, struct stt_rec_decision *d)
{
	const struct tune_point *p = &c->pts[c->pick];
	char a[32], b[32], f[32], s[32], w[256];

	c->r->chunk_bytes = to_u64(p->chunk);
	val(d, "%s", stt_rec_size(c->r->chunk_bytes, a, sizeof(a)));
	ev(d, "From %s, zeroing %s: start p50 / first-write p50 / pool data per container:",
	   tune_where(c, w, sizeof(w)), p->zero ? "on" : "off");
	for (size_t i = 0; i < c->npts; i++) {
		const struct tune_point *t = &c->pts[i];

		if (!t->ok)
			ev(d, "%s zeroing %s failed (%s);",
			   known(t->chunk) ? stt_rec_size(to_u64(t->chunk), b, sizeof(b)) : "?",
			   t->zero ? "on" : "off",
			   t->reason ? t->reason : "no figures");
		else if (t->zero == p->zero)
			ev(d, "%s %s / %s / %s;", stt_rec_size(to_u64(t->chunk), b, sizeof(b)),
			   ms(t->start, f, 32), ms(t->fw, s, 32), mib(t->space, w, 32));
	}
	if (c->tune_score_max <= 1 + TUNE_MARGIN + 1e-9)
		ev(d,
		   "%s is the chunk with the least space per container whose latencies are within "
		   "%.0f%% of the best.",
		   a, TUNE_MARGIN * 100);
	else
		ev(d,
		   "no chunk size was within %.0f%% of the best at both; %s has the least space "
		   "per "
		   "container of those whose worse latency is within %.0f%% of the best compromise "
		   "(at most %.2fx the best).",
		   TUNE_MARGIN * 100, a, TUNE_MARGIN * 100, c->tune_score_max);
}

static void chunk_bench(struct ctx *c, struct stt_rec_decision *d)
{
	char a[32], b[32], x[32];

	c->r->chunk_bytes = DOCKER_CHUNK;
	val(d, "512K");
	ev(d,
	   "Docker's documented chunk size; no chunk-size sweep (stortune tune) in the results.");
	if (c->dm && known(c->dm->block_bytes))
		ev(d,
		   "%s ran with %s chunks (%s): cow-write wrote %s per container to the device, "
		   "pool data %s per container.",
		   be_names[c->dm - c->be], stt_rec_size(to_u64(c->dm->block_bytes), a, 32),
		   c->dm->env, mib(c->dm->cow_bytes, b, 32), mib(c->dm->data_per_ctr, x, 32));
	not_measured(c, "a chunk-size and zeroing sweep (stortune tune): the pool's chunk size "
			"and zeroing are Docker's");
}

static bool when_tune_zeroing(struct ctx *c)
{
	return c->tune_ok && c->tune_both_zeroing;
}

static const char *zeroing_tradeoff =
    "With zeroing off a newly provisioned block can still hold data of a deleted thin "
    "device; the filesystem on a thin device never returns blocks it has not written, so "
    "containers cannot see it, but raw reads of the pool's devices can.";

static void zeroing_tune(struct ctx *c, struct stt_rec_decision *d)
{
	const struct tune_point *p = &c->pts[c->pick];
	char w[256];

	c->r->zeroing = p->zero;
	val(d, "%s", p->zero ? "y" : "n");
	ev(d,
	   "From %s: zeroing new blocks costs %+.0f%% in first-write or start p50 (median over "
	   "the chunk sizes measured both ways);",
	   tune_where(c, w, sizeof(w)), c->zero_cost * 100);
	if (p->zero)
		ev(d, "at most %.0f%%, so new blocks are zeroed: no stale data in them.",
		   ZEROING_MAX_COST * 100);
	else
		ev(d, "above %.0f%%, so off, as Docker's procedure. %s", ZEROING_MAX_COST * 100,
		   zeroing_tradeoff);
}

static void zeroing_default(struct ctx *c, struct stt_rec_decision *d)
{
	c->r->zeroing = c->tune_ok ? c->pts[c->pick].zero : false;
	val(d, "%s", c->r->zeroing ? "y" : "n");
	if (c->tune_ok)
		ev(d, "The sweep measured only zeroing %s.", c->r->zeroing ? "on" : "off");
	else
		ev(d, "Docker's procedure (lvconvert --zero n); zeroing was not swept.");
	if (c->dm && known(c->dm->prov_ratio))
		ev(d,
		   "Without zeroing a first write to a new block took %.2fx an overwrite (p50, "
		   "%s, %s).",
		   c->dm->prov_ratio, be_names[c->dm - c->be], c->dm->env);
	if (!c->r->zeroing)
		ev(d, "%s", zeroing_tradeoff);
}

static bool when_meta_known(struct ctx *c)
{
	return c->dm && known(c->dm->meta_per_data) && c->dm->meta_per_data > 0;
}

static void metadata_size(struct ctx *c, struct stt_rec_decision *d)
{
	/* the metadata a full pool needs, twice over, as a share of the VG */
	double need = 2 * 100.0 * c->dm->meta_per_data * 0.95;
	unsigned int pct = !(need > 1) ? 1 : need > 10 ? 10 : to_uint(ceil(need));

	if (pct > 10)
		pct = 10;
	c->r->meta_pct = pct;
	c->r->data_pct = pct == 1 ? 95 : 97 - 2 * pct;
	val(d, "%u%%VG", pct);
	ev(d,
	   "Metadata grew %.3f%% of the data written (%s, %s chunks, %s); a full pool needs "
	   "%.2f%% of the VG, twice that is %s 1%%VG%s.",
	   100 * c->dm->meta_per_data, be_names[c->dm - c->be],
	   stt_rec_size(to_u64(c->dm->block_bytes), (char[32]){0}, 32), c->dm->env, need / 2,
	   pct == 1 ? "within Docker's" : "above Docker's",
	   pct == 1 ? "" : "; the data LV shrinks to leave room for the metadata and its spare");
	if (to_u64(c->dm->block_bytes) != c->r->chunk_bytes)
		ev(d, "(Measured with another chunk size than recommended: smaller chunks need "
		      "more metadata.)");
}

static void metadata_default(struct ctx *c, struct stt_rec_decision *d)
{
	c->r->meta_pct = 1;
	c->r->data_pct = 95;
	val(d, "1%%VG");
	ev(d, "Docker's procedure: thinpoolmeta 1%%VG; metadata growth was not measured.");
	not_measured(c, "thin-pool metadata growth (metadata size is Docker's 1%%VG)");
}

static void data_size(struct ctx *c, struct stt_rec_decision *d)
{
	val(d, "%u%%VG", c->r->data_pct);
	ev(d, "Docker's procedure takes 95%%VG for data and 1%%VG for metadata; lvconvert adds "
	      "a metadata spare of the same size. What is left of the VG is all autoextend can "
	      "use until the VG grows (vgextend docker DEV).");
}

static void autoextend_threshold(struct ctx *c, struct stt_rec_decision *d)
{
	double share = 100.0 * storm_bytes(c) / c->pool_bytes;
	double t = 100 - 2 * share;
	char a[32];

	c->r->autoextend_threshold = t >= 80 ? 80 : !(t >= 50) ? 50 : to_uint(floor(t));
	val(d, "%u", c->r->autoextend_threshold);
	ev(d, "A storm of %.0f containers takes %s, %.2f%% of %s;", c->dm->containers,
	   mib(storm_bytes(c), a, 32), share, c->pool_from);
	if (c->r->autoextend_threshold == 80)
		ev(d, "Docker's 80%% leaves room for ten such storms before the pool fills.");
	else
		ev(d, "extending at 80%% would leave room for less than two storms, so the pool "
		      "extends earlier (LVM's minimum is 50).");
	cite_pool_full(c, d);
}

static void autoextend_threshold_default(struct ctx *c, struct stt_rec_decision *d)
{
	c->r->autoextend_threshold = 80;
	val(d, "80");
	ev(d, "Docker's procedure; pool growth was not measured.");
	cite_pool_full(c, d);
}

static void autoextend_percent(struct ctx *c, struct stt_rec_decision *d)
{
	double share = 100.0 * storm_bytes(c) / c->pool_bytes;

	c->r->autoextend_percent = !(share > 20) ? 20 : share > 100 ? 100 : to_uint(ceil(share));
	val(d, "%u", c->r->autoextend_percent);
	if (c->r->autoextend_percent == 20)
		ev(d, "Docker's 20%% is more than a storm takes (%.2f%% of the pool).", share);
	else
		ev(d, "One storm takes %.0f%% of the pool: each extension adds at least that.",
		   share);
}

static void autoextend_percent_default(struct ctx *c, struct stt_rec_decision *d)
{
	c->r->autoextend_percent = 20;
	val(d, "20");
	ev(d, "Docker's procedure; pool growth was not measured.");
}

static void monitoring(struct ctx *c, struct stt_rec_decision *d)
{
	(void)c;
	val(d, "lvchange --monitor y docker/thinpool");
	ev(d, "Autoextend happens only while dmeventd monitors the pool: `lvs -o+seg_monitor` "
	      "must say monitored (setup-direct-lvm.sh enables it and says when it cannot).");
}

/* ---- The table -------------------------------------------------------------------------- */

struct row {
	const char *key;
	const char *id;
	enum stt_rec_scope scope;
	enum stt_rec_source source;
	bool (*when)(struct ctx *c); /* NULL: always */
	void (*decide)(struct ctx *c, struct stt_rec_decision *d);
};

#define M  STT_REC_MEASURED
#define D  STT_REC_DEFAULT
#define G  STT_REC_GIVEN
#define NA STT_REC_NOT_APPLICABLE
#define R  STT_REC_REFUSED

static const struct row rows[] = {
    {"storage-driver", "driver.dm-only", STT_REC_DAEMON, M, when_driver_dm_only, driver_dm},
    {"storage-driver", "driver.dm-faster", STT_REC_DAEMON, M, when_driver_dm_faster, driver_dm},
    {"storage-driver", "driver.overlay2", STT_REC_DAEMON, M, ov_native, driver_overlay2},
    {"storage-driver", "driver.default", STT_REC_DAEMON, D, NULL, driver_overlay2_default},

    {"devicemapper", "dm.removed", STT_REC_ADVICE, R, when_dm_removed, dm_removed},
    {"devicemapper", "dm.recommended", STT_REC_ADVICE, M, when_dm_recommended, dm_recommended},
    {"devicemapper", "dm.alternative", STT_REC_ADVICE, M, dlvm_any, dm_alternative},
    {"devicemapper", "dm.alternative-unmeasured", STT_REC_ADVICE, D, NULL, dm_alternative},

    {"loop-lvm", "loop-lvm.never", STT_REC_ADVICE, R, NULL, loop_lvm},

    {"data-root", "data-root.given", STT_REC_DAEMON, G, when_data_root_given, data_root_given},
    {"data-root", "data-root.dm", STT_REC_DAEMON, D, when_driver_is_dm, data_root_dm},
    {"data-root", "data-root.device", STT_REC_DAEMON, M, when_data_root_device, data_root_device},
    {"data-root", "data-root.no-dtype", STT_REC_DAEMON, R, when_data_root_no_dtype,
     data_root_no_dtype},
    {"data-root", "data-root.mount", STT_REC_DAEMON, M, when_data_root_mount, data_root_mount},
    {"data-root", "data-root.default", STT_REC_DAEMON, D, NULL, data_root_default},

    {"overlay2.size", "overlay2.size.other-driver", STT_REC_OVERLAY2, NA, when_not_overlay2,
     not_overlay2},
    {"overlay2.size", "overlay2.size.pquota", STT_REC_OVERLAY2, M, when_overlay2_size,
     overlay2_size},
    {"overlay2.size", "overlay2.size.no-pquota", STT_REC_OVERLAY2, NA, NULL, overlay2_size_na},

    {"overlay2.override_kernel_check", "okc.removed", STT_REC_OVERLAY2, R, when_okc_removed,
     okc_removed},
    {"overlay2.override_kernel_check", "okc.other-driver", STT_REC_OVERLAY2, NA, when_not_overlay2,
     not_overlay2},
    {"overlay2.override_kernel_check", "okc.ignored", STT_REC_OVERLAY2, NA, when_okc_ignored,
     okc_ignored},
    {"overlay2.override_kernel_check", "okc.old-kernel", STT_REC_OVERLAY2, M, when_okc_old_kernel,
     okc_old_kernel},
    {"overlay2.override_kernel_check", "okc.not-needed", STT_REC_OVERLAY2, NA, NULL,
     okc_not_needed},

    {"dm.thinpooldev", "thinpooldev.measured", STT_REC_DM, M, dlvm_any, thinpooldev},
    {"dm.thinpooldev", "thinpooldev.docker", STT_REC_DM, D, NULL, thinpooldev},

    {"dm.use_deferred_removal", "deferred-removal.unsupported", STT_REC_DM, R,
     when_deferred_unsupported, deferred_unsupported},
    {"dm.use_deferred_removal", "deferred-removal.supported", STT_REC_DM, M,
     when_deferred_supported, deferred_removal},
    {"dm.use_deferred_removal", "deferred-removal.docker", STT_REC_DM, D, NULL, deferred_removal},

    {"dm.use_deferred_deletion", "deferred-deletion.needs-removal", STT_REC_DM, R,
     when_no_deferred_removal, deferred_deletion_off},
    {"dm.use_deferred_deletion", "deferred-deletion.measured", STT_REC_DM, M,
     when_dm_remove_measured, deferred_deletion},
    {"dm.use_deferred_deletion", "deferred-deletion.docker", STT_REC_DM, D, NULL,
     deferred_deletion},

    {"dm.basesize", "basesize.image", STT_REC_DM, M, when_image_known, basesize},
    {"dm.basesize", "basesize.docker", STT_REC_DM, D, NULL, basesize_default},

    {"dm.fs", "fs.no-xfs", STT_REC_DM, M, when_no_xfs, fs_ext4},
    {"dm.fs", "fs.measured", STT_REC_DM, M, when_dm_fs_measured, fs_measured},
    {"dm.fs", "fs.docker", STT_REC_DM, D, NULL, fs_default},

    {"dm.blkdiscard", "blkdiscard.no-discard", STT_REC_DM, M, when_no_discard,
     blkdiscard_no_discard},
    {"dm.blkdiscard", "blkdiscard.compared", STT_REC_DM, M, when_discard_compared,
     blkdiscard_compared},
    {"dm.blkdiscard", "blkdiscard.docker", STT_REC_DM, D, NULL, blkdiscard_default},

    {"dm.xfs_nospace_max_retries", "nospace.xfs", STT_REC_DM, D, when_fs_xfs, nospace_retries},
    {"dm.xfs_nospace_max_retries", "nospace.not-xfs", STT_REC_DM, NA, NULL, nospace_na},

    {"pool.chunk_size", "chunk.tune", STT_REC_POOL, M, when_tune, chunk_tune},
    {"pool.chunk_size", "chunk.docker", STT_REC_POOL, D, NULL, chunk_bench},

    {"pool.zeroing", "zeroing.tune", STT_REC_POOL, M, when_tune_zeroing, zeroing_tune},
    {"pool.zeroing", "zeroing.docker", STT_REC_POOL, D, NULL, zeroing_default},

    {"pool.metadata_size", "metadata.measured", STT_REC_POOL, M, when_meta_known, metadata_size},
    {"pool.metadata_size", "metadata.docker", STT_REC_POOL, D, NULL, metadata_default},

    {"pool.data_size", "data.docker", STT_REC_POOL, D, NULL, data_size},

    /* after the pool's size: the reserves are shares of it */
    {"dm.min_free_space", "min-free.measured", STT_REC_DM, M, when_pool_growth_known,
     min_free_space},
    {"dm.min_free_space", "min-free.docker", STT_REC_DM, D, NULL, min_free_space_default},

    {"profile.thin_pool_autoextend_threshold", "autoextend-threshold.measured", STT_REC_PROFILE, M,
     when_pool_growth_known, autoextend_threshold},
    {"profile.thin_pool_autoextend_threshold", "autoextend-threshold.docker", STT_REC_PROFILE, D,
     NULL, autoextend_threshold_default},
    {"profile.thin_pool_autoextend_percent", "autoextend-percent.measured", STT_REC_PROFILE, M,
     when_pool_growth_known, autoextend_percent},
    {"profile.thin_pool_autoextend_percent", "autoextend-percent.docker", STT_REC_PROFILE, D, NULL,
     autoextend_percent_default},

    {"monitoring", "monitoring.dmeventd", STT_REC_ADVICE, D, NULL, monitoring},
};

#undef M
#undef D
#undef G
#undef NA
#undef R

const struct stt_rec_decision *stt_rec_get(const struct stt_rec *r, const char *key)
{
	for (size_t i = 0; r && i < r->n; i++)
		if (!strcmp(r->d[i].key, key))
			return &r->d[i];
	return NULL;
}

void stt_rec_free(struct stt_rec *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nnot; i++)
		free(r->not_measured[i]);
	free(r);
}

int stt_recommend(const struct stt_rec_input *in, struct stt_rec **out)
{
	struct ctx *c;
	struct stt_rec *r;
	size_t off = 0;

	*out = NULL;
	if (!in->ndocs)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	r = calloc(1, sizeof(*r));
	if (!c || !r) {
		free(c);
		free(r);
		return -ENOMEM;
	}
	c->in = in;
	c->r = r;
	c->image_bytes = NAN;
	r->docker = in->docker;
	if (!r->docker.known)
		snprintf(r->docker.text, sizeof(r->docker.text), "unknown");
	snprintf(r->docker_origin, sizeof(r->docker_origin), "%s",
		 in->docker_origin ? in->docker_origin : (in->docker.known ? "given" : "unknown"));
	r->dm_allowed = stt_docker_drivers(&r->docker) & STT_DRIVER_DEVICEMAPPER;
	r->driver = "overlay2";
	r->data_pct = 95;
	r->meta_pct = 1;
	for (size_t i = 0; i < in->ndocs && off < sizeof(r->sources) - 1; i++)
		off += (size_t)snprintf(r->sources + off, sizeof(r->sources) - off, "%s%s",
					i ? ", " : "",
					in->names && in->names[i] ? in->names[i] : "(results)");
	stt_rec_gather(c);

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *row = &rows[i];
		struct stt_rec_decision *d;

		if (stt_rec_get(r, row->key))
			continue; /* an earlier row decided it */
		if (!c->pool_bytes && stt_rec_get(r, "pool.data_size"))
			find_pool_bytes(c); /* once the pool's share of the VG is known */
		if (row->when && !row->when(c))
			continue;
		if (r->n == STT_REC_MAX)
			break;
		d = &r->d[r->n++];
		d->key = row->key;
		d->rule = row->id;
		d->scope = row->scope;
		d->source = row->source;
		row->decide(c, d);
		if (d->scope == STT_REC_DM && !r->dm_allowed && d->source != STT_REC_REFUSED) {
			/* the values still feed containerd's snippet */
			char keep[STT_REC_EVIDENCE_MAX];

			snprintf(keep, sizeof(keep), "%s", d->evidence);
			d->source = STT_REC_NOT_APPLICABLE;
			snprintf(
			    d->evidence, sizeof(d->evidence),
			    "Not for Docker %s (devicemapper removed in 25.0); the value feeds "
			    "containerd's devmapper snapshotter. %s",
			    r->docker.text, keep);
		}
	}
	{
		const char *dev = in->device && *in->device ? in->device : qualified_device(c);

		snprintf(r->device, sizeof(r->device), "%s", dev ? dev : "");
	}
	if (in->data_root && *in->data_root)
		snprintf(r->data_root, sizeof(r->data_root), "%s", in->data_root);
	else if (stt_rec_get(r, "data-root"))
		snprintf(r->data_root, sizeof(r->data_root), "%s",
			 stt_rec_get(r, "data-root")->value);
	free(c);
	*out = r;
	return 0;
}
