// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * stortune recommend: results files in, the Docker daemon and thin-pool settings they
 * support out, each with its evidence, as files an operator deploys without editing.
 */
#include "cmd.h"
#include "recommend_engine.h"

#include "advice/daemonjson.h"
#include "advice/emit.h"
#include "base/err.h"
#include "sys/exec.h"
#include "sys/fsutil.h"
#include "base/json.h"
#include "advice/recommend.h"
#include "advice/results.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum {
	OPT_DOCKER_VERSION = 400,
	OPT_MERGE,
	OPT_DEVICE,
	OPT_DATA_ROOT,
	OPT_ENGINE_VERSION,
	OPT_CONTAINERD_CONFIG,
	OPT_SNAPSHOTTER,
};

#define MAX_RESULTS 16
#define MAX_FILES   9
#define CTRD_POOL   "docker-thinpool" /* the pool setup-direct-lvm.sh makes */

/* The Docker version: given, else this host's dockerd, else the one the results recorded. */
static void docker_version(const struct cmd_rec_opts *o, struct json_object *const *docs, size_t n,
			   struct stt_rec_input *in)
{
	static const char *const argv[] = {"dockerd", "--version", NULL};
	char out[256];
	int st;

	if (o->docker_version && !stt_docker_version_parse(o->docker_version, &in->docker)) {
		in->docker_origin = "--docker-version";
		return;
	}
	if (!stt_exec_capture(argv, out, sizeof(out), &st) && st == 0 &&
	    !stt_docker_version_parse(out, &in->docker)) {
		in->docker_origin = "dockerd --version on this host";
		return;
	}
	for (int native = 1; native >= 0; native--)
		for (size_t i = 0; i < n; i++) {
			const char *l = stt_results_env_label(docs[i]);
			struct json_object *v =
			    stt_json_get(docs[i], "environment.host.software.dockerd.version");

			if (!!strcmp(l, "native") == native || !v ||
			    !json_object_is_type(v, json_type_string) ||
			    stt_docker_version_parse(json_object_get_string(v), &in->docker))
				continue;
			in->docker_origin = "the dockerd version recorded in the results";
			return;
		}
	memset(&in->docker, 0, sizeof(in->docker));
	in->docker_origin = "unknown: no --docker-version, no dockerd here or in the results; the "
			    "newest rules apply";
}

/* The first sentence of @s, at most @max characters. */
static void short_evidence(const char *s, char *buf, size_t len, size_t max)
{
	size_t n = 0;

	while (s[n] && n < max && !(s[n] == '.' && (s[n + 1] == ' ' || !s[n + 1])))
		n++;
	if (s[n] && s[n] != '.' && n == max)
		snprintf(buf, len, "%.*s...", (int)n, s);
	else
		snprintf(buf, len, "%.*s", (int)n, s);
}

static void print_summary(const struct stt_rec *r, FILE *f)
{
	unsigned int drv = stt_docker_drivers(&r->docker);
	char ev[160];

	fprintf(f, "Docker %s (%s): drivers overlay2%s; %s\n", r->docker.text, r->docker_origin,
		drv & STT_DRIVER_DEVICEMAPPER ? ", devicemapper" : "",
		stt_docker_dm_status(&r->docker));
	fprintf(f, "%-38s %-44s %-14s %s\n", "setting", "value", "source", "evidence");
	for (size_t i = 0; i < r->n; i++) {
		const struct stt_rec_decision *d = &r->d[i];

		short_evidence(d->evidence, ev, sizeof(ev), 110);
		fprintf(f, "%-38s %-44s %-14s %s\n", d->key, d->value[0] ? d->value : "-",
			stt_rec_source_name(d->source), ev);
	}
	for (size_t i = 0; i < r->nnot; i++)
		fprintf(f, "not measured: %s\n", r->not_measured[i]);
}

struct out_file {
	struct stt_emit_file e;
	char path[4096];
	char *text;
	unsigned int mode;
};

