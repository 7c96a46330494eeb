// SPDX-License-Identifier: GPL-2.0-or-later
#include "sys/probe.h"

#include "base/err.h"
#include "sys/sysfs.h"

#include <blkid.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <xfs/xfs.h>

/* Appends "@sep@s" (or just @s when @buf is empty) to @buf, truncating. */
static void append(char *buf, size_t len, const char *sep, const char *s)
{
	size_t used = strlen(buf);

	if (used + 1 >= len)
		return;
	snprintf(buf + used, len - used, "%s%s", used ? sep : "", s);
}

static void read_str(const char *dir, const char *attr, char *buf, size_t len)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", dir, attr);
	if (stt_sysfs_read(path, buf, len))
		buf[0] = '\0';
}

static uint64_t read_u64(const char *dir, const char *attr)
{
	char path[PATH_MAX + 64];
	uint64_t v = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, attr);
	if (stt_sysfs_read_u64(path, &v))
		return 0;
	return v;
}

static bool sysfs_exists(const char *dir, const char *attr)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", dir, attr);
	return access(path, F_OK) == 0;
}

static void probe_geometry(struct stt_probe_dev *d, const char *sysdir, const char *diskdir)
{
	char path[PATH_MAX + 64], buf[256];

	d->size_bytes = read_u64(sysdir, "size") * 512;
	d->logical_block_size = (uint32_t)read_u64(diskdir, "queue/logical_block_size");
	d->physical_block_size = (uint32_t)read_u64(diskdir, "queue/physical_block_size");
	d->rotational = read_u64(diskdir, "queue/rotational") != 0;
	d->nr_requests = read_u64(diskdir, "queue/nr_requests");
	d->read_ahead_kb = read_u64(diskdir, "queue/read_ahead_kb");
	d->discard_granularity = read_u64(diskdir, "queue/discard_granularity");
	d->discard_max_bytes = read_u64(diskdir, "queue/discard_max_bytes");
	read_str(diskdir, "queue/scheduler", buf, sizeof(buf));
	if (stt_sysfs_parse_scheduler(buf, d->scheduler, sizeof(d->scheduler)))
		d->scheduler[0] = '\0';
	read_str(diskdir, "device/model", d->model, sizeof(d->model));

	if (!strncmp(d->name, "nvme", 4) || !strncmp(d->parent, "nvme", 4))
		snprintf(d->transport, sizeof(d->transport), "nvme");
	else if (!strncmp(d->name, "loop", 4))
		snprintf(d->transport, sizeof(d->transport), "loop");
	else if (!strncmp(d->name, "vd", 2) || !strncmp(d->parent, "vd", 2))
		snprintf(d->transport, sizeof(d->transport), "virtio");
	else if (!strncmp(d->name, "sd", 2) || !strncmp(d->parent, "sd", 2))
		snprintf(d->transport, sizeof(d->transport), "scsi");
	else
		snprintf(d->transport, sizeof(d->transport), "other");
	d->nvme = !strcmp(d->transport, "nvme");

	d->loop_direct_io = -1;
	if (!strcmp(d->transport, "loop")) {
		read_str(sysdir, "loop/backing_file", d->loop_backing_file,
			 sizeof(d->loop_backing_file));
		if (sysfs_exists(sysdir, "loop/dio"))
			d->loop_direct_io = read_u64(sysdir, "loop/dio") != 0;
	}
	snprintf(path, sizeof(path), "%s", d->path);
}

