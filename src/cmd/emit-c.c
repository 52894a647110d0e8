/* emit-c — writes an int8 model as C for microcontrollers (see emit-c(1)). */
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cost/cost.h"
#include "engine/dataset.h"
#include "int8/emit.h"
#include "int8/quant.h"
#include "core/options.h"
#include "core/record_loop.h"
#include "core/safetensors.h"
#include "core/util.h"

static const char about[] =
	"usage: emit-c --model Q.safetensors --name NAME -o DIR [--sram-max B] [--stack B]\n"
	"              [--test-vectors N] [--dataset D [--data F]] [--no-build]\n"
	"  Writes NAME.h, NAME.c, int8_ref.h (the shared kernels), int8_dsp.h (their Armv7E-M DSP\n"
	"  versions), NAME_test.c, startup_m7.c, m7.ld, m7_count.h, a Makefile, a CMakeLists.txt\n"
	"  and a README.md into DIR. `make -C DIR host-test` and `make -C DIR m7-test` build and\n"
	"  run the test vectors (on the host; on a Cortex-M7 in QEMU mps2-an500, DSP kernels;\n"
	"  PLAIN=1 the plain ones); `make -C DIR m7-count` counts the instructions per inference\n"
	"  and per op in QEMU (-icount). NAME.h gives the normalisation and class names when the int8\n"
	"  model's metadata (normalisation, class_names, dataset) or --dataset tells them.\n"
	"\n";

static const char footer[] =
	"\n"
	"  Static files come from the templates in <data>/emit ($LMNAS_DATA, else data/ next to\n"
	"  bin/).\n"
	"  The folder is written beside DIR (DIR.tmp.PID) and renamed into place when complete.\n"
	"  Records on stdin (if any) get an \"emit\" key; without input one record is written.\n";

struct opts {
	const char *model, *name, *dir, *dataset, *data;
	double sram_max, stack;
	int nvec, build;
	int patch_layers; /* 0: layer by layer, N, STREAM_AUTO */
};

/* The kernels file next to the program: <bin>/../src/int8/int8_ref.h, or $LMNAS_KERNELS. */
static void kernels_path(char *out, size_t n)
{
	const char *env = getenv("LMNAS_KERNELS");
	if (env) {
		snprintf(out, n, "%s", env);
		return;
	}
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (len > 0) {
		exe[len] = 0;
		snprintf(out, n, "%s/../src/int8/int8_ref.h", dirname(exe));
		if (access(out, R_OK) == 0)
			return;
	}
	snprintf(out, n, "/usr/share/lmnas/int8_ref.h");
}

/* ---- what the device must do to an image, and the class names ---- */

/* s with every character unsafe in a C string literal or comment (quotes, backslash, '?', '*',
 * control and non-ASCII bytes) replaced by '_', at most n-1 characters. */
static void c_safe(const char *s, char *out, size_t n)
{
	size_t j = 0;
	for (; *s && j + 1 < n; s++) {
		unsigned char c = (unsigned char)*s;
		out[j++] = (char)(isalnum(c) || (c < 128 && strchr(" -_/.,+()&'", c) && c) ? c : '_');
	}
	out[j] = 0;
}

/* Exactly `classes` names from a JSON array of strings, or NULL. */
static char (*names_from_json(const char *text, int classes))[64]
{
	cJSON *a = text ? cJSON_Parse(text) : NULL;
	char (*names)[64] = NULL;
	if (cJSON_IsArray(a) && cJSON_GetArraySize(a) == classes) {
		names = xcalloc((size_t)classes, sizeof *names);
		for (int c = 0; c < classes && names; c++) {
			cJSON *v = cJSON_GetArrayItem(a, c);
			if (cJSON_IsString(v)) {
				c_safe(v->valuestring, names[c], sizeof names[c]);
			} else {
				free(names);
				names = NULL;
			}
		}
	}
	cJSON_Delete(a);
	return names;
}

/* Exactly `classes` names from a file of one name per line (LF or CRLF), or NULL. */
static char (*names_from_file(const char *path, int classes))[64]
{
	size_t len;
	const char *msg;
	char *text = read_file(path, 1 << 16, &len, &msg);
	if (!text)
		return NULL;
	char (*names)[64] = xcalloc((size_t)classes, sizeof *names);
	int n = 0;
	for (char *line = strtok(text, "\r\n"); line; line = strtok(NULL, "\r\n"))
		if (n < classes)
			c_safe(line, names[n++], sizeof *names);
		else
			n = classes + 1;
	free(text);
	if (n != classes) {
		free(names);
		return NULL;
	}
	return names;
}

