// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The engine's side that faces the target (see engine.h): the checks of a job's options and of
 * the file or block device it names (alignment, O_DIRECT honoured, sizes, aio-max-nr, huge
 * pages), and the layout of a file before a run, as fio lays out and invalidates one.
 */
#include "measure/engine_int.h"

#include "base/err.h"
#include "sys/devstat.h"
#include "sys/sysfs.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

int stt_eng_read_small(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		r = -errno;
		goto out;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
out:
	close(fd);
	return r;
}

int stt_eng_read_u64(const char *path, uint64_t *v)
{
	char buf[64], *end;
	unsigned long long x;
	int r;

	r = stt_eng_read_small(path, buf, sizeof(buf));
	if (r)
		return r;
	errno = 0;
	x = strtoull(buf, &end, 10);
	if (errno || end == buf || *end)
		return -EINVAL;
	*v = x;
	return 0;
}

/* ---- validation ------------------------------------------------------------------------- */


/* The default huge page size and the huge pages free for new mappings, from /proc/meminfo. */
int stt_eng_huge_pages(uint64_t *page_bytes, uint64_t *avail)
{
	uint64_t kb = 0, nfree = 0, rsvd = 0;
	char *text = NULL;
	int r = stt_sysfs_slurp("/proc/meminfo", &text);

	if (!r)
		r = stt_meminfo_field(text, "Hugepagesize", &kb);
	if (!r && !kb)
		r = -ENOENT;
	if (!r)
		r = stt_meminfo_field(text, "HugePages_Free", &nfree);
	if (!r)
		r = stt_meminfo_field(text, "HugePages_Rsvd", &rsvd);
	free(text);
	if (r)
		return r;
	*page_bytes = kb * 1024;
	*avail = nfree > rsvd ? nfree - rsvd : 0;
	return 0;
}

/* iomem=mmaphuge: each job maps bs x iodepth rounded up to huge pages; are there enough? */
static int check_huge_pages(const struct stt_engine_job *job)
{
	uint64_t page = 0, avail = 0, need;

	if (stt_eng_huge_pages(&page, &avail))
		return stt_err(-EINVAL, "iomem: mmaphuge: this kernel has no huge pages "
					"(no Hugepagesize in /proc/meminfo)");
	need = round_up(job->bs_bytes * job->iodepth, page) / page * job->jobs;
	if (need > avail)
		return stt_err(-EINVAL,
			       "iomem: mmaphuge needs %llu huge page%s of %llu KiB and %llu %s "
			       "free; reserve them first (sysctl vm.nr_hugepages=N)",
			       (unsigned long long)need, need == 1 ? "" : "s",
			       (unsigned long long)(page / 1024), (unsigned long long)avail,
			       avail == 1 ? "is" : "are");
	return 0;
}