static int add_file(struct out_file *files, size_t *n, const char *dir, const char *name,
		    const char *what, char *text, unsigned int mode)
{
	struct out_file *f = &files[(*n)++];

	snprintf(f->path, sizeof(f->path), "%s/%s", dir ? dir : ".", name);
	f->e.name = name;
	f->e.path = f->path;
	f->e.what = what;
	f->text = text;
	f->mode = mode;
	return text ? 0 : -ENOMEM;
}

static char *json_text(struct json_object *o)
{
	const char *t = o ? stt_daemonjson_text(o) : NULL;

	return t ? strdup(t) : NULL;
}

int cmd_recommend_outputs(const struct cmd_entry *self, struct cmd_ctx *ctx,
			  struct json_object *const *docs, const char *const *names, size_t n,
			  const struct cmd_rec_opts *o, struct json_object **json_out)
{
	struct json_object *existing = NULL, *ours = NULL, *merged = NULL, *alt = NULL;
	struct json_object *jr = NULL, *jfiles = NULL;
	struct stt_rec_input in = {0};
	struct out_file files[MAX_FILES];
	struct stt_rec *r = NULL;
	char *diff = NULL, *text, backup[4200] = "", note[8600] = "";
	size_t nf = 0;
	int rc = CMD_EXIT_FAILURE, changed = 0, e;
	struct cmd_rec_engine eng;
	char ctrd_note[512] = "";
	size_t dropin = MAX_FILES;

	memset(files, 0, sizeof(files));
	if (json_out)
		*json_out = NULL;
	if ((e = cmd_engine_check(self, o, &eng)) != CMD_CONTINUE)
		return e;
	/* An existing daemon.json that is not valid JSON stops everything before any write. */
	if (o->merge) {
		e = stt_daemonjson_load(o->merge, &existing);
		if (e && e != -ENOENT)
			return cmd_fail(self, CMD_EXIT_USAGE, "--merge %s; left unchanged",
					stt_err_msg());
	}
	in.docs = docs;
	in.names = names;
	in.ndocs = n;
	in.device = o->device;
	in.data_root = o->data_root;
	if (eng.given && eng.eng.gen != STT_ENGINE_CONTAINERD) {
		in.docker = eng.eng.v;
		in.docker_origin = "--engine-version";
	} else {
		docker_version(o, docs, n, &in);
	}
	if (stt_recommend(&in, &r)) {
		rc = cmd_fail(self, CMD_EXIT_FAILURE, "out of memory");
		goto out;
	}
	if (stt_emit_daemon_json(r, r->driver, &ours))
		goto nomem;
	if (o->merge) {
		if (stt_daemonjson_merge(existing, ours, o->merge, &merged, &diff, &changed))
			goto nomem;
	}
	if (o->outdir) {
		struct json_object *dj = merged ? merged : ours;

		e = add_file(files, &nf, o->outdir, STT_EMIT_DAEMON_JSON,
			     merged ? "the daemon configuration, merged into the keys of the "
				      "existing file (see below)"
				    : "the daemon configuration (storage driver, data-root, "
				      "storage-opts)",
			     json_text(dj), 0644);
		if (!e && r->dm_allowed && strcmp(r->driver, "devicemapper")) {
			if (stt_emit_daemon_json(r, "devicemapper", &alt))
				goto nomem;
			e = add_file(files, &nf, o->outdir, STT_EMIT_DAEMON_DM_JSON,
				     "the devicemapper (direct-lvm) alternative, for the pool "
				     "setup-direct-lvm.sh makes",
				     json_text(alt), 0644);
		}
		if (!e && !stt_emit_lvm_profile(r, &text))
			e = add_file(files, &nf, o->outdir, STT_EMIT_PROFILE,
				     "the LVM profile (autoextend) for /etc/lvm/profile/", text,
				     0644);
		if (!e && !stt_emit_setup_script(r, &text))
			e = add_file(files, &nf, o->outdir, STT_EMIT_SETUP,
				     "makes the direct-lvm thin pool (idempotent; refuses a used "
				     "device)",
				     text, 0755);
		if (!e && !stt_emit_containerd(r, &text))
			e = add_file(files, &nf, o->outdir, STT_EMIT_CONTAINERD,
				     "containerd's devmapper snapshotter on such a pool (for "
				     "containerd users)",
				     text, 0644);
		if (!e && eng.given && eng.eng.gen == STT_ENGINE_CONTAINERD &&
		    !stt_engine_gen_dropin(r, eng.snapshotter, CTRD_POOL, &text)) {
			dropin = nf;
			e = add_file(files, &nf, o->outdir, STT_ENGINE_DROPIN,
				     "the drop-in for containerd's imports (" STT_ENGINE_DROPIN_DIR
				     "/)",
				     text, 0644);
		}
		if (e || nf < 4)
			goto nomem;
	}
	if (o->merge && changed)
		snprintf(note, sizeof(note),
			 "Merged into `%s`: every key it had is kept; %d of storage-driver, "
			 "data-root, storage-opts changed:\n\n```diff\n%s```\n",
			 o->merge, changed, diff);
	else if (o->merge)
		snprintf(note, sizeof(note), "`%s` already had these settings: left unchanged.\n",
			 o->merge);
	if (o->outdir) {
		struct stt_emit_file ef[MAX_FILES];

		for (size_t i = 0; i < nf; i++)
			ef[i] = files[i].e;
		if (stt_emit_markdown(r, ef, nf, note[0] ? note : NULL, &text))
			goto nomem;
		if (eng.given) {
			char *sec = NULL, *both = NULL;

			if (stt_engine_gen_markdown(&eng.eng, eng.snapshotter,
						    STT_ENGINE_DROPIN_DIR, eng.has_imports, &sec) ||
			    asprintf(&both, "%s\n%s", text, sec) < 0) {
				free(sec);
				free(text);
				goto nomem;
			}
			free(sec);
			free(text);
			text = both;
		}
		if (add_file(files, &nf, o->outdir, STT_EMIT_MARKDOWN,
			     "every setting, its value and the evidence behind it", text, 0644))
			goto nomem;
		if ((e = stt_fs_mkdir_p(o->outdir, 0755))) {
			rc = cmd_fail(self, CMD_EXIT_FAILURE, "%s: %s", o->outdir, strerror(-e));
			goto out;
		}
		for (size_t i = 0; i < nf; i++) {
			if (stt_fs_write_atomic(files[i].path, files[i].text,
						strlen(files[i].text), files[i].mode)) {
				rc = cmd_fail(self, CMD_EXIT_FAILURE, "%s", stt_err_msg());
				goto out;
			}
		}
	}
	if (dropin < nf && cmd_engine_verify(o, &eng, files[dropin].path, CTRD_POOL, ctrd_note,
					     sizeof(ctrd_note))) {
		rc = cmd_fail(self, CMD_EXIT_FAILURE, "%s", stt_err_msg());
		goto out;
	}
	if (o->merge && changed) {
		if (stt_daemonjson_write(o->merge, stt_daemonjson_text(merged), backup,
					 sizeof(backup))) {
			rc = cmd_fail(self, CMD_EXIT_FAILURE, "%s", stt_err_msg());
			goto out;
		}
	}

	if (json_out || ctx->json) {
		if (stt_emit_json(r, &jr))
			goto nomem;
		jfiles = json_object_new_object();
		json_object_object_add(jr, "files", jfiles);
		for (size_t i = 0; i < nf; i++)
			json_object_object_add(jfiles, files[i].e.name,
					       json_object_new_string(files[i].path));
		if (o->merge) {
			struct json_object *m = json_object_new_object();

			json_object_object_add(jr, "merge", m);
			json_object_object_add(m, "file", json_object_new_string(o->merge));
			json_object_object_add(m, "changed", json_object_new_int(changed));
			json_object_object_add(m, "backup",
					       backup[0] ? json_object_new_string(backup) : NULL);
			json_object_object_add(m, "diff", json_object_new_string(diff ? diff : ""));
		}
	}
	if (json_out) {
		*json_out = jr;
		jr = NULL;
	} else if (ctx->json) {
		cmd_print_json(jr);
	} else {
		print_summary(r, stdout);
		for (size_t i = 0; i < nf; i++)
			printf("wrote %s\n", files[i].path);
		if (ctrd_note[0])
			printf("%s\n", ctrd_note);
		if (o->merge && changed) {
			const char *old =
			    json_object_get_string(stt_json_get(existing, "storage-driver"));

			printf("merged into %s (%d changed; the old file is %s):\n%s", o->merge,
			       changed, backup[0] ? backup : "(none: it did not exist)", diff);
			if (old && strcmp(old, r->driver))
				printf("warning: the storage driver changes from %s to %s: images "
				       "and containers made with %s are not visible to %s\n",
				       old, r->driver, old, r->driver);
		} else if (o->merge) {
			printf("%s already has these settings: unchanged\n", o->merge);
		}
	}
	rc = CMD_EXIT_OK;
	goto out;
nomem:
	rc = cmd_fail(self, CMD_EXIT_FAILURE, "out of memory");
out:
	for (size_t i = 0; i < nf; i++)
		free(files[i].text);
	free(diff);
	json_object_put(jr);
	json_object_put(existing);
	json_object_put(ours);
	json_object_put(merged);
	json_object_put(alt);
	stt_rec_free(r);
	return rc;
}