static void probe_blkid(struct stt_probe_dev *d)
{
	blkid_topology tp;
	blkid_probe pr;

	pr = blkid_new_probe_from_filename(d->path);
	if (!pr)
		return;
	tp = blkid_probe_get_topology(pr);
	if (tp) {
		d->minimum_io_size = blkid_topology_get_minimum_io_size(tp);
		d->optimal_io_size = blkid_topology_get_optimal_io_size(tp);
		d->alignment_offset = blkid_topology_get_alignment_offset(tp);
	}
	blkid_free_probe(pr);

	/* All signatures, one per step, as wipefs lists them. */
	pr = blkid_new_probe_from_filename(d->path);
	if (!pr)
		return;
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_USAGE |
						      BLKID_SUBLKS_MAGIC | BLKID_SUBLKS_BADCSUM);
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC);
	while (d->nsigs < STT_PROBE_MAX_SIGS && blkid_do_probe(pr) == 0) {
		struct stt_probe_sig *s = &d->sigs[d->nsigs];
		const char *type = NULL, *usage = NULL, *off = NULL;

		if (blkid_probe_lookup_value(pr, "TYPE", &type, NULL) == 0) {
			blkid_probe_lookup_value(pr, "USAGE", &usage, NULL);
			blkid_probe_lookup_value(pr, "SBMAGIC_OFFSET", &off, NULL);
		} else if (blkid_probe_lookup_value(pr, "PTTYPE", &type, NULL) == 0) {
			usage = "partition table";
			blkid_probe_lookup_value(pr, "PTMAGIC_OFFSET", &off, NULL);
		} else {
			continue;
		}
		snprintf(s->type, sizeof(s->type), "%s", type);
		snprintf(s->usage, sizeof(s->usage), "%s", usage ? usage : "other");
		s->offset_bytes = off ? strtoull(off, NULL, 10) : 0;
		d->nsigs++;
	}
	blkid_free_probe(pr);
}

/* Mounts, swap and holders of the block device @name (@maj:@min). */
static void probe_users_of(struct stt_probe_dev *d, const char *mountinfo, const char *swaps,
			   const char *name, unsigned int maj, unsigned int min)
{
	char path[PATH_MAX + 64], mps[1024], devpath[128];
	struct dirent *de;
	DIR *dir;
	int n;

	n = stt_sysfs_mounts_of(mountinfo, maj, min, mps, sizeof(mps));
	if (n) {
		append(d->mounts, sizeof(d->mounts), ", ", mps);
		d->nmounts += n;
	}
	snprintf(devpath, sizeof(devpath), "/dev/%s", name);
	if (swaps && stt_sysfs_is_swap(swaps, devpath))
		d->swap = true;

	snprintf(path, sizeof(path), "/sys/class/block/%s/holders", name);
	dir = opendir(path);
	if (!dir)
		return;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		append(d->holders, sizeof(d->holders), ", ", de->d_name);
		d->nholders++;
	}
	closedir(dir);
}

