/* check.c — the shared architecture check: cost, limits, search space, seen ids (see check.h). */
#include "cost/check.h"
#include "cost/latency.h"
#include "cost/train_time.h"
#include "core/arch.h"
#include "cost/cost.h"
#include "core/record.h"
#include "core/util.h"
#include "core/options.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void check_opts_init(struct check_opts *o)
{
	memset(o, 0, sizeof *o);
	o->res_h = o->res_w = 160;
	o->classes = 100;
	o->mcu_mhz = LATENCY_DEFAULT_MHZ;
}

void check_opts_free(struct check_opts *o)
{
	free(o->seen);
	free(o->own_space);
	o->seen = NULL;
	o->nseen = 0;
	o->own_space = NULL;
	o->space = NULL;
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void add_seen(struct check_opts *o, const char *id, size_t *cap)
{
	if (strlen(id) >= CHECK_ID_LEN)
		return;
	if (o->nseen == *cap) {
		*cap = *cap ? *cap * 2 : 256;
		o->seen = xrealloc(o->seen, *cap * sizeof *o->seen);
	}
	snprintf(o->seen[o->nseen++], CHECK_ID_LEN, "%s", id);
}

int check_opts_load_seen(struct check_opts *o, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		log_error("--seen %s: cannot open", path);
		return -1;
	}
	struct record_reader r;
	record_reader_init(&r, f, path);
	size_t cap = o->nseen;
	cJSON *rec;
	int rc;
	while ((rc = record_next(&r, &rec)) != 0) {
		if (rc < 0)
			continue; /* record_next named the line */
		const char *id = record_string(rec, "id");
		struct arch a;
		char err[256], computed[17];
		if (!id && !arch_parse(cJSON_GetObjectItemCaseSensitive(rec, "arch"), &a, err, sizeof err)) {
			arch_id(&a, computed);
			id = computed;
		}
		if (id)
			add_seen(o, id, &cap);
		cJSON_Delete(rec);
	}
	record_reader_free(&r);
	fclose(f);
	if (o->nseen)
		qsort(o->seen, o->nseen, sizeof *o->seen, cmp_id);
	return 0;
}

int check_seen(const struct check_opts *o, const char *id)
{
	return o->nseen && bsearch(id, o->seen, o->nseen, sizeof *o->seen, cmp_id) != NULL;
}

static int set_resolution(void *base, const char *v, char *err, size_t errlen)
{
	struct check_opts *o = base;
	if (parse_resolution(v, &o->res_h, &o->res_w))
		return fail(err, errlen, "'%s' is not N or HxW with 1 <= N <= %d", v,
			    ARCH_MAX_RESOLUTION);
	return 0;
}

int check_opts_load_space(struct check_opts *o, const char *path, char *err, size_t errlen)
{
	if (!o->own_space)
		o->own_space = xmalloc(sizeof *o->own_space);
	if (space_load(path, o->own_space, err, errlen))
		return -1;
	o->space = o->own_space;
	o->space_path = path;
	return 0;
}

static int set_space(void *base, const char *v, char *err, size_t errlen)
{
	return check_opts_load_space(base, v, err, errlen);
}

static int set_weight_format(void *base, const char *v, char *err, size_t errlen)
{
	struct check_opts *o = base;
	if (strcmp(v, "int8") && strcmp(v, "ternary"))
		return fail(err, errlen, "'%s' is not int8 or ternary", v);
	o->ternary = !strcmp(v, "ternary");
	return 0;
}

static int set_exec(void *base, const char *v, char *err, size_t errlen)
{
	struct check_opts *o = base;
	if (strcmp(v, "layer") && strcmp(v, "patched"))
		return fail(err, errlen, "'%s' is not layer or patched", v);
	o->patch_layers = strcmp(v, "layer") ? STREAM_AUTO : 0;
	return 0;
}

static int set_seen(void *base, const char *v, char *err, size_t errlen)
{
	return check_opts_load_seen(base, v) ? fail(err, errlen, "cannot read '%s'", v) : 0;
}