static int cmd_recommend(const struct cmd_entry *self, struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    CMD_COMMON_OPTIONS,
	    {"output", required_argument, NULL, 'o'},
	    {"docker-version", required_argument, NULL, OPT_DOCKER_VERSION},
	    {"merge", required_argument, NULL, OPT_MERGE},
	    {"device", required_argument, NULL, OPT_DEVICE},
	    {"data-root", required_argument, NULL, OPT_DATA_ROOT},
	    {"engine-version", required_argument, NULL, OPT_ENGINE_VERSION},
	    {"containerd-config", required_argument, NULL, OPT_CONTAINERD_CONFIG},
	    {"snapshotter", required_argument, NULL, OPT_SNAPSHOTTER},
	    {NULL, 0, NULL, 0},
	};
	struct json_object *docs[MAX_RESULTS];
	const char *names[MAX_RESULTS];
	struct cmd_rec_opts o = {0};
	struct stt_docker_version v;
	int c, r, n = 0;

	/* CMD_COMMON_SHORT without its '+': options may follow the files */
	while ((c = getopt_long(argc, argv, "hjqo:", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			o.outdir = optarg;
			break;
		case OPT_DOCKER_VERSION:
			if (stt_docker_version_parse(optarg, &v))
				return cmd_usage_error(self,
						       "--docker-version: not a version: '%s' "
						       "(e.g. 24.0.7)",
						       optarg);
			o.docker_version = optarg;
			break;
		case OPT_MERGE:
			o.merge = optarg;
			break;
		case OPT_DEVICE:
			if (optarg[0] != '/')
				return cmd_usage_error(self, "--device: not a path: '%s'", optarg);
			o.device = optarg;
			break;
		case OPT_DATA_ROOT:
			if (optarg[0] != '/')
				return cmd_usage_error(
				    self, "--data-root: must be an absolute path: '%s'", optarg);
			o.data_root = optarg;
			break;
		case OPT_ENGINE_VERSION:
			o.engine_version = optarg;
			break;
		case OPT_CONTAINERD_CONFIG:
			o.containerd_config = optarg;
			break;
		case OPT_SNAPSHOTTER:
			o.snapshotter = optarg;
			break;
		default:
			if ((r = cmd_common_opt(self, ctx, c)) != CMD_CONTINUE)
				return r;
		}
	}
	if (optind >= argc)
		return cmd_usage_error(self, "no results file given");
	if (argc - optind > MAX_RESULTS)
		return cmd_usage_error(self, "at most %d results files", MAX_RESULTS);
	for (int i = optind; i < argc; i++) {
		r = stt_results_load(argv[i], &docs[n]);
		if (r) {
			while (n--)
				json_object_put(docs[n]);
			return cmd_fail(self, CMD_EXIT_USAGE, "%s", stt_err_msg());
		}
		names[n++] = argv[i];
	}
	if (!o.outdir && !o.merge)
		cmd_note(ctx,
			 "recommend: no -o DIR: the settings are printed, no file is written\n");
	r = cmd_recommend_outputs(self, ctx, docs, names, (size_t)n, &o, NULL);
	while (n--)
		json_object_put(docs[n]);
	return r;
}

