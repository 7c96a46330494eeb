// SPDX-License-Identifier: GPL-2.0-or-later
#include "sys/http.h"

#include "base/err.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HEAD_MAX 8192

struct stt_http {
	CURL *curl;
	char address[PATH_MAX];
	char sock[PATH_MAX]; /* unix socket path, or "" for TCP */
	char base[300];	     /* "http://localhost" or "http://HOST:PORT" */
	bool upgraded;
	char *pending; /* stream bytes read with the answer's head */
	size_t n_pending, off_pending;
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_OK;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

const char *stt_http_library_version(void)
{
	return curl_version_info(CURLVERSION_NOW)->version;
}

int stt_http_open(const char *address, struct stt_http **out)
{
	struct stt_http *h;
	const char *p;

	pthread_once(&once, global_init);
	if (global_rc != CURLE_OK)
		return stt_err(-EIO, "libcurl: %s", curl_easy_strerror(global_rc));
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	snprintf(h->address, sizeof(h->address), "%s", address);
	if (!strncmp(address, "unix://", 7) || address[0] == '/') {
		p = address[0] == '/' ? address : address + 7;
		if (p[0] != '/' || strlen(p) >= 108) {
			free(h);
			return stt_err(-EINVAL,
				       "%s: not an absolute unix socket path of at most 107 "
				       "bytes",
				       address);
		}
		snprintf(h->sock, sizeof(h->sock), "%s", p);
		snprintf(h->base, sizeof(h->base), "http://localhost");
	} else if (!strncmp(address, "tcp://", 6) || !strncmp(address, "http://", 7)) {
		p = strstr(address, "://") + 3;
		if (!*p || strchr(p, '/') || strlen(p) > 256) {
			free(h);
			return stt_err(-EINVAL, "%s: expected tcp://HOST:PORT", address);
		}
		snprintf(h->base, sizeof(h->base), "http://%s", p);
	} else {
		free(h);
		return stt_err(-EINVAL, "%s: not an address (unix:///PATH, tcp://HOST:PORT)",
			       address);
	}
	h->curl = curl_easy_init();
	if (!h->curl) {
		free(h);
		return -ENOMEM;
	}
	*out = h;
	return 0;
}

void stt_http_close(struct stt_http *h)
{
	if (!h)
		return;
	curl_easy_cleanup(h->curl);
	free(h->pending);
	free(h);
}

const char *stt_http_address(const struct stt_http *h)
{
	return h->address;
}

void stt_http_resp_release(struct stt_http_resp *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
	struct stt_http_resp *r = arg;
	size_t len = size * n;
	char *nb = realloc(r->body, r->len + len + 1);

	if (!nb)
		return 0; /* makes libcurl fail the transfer */
	memcpy(nb + r->len, data, len);
	r->len += len;
	nb[r->len] = '\0';
	r->body = nb;
	return len;
}

static int curl_errno(struct stt_http *h, CURLcode rc, const char *what)
{
	int e;

	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		e = -ECONNREFUSED;
		break;
	case CURLE_OPERATION_TIMEDOUT:
		e = -ETIMEDOUT;
		break;
	case CURLE_OUT_OF_MEMORY:
		e = -ENOMEM;
		break;
	default:
		e = -EIO;
	}
	return stt_err(e, "%s: %s: %s", h->address, what, curl_easy_strerror(rc));
}

static void set_common(struct stt_http *h, const char *url, long timeout_ms)
{
	curl_easy_setopt(h->curl, CURLOPT_URL, url);
	if (*h->sock)
		curl_easy_setopt(h->curl, CURLOPT_UNIX_SOCKET_PATH, h->sock);
	curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	if (timeout_ms > 0)
		curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
}

int stt_http_call(struct stt_http *h, const char *method, const char *path, const char *ctype,
		  const void *body, size_t len, const char *upload_file, long timeout_ms,
		  struct stt_http_resp *resp)
{
	struct curl_slist *hdr = NULL, *nh;
	char url[PATH_MAX + 320], ct[128];
	FILE *f = NULL;
	CURLcode rc;
	int r = 0;

	memset(resp, 0, sizeof(*resp));
	if (h->upgraded)
		return stt_err(-EINVAL, "%s: connection is upgraded", h->address);
	snprintf(url, sizeof(url), "%s%s", h->base, path);
	curl_easy_reset(h->curl); /* keeps the live connection */
	set_common(h, url, timeout_ms);
	curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, resp);
	/* No "Expect: 100-continue" round trip before a body. */
	nh = curl_slist_append(hdr, "Expect:");
	if (!nh)
		return -ENOMEM;
	hdr = nh;
	if (ctype) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
		nh = curl_slist_append(hdr, ct);
		if (!nh) {
			r = -ENOMEM;
			goto out;
		}
		hdr = nh;
	}
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, hdr);
	if (upload_file) {
		struct stat st;

		f = fopen(upload_file, "rbe");
		if (!f || fstat(fileno(f), &st)) {
			r = stt_err(-errno, "%s: %s", upload_file, strerror(errno));
			goto out;
		}
		curl_easy_setopt(h->curl, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h->curl, CURLOPT_READDATA, f);
		curl_easy_setopt(h->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)st.st_size);
		curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST, method);
	} else if (body) {
		curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	} else if (!strcmp(method, "POST")) {
		curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	}
	rc = curl_easy_perform(h->curl);
	if (rc != CURLE_OK) {
		r = curl_errno(h, rc, path);
		if (rc == CURLE_COULDNT_CONNECT && *h->sock && access(h->sock, F_OK))
			r = stt_err(-ENOENT, "%s: no such socket", h->sock);
		stt_http_resp_release(resp);
		goto out;
	}
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &resp->status);
	if (!resp->body) {
		resp->body = strdup("");
		if (!resp->body)
			r = -ENOMEM;
	}