static int check_options(const struct stt_engine_job *job)
{
	uint64_t max_nr = DEFAULT_AIO_MAX_NR;

	if (!job->path || !*job->path)
		return stt_err(-EINVAL, "target: no path given");
	if ((unsigned int)job->rw > STT_ENGINE_RANDRW)
		return stt_err(-EINVAL, "rw: unknown value %u", (unsigned int)job->rw);
	if ((unsigned int)job->iomem > STT_ENGINE_IOMEM_MMAPHUGE)
		return stt_err(-EINVAL, "iomem: unknown value %u", (unsigned int)job->iomem);
	if (!job->bs_bytes)
		return stt_err(-EINVAL, "bs: must be above 0");
	if (job->bs_bytes > BS_MAX_BYTES)
		return stt_err(-EINVAL, "bs: %llu is above the limit of 1 GiB",
			       (unsigned long long)job->bs_bytes);
	if (job->verify && job->bs_bytes % 8)
		return stt_err(-EINVAL, "bs: %llu is not a multiple of 8 bytes, which verify needs",
			       (unsigned long long)job->bs_bytes);
	if (job->size_bytes < 0)
		return stt_err(-EINVAL, "size: %lld is negative", (long long)job->size_bytes);
	if (job->offset_bytes > (uint64_t)INT64_MAX)
		return stt_err(-EINVAL, "offset: %llu is too large",
			       (unsigned long long)job->offset_bytes);
	if ((uint64_t)job->size_bytes > (uint64_t)INT64_MAX - job->offset_bytes)
		return stt_err(-EINVAL, "size: offset + size is too large");
	if (!job->runtime_ms && !job->size_bytes)
		return stt_err(-EINVAL, "runtime, size: both are 0; give at least one");
	if (job->time_based && !job->runtime_ms)
		return stt_err(-EINVAL, "time_based: needs a runtime");
	if (job->runtime_ms > UINT64_MAX / NS_PER_MS / 2 ||
	    job->ramp_ms > UINT64_MAX / NS_PER_MS / 2)
		return stt_err(-EINVAL, "runtime: too long");
	if (job->rwmix_read > 100)
		return stt_err(-EINVAL, "rwmix_read: %u is above 100", job->rwmix_read);
	if (!job->jobs)
		return stt_err(-EINVAL, "jobs: must be above 0");
	if (job->jobs > 4096)
		return stt_err(-EINVAL, "jobs: %u is above the limit of 4096", job->jobs);
	if (!job->iodepth)
		return stt_err(-EINVAL, "iodepth: must be above 0");
	if (stt_eng_read_u64("/proc/sys/fs/aio-max-nr", &max_nr))
		max_nr = DEFAULT_AIO_MAX_NR;
	if (job->iodepth > max_nr)
		return stt_err(-EINVAL, "iodepth: %u is above /proc/sys/fs/aio-max-nr (%llu)",
			       job->iodepth, (unsigned long long)max_nr);
	if ((uint64_t)job->iodepth * job->jobs > max_nr)
		return stt_err(-EINVAL,
			       "iodepth: %u x %u jobs is above /proc/sys/fs/aio-max-nr (%llu)",
			       job->iodepth, job->jobs, (unsigned long long)max_nr);
	if (job->bs_bytes * job->iodepth > (uint64_t)SIZE_MAX / 2)
		return stt_err(-EINVAL, "bs: %llu x iodepth %u does not fit in memory",
			       (unsigned long long)job->bs_bytes, job->iodepth);
	if (job->iomem == STT_ENGINE_IOMEM_MMAPHUGE)
		return check_huge_pages(job);
	return 0;
}

/* The logical block size of block device @dev from sysfs (whole disk or partition). */
static int sysfs_lbs(dev_t dev, unsigned int *lbs)
{
	char path[128];
	uint64_t v;
	int r;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/queue/logical_block_size", major(dev),
		 minor(dev));
	r = stt_eng_read_u64(path, &v);
	if (r) {
		snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/../queue/logical_block_size",
			 major(dev), minor(dev));
		r = stt_eng_read_u64(path, &v);
	}
	if (r)
		return r;
	if (!v || v > 65536)
		return -EINVAL;
	*lbs = (unsigned int)v;
	return 0;
}

/* O_DIRECT alignment of an open file: statx's dio_offset_align, else sysfs, else 512. */
static unsigned int file_dio_align(int fd, dev_t dev)
{
	unsigned int lbs = DEFAULT_LBS_BYTES;
#ifdef STATX_DIOALIGN
	struct statx stx;

	if (!statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) &&
	    (stx.stx_mask & STATX_DIOALIGN) && stx.stx_dio_offset_align)
		return stx.stx_dio_offset_align;
#else
	(void)fd;
#endif
	if (sysfs_lbs(dev, &lbs))
		lbs = DEFAULT_LBS_BYTES;
	return lbs;
}

/*
 * Whether block device @dev (or the disk of a partition) is a loop device with direct I/O
 * off; its name goes to @name.
 */
static bool loop_without_dio(dev_t dev, char *name, size_t len)
{
	static const char *const rel[] = { "", "/.." };
	char path[160], link[PATH_MAX], val[16];

	for (size_t i = 0; i < 2; i++) {
		ssize_t n;

		snprintf(path, sizeof(path), "/sys/dev/block/%u:%u%s/loop/dio", major(dev),
			 minor(dev), rel[i]);
		if (stt_eng_read_small(path, val, sizeof(val)))
			continue;
		snprintf(path, sizeof(path), "/sys/dev/block/%u:%u%s", major(dev), minor(dev),
			 rel[i]);
		n = readlink(path, link, sizeof(link) - 1);
		if (i == 0 && n > 0) {
			link[n] = '\0';
			snprintf(name, len, "%s", basename(link));
		} else {
			snprintf(name, len, "loop device %u:%u", major(dev), minor(dev));
		}
		return !strcmp(val, "0");
	}
	return false;
}