/* mean and std from the model's metadata "normalisation" ({"mean": [...], "std": [...]}, 1 or 3
 * numbers each, std > 0; written by the trainers and copied by quantize). */
static int norm_from_meta(const char *norm, struct emit_input *in)
{
	cJSON *j = norm ? cJSON_Parse(norm) : NULL;
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "mean");
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "std");
	int n = cJSON_IsArray(m) ? cJSON_GetArraySize(m) : 0, ok = 0;
	if ((n == 1 || n == 3) && cJSON_IsArray(s) && cJSON_GetArraySize(s) == n) {
		ok = 1;
		for (int c = 0; c < n; c++) {
			cJSON *a = cJSON_GetArrayItem(m, c), *b = cJSON_GetArrayItem(s, c);
			ok &= cJSON_IsNumber(a) && cJSON_IsNumber(b) && isfinite(a->valuedouble) &&
			      isfinite(b->valuedouble) && b->valuedouble > 0;
			if (ok) {
				in->mean[c] = (float)a->valuedouble;
				in->std[c] = (float)b->valuedouble;
			}
		}
	}
	if (ok) {
		in->norm_channels = n;
		snprintf(in->norm_from, sizeof in->norm_from, "from the model's metadata");
	} else if (norm) {
		log_error("the model's metadata normalisation is not {\"mean\": [...], \"std\": [...]} "
			  "with 1 or 3 numbers each (std > 0): ignored");
	}
	cJSON_Delete(j);
	return ok;
}

/* mean and std of the dataset quantize used, as its loader applies them (dataset.c); a dataset
 * of float images (safetensors) is already normalised: unknown. */
static void norm_from_dataset(enum dataset_kind k, const char *data, struct emit_input *in)
{
	struct dataset d;
	char err[512];
	if (dataset_load(k, data, SPLIT_TEST, &d, err, sizeof err)) {
		log_error("normalisation unknown: %s", err);
		return;
	}
	if (d.u8 && (d.c == 1 || d.c == 3)) {
		in->norm_channels = d.c;
		memcpy(in->mean, d.mean, sizeof in->mean);
		memcpy(in->std, d.std, sizeof in->std);
		snprintf(in->norm_from, sizeof in->norm_from, "%s, as lmnas's loader applies it",
			 dataset_kind_name(k));
	}
	dataset_free(&d);
}

/* The normalisation and class names: the int8 model's metadata ("normalisation", "class_names",
 * "dataset") first, else the dataset (its metadata "dataset", else --dataset) and
 * <templates>/classes/<dataset>.txt. */
static void find_input(const struct opts *o, const struct qmodel *m, const char *templates,
		       struct emit_input *in)
{
	memset(in, 0, sizeof *in);
	char kind_name[32] = "", err[512];
	struct st_file f;
	if (st_open(o->model, &f, err, sizeof err) == 0) {
		norm_from_meta(st_meta(&f, "normalisation"), in);
		in->class_names = names_from_json(st_meta(&f, "class_names"), m->net.classes);
		if (st_meta(&f, "dataset"))
			snprintf(kind_name, sizeof kind_name, "%s", st_meta(&f, "dataset"));
		st_close(&f);
	}
	if (!kind_name[0] && o->dataset)
		snprintf(kind_name, sizeof kind_name, "%s", o->dataset);
	enum dataset_kind k;
	if (dataset_kind_parse(kind_name, &k))
		return;
	int same = o->dataset && !strcmp(o->dataset, kind_name);
	if (!in->norm_channels)
		norm_from_dataset(k, same ? o->data : NULL, in);
	if (!in->class_names) {
		char path[PATH_MAX + 64];
		snprintf(path, sizeof path, "%s/classes/%s.txt", templates, kind_name);
		in->class_names = names_from_file(path, m->net.classes);
	}
}