out:
	if (f)
		fclose(f);
	curl_slist_free_all(hdr);
	return r;
}

static int wait_sock(struct stt_http *h, bool out, long timeout_ms)
{
	curl_socket_t s;
	struct pollfd p;
	int n;

	if (curl_easy_getinfo(h->curl, CURLINFO_ACTIVESOCKET, &s) != CURLE_OK ||
	    s == CURL_SOCKET_BAD)
		return stt_err(-ENOTCONN, "%s: connection closed", h->address);
	p.fd = s;
	p.events = out ? POLLOUT : POLLIN;
	do
		n = poll(&p, 1, (int)(timeout_ms < 0 ? -1 : timeout_ms));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (!n)
		return stt_err(-ETIMEDOUT, "%s: no answer within %ld ms", h->address, timeout_ms);
	return 0;
}

int stt_http_send(struct stt_http *h, const void *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		size_t n = 0;
		CURLcode rc = curl_easy_send(h->curl, (const char *)buf + off, len - off, &n);
		int r;

		if (rc == CURLE_AGAIN) {
			if ((r = wait_sock(h, true, 30000)))
				return r;
			continue;
		}
		if (rc != CURLE_OK)
			return curl_errno(h, rc, "send");
		off += n;
	}
	return 0;
}

int stt_http_recv(struct stt_http *h, void *buf, size_t len, size_t *got, long timeout_ms)
{
	*got = 0;
	if (h->off_pending < h->n_pending) {
		size_t n = h->n_pending - h->off_pending;

		if (n > len)
			n = len;
		memcpy(buf, h->pending + h->off_pending, n);
		h->off_pending += n;
		*got = n;
		return 0;
	}
	for (;;) {
		CURLcode rc = curl_easy_recv(h->curl, buf, len, got);
		int r;

		if (rc == CURLE_AGAIN) {
			if ((r = wait_sock(h, false, timeout_ms)))
				return r;
			continue;
		}
		if (rc == CURLE_UNSUPPORTED_PROTOCOL) /* the peer closed it */
			return 0;
		if (rc != CURLE_OK)
			return curl_errno(h, rc, "receive");
		return 0;
	}
}

int stt_http_upgrade(struct stt_http *h, const char *method, const char *path, long timeout_ms)
{
	char url[PATH_MAX + 320], req[PATH_MAX + 256], *head = NULL, *end = NULL;
	size_t used = 0;
	long status = 0;
	CURLcode rc;
	int r;

	if (h->upgraded)
		return stt_err(-EINVAL, "%s: connection is upgraded", h->address);
	snprintf(url, sizeof(url), "%s/", h->base);
	curl_easy_reset(h->curl);
	set_common(h, url, 0);
	curl_easy_setopt(h->curl, CURLOPT_CONNECT_ONLY, 1L);
	rc = curl_easy_perform(h->curl);
	if (rc != CURLE_OK)
		return curl_errno(h, rc, path);
	h->upgraded = true;
	snprintf(req, sizeof(req),
		 "%s %s HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
		 "Content-Length: 0\r\n\r\n",
		 method, path);
	if ((r = stt_http_send(h, req, strlen(req))))
		return r;
	head = malloc(HEAD_MAX + 1);
	if (!head)
		return -ENOMEM;
	while (!end) {
		size_t n = 0;

		if (used == HEAD_MAX) {
			r = stt_err(-EPROTO, "%s: %s: answer's head too long", h->address, path);
			goto out;
		}
		if ((r = stt_http_recv(h, head + used, HEAD_MAX - used, &n, timeout_ms)))
			goto out;
		if (!n) {
			r = stt_err(-EPROTO, "%s: %s: closed before an answer", h->address, path);
			goto out;
		}
		used += n;
		head[used] = '\0';
		end = strstr(head, "\r\n\r\n");
	}
	if (sscanf(head, "HTTP/1.%*d %ld", &status) != 1 || (status != 101 && status != 200)) {
		char *line = strchr(end + 4, '\n');

		if (line)
			*line = '\0';
		r = stt_err(-EPROTO, "%s: %s: HTTP %ld %.200s", h->address, path, status, end + 4);
		goto out;
	}
	/* What came after the head is the stream's first bytes. */
	h->n_pending = used - (size_t)(end + 4 - head);
	if (h->n_pending) {
		h->pending = malloc(h->n_pending);
		if (!h->pending) {
			r = -ENOMEM;
			goto out;
		}
		memcpy(h->pending, end + 4, h->n_pending);
	}
	r = 0;
out:
	free(head);
	return r;
}
