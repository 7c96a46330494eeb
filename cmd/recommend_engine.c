// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * recommend --engine-version: the engine generation's pieces (src/advice/engine_gen.h). For
 * containerd: the installed containerd's own parser checks an existing config.toml before
 * anything is written, and the merged result (that config importing the drop-in) after.
 * The user's config.toml is never edited: RECOMMENDATION.md says which imports line it needs.
 */
#include "cmd.h"
#include "recommend_engine.h"

#include "base/err.h"
#include "sys/exec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define INSTALL_HINT "install it with: apt-get install containerd (Debian's package, with ctr)"

/* `containerd --config FILE config dump`: 0, or the parser's message in @msg. */
static int config_dump(const char *file, char *out, size_t len)
{
	const char *argv[] = {"containerd", "--config", file, "config", "dump", NULL};
	int st, r = stt_exec_capture(argv, out, len, &st);

	if (r)
		return r;
	return st ? -EINVAL : 0;
}

/* Whether the config has a top-level imports key (a line starting "imports"). */
static bool has_imports(const char *file)
{
	char line[1024];
	bool found = false;
	FILE *f = fopen(file, "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		const char *p = line + strspn(line, " \t");

		if (*p == '[')
			break; /* tables begin: top-level keys are above */
		found = !strncmp(p, "imports", 7) && strchr(" \t=", p[7]);
	}
	fclose(f);
	return found;
}

int cmd_engine_check(const struct cmd_entry *self, const struct cmd_rec_opts *o,
		     struct cmd_rec_engine *e)
{
	char *out;
	int r;

	memset(e, 0, sizeof(*e));
	e->snapshotter = o->snapshotter ? o->snapshotter : "overlayfs";
	if (!o->engine_version)
		return CMD_CONTINUE;
	if (stt_engine_gen_parse(o->engine_version, &e->eng))
		return cmd_usage_error(self, "%s", stt_err_msg());
	e->given = true;
	if (e->eng.gen != STT_ENGINE_CONTAINERD) {
		if (o->containerd_config)
			return cmd_usage_error(self, "--containerd-config: only with "
						     "--engine-version containerd VERSION");
		return CMD_CONTINUE;
	}
	if (strcmp(e->snapshotter, "overlayfs") && strcmp(e->snapshotter, "devmapper"))
		return cmd_usage_error(self, "--snapshotter %s: overlayfs or devmapper",
				       e->snapshotter);
	if (!stt_exec_found("containerd"))
		return cmd_fail(self, CMD_EXIT_USAGE,
				"containerd: not installed, and its own parser checks the "
				"configuration; " INSTALL_HINT);
	if (!o->containerd_config)
		return CMD_CONTINUE;
	if (access(o->containerd_config, R_OK))
		return cmd_fail(self, CMD_EXIT_USAGE, "--containerd-config %s: %s; nothing written",
				o->containerd_config, strerror(errno));
	out = malloc(65536);
	if (!out)
		return cmd_fail(self, CMD_EXIT_FAILURE, "out of memory");
	r = config_dump(o->containerd_config, out, 65536);
	if (r) {
		out[strcspn(out, "\n")] = '\0';
		r = cmd_fail(self, CMD_EXIT_USAGE,
			     "--containerd-config %s: containerd's parser rejects it: %s; nothing "
			     "written",
			     o->containerd_config, r == -EINVAL ? out : strerror(-r));
		free(out);
		return r;
	}
	free(out);
	e->has_imports = has_imports(o->containerd_config);
	return CMD_CONTINUE;
}

/* Appends @src to the file @dst (a temporary one). */
static int append_file(FILE *dst, const char *src)
{
	char buf[8192];
	size_t n;
	FILE *f = fopen(src, "r");

	if (!f)
		return -errno;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (fwrite(buf, 1, n, dst) != n) {
			fclose(f);
			return -EIO;
		}
	fclose(f);
	return 0;
}

int cmd_engine_verify(const struct cmd_rec_opts *o, const struct cmd_rec_engine *e, const char *dropin,
		      const char *pool_name, char *msg, size_t len)
{
	char tmp[] = "/tmp/stortune-containerd-XXXXXX", abs[4096], want[256], *out;
	int fd, r;
	FILE *f;

	if (!realpath(dropin, abs))
		return stt_err(-errno, "%s: %s", dropin, strerror(errno));
	fd = mkstemp(tmp);
	if (fd < 0)
		return stt_err(-errno, "%s: cannot create: %s", tmp, strerror(errno));
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmp);
		return -ENOMEM;
	}
	/* The main config as it would be: the user's with the imports line added on top
	 * (when it has its own imports, the drop-in is checked on its own). */
	if (o->containerd_config && !e->has_imports) {
		fprintf(f, "imports = [\"%s\"]\n", abs);
		r = append_file(f, o->containerd_config);
	} else {
		fprintf(f, "version = 2\nimports = [\"%s\"]\n", abs);
		r = 0;
	}
	if (fclose(f) && !r)
		r = -EIO;
	out = malloc(262144);
	if (!r && !out)
		r = -ENOMEM;
	if (!r)
		r = config_dump(tmp, out, 262144);
	unlink(tmp);
	if (r == -EINVAL) {
		out[strcspn(out, "\n")] = '\0';
		r = stt_err(r, "containerd rejects the merged configuration: %s", out);
	} else if (r) {
		r = stt_err(r, "containerd --config ... config dump: %s", strerror(-r));
	} else if (!strcmp(e->snapshotter, "devmapper")) {
		snprintf(want, sizeof(want), "pool_name = \"%s\"", pool_name);
		if (!strstr(out, want))
			r = stt_err(-EINVAL, "containerd's merged configuration lacks %s", want);
	}
	if (!r)
		snprintf(msg, len, "containerd %s accepted the merged configuration (%s%s)",
			 e->eng.v.text, o->containerd_config ? o->containerd_config : "version 2",
			 o->containerd_config && !e->has_imports ? " with the imports line" : "");
	free(out);
	return r;
}