/* Sets t->not_honoured and the note when O_DIRECT on @path will still use the page cache. */
static void check_honoured(const struct stt_engine_job *job, const char *fs_path, dev_t dev,
			   struct target *t)
{
	static const char tail[] = "O_DIRECT not honoured (page cache is measured)";
	struct statfs sfs;
	char loop[64];

	if (!job->direct)
		return;
	if (!t->blockdev && !statfs(fs_path, &sfs) && sfs.f_type == TMPFS_MAGIC) {
		t->not_honoured = true;
		snprintf(t->note, sizeof(t->note), "%s (on tmpfs): %s", job->path, tail);
		return;
	}
	if (major(dev) && loop_without_dio(dev, loop, sizeof(loop))) {
		t->not_honoured = true;
		if (t->blockdev)
			snprintf(t->note, sizeof(t->note),
				 "%s (a loop device with direct I/O off): %s", job->path, tail);
		else
			snprintf(t->note, sizeof(t->note),
				 "%s (on %s, a loop device with direct I/O off): %s", job->path,
				 loop, tail);
	}
}

static int check_blockdev(const struct stt_engine_job *job, const struct stat *st, struct target *t)
{
	uint64_t dev_bytes = 0;
	int lbs = 0, fd, r;
	struct stat dst;

	t->blockdev = true;
	t->rdev = st->st_rdev;
	if (rw_writes(job->rw)) {
		if (!job->destroy_data || stat(job->destroy_data, &dst) || !S_ISBLK(dst.st_mode) ||
		    dst.st_rdev != st->st_rdev)
			return stt_err(-EPERM,
				       "%s: writing to the device destroys its data; refusing "
				       "(use --destroy-data %s)",
				       job->path, job->path);
	}
	fd = open(job->path, (rw_writes(job->rw) ? O_RDWR : O_RDONLY) | O_CLOEXEC |
				     (job->direct ? O_DIRECT : 0));
	if (fd < 0) {
		r = -errno;
		if (r == -EINVAL && job->direct)
			return stt_err(r,
				       "%s: the device does not support O_DIRECT (use --direct 0)",
				       job->path);
		return stt_err(r, "%s: %s", job->path, strerror(-r));
	}
	if (ioctl(fd, BLKGETSIZE64, &dev_bytes) || ioctl(fd, BLKSSZGET, &lbs)) {
		r = stt_err(-errno, "%s: cannot read the device size: %s", job->path,
			    strerror(errno));
		goto out;
	}
	t->target_bytes = dev_bytes;
	t->lbs_bytes = lbs > 0 ? (unsigned int)lbs : DEFAULT_LBS_BYTES;
	r = 0;
out:
	close(fd);
	return r;
}

static int check_file(const struct stt_engine_job *job, const struct stat *st, struct target *t)
{
	int flags = O_CLOEXEC | (job->direct ? O_DIRECT : 0);
	int fd, r;

	t->exists = true;
	t->target_bytes = (uint64_t)st->st_size;
	/* Writes and a layout need write access; ask now rather than after a layout. */
	fd = open(job->path, flags | (rw_writes(job->rw) ? O_RDWR : O_RDONLY));
	if (fd < 0) {
		r = -errno;
		if (r == -EINVAL && job->direct)
			return stt_err(r,
				       "%s: the filesystem does not support O_DIRECT "
				       "(use --direct 0)",
				       job->path);
		return stt_err(r, "%s: %s", job->path, strerror(-r));
	}
	t->lbs_bytes = file_dio_align(fd, st->st_dev);
	close(fd);
	return 0;
}

/*
 * A file to create: probe its directory with an unnamed O_TMPFILE, which leaves nothing
 * behind, for O_DIRECT support and alignment.
 */