const struct cmd_entry cmd_recommend_entry = {
    .name = "recommend",
    .summary = "turn results into Docker daemon and thin-pool settings, with the evidence",
    .synopsis = "recommend RESULTS.json [MORE.json ...] [-o DIR] [--docker-version V] "
		"[--merge FILE] [--device DEV] [--data-root DIR] [--engine-version E] "
		"[--containerd-config FILE] [--snapshotter S]",
    .help =
	"Applies the rule table to the results (of bench, qualify, tune; the backends of\n"
	"all files, the tuning sweep of the one that has it) for the target Docker version\n"
	"and prints one line per setting: value, source (measured, default, given,\n"
	"not-applicable, refused) and the evidence. With -o DIR it writes daemon.json,\n"
	"daemon-devicemapper.json (Docker 24 and older, when devicemapper is not the\n"
	"recommendation), docker-thinpool.profile, setup-direct-lvm.sh,\n"
	"containerd-devmapper.toml and RECOMMENDATION.md.\n"
	"\noptions:\n"
	"  -o, --output DIR        where the files go\n"
	"  --docker-version V      the Docker version to target (else `dockerd --version`,\n"
	"                          else the results'; unknown: the newest rules)\n"
	"  --merge FILE            merge into an existing daemon.json: its keys are kept,\n"
	"                          storage-driver, storage-opts and data-root change (shown\n"
	"                          as a diff); written atomically after a backup\n"
	"                          FILE.bak-<time>; a FILE that is not JSON is refused\n"
	"  --device DEV            the thin pool's device for setup-direct-lvm.sh (else the\n"
	"                          qualified device of the results)\n"
	"  --data-root DIR         data-root to write instead of the recommended one\n"
	"  --engine-version E      the engine: a Docker version (28.1, docker 29.0) or\n"
	"                          containerd VERSION; RECOMMENDATION.md then says what that\n"
	"                          generation takes (Docker 25-28: graph drivers, no\n"
	"                          devicemapper; 29+: the containerd image store; containerd:\n"
	"                          a drop-in containerd-snapshotter.toml for its imports,\n"
	"                          checked by the installed containerd's parser)\n"
	"  --containerd-config F   containerd's config.toml (never edited): containerd's\n"
	"                          parser must accept it (else exit 2, nothing written); the\n"
	"                          merged result with the drop-in is checked after\n"
	"  --snapshotter S         containerd: overlayfs (default) or devmapper\n"
	"\nexamples:\n"
	"  stortune recommend qualify/results.json -o out/\n"
	"  stortune recommend results.json vm.json --docker-version 24.0.7 -o out/ \\\n"
	"      --merge /etc/docker/daemon.json\n"
	"  stortune recommend results.json --engine-version 'containerd 1.6' \\\n"
	"      --snapshotter devmapper --containerd-config /etc/containerd/config.toml -o out/\n",
    .run = cmd_recommend,
};
