/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_DOCKER_H
#define STT_DOCKER_H

/*
 * The Docker Engine API, the calls the benchmark makes, over one HTTP connection each
 * (src/sys/http.h). Errors carry the daemon's own message ({"message": ...}).
 */

#include <stdbool.h>
#include <stddef.h>

struct json_object;
struct stt_http;

/* GET /_ping: 0 when the daemon answers OK. */
__attribute__((warn_unused_result)) int stt_docker_ping(struct stt_http *h, long timeout_ms);

/*
 * GET /version and GET /info: { "name": "docker", "version", "api_version", "driver",
 * "driver_status": { key: value }, "root_dir", "kernel" } into *@out.
 */
__attribute__((warn_unused_result)) int stt_docker_info(struct stt_http *h,
							struct json_object **out);

/* POST /images/load of the `docker save` tar @tar; the loaded image's name into @image. */
__attribute__((warn_unused_result)) int stt_docker_load(struct stt_http *h, const char *tar,
							char *image, size_t len);
/* The ids ("sha256:...") of every image the daemon has, one a line, into *@out (malloc'd). */
__attribute__((warn_unused_result)) int stt_docker_image_ids(struct stt_http *h, char **out);
/* The id of @image into @id. */
__attribute__((warn_unused_result)) int stt_docker_image_id(struct stt_http *h, const char *image,
							   char *id, size_t len);
/* DELETE /images/@image?force=1 (gone already: 0). */
__attribute__((warn_unused_result)) int stt_docker_image_remove(struct stt_http *h,
								const char *image);

/*
 * POST /containers/create: @image running @argv (NULL-terminated), stdin open, no network, no
 * log driver, labelled "stortune.run=@label", with @binds (Docker's "HOST:CTR:ro" strings,
 * NULL-terminated, may be NULL). Its id (64 hex) into @id.
 */
__attribute__((warn_unused_result)) int stt_docker_create(struct stt_http *h, const char *image,
							  const char *const *argv,
							  const char *const *binds,
							  const char *label, char id[65]);
/* GET /containers/@id/json: the daemon's answer as it is, into *@out. */
__attribute__((warn_unused_result)) int stt_docker_inspect(struct stt_http *h, const char *id,
							   struct json_object **out);
/* POST /containers/@id/start. */
__attribute__((warn_unused_result)) int stt_docker_start(struct stt_http *h, const char *id);
/* POST /containers/@id/stop?t=@timeout_s. */
__attribute__((warn_unused_result)) int stt_docker_stop(struct stt_http *h, const char *id,
							unsigned int timeout_s);
/* DELETE /containers/@id (with @force: also a running one). Gone already: 0. */
__attribute__((warn_unused_result)) int stt_docker_remove(struct stt_http *h, const char *id,
							  bool force);
/*
 * The ids of the containers labelled "stortune.run=@label" (all, running or not): at most
 * @max into @ids, the count into *@n.
 */
__attribute__((warn_unused_result)) int stt_docker_list(struct stt_http *h, const char *label,
							char (*ids)[65], size_t max, size_t *n);

/*
 * POST /containers/@id/attach with stdin, stdout and stderr on @h (a connection of its own,
 * upgraded); then stt_docker_attach_line() reads the container's output.
 */
__attribute__((warn_unused_result)) int stt_docker_attach(struct stt_http *h, const char *id);

/*
 * Reads the container's next output line (stdout or stderr, the 8-byte frames of a non-tty
 * attach) into @line (without the newline), waiting at most @timeout_ms. -EPIPE when the stream
 * ended (the container's process exited).
 */
struct stt_docker_stream {
	unsigned char raw[8192]; /* received, not yet parsed into frames */
	size_t raw_len;
	char pay[8192]; /* frames' payload, not yet returned as lines */
	size_t pay_len;
	size_t frame_left; /* payload bytes of the current frame still to come */
};

__attribute__((warn_unused_result)) int stt_docker_attach_line(struct stt_http *h,
							       struct stt_docker_stream *s,
							       char *line, size_t len,
							       long timeout_ms);

#endif