/* Compiles the model alone for Cortex-M7 and returns text + data (flash), or -1. */
static long measure_flash(const char *dir, const char *name)
{
	char cmd[2 * PATH_MAX + 256];
	snprintf(cmd, sizeof cmd, "make -s -C '%s' %s_m7.o >&2 && arm-none-eabi-size '%s/%s_m7.o'",
		 dir, name, dir, name);
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	char line[512];
	long text = -1, data = 0, bss = 0;
	while (fgets(line, sizeof line, p))
		if (sscanf(line, " %ld %ld %ld", &text, &data, &bss) == 3)
			break;
	int st = pclose(p);
	return st == 0 && text >= 0 ? text + data : -1;
}

/* Fills e (the "emit" object) once dir holds every file. */
static void describe(cJSON *e, const struct opts *o, const struct qmodel *m, const char *name,
		     size_t sram, int nvec, long flash)
{
	cJSON_AddStringToObject(e, "dir", o->dir);
	cJSON_AddStringToObject(e, "name", name);
	cJSON *files = cJSON_AddArrayToObject(e, "files");
	const char *suffix[] = {".h", ".c", "_test.c"};
	for (int i = 0; i < 3; i++) {
		char f[128];
		snprintf(f, sizeof f, "%s%s", name, suffix[i]);
		cJSON_AddItemToArray(files, cJSON_CreateString(f));
	}
	cJSON_AddItemToArray(files, cJSON_CreateString("int8_ref.h"));
	cJSON_AddItemToArray(files, cJSON_CreateString("int8_dsp.h"));
	cJSON_AddItemToArray(files, cJSON_CreateString("m7_count.h"));
	cJSON_AddItemToArray(files, cJSON_CreateString("startup_m7.c"));
	cJSON_AddItemToArray(files, cJSON_CreateString("m7.ld"));
	cJSON_AddItemToArray(files, cJSON_CreateString("Makefile"));
	cJSON_AddItemToArray(files, cJSON_CreateString("CMakeLists.txt"));
	cJSON_AddItemToArray(files, cJSON_CreateString("README.md"));
	cJSON_AddNumberToObject(e, "arena_bytes", (double)m->arena_bytes);
	cJSON_AddStringToObject(e, "peak_op", m->peak_op);
	cJSON_AddNumberToObject(e, "patch_layers", m->patch_layers);
	cJSON_AddNumberToObject(e, "patch_streams", m->st.nstreams);
	cJSON_AddNumberToObject(e, "flash_formula_bytes", (double)quant_flash_bytes(m));
	if (flash >= 0)
		cJSON_AddNumberToObject(e, "flash_bytes", (double)flash);
	cJSON_AddNumberToObject(e, "sram_max", o->sram_max);
	cJSON_AddNumberToObject(e, "stack_bytes", o->stack);
	cJSON_AddNumberToObject(e, "sram_bytes", (double)sram);
	cJSON_AddNumberToObject(e, "test_vectors", nvec);
}

/* The first o->nvec test images of o->dataset as the model sees them: through dataset.c's one
 * loader, with the int8 model's own normalisation and class names when its metadata has them. */
static int load_vector_images(const struct opts *o, int h, int w, int c, int *n, float **images,
			      int32_t **labels, char *err, size_t errlen)
{
	enum dataset_kind kind;
	if (dataset_kind_parse(o->dataset ? o->dataset : "safetensors", &kind))
		return fail(err, errlen, "unknown dataset %s", o->dataset);
	struct st_file f;
	char *norm = NULL, *names = NULL;
	if (st_open(o->model, &f, err, errlen) == 0) {
		norm = st_meta(&f, "normalisation") ? xstrdup(st_meta(&f, "normalisation")) : NULL;
		names = st_meta(&f, "class_names") ? xstrdup(st_meta(&f, "class_names")) : NULL;
		st_close(&f);
	}
	struct dataset d;
	int rc = dataset_load_for_model(kind, o->data, SPLIT_TEST, norm, names, h, w, &d, err, errlen);
	free(norm);
	free(names);
	if (rc)
		return -1;
	dataset_floats(&d, h, w, c, o->nvec, n, images, labels);
	dataset_free(&d);
	return 0;
}

