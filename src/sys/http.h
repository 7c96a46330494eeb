/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_HTTP_H
#define STT_HTTP_H

/*
 * HTTP/1.1 to a local daemon (the Docker Engine API), over a unix socket or TCP, with libcurl
 * (the only includer of <curl/curl.h>). One struct stt_http is one connection, kept alive
 * between calls; a handle is used by one thread at a time.
 *
 * Addresses: "unix:///path/to.sock", "/path/to.sock", "tcp://HOST:PORT" or "http://HOST:PORT".
 *
 * An upgraded connection (Docker's attach: "Connection: Upgrade", "Upgrade: tcp", answered with
 * 101 or 200 and then a raw stream) is opened with stt_http_upgrade() and then read and written
 * with stt_http_send() and stt_http_recv().
 */

#include <stdbool.h>
#include <stddef.h>

struct stt_http;

/* Parses @address (see above); -EINVAL with a message when it is none of those. */
__attribute__((warn_unused_result)) int stt_http_open(const char *address, struct stt_http **out);
void stt_http_close(struct stt_http *h);
/* The address as given. */
const char *stt_http_address(const struct stt_http *h);

struct stt_http_resp {
	long status; /* the HTTP status */
	char *body;  /* NUL-terminated, malloc'd (may be empty) */
	size_t len;
};

void stt_http_resp_release(struct stt_http_resp *r);

/*
 * One request: @method on @path ("/containers/create?name=x"), with @body of @len bytes of
 * @ctype (NULL body: none) or, when @upload_file is not NULL, that file's bytes. @timeout_ms 0:
 * none. Returns 0 when an answer came (whatever its status: see @resp->status); -ECONNREFUSED,
 * -ENOENT (no socket), -ETIMEDOUT or -EIO with a message when none did.
 */
__attribute__((warn_unused_result)) int stt_http_call(struct stt_http *h, const char *method,
						      const char *path, const char *ctype,
						      const void *body, size_t len,
						      const char *upload_file, long timeout_ms,
						      struct stt_http_resp *resp);

/*
 * Sends @method @path with the upgrade headers on a connection of its own and reads the
 * answer's head; 0 when the status is 101 or 200 (the stream follows), else -EPROTO with the
 * status and the body's first line in the message.
 */
__attribute__((warn_unused_result)) int stt_http_upgrade(struct stt_http *h, const char *method,
							 const char *path, long timeout_ms);
/* Writes all of @buf to an upgraded connection. */
__attribute__((warn_unused_result)) int stt_http_send(struct stt_http *h, const void *buf,
						      size_t len);
/*
 * Reads up to @len bytes from an upgraded connection, waiting at most @timeout_ms (-1: no
 * limit); *@got = 0 at the end of the stream. -ETIMEDOUT when nothing came in time.
 */
__attribute__((warn_unused_result)) int stt_http_recv(struct stt_http *h, void *buf, size_t len,
						      size_t *got, long timeout_ms);

/* The version of libcurl, for the results ("8.1.2"). */
const char *stt_http_library_version(void);

#endif
