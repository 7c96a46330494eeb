// SPDX-License-Identifier: GPL-2.0-or-later
#include "backend/boltsim.h"
#include "backend/backend.h"

#include "base/err.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define DIRTY_PAGES 2  /* a leaf and its branch */
#define AREA_PAGES  64 /* freed pages are reused: dirty pages cycle over this area */

static int write_page(int fd, const char *page, size_t len, uint64_t pgid)
{
	ssize_t n = pwrite(fd, page, len, (off_t)(pgid * len));

	return n == (ssize_t)len ? 0 : (n < 0 ? -errno : -EIO);
}

int stt_boltsim_open(struct stt_boltsim *db, const char *path)
{
	size_t psz = (size_t)sysconf(_SC_PAGESIZE);
	char page[65536];
	int r = 0;

	memset(db, 0, sizeof(*db));
	db->fd = -1;
	if (psz > sizeof(page))
		psz = sizeof(page);
	memset(page, 0xb0, psz);
	db->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (db->fd < 0)
		return stt_err(-errno, "%s: cannot create: %s", path, strerror(errno));
	for (uint64_t p = 0; p < 4 && !r; p++)
		r = write_page(db->fd, page, psz, p);
	if (!r && fdatasync(db->fd))
		r = -errno;
	if (r) {
		close(db->fd);
		db->fd = -1;
		return stt_err(r, "%s: cannot write: %s", path, strerror(-r));
	}
	db->txid = 1;
	db->is_open = true;
	pthread_mutex_init(&db->lock, NULL);
	return 0;
}

int stt_boltsim_update(struct stt_boltsim *db)
{
	size_t psz = (size_t)sysconf(_SC_PAGESIZE);
	char page[65536];
	uint64_t first;
	int r = 0;

	if (!db->is_open)
		return stt_err(-EBADF, "bolt store not open");
	if (psz > sizeof(page))
		psz = sizeof(page);
	pthread_mutex_lock(&db->lock);
	memset(page, (int)(db->txid & 0xff), psz);
	first = 4 + (db->txid * (DIRTY_PAGES + 1)) % AREA_PAGES;
	for (uint64_t p = 0; p < DIRTY_PAGES + 1 && !r; p++)
		r = write_page(db->fd, page, psz, first + p);
	if (!r && fdatasync(db->fd))
		r = -errno;
	if (!r)
		r = write_page(db->fd, page, psz, db->txid % 2);
	if (!r && fdatasync(db->fd))
		r = -errno;
	if (!r) {
		db->txid++;
		db->updates++;
	}
	pthread_mutex_unlock(&db->lock);
	if (r)
		return stt_err(r, "bolt store: cannot commit a transaction: %s", strerror(-r));
	return 0;
}

void stt_boltsim_close(struct stt_boltsim *db)
{
	if (!db->is_open)
		return;
	close(db->fd);
	db->fd = -1;
	db->is_open = false;
	pthread_mutex_destroy(&db->lock);
}

bool stt_ctrd_is_container_layer(const struct stt_layer *parent)
{
	size_t n = parent ? strlen(parent->id) : 0;

	return n > 5 && !strcmp(parent->id + n - 5, "-init");
}

int stt_ctrd_record(struct stt_boltsim *meta, struct stt_boltsim *snap)
{
	int r = stt_boltsim_update(meta);

	return r ? r : stt_boltsim_update(snap);
}