static int check_new_file(const struct stt_engine_job *job, struct target *t)
{
	char buf[PATH_MAX], dir[PATH_MAX];
	struct stat dst;
	int fd, r;

	if (!rw_writes(job->rw))
		return stt_err(-ENOENT, "%s: does not exist (a read job needs an existing target)",
			       job->path);
	if (!job->size_bytes)
		return stt_err(-EINVAL, "size: needed to create %s", job->path);
	if (snprintf(buf, sizeof(buf), "%s", job->path) >= (int)sizeof(buf))
		return stt_err(-ENAMETOOLONG, "%s: path too long", job->path);
	snprintf(dir, sizeof(dir), "%s", dirname(buf));
	if (stat(dir, &dst))
		return stt_err(-errno, "%s: cannot create it: %s: %s", job->path, dir,
			       strerror(errno));
	if (!S_ISDIR(dst.st_mode))
		return stt_err(-ENOTDIR, "%s: cannot create it: %s is not a directory", job->path,
			       dir);
	if (access(dir, W_OK))
		return stt_err(-errno, "%s: cannot create it: %s: %s", job->path, dir,
			       strerror(errno));
	t->lbs_bytes = DEFAULT_LBS_BYTES;
	if (sysfs_lbs(dst.st_dev, &t->lbs_bytes))
		t->lbs_bytes = DEFAULT_LBS_BYTES;
	check_honoured(job, dir, dst.st_dev, t);
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC | (job->direct ? O_DIRECT : 0), 0600);
	if (fd < 0) {
		r = -errno;
		if (r == -EINVAL && job->direct)
			return stt_err(r,
				       "%s: the filesystem does not support O_DIRECT "
				       "(use --direct 0)",
				       job->path);
		/* O_TMPFILE not supported here: learn about O_DIRECT when creating. */
		return 0;
	}
	t->lbs_bytes = file_dio_align(fd, dst.st_dev);
	close(fd);
	return 0;
}

int stt_eng_check_job(const struct stt_engine_job *job, struct target *t)
{
	uint64_t bs = job->bs_bytes, end, avail;
	struct stat st;
	int r;

	memset(t, 0, sizeof(*t));
	r = check_options(job);
	if (r)
		return r;

	if (stat(job->path, &st)) {
		r = -errno;
		if (r != -ENOENT)
			return stt_err(r, "%s: %s", job->path, strerror(-r));
		r = check_new_file(job, t);
		if (r)
			return r;
	} else if (S_ISBLK(st.st_mode)) {
		r = check_blockdev(job, &st, t);
		if (r)
			return r;
		check_honoured(job, job->path, st.st_rdev, t);
	} else if (S_ISREG(st.st_mode)) {
		r = check_file(job, &st, t);
		if (r)
			return r;
		check_honoured(job, job->path, st.st_dev, t);
	} else {
		return stt_err(-EINVAL, "%s: not a regular file or a block device", job->path);
	}

	if (job->direct) {
		if (bs % t->lbs_bytes)
			return stt_err(-EINVAL,
				       "bs: %llu is not a multiple of the logical block size of %s "
				       "(%u bytes), which O_DIRECT needs",
				       (unsigned long long)bs, job->path, t->lbs_bytes);
		if (job->offset_bytes % t->lbs_bytes)
			return stt_err(
				-EINVAL,
				"offset: %llu is not a multiple of the logical block size of "
				"%s (%u bytes), which O_DIRECT needs",
				(unsigned long long)job->offset_bytes, job->path, t->lbs_bytes);
	}

	if (job->size_bytes) {
		t->range_bytes = (uint64_t)job->size_bytes;
		end = job->offset_bytes + t->range_bytes;
		if (t->blockdev && end > t->target_bytes)
			return stt_err(-EINVAL,
				       "size: offset %llu + size %llu is beyond the end of %s "
				       "(%llu bytes)",
				       (unsigned long long)job->offset_bytes,
				       (unsigned long long)t->range_bytes, job->path,
				       (unsigned long long)t->target_bytes);
	} else {
		if (job->offset_bytes >= t->target_bytes)
			return stt_err(-EINVAL,
				       "offset: %llu is at or beyond the end of %s "
				       "(%llu bytes)",
				       (unsigned long long)job->offset_bytes, job->path,
				       (unsigned long long)t->target_bytes);
		t->range_bytes = t->target_bytes - job->offset_bytes;
	}
	avail = t->range_bytes - t->range_bytes % bs;
	if (!avail)
		return stt_err(-EINVAL, "size: the range of %llu bytes is smaller than bs (%llu)",
			       (unsigned long long)t->range_bytes, (unsigned long long)bs);
	t->range_bytes = avail;
	return 0;
}

int stt_engine_check(const struct stt_engine_job *job)
{
	struct target t;

	return stt_eng_check_job(job, &t);
}