/* The test vectors: the first nvec images quantised, and their reference logits. */
static int test_vectors(const struct opts *o, struct qmodel *m, struct emit_opts *eo,
			char *err, size_t errlen)
{
	size_t isz = m->t[m->input].size;
	int n;
	float *images;
	int32_t *labels;
	if (load_vector_images(o, m->net.in_h, m->net.in_w, m->net.in_ch, &n, &images, &labels,
			       err, errlen))
		return -1;
	eo->nvec = o->nvec < n ? o->nvec : n;
	int8_t *vin = xmalloc(isz * eo->nvec);
	int8_t *vout = xmalloc((size_t)m->net.classes * eo->nvec);
	int8_t *got = xmalloc((size_t)m->net.classes);
	int patched = m->patch_layers, bad = -1;
	struct stream_exec *x = xmalloc(sizeof *x);
	*x = m->exec;
	quant_replan(m, 0); /* the expected logits: layer by layer */
	for (int i = 0; i < eo->nvec; i++) {
		quant_input(m, images + i * isz, isz, vin + i * isz);
		int8_ref_run(m, vin + i * isz, NULL, vout + (size_t)i * m->net.classes, NULL);
	}
	quant_replan_exec(m, x);
	free(x);
	for (int i = 0; patched && i < eo->nvec && bad < 0; i++) {
		int8_ref_run(m, vin + i * isz, NULL, got, NULL);
		if (memcmp(got, vout + (size_t)i * m->net.classes, (size_t)m->net.classes))
			bad = i;
	}
	free(got);
	free(images);
	free(labels);
	eo->vec_in = vin;
	eo->vec_out = vout;
	if (bad >= 0)
		return fail(err, errlen, "the row-streamed model's logits differ from layer by layer "
			    "on test vector %d (a bug in lmnas); use --exec layer", bad);
	return 0;
}

/* A record_job: checks the SRAM budget, writes the C files into a temporary folder beside the
 * output folder, measures the flash there, renames it into place and fills e. */
static int run(void *ctx, cJSON *e, char *err, size_t errlen)
{
	const struct opts *o = ctx;
	struct qmodel m;
	if (quant_load(o->model, &m, err, errlen))
		return -1;
	if (o->patch_layers)
		quant_replan(&m, o->patch_layers);
	char name[64], kpath[PATH_MAX], tpath[PATH_MAX], tmp[PATH_MAX];
	emit_sanitize(o->name, name, sizeof name);
	kernels_path(kpath, sizeof kpath);
	data_dir(tpath, sizeof tpath, "emit"); /* the templates of the static files */
	struct emit_input in;
	find_input(o, &m, tpath, &in);
	struct emit_opts eo = {0};
	eo.input = &in;
	eo.name = name;
	eo.kernels = kpath;
	eo.templates = tpath;
	eo.sram_max = (size_t)o->sram_max;
	eo.stack_bytes = (size_t)o->stack;
	size_t sram = (size_t)cost_sram_bytes((int64_t)m.arena_bytes, (int64_t)eo.stack_bytes);
	long flash = -1;
	int rc = -1, staged = 0;
	if (sram > eo.sram_max) {
		snprintf(err, errlen, "%s: arena %zu + stack %zu bytes = %zu exceed the SRAM budget "
			 "(--sram-max %zu): the Cortex-M7 link would fail; nothing written", name,
			 m.arena_bytes, eo.stack_bytes, sram, eo.sram_max);
		goto out;
	}
	if (m.net.classes > (int)eo.stack_bytes / 2) {
		snprintf(err, errlen, "%s: the test harness keeps its %d logits on the stack, over "
			 "half the %zu-byte stack: raise --stack", name, m.net.classes, eo.stack_bytes);
		goto out;
	}
	if (o->nvec > 0 && test_vectors(o, &m, &eo, err, errlen))
		goto out;
	if (emit_stage_dir(o->dir, tmp, sizeof tmp, err, errlen))
		goto out;
	staged = 1;
	eo.dir = tmp;
	if (emit_write(&m, &eo, err, errlen))
		goto out;
	if (o->build) {
		flash = measure_flash(tmp, name);
		if (flash < 0)
			log_error("could not build %s/%s_m7.o to measure flash", o->dir, name);
	}
	if (emit_write_readme(&m, &eo, flash, err, errlen))
		goto out;
	if (emit_commit_dir(tmp, o->dir, err, errlen))
		goto out;
	staged = 0;
	describe(e, o, &m, name, sram, eo.nvec, flash);
	if (in.norm_channels)
		cJSON_AddStringToObject(e, "normalisation", in.norm_from);
	cJSON_AddBoolToObject(e, "class_names", in.class_names != NULL);
	log_info("%s: arena %zu bytes + stack %zu = %zu of %zu bytes of SRAM, %d test vectors, "
		 "written to %s", name, m.arena_bytes, eo.stack_bytes, sram, eo.sram_max, eo.nvec,
		 o->dir);
	rc = 0;
out:
	if (staged)
		emit_remove_tree(tmp);
	free((void *)eo.vec_in);
	free((void *)eo.vec_out);
	free(in.class_names);
	quant_free(&m);
	return rc;
}