/* Btrfs and others show an anonymous device in mountinfo: match the source too. */
static void probe_mounts_by_source(struct stt_probe_dev *d, char *mountinfo, const char *name)
{
	char devpath[128], *line, *save = NULL;
	struct stt_mountinfo m;

	snprintf(devpath, sizeof(devpath), "/dev/%s", name);
	for (line = strtok_r(mountinfo, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (stt_sysfs_parse_mountinfo(line, &m) || strcmp(m.source, devpath))
			continue;
		if (m.major == d->major && m.minor == d->minor)
			continue; /* already counted by number */
		append(d->mounts, sizeof(d->mounts), ", ", m.mountpoint);
		d->nmounts++;
	}
}

static void probe_users(struct stt_probe_dev *d, const char *sysdir)
{
	char *mountinfo = NULL, *swaps = NULL, *copy;
	struct dirent *de;
	DIR *dir;
	int fd;

	if (stt_sysfs_slurp("/proc/self/mountinfo", &mountinfo))
		mountinfo = NULL;
	if (stt_sysfs_slurp("/proc/swaps", &swaps))
		swaps = NULL;

	if (mountinfo)
		probe_users_of(d, mountinfo, swaps, d->name, d->major, d->minor);
	if (mountinfo && (copy = strdup(mountinfo))) {
		probe_mounts_by_source(d, copy, d->name);
		free(copy);
	}

	/* Partitions of a whole disk: sysdir/<name>N/partition. */
	dir = d->partition ? NULL : opendir(sysdir);
	while (dir && (de = readdir(dir))) {
		char sub[PATH_MAX + 300];
		unsigned int maj, min;
		char dev[32];

		if (strncmp(de->d_name, d->name, strlen(d->name)))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", sysdir, de->d_name);
		if (!sysfs_exists(sub, "partition"))
			continue;
		append(d->partitions, sizeof(d->partitions), ", ", de->d_name);
		d->npartitions++;
		read_str(sub, "dev", dev, sizeof(dev));
		if (mountinfo && sscanf(dev, "%u:%u", &maj, &min) == 2)
			probe_users_of(d, mountinfo, swaps, de->d_name, maj, min);
		if (mountinfo && (copy = strdup(mountinfo))) {
			probe_mounts_by_source(d, copy, de->d_name);
			free(copy);
		}
	}
	if (dir)
		closedir(dir);
	free(mountinfo);
	free(swaps);

	fd = open(d->path, O_RDONLY | O_EXCL | O_CLOEXEC);
	if (fd >= 0) {
		d->excl_ok = true;
		close(fd);
	} else {
		d->excl_errno = errno;
	}
}

static const char *article(const char *word)
{
	return strchr("aeiouxAEIOUX", word[0]) ? "an" : "a";
}

void stt_probe_verdict(struct stt_probe_dev *d)
{
	char why[sizeof(d->verdict)] = "", part[600];

	for (int i = 0; i < d->nsigs; i++) {
		const struct stt_probe_sig *s = &d->sigs[i];

		if (!strcmp(s->type, "LVM2_member"))
			snprintf(part, sizeof(part), "is an LVM physical volume (LVM2_member)");
		else if (!strcmp(s->usage, "filesystem"))
			snprintf(part, sizeof(part), "has %s %s filesystem", article(s->type),
				 s->type);
		else if (!strcmp(s->usage, "partition table"))
			snprintf(part, sizeof(part), "has %s %s partition table",
				 article(s->type), s->type);
		else
			snprintf(part, sizeof(part), "has %s %s signature (%s)", article(s->type),
				 s->type, s->usage);
		if (!strstr(why, part)) /* blkid may list one type at several offsets */
			append(why, sizeof(why), "; ", part);
	}
	if (d->npartitions) {
		snprintf(part, sizeof(part), "has partitions (%s)", d->partitions);
		append(why, sizeof(why), "; ", part);
	}
	if (d->nmounts) {
		snprintf(part, sizeof(part), "mounted on %s", d->mounts);
		append(why, sizeof(why), "; ", part);
	}
	if (d->swap)
		append(why, sizeof(why), "; ", "in use as swap");
	if (d->nholders) {
		snprintf(part, sizeof(part), "held by %s", d->holders);
		append(why, sizeof(why), "; ", part);
	}
	if (!d->excl_ok) {
		snprintf(part, sizeof(part), "cannot be opened exclusively (%s)",
			 strerror(d->excl_errno ? d->excl_errno : EBUSY));
		append(why, sizeof(why), "; ", part);
	}
	d->free_to_use = why[0] == '\0';
	if (d->free_to_use)
		snprintf(d->verdict, sizeof(d->verdict), "free to use with --destroy-data %s",
			 d->path);
	else
		snprintf(d->verdict, sizeof(d->verdict), "in use: %s", why);
}

static int probe_dev(const char *path, const struct stat *st, struct stt_probe_dev *d)
{
	char link[64], sysdir[PATH_MAX], diskdir[PATH_MAX + 4], tmp[PATH_MAX];

	memset(d, 0, sizeof(*d));
	snprintf(d->path, sizeof(d->path), "%s", path);
	d->major = major(st->st_rdev);
	d->minor = minor(st->st_rdev);
	snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", d->major, d->minor);
	if (!realpath(link, sysdir))
		return stt_err(-ENODEV, "%s: block device %u:%u is not in sysfs", path, d->major,
			       d->minor);
	snprintf(tmp, sizeof(tmp), "%s", sysdir);
	snprintf(d->name, sizeof(d->name), "%s", basename(tmp));
	d->partition = sysfs_exists(sysdir, "partition");
	if (d->partition) {
		snprintf(diskdir, sizeof(diskdir), "%s/..", sysdir);
		snprintf(tmp, sizeof(tmp), "%s", sysdir);
		snprintf(d->parent, sizeof(d->parent), "%s", basename(dirname(tmp)));
	} else {
		snprintf(diskdir, sizeof(diskdir), "%s", sysdir);
	}
	probe_geometry(d, sysdir, diskdir);
	probe_blkid(d);
	probe_users(d, sysdir);
	stt_probe_verdict(d);
	return 0;
}

static enum stt_tristate dtype_of_entries(DIR *dir, const char *want, char *detail, size_t len)
{
	enum stt_tristate r = STT_UNKNOWN;
	struct dirent *de;

	while ((de = readdir(dir))) {
		if (want && strcmp(de->d_name, want))
			continue;
		if (!want && (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")))
			continue;
		if (de->d_type == DT_UNKNOWN) {
			snprintf(detail, len, "readdir returns DT_UNKNOWN for %s", de->d_name);
			return STT_NO;
		}
		r = STT_YES;
	}
	if (r == STT_YES)
		snprintf(detail, len, "readdir returns file types");
	return r;
}

/* Docker's check: a file in a fresh directory, and the type readdir reports for it. */
static void probe_dtype(struct stt_probe_dir *p)
{
	char tmp[PATH_MAX + 32], file[PATH_MAX + 48];
	DIR *dir;
	int fd;

	snprintf(tmp, sizeof(tmp), "%s/.stortune-dtype-XXXXXX", p->path);
	if (mkdtemp(tmp)) {
		p->writable = true;
		snprintf(file, sizeof(file), "%s/f", tmp);
		fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
		if (fd >= 0) {
			close(fd);
			dir = opendir(tmp);
			if (dir) {
				p->d_type = dtype_of_entries(dir, "f", p->d_type_detail,
							     sizeof(p->d_type_detail));
				closedir(dir);
			}
			unlink(file);
		}
		rmdir(tmp);
		return;
	}
	/* Not writable: judge by what is already there. */
	dir = opendir(p->path);
	if (!dir) {
		snprintf(p->d_type_detail, sizeof(p->d_type_detail), "cannot read: %s",
			 strerror(errno));
		return;
	}
	p->d_type = dtype_of_entries(dir, NULL, p->d_type_detail, sizeof(p->d_type_detail));
	closedir(dir);
	if (p->d_type == STT_UNKNOWN)
		snprintf(p->d_type_detail, sizeof(p->d_type_detail),
			 "not tested (directory not writable and empty)");
}

static void probe_xfs_ftype(struct stt_probe_dir *p)
{
	struct xfs_fsop_geom geo;
	int fd;

	p->xfs_ftype = STT_UNKNOWN;
	if (strcmp(p->fstype, "xfs"))
		return;
	fd = open(p->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	memset(&geo, 0, sizeof(geo));
	if (ioctl(fd, XFS_IOC_FSGEOMETRY, &geo) == 0)
		p->xfs_ftype = (geo.flags & XFS_FSOP_GEOM_FLAGS_FTYPE) ? STT_YES : STT_NO;
	close(fd);
}

static int probe_dir(const char *path, const struct stat *st, struct stt_probe_dir *p)
{
	char *mountinfo = NULL, link[64], sysdir[PATH_MAX];
	struct statvfs vfs;

	memset(p, 0, sizeof(*p));
	if (!realpath(path, p->path))
		return stt_err(-errno, "%s: %s", path, strerror(errno));
	p->major = major(st->st_dev);
	p->minor = minor(st->st_dev);
	if (statvfs(p->path, &vfs) == 0) {
		p->size_bytes = (uint64_t)vfs.f_blocks * vfs.f_frsize;
		p->free_bytes = (uint64_t)vfs.f_bavail * vfs.f_frsize;
		p->free_inodes = vfs.f_favail;
	}
	if (stt_sysfs_slurp("/proc/self/mountinfo", &mountinfo) == 0) {
		if (stt_sysfs_find_mount(mountinfo, p->path, p->major, p->minor, p->mountpoint,
					 sizeof(p->mountpoint), p->fstype, sizeof(p->fstype),
					 p->source, sizeof(p->source)))
			snprintf(p->fstype, sizeof(p->fstype), "unknown");
		free(mountinfo);
	}
	snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", p->major, p->minor);
	if (realpath(link, sysdir))
		snprintf(p->block_device, sizeof(p->block_device), "%s", basename(sysdir));
	probe_dtype(p);
	probe_xfs_ftype(p);
	return 0;
}

int stt_probe_path(const char *path, struct stt_probe_target *t)
{
	struct stat st;

	memset(t, 0, sizeof(*t));
	if (stat(path, &st)) {
		int e = errno;

		if (e == ENOENT || e == ENOTDIR)
			return stt_err(-ENOENT, "%s: does not exist", path);
		return stt_err(-e, "%s: %s", path, strerror(e));
	}
	if (S_ISBLK(st.st_mode)) {
		t->kind = STT_PROBE_BLOCK;
		return probe_dev(path, &st, &t->dev);
	}
	if (S_ISDIR(st.st_mode)) {
		t->kind = STT_PROBE_DIR;
		return probe_dir(path, &st, &t->dir);
	}
	return stt_err(-EINVAL, "%s: is neither a directory nor a block device", path);
}

int stt_probe_check_destroy(const char *device, const char *destroy_data)
{
	char a[PATH_MAX], b[PATH_MAX];
	struct stt_probe_target *t;
	int r;

	if (!destroy_data)
		return stt_err(-EPERM, "%s: refusing to write a device without --destroy-data %s",
			       device, device);
	if (!realpath(device, a))
		return stt_err(-ENOENT, "%s: does not exist", device);
	if (!realpath(destroy_data, b) || strcmp(a, b))
		return stt_err(-EPERM, "%s: --destroy-data names %s, not this device; refusing",
			       device, destroy_data);
	t = malloc(sizeof(*t));
	if (!t)
		return -ENOMEM;
	r = stt_probe_path(device, t);
	if (!r && t->kind != STT_PROBE_BLOCK)
		r = stt_err(-EINVAL, "%s: not a block device", device);
	else if (!r && !t->dev.free_to_use)
		r = stt_err(-EBUSY, "%s: %s; refusing", device, t->dev.verdict);
	free(t);
	return r;
}

/* JSON */

#define ADD(o, k, v)                                                                               \
	do {                                                                                       \
		if (json_object_object_add((o), (k), (v)))                                         \
			goto fail;                                                                 \
	} while (0)

static struct json_object *jstr(const char *s)
{
	return s && *s ? json_object_new_string(s) : NULL;
}

static struct json_object *jtri(enum stt_tristate t)
{
	return t == STT_UNKNOWN ? NULL : json_object_new_boolean(t == STT_YES);
}

static struct json_object *jlist(const char *csv)
{
	struct json_object *a = json_object_new_array();
	const char *p = csv;

	if (!a)
		return NULL;
	while (p && *p) {
		size_t n = strcspn(p, ",");

		json_object_array_add(a, json_object_new_string_len(p, (int)n));
		p += n;
		while (*p == ',' || *p == ' ')
			p++;
	}
	return a;
}

static int dev_json(const struct stt_probe_dev *d, struct json_object *o)
{
	struct json_object *sigs = json_object_new_array(), *s = NULL;

	if (!sigs)
		return -ENOMEM;
	ADD(o, "kind", json_object_new_string("block"));
	ADD(o, "path", json_object_new_string(d->path));
	ADD(o, "name", json_object_new_string(d->name));
	ADD(o, "parent", jstr(d->parent));
	ADD(o, "major", json_object_new_int((int)d->major));
	ADD(o, "minor", json_object_new_int((int)d->minor));
	ADD(o, "model", jstr(d->model));
	ADD(o, "transport", json_object_new_string(d->transport));
	ADD(o, "nvme", json_object_new_boolean(d->nvme));
	ADD(o, "rotational", json_object_new_boolean(d->rotational));
	ADD(o, "size_bytes", json_object_new_int64((int64_t)d->size_bytes));
	ADD(o, "logical_block_size", json_object_new_int64(d->logical_block_size));
	ADD(o, "physical_block_size", json_object_new_int64(d->physical_block_size));
	ADD(o, "minimum_io_size", json_object_new_int64((int64_t)d->minimum_io_size));
	ADD(o, "optimal_io_size", json_object_new_int64((int64_t)d->optimal_io_size));
	ADD(o, "alignment_offset", json_object_new_int64((int64_t)d->alignment_offset));
	ADD(o, "scheduler", jstr(d->scheduler));
	ADD(o, "nr_requests", json_object_new_int64((int64_t)d->nr_requests));
	ADD(o, "read_ahead_kb", json_object_new_int64((int64_t)d->read_ahead_kb));
	ADD(o, "discard_granularity_bytes",
	    json_object_new_int64((int64_t)d->discard_granularity));
	ADD(o, "discard_max_bytes", json_object_new_int64((int64_t)d->discard_max_bytes));
	if (!strcmp(d->transport, "loop")) {
		ADD(o, "loop_backing_file", jstr(d->loop_backing_file));
		ADD(o, "loop_direct_io",
		    d->loop_direct_io < 0 ? NULL : json_object_new_boolean(d->loop_direct_io));
	}
	for (int i = 0; i < d->nsigs; i++) {
		s = json_object_new_object();
		if (!s)
			goto fail;
		ADD(s, "type", json_object_new_string(d->sigs[i].type));
		ADD(s, "usage", json_object_new_string(d->sigs[i].usage));
		ADD(s, "offset_bytes", json_object_new_int64((int64_t)d->sigs[i].offset_bytes));
		if (json_object_array_add(sigs, s))
			goto fail;
		s = NULL;
	}
	ADD(o, "signatures", sigs);
	sigs = NULL;
	ADD(o, "partitions", jlist(d->partitions));
	ADD(o, "mounts", jlist(d->mounts));
	ADD(o, "swap", json_object_new_boolean(d->swap));
	ADD(o, "holders", jlist(d->holders));
	ADD(o, "exclusive_open", json_object_new_boolean(d->excl_ok));
	ADD(o, "free_to_use", json_object_new_boolean(d->free_to_use));
	ADD(o, "verdict", json_object_new_string(d->verdict));
	return 0;
fail:
	json_object_put(s);
	json_object_put(sigs);
	return -ENOMEM;
}

static int dir_json(const struct stt_probe_dir *p, struct json_object *o)
{
	ADD(o, "kind", json_object_new_string("directory"));
	ADD(o, "path", json_object_new_string(p->path));
	ADD(o, "fstype", json_object_new_string(p->fstype));
	ADD(o, "mountpoint", jstr(p->mountpoint));
	ADD(o, "source", jstr(p->source));
	ADD(o, "block_device", jstr(p->block_device));
	ADD(o, "size_bytes", json_object_new_int64((int64_t)p->size_bytes));
	ADD(o, "free_bytes", json_object_new_int64((int64_t)p->free_bytes));
	ADD(o, "free_inodes", json_object_new_int64((int64_t)p->free_inodes));
	ADD(o, "d_type", jtri(p->d_type));
	ADD(o, "d_type_detail", jstr(p->d_type_detail));
	ADD(o, "xfs_ftype", jtri(p->xfs_ftype));
	ADD(o, "writable", json_object_new_boolean(p->writable));
	return 0;
fail:
	return -ENOMEM;
}

int stt_probe_to_json(const struct stt_probe_target *t, struct json_object **out)
{
	struct json_object *o = json_object_new_object();
	int r;

	if (!o)
		return -ENOMEM;
	r = t->kind == STT_PROBE_BLOCK ? dev_json(&t->dev, o) : dir_json(&t->dir, o);
	if (r) {
		json_object_put(o);
		return r;
	}
	*out = o;
	return 0;
}