/* ---- layout ----------------------------------------------------------------------------- */

/* Writes [@from, @to) of @fd: the pattern, zeros (@zeros) or pseudo-random data. */
static int layout_write(const struct stt_engine_job *job, int fd, void *buf, uint64_t from,
			uint64_t to, bool zeros, uint64_t *written)
{
	uint64_t off = from;

	if (zeros && !job->verify)
		memset(buf, 0, LAYOUT_CHUNK_BYTES);
	else if (!job->verify)
		random_fill(buf, LAYOUT_CHUNK_BYTES, job->seed);
	while (off < to) {
		size_t n = (size_t)(to - off < LAYOUT_CHUNK_BYTES ? to - off : LAYOUT_CHUNK_BYTES);
		ssize_t w;

		if (job->verify)
			pattern_fill(buf, n, job->seed, off);
		else if (!zeros)
			/* a different first word per 4 KiB: nothing to deduplicate */
			for (size_t i = 0; i < n / 4096; i++)
				((uint64_t *)buf)[i * 512] = mix64(off + i * 4096);
		w = pwrite(fd, buf, n, (off_t)off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return stt_err(-errno, "%s: laying out at offset %llu: %s", job->path,
				       (unsigned long long)off, strerror(errno));
		}
		if (!w)
			return stt_err(-EIO, "%s: laying out at offset %llu: short write",
				       job->path, (unsigned long long)off);
		off += (uint64_t)w;
		*written += (uint64_t)w;
	}
	return 0;
}

/*
 * Makes [offset, offset + range) of the file real data: writes what is beyond its end and
 * fills its holes, buffered, then syncs and drops it from the page cache (fio's layout
 * and invalidate).
 */
int stt_eng_layout(const struct stt_engine_job *job, const struct target *t, uint64_t *written,
		  bool *created)
{
	uint64_t start = job->offset_bytes, end = start + t->range_bytes, pos, eof;
	void *buf = NULL;
	struct stat st;
	int fd = -1, r;

	*written = 0;
	*created = false;
	fd = open(job->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 && (errno == EACCES || errno == EROFS) && !rw_writes(job->rw))
		fd = open(job->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = stt_err(-errno, "%s: %s", job->path, strerror(errno));
		goto out;
	}
	*created = !t->exists;
	if (fstat(fd, &st)) {
		r = stt_err(-errno, "%s: %s", job->path, strerror(errno));
		goto out;
	}
	eof = (uint64_t)st.st_size;
	pos = start;
	while (pos < end) {
		off_t hole, data;
		uint64_t hole_end;

		if (pos >= eof) {
			hole = (off_t)pos;
		} else {
			hole = lseek(fd, (off_t)pos, SEEK_HOLE);
			if (hole < 0)
				hole = (off_t)eof; /* no hole information: trust the size */
		}
		if ((uint64_t)hole >= end)
			break;
		data = (uint64_t)hole < eof ? lseek(fd, hole, SEEK_DATA) : -1;
		hole_end = data < 0 ? end : (uint64_t)data < end ? (uint64_t)data : end;
		if (!buf && posix_memalign(&buf, BUF_ALIGN, LAYOUT_CHUNK_BYTES)) {
			buf = NULL;
			r = stt_err(-ENOMEM, "%s: no memory for the layout", job->path);
			goto out;
		}
		if (!(fcntl(fd, F_GETFL) & (O_WRONLY | O_RDWR))) {
			r = stt_err(-EACCES, "%s: has holes or is short, and cannot be written",
				    job->path);
			goto out;
		}
		/* holes within the old end keep reading as zeros; the new part is data */
		if ((uint64_t)hole < eof) {
			uint64_t to = hole_end < eof ? hole_end : eof;

			r = layout_write(job, fd, buf, (uint64_t)hole, to, true, written);
			if (r)
				goto out;
			hole = (off_t)to;
		}
		if ((uint64_t)hole < hole_end) {
			r = layout_write(job, fd, buf, (uint64_t)hole, hole_end, false, written);
			if (r)
				goto out;
		}
		pos = hole_end;
	}
	if (*written && fsync(fd)) {
		r = stt_err(-errno, "%s: fsync after the layout: %s", job->path, strerror(errno));
		goto out;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	r = 0;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return r;
}