/* --stack: a multiple of 8 bytes in [256, 1MiB] */
static int set_stack(void *base, const char *v, char *err, size_t errlen)
{
	double b;
	if (parse_bytes(v, &b) || b < 256 || b > 1024.0 * 1024 || fmod(b, 8) != 0)
		return fail(err, errlen, "'%s' is not a multiple of 8 bytes in [256, 1MiB]", v);
	((struct opts *)base)->stack = b;
	return 0;
}

#define AT(field) offsetof(struct opts, field)
static int set_exec(void *base, const char *v, char *err, size_t errlen)
{
	struct opts *o = base;
	if (strcmp(v, "layer") && strcmp(v, "patched"))
		return fail(err, errlen, "'%s' is not layer or patched", v);
	o->patch_layers = strcmp(v, "layer") ? STREAM_AUTO : 0;
	return 0;
}

static const struct opt options[] = {
	{"model", "Q", OPT_STRING, AT(model), 0, 0, "the int8 model (quantize's output)"},
	{"name", "NAME", OPT_STRING, AT(name), 0, 0,
	 "the C prefix and file names (made a C identifier)"},
	{"output", "DIR", OPT_STRING, AT(dir), 0, 0, "the folder to write", 0, NULL, 'o'},
	{"sram-max", "B", OPT_BYTES, AT(sram_max), 1024, 64.0 * 1024 * 1024,
	 "SRAM of the linker script (default 320KiB): the arena (rounded up\n"
	 "to 4 bytes) + the stack must fit, as check-cost's cost.sram_bytes,\n"
	 "or the record fails (emit.error) and nothing is written"},
	{"stack", "B", OPT_CALL, 0, 0, 0,
	 "stack reserved in SRAM (default 8KiB, check-cost's; a multiple of 8)", 0, set_stack},
	{"test-vectors", "N", OPT_INT, AT(nvec), 0, 10000,
	 "the first N test-split images and their reference int8 logits"},
	{"dataset", "D", OPT_STRING, AT(dataset), 0, 0,
	 "as quantize's: the test vectors' images, and the normalisation\n"
	 "and class names the header gives when the model's metadata lacks\n"
	 "them"},
	{"data", "F", OPT_STRING, AT(data), 0, 0, "the dataset's file or folder"},
	{"exec", "layer|patched", OPT_CALL, 0, 0, 0,
	 "layer: run op by op (default); patched: row-stream the first\n"
	 "layers, as many as give the smallest arena (check-cost --exec\n"
	 "patched plans the same). The test vectors' logits are then the\n"
	 "layer-by-layer reference's, and the record fails if the patched\n"
	 "host reference differs on any of them", 0, set_exec},
	{"patch-layers", "N", OPT_INT, AT(patch_layers), 0, ARCH_MAX_TOTAL_LAYERS,
	 "row-stream exactly the first N layers"},
	{"no-build", NULL, OPT_UNSET, AT(build), 0, 0,
	 "do not compile the model with arm-none-eabi-gcc to measure its flash"},
	{"help", NULL, OPT_HELP, 0, 0, 0, "this text", 0, NULL, 'h'},
	{0},
};
#undef AT

int main(int argc, char **argv)
{
	util_init(argv[0]);
	struct opts o = {0};
	o.sram_max = 320 * 1024;
	o.stack = COST_STACK_BYTES;
	o.build = 1;
	struct opt_program prog = {about, footer, 0, {{options, &o, NULL}}};
	options_parse(&prog, argc, argv);
	if (!o.model || !o.name || !o.dir) {
		fprintf(stderr, "emit-c: --model, --name and -o are required (try --help)\n");
		return EXIT_USAGE;
	}
	if (o.nvec > 0 && !o.data && !o.dataset) {
		fprintf(stderr, "emit-c: --test-vectors needs --dataset or --data\n");
		return EXIT_USAGE;
	}
	signal(SIGXFSZ, SIG_IGN); /* a file-size limit is a write error (EFBIG), not a kill */
	return record_loop_run("emit", run, &o);
}