#define AT(field) offsetof(struct check_opts, field)
const struct opt check_opt_table[] = {
	{"resolution", "N|HxW", OPT_CALL, 0, 0, 0,
	 "input resolution (default 160x160; a record's \"resolution\" wins)", 0, set_resolution},
	{"classes", "N", OPT_INT, AT(classes), 1, ARCH_MAX_CLASSES,
	 "classifier outputs (default 100; a record's \"classes\" wins)"},
	{"macs-min", "N", OPT_COUNT, AT(macs_min), 0, 1e18, "reject below N MACs (accepts 20M, 1.5G)"},
	{"macs-max", "N", OPT_COUNT, AT(macs_max), 0, 1e18, "reject above N MACs (e.g. 350M)"},
	{"sram-max", "BYTES", OPT_BYTES, AT(sram_max), 0, 1e18,
	 "reject when the SRAM of the emitted program (cost.sram_bytes: the\n"
	 "int8 arena plus the stack reserve) exceeds BYTES, as emit-c does\n"
	 "(accepts 320KiB, 512K, 2MiB, 65536)"},
	{"flash-max", "BYTES", OPT_BYTES, AT(flash_max), 0, 1e18,
	 "reject when the int8 model (cost.flash_bytes) exceeds BYTES"},
	{"weight-format", "int8|ternary", OPT_CALL, 0, 0, 0,
	 "the deployed weights: int8 (default), or sparse ternary\n"
	 "convs (all but the first and the classifier) at 1.6 bits a\n"
	 "weight (quantize --weight-format ternary): their flash in\n"
	 "cost.flash_bytes and for --flash-max", 0, set_weight_format},
	{"int8-ops", "OPS", OPT_STRING, AT(int8_ops), 0, 0,
	 "with --weight-format ternary: these convs stay int8 (op names\n"
	 "as --plan prints them, comma-separated: layers.1.layers.0.dw)"},
	{"train-us-max", "US", OPT_DOUBLE, AT(train_us_max), 0, 1e12,
	 "reject when the estimated training time per image\n"
	 "(cost.train_us_per_image, one thread, check-cost --train-time)\n"
	 "exceeds US"},
	{"mcu-mhz", "MHZ", OPT_DOUBLE, AT(mcu_mhz), 1, 1e6,
	 "clock of cost.m7_ms (default 216): cost.m7_instructions, the\n"
	 "predicted instructions of one inference on the Cortex-M7 (DSP\n"
	 "kernels), at one instruction per cycle"},
	{"latency-max", "MS", OPT_DOUBLE, AT(latency_max), 0, 1e6,
	 "reject when cost.m7_ms exceeds MS milliseconds\n"
	 "(for the five limits, 0 means no limit: the default)"},
	{"exec", "layer|patched", OPT_CALL, 0, 0, 0,
	 "how the int8 model runs, for the arena: layer by layer (the\n"
	 "default), or its first layers row-streamed (patched), as many and\n"
	 "in as many streams as give the smallest arena (cost.patch_layers,\n"
	 "cost.patch_streams)", 0, set_exec},
	{"patch-layers", "N", OPT_INT, AT(patch_layers), 0, ARCH_MAX_TOTAL_LAYERS,
	 "row-stream exactly the first N layers (0: layer by layer)"},
	{"space", "FILE", OPT_CALL, 0, 0, 0,
	 "reject values outside the search space (data/search-space.json)", 0, set_space},
	{"seen", "FILE", OPT_CALL, 0, 0, 0, "reject archs whose id is already in that JSONL history",
	 0, set_seen},
	{0},
};
#undef AT

int check_opts_parse(struct check_opts *o, const char *opt, const char *val)
{
	char err[600];
	int rc = strncmp(opt, "--", 2) ? 0 : options_set(check_opt_table, o, opt + 2, val, err,
							  sizeof err);
	if (rc < 0)
		log_error("%s", err);
	return rc;
}

/* Appends {metric, value, limit, message} to violations; value and limit are taken over. */
static cJSON *violation(cJSON *list, const char *metric, cJSON *value, cJSON *limit,
			const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static cJSON *violation(cJSON *list, const char *metric, cJSON *value, cJSON *limit,
			const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	cJSON *v = cJSON_CreateObject();
	cJSON_AddStringToObject(v, "metric", metric);
	cJSON_AddItemToObject(v, "value", value ? value : cJSON_CreateNull());
	cJSON_AddItemToObject(v, "limit", limit ? limit : cJSON_CreateNull());
	cJSON_AddStringToObject(v, "message", msg);
	cJSON_AddItemToArray(list, v);
	return v;
}

/* Puts "id" first in the record (replacing an old one). */
static void set_id(cJSON *rec, const char *id)
{
	cJSON_DeleteItemFromObjectCaseSensitive(rec, "id");
	cJSON *item = cJSON_CreateString(id);
	cJSON_AddItemToObject(rec, "id", item);
	cJSON_DetachItemViaPointer(rec, item);
	cJSON_InsertItemInArray(rec, 0, item);
}

static void add_cost(cJSON *cost, const struct cost *c, double mhz)
{
	cJSON_AddNumberToObject(cost, "macs", (double)c->macs);
	cJSON_AddNumberToObject(cost, "params", (double)c->params);
	cJSON_AddNumberToObject(cost, "flash_bytes", (double)c->flash_bytes);
	cJSON_AddNumberToObject(cost, "flash_code_bytes", (double)c->flash_code_bytes);
	cJSON_AddNumberToObject(cost, "peak_sram_bytes", (double)c->peak_sram_bytes);
	cJSON_AddStringToObject(cost, "peak_op", c->peak_op);
	cJSON_AddNumberToObject(cost, "arena_bytes", (double)c->arena_bytes);
	cJSON_AddStringToObject(cost, "arena_op", c->arena_op);
	cJSON_AddNumberToObject(cost, "stack_bytes", (double)c->stack_bytes);
	cJSON_AddNumberToObject(cost, "sram_bytes", (double)c->sram_bytes);
	cJSON_AddNumberToObject(cost, "m7_instructions", round(c->m7_instructions));
	cJSON_AddNumberToObject(cost, "m7_ms", round(latency_ms(c->m7_instructions, mhz) * 1e3) / 1e3);
	cJSON_AddNumberToObject(cost, "patch_layers", c->patch_layers);
	cJSON_AddNumberToObject(cost, "patch_streams", c->patch_streams);
	cJSON_AddNumberToObject(cost, "patch_macs_overhead", c->patch_macs_overhead);
}

static void check_limits(const struct cost *c, const struct check_opts *o, cJSON *list)
{
	char a[32], b[32], d[32], e[32];
	if (o->macs_max > 0 && c->macs > o->macs_max) {
		int widest = 0;
		for (int i = 1; i < ARCH_MAX_BLOCKS; i++)
			if (c->block_macs[i] > c->block_macs[widest])
				widest = i;
		violation(list, "macs", cJSON_CreateNumber((double)c->macs),
			  cJSON_CreateNumber(o->macs_max),
			  "MACs %s exceed the %s limit; reduce channels or expansion in the widest "
			  "stages (blocks[%d] alone costs %s)",
			  fmt_count((double)c->macs, a, sizeof a), fmt_count(o->macs_max, b, sizeof b),
			  widest, fmt_count((double)c->block_macs[widest], d, sizeof d));
	}
	if (o->macs_min > 0 && c->macs < o->macs_min)
		violation(list, "macs", cJSON_CreateNumber((double)c->macs),
			  cJSON_CreateNumber(o->macs_min),
			  "MACs %s are below the %s minimum; widen channels, raise expansion or add "
			  "layers to use the budget",
			  fmt_count((double)c->macs, a, sizeof a), fmt_count(o->macs_min, b, sizeof b));
	if (o->sram_max > 0 && c->sram_bytes > o->sram_max)
		violation(list, "sram", cJSON_CreateNumber((double)c->sram_bytes),
			  cJSON_CreateNumber(o->sram_max),
			  "The int8 activation arena needs %s (plus %s of stack: %s), over the %s SRAM "
			  "limit, with its peak at %s; reduce the channels or expansion there, or "
			  "downsample with stride 2 earlier",
			  fmt_bytes((double)c->arena_bytes, a, sizeof a),
			  fmt_bytes((double)c->stack_bytes, d, sizeof d),
			  fmt_bytes((double)c->sram_bytes, e, sizeof e),
			  fmt_bytes(o->sram_max, b, sizeof b), c->arena_op);
	double ms = latency_ms(c->m7_instructions, o->mcu_mhz);
	if (o->latency_max > 0 && ms > o->latency_max)
		violation(list, "latency", cJSON_CreateNumber(round(ms * 1e3) / 1e3),
			  cJSON_CreateNumber(o->latency_max),
			  "One inference is predicted at %.0fk instructions, %.2f ms at %.0f MHz, over "
			  "the %.2f ms limit; use fewer MACs, above all at high resolution (downsample "
			  "earlier), or fewer layers", c->m7_instructions / 1e3, ms, o->mcu_mhz,
			  o->latency_max);
	if (o->flash_max > 0 && c->flash_bytes > o->flash_max)
		violation(list, "flash", cJSON_CreateNumber((double)c->flash_bytes),
			  cJSON_CreateNumber(o->flash_max),
			  "The quantised model needs %s of flash, over the %s limit; reduce the channels of "
			  "the last stages (their 1x1 convs hold most weights) or use fewer layers there",
			  fmt_bytes((double)c->flash_bytes, a, sizeof a),
			  fmt_bytes(o->flash_max, b, sizeof b));
}

/* The training-time limit: the estimate (train_time.h, deterministic) into cost.train_us_per_image,
 * and a violation when it is over. */
static void check_train_time(const struct arch_net *net, double max_us, cJSON *cost, cJSON *list)
{
	struct train_time_features f;
	train_time_features(net, &f);
	double us = train_time_us_per_image(&f);
	cJSON_AddNumberToObject(cost, "train_us_per_image", us);
	if (us > max_us)
		violation(list, "train_time", cJSON_CreateNumber(us), cJSON_CreateNumber(max_us),
			  "Training is estimated at %.0f us per image, over the %.0f us limit (the "
			  "epochs wanted must fit the training minutes); use fewer MACs, fewer layers "
			  "at high resolution, or downsample earlier", us, max_us);
}

static void check_space(const struct arch *a, const struct space *s, cJSON *list)
{
	struct space_violation v[16];
	int n = space_check(s, a, v, 16);
	for (int i = 0; i < n && i < 16; i++) {
		cJSON *value = cJSON_Parse(v[i].value), *limit = cJSON_Parse(v[i].allowed);
		cJSON *item = violation(list, "space", value, limit, "%s", v[i].message);
		cJSON_AddStringToObject(item, "field", v[i].field);
	}
	if (n > 16)
		violation(list, "space", cJSON_CreateNumber(n), NULL,
			  "%d more values are outside the search space; use only the values of "
			  "data/search-space.json", n - 16);
}

int check_record(cJSON *rec, const struct check_opts *o)
{
	cJSON *cost = record_stage(rec, "cost");
	cJSON *check = record_stage(rec, "check");
	cJSON *list = cJSON_CreateArray();
	char err[512];
	int h = o->res_h, w = o->res_w, classes = o->classes;
	struct arch a;
	struct arch_net *net = NULL;

	if (record_settings(rec, &h, &w, &classes, NULL, err, sizeof err)) {
		violation(list, "arch", NULL, NULL, "%s", err);
		cJSON_AddStringToObject(cost, "error", err);
		goto done;
	}
	cJSON *res = cJSON_AddArrayToObject(cost, "resolution");
	cJSON_AddItemToArray(res, cJSON_CreateNumber(h));
	cJSON_AddItemToArray(res, cJSON_CreateNumber(w));
	cJSON_AddNumberToObject(cost, "classes", classes);

	if (arch_parse(cJSON_GetObjectItemCaseSensitive(rec, "arch"), &a, err, sizeof err)) {
		violation(list, "arch", NULL, NULL, "The arch is invalid: %s; fix that field", err);
		cJSON_AddStringToObject(cost, "error", err);
		goto done;
	}
	char id[17];
	arch_id(&a, id);
	set_id(rec, id);
	if (o->space)
		check_space(&a, o->space, list);
	if (check_seen(o, id))
		violation(list, "seen", cJSON_CreateString(id), NULL,
			  "This architecture was already evaluated (id %s); change at least one block "
			  "to explore something new", id);

	net = xmalloc(sizeof *net);
	if (arch_expand(&a, h, w, classes, net, err, sizeof err)) {
		violation(list, "arch", NULL, NULL, "The arch does not fit a %dx%d input: %s", h, w,
			  err);
		cJSON_AddStringToObject(cost, "error", err);
		goto done;
	}
	if (cost_int8_ops_check(net, o->int8_ops, err, sizeof err)) {
		violation(list, "arch", NULL, NULL, "%s", err);
		cJSON_AddStringToObject(cost, "error", err);
		goto done;
	}
	struct cost c;
	struct cost_weights wf = {o->ternary, o->int8_ops};
	if (cost_compute_with(net, wf, o->patch_layers, &c, err, sizeof err)) {
		/* A planner self-check failure is a bug in lmnas, not in the arch: say so. */
		log_error("internal error for arch %s: %s", id, err);
		violation(list, "arch", NULL, NULL, "lmnas could not plan this arch's memory (%s)", err);
		cJSON_AddStringToObject(cost, "error", err);
		goto done;
	}
	/* Keep resolution and classes last in the cost object: numbers first. */
	cJSON *res_item = cJSON_DetachItemFromObjectCaseSensitive(cost, "resolution");
	cJSON *cls_item = cJSON_DetachItemFromObjectCaseSensitive(cost, "classes");
	add_cost(cost, &c, o->mcu_mhz);
	cJSON_AddItemToObject(cost, "resolution", res_item);
	cJSON_AddItemToObject(cost, "classes", cls_item);
	check_limits(&c, o, list);
	if (o->train_us_max > 0)
		check_train_time(net, o->train_us_max, cost, list);
done:
	free(net);
	int ok = cJSON_GetArraySize(list) == 0;
	cJSON_AddBoolToObject(check, "ok", ok);
	cJSON_AddItemToObject(check, "violations", list);
	return ok;
}
