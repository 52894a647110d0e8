/* space.c — load data/search-space.json and check an arch against it. */
#include "core/space.h"
#include "core/util.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The values of field NAME of the fields object F (WHERE: its path in the file, for messages), or
 * NULL: with err set, or, when optional and the field is absent, err empty. */
static const cJSON *field_values(const cJSON *f, const char *where, const char *name, bool optional,
				 char *err, size_t errlen)
{
	err[0] = 0;
	const cJSON *field = cJSON_GetObjectItemCaseSensitive(f, name);
	if (!field && optional)
		return NULL;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(field, "values");
	int n = cJSON_GetArraySize(v);
	if (!cJSON_IsArray(v) || n < 1 || n > SPACE_MAX_VALUES) {
		snprintf(err, errlen, "%s.%s.values must be an array of 1 to %d values", where, name,
			 SPACE_MAX_VALUES);
		return NULL;
	}
	return v;
}

/* One field's set into out/n, or out/n untouched when optional and absent. -1 with err. */
static int load_ints(const cJSON *f, const char *where, const char *name, bool optional, int lo,
		     int hi, int *out, int *n, char *err, size_t errlen)
{
	const cJSON *v = field_values(f, where, name, optional, err, errlen);
	if (!v)
		return err[0] ? -1 : 0;
	*n = 0;
	for (const cJSON *e = v->child; e; e = e->next) {
		if (!cJSON_IsNumber(e) || e->valuedouble != floor(e->valuedouble) ||
		    e->valuedouble < lo || e->valuedouble > hi) {
			snprintf(err, errlen, "%s.%s.values must hold whole numbers in %d..%d", where,
				 name, lo, hi);
			return -1;
		}
		out[(*n)++] = (int)e->valuedouble;
	}
	return 0;
}

static int load_names(const cJSON *f, const char *where, const char *name, bool optional,
		      const char *(*namer)(int), int count, bool *allowed, char *err, size_t errlen)
{
	const cJSON *v = field_values(f, where, name, optional, err, errlen);
	if (!v)
		return err[0] ? -1 : 0;
	memset(allowed, 0, count * sizeof *allowed);
	for (const cJSON *e = v->child; e; e = e->next) {
		int found = 0;
		for (int i = 0; i < count && cJSON_IsString(e); i++) {
			if (!strcmp(e->valuestring, namer(i))) {
				allowed[i] = true;
				found = 1;
			}
		}
		if (!found) {
			snprintf(err, errlen, "%s.%s.values holds an unknown value", where, name);
			return -1;
		}
	}
	return 0;
}

static int load_se(const cJSON *f, const char *where, bool optional, struct block_space *b,
		   char *err, size_t errlen)
{
	const cJSON *v = field_values(f, where, "se_ratio", optional, err, errlen);
	if (!v && err[0])
		return -1;
	if (v) {
		b->n_se_ratio = 0;
		for (const cJSON *e = v->child; e; e = e->next) {
			if (!cJSON_IsNumber(e) || !(e->valuedouble > 0 && e->valuedouble <= 1)) {
				snprintf(err, errlen, "%s.se_ratio.values must be numbers in (0, 1]", where);
				return -1;
			}
			b->se_ratio[b->n_se_ratio++] = e->valuedouble;
		}
	}
	v = field_values(f, where, "use_se", optional, err, errlen);
	if (!v)
		return err[0] ? -1 : 0;
	b->se_allowed[0] = b->se_allowed[1] = false;
	for (const cJSON *e = v->child; e; e = e->next) {
		if (!cJSON_IsBool(e)) {
			snprintf(err, errlen, "%s.use_se.values must be true and/or false", where);
			return -1;
		}
		b->se_allowed[cJSON_IsTrue(e)] = true;
	}
	return 0;
}

static const char *act_namer(int i) { return act_name((enum act)i); }
static const char *conv_namer(int i) { return conv_type_name((enum conv_type)i); }
static const char *skip_namer(int i) { return skip_op_name((enum skip_op)i); }

/* The fields object F into b: every field (optional false), or only those F gives (true). */
static int load_block_fields(const cJSON *f, const char *where, bool optional,
			     struct block_space *b, char *err, size_t errlen)
{
	if (!cJSON_IsObject(f)) {
		snprintf(err, errlen, "%s must be an object", where);
		return -1;
	}
	if (load_ints(f, where, "output_channels", optional, 1, ARCH_MAX_CHANNELS, b->out_ch,
		      &b->n_out_ch, err, errlen) ||
	    load_ints(f, where, "kernel_size", optional, 1, ARCH_MAX_KERNEL, b->kernel, &b->n_kernel,
		      err, errlen) ||
	    load_ints(f, where, "stride", optional, 1, ARCH_MAX_STRIDE, b->stride, &b->n_stride, err,
		      errlen) ||
	    load_ints(f, where, "expansion_factor", optional, 1, ARCH_MAX_EXPANSION, b->expansion,
		      &b->n_expansion, err, errlen) ||
	    load_ints(f, where, "num_layers", optional, 1, ARCH_MAX_LAYERS, b->layers, &b->n_layers,
		      err, errlen))
		return -1;
	for (int i = 0; i < b->n_kernel; i++)
		if (b->kernel[i] % 2 == 0) {
			snprintf(err, errlen, "%s.kernel_size.values must be odd", where);
			return -1;
		}
	if (load_se(f, where, optional, b, err, errlen) ||
	    load_names(f, where, "conv_type", optional, conv_namer, 2, b->conv_allowed, err, errlen) ||
	    load_names(f, where, "skip_op", optional, skip_namer, 2, b->skip_allowed, err, errlen) ||
	    load_names(f, where, "activation", optional, act_namer, 3, b->act_allowed, err, errlen))
		return -1;
	return 0;
}

/* "first_block": {"input_channels": N, "block_fields": {some fields}} */
static int load_first_block(const cJSON *fb, struct space *s, char *err, size_t errlen)
{
	const cJSON *ch = cJSON_GetObjectItemCaseSensitive(fb, "input_channels");
	if (!cJSON_IsObject(fb) || !cJSON_IsNumber(ch) || ch->valuedouble < 1 ||
	    ch->valuedouble > ARCH_MAX_CHANNELS || ch->valuedouble != floor(ch->valuedouble)) {
		snprintf(err, errlen, "first_block must be an object with input_channels, a whole number in 1..%d",
			 ARCH_MAX_CHANNELS);
		return -1;
	}
	s->first_channels = (int)ch->valuedouble;
	s->first = s->block;
	return load_block_fields(cJSON_GetObjectItemCaseSensitive(fb, "block_fields"),
				 "first_block.block_fields", true, &s->first, err, errlen);
}

int space_from_json(const void *obj, struct space *s, char *err, size_t errlen)
{
	const cJSON *root = obj;
	memset(s, 0, sizeof *s);
	const cJSON *stages = cJSON_GetObjectItemCaseSensitive(root, "stages");
	if (!cJSON_IsNumber(stages) || stages->valuedouble < 1 || stages->valuedouble > ARCH_MAX_BLOCKS ||
	    stages->valuedouble != floor(stages->valuedouble)) {
		snprintf(err, errlen, "stages must be a whole number in 1..%d", ARCH_MAX_BLOCKS);
		return -1;
	}
	s->stages = (int)stages->valuedouble;
	if (load_block_fields(cJSON_GetObjectItemCaseSensitive(root, "block_fields"), "block_fields",
			      false, &s->block, err, errlen))
		return -1;
	const cJSON *fb = cJSON_GetObjectItemCaseSensitive(root, "first_block");
	return fb ? load_first_block(fb, s, err, errlen) : 0;
}

const struct block_space *space_block(const struct space *s, int input_channels, int i)
{
	return i == 0 && s->first_channels > 0 && input_channels == s->first_channels ? &s->first
										      : &s->block;
}

int space_load(const char *path, struct space *s, char *err, size_t errlen)
{
	const char *why;
	char *text = read_file(path, 1 << 20, NULL, &why);
	if (!text) {
		snprintf(err, errlen, "%s: %s", path, why);
		return -1;
	}
	cJSON *root = cJSON_Parse(text);
	free(text);
	if (!cJSON_IsObject(root)) {
		snprintf(err, errlen, "%s: not a JSON object", path);
		cJSON_Delete(root);
		return -1;
	}
	char inner[200];
	int rc = space_from_json(root, s, inner, sizeof inner);
	if (rc)
		snprintf(err, errlen, "%s: %s", path, inner);
	cJSON_Delete(root);
	return rc;
}

/* Appends "[a, b, c]" of ints to buf. */
static void ints_text(const int *vals, int n, char *buf, size_t len)
{
	size_t used = snprintf(buf, len, "[");
	for (int i = 0; i < n && used < len; i++)
		used += snprintf(buf + used, len - used, "%s%d", i ? ", " : "", vals[i]);
	if (used < len)
		snprintf(buf + used, len - used, "]");
}

static void names_text(const bool *allowed, const char *(*namer)(int), int n, char *buf, size_t len)
{
	size_t used = snprintf(buf, len, "[");
	int k = 0;
	for (int i = 0; i < n && used < len; i++)
		if (allowed[i])
			used += snprintf(buf + used, len - used, "%s\"%s\"", k++ ? ", " : "", namer(i));
	if (used < len)
		snprintf(buf + used, len - used, "]");
}

struct sink {
	struct space_violation *v;
	int max, count;
};

static void report(struct sink *k, int block, const char *field, const char *value,
		   const char *allowed)
{
	if (k->count < k->max) {
		struct space_violation *v = &k->v[k->count];
		snprintf(v->field, sizeof v->field, "blocks[%d].%s", block, field);
		snprintf(v->value, sizeof v->value, "%s", value);
		snprintf(v->allowed, sizeof v->allowed, "%s", allowed);
		snprintf(v->message, sizeof v->message,
			 "blocks[%d].%s is %s, outside the search space; use one of %s", block, field,
			 value, allowed);
	}
	k->count++;
}

static int has_int(const int *vals, int n, int x)
{
	for (int i = 0; i < n; i++)
		if (vals[i] == x)
			return 1;
	return 0;
}

static void check_int(struct sink *k, int block, const char *field, const int *vals, int n, int x)
{
	if (has_int(vals, n, x))
		return;
	char value[24], allowed[160];
	snprintf(value, sizeof value, "%d", x);
	ints_text(vals, n, allowed, sizeof allowed);
	report(k, block, field, value, allowed);
}

int space_check(const struct space *sp, const struct arch *a, struct space_violation *v, int max)
{
	struct sink k = {v, max, 0};
	if (a->nblocks != sp->stages) {
		if (k.count < max) {
			struct space_violation *x = &v[k.count];
			snprintf(x->field, sizeof x->field, "blocks");
			snprintf(x->value, sizeof x->value, "%d", a->nblocks);
			snprintf(x->allowed, sizeof x->allowed, "[%d]", sp->stages);
			snprintf(x->message, sizeof x->message,
				 "the arch has %d blocks but the search space has exactly %d stages; %s "
				 "blocks",
				 a->nblocks, sp->stages, a->nblocks > sp->stages ? "merge or remove" : "add");
		}
		k.count++;
	}
	char value[48], allowed[160];
	for (int i = 0; i < a->nblocks; i++) {
		const struct block *b = &a->blocks[i];
		const struct block_space *s = space_block(sp, a->input_channels, i);
		check_int(&k, i, "output_channels", s->out_ch, s->n_out_ch, b->out_ch);
		check_int(&k, i, "num_layers", s->layers, s->n_layers, b->num_layers);
		check_int(&k, i, "kernel_size", s->kernel, s->n_kernel, b->kernel);
		check_int(&k, i, "stride", s->stride, s->n_stride, b->stride);
		if (b->conv == CONV_MBCONV)
			check_int(&k, i, "expansion_factor", s->expansion, s->n_expansion, b->expansion);
		if (!s->se_allowed[b->use_se]) {
			snprintf(allowed, sizeof allowed, "[%s]", s->se_allowed[0] ? "false" : "true");
			report(&k, i, "use_se", b->use_se ? "true" : "false", allowed);
		}
		if (b->use_se) {
			int found = 0;
			for (int j = 0; j < s->n_se_ratio; j++)
				found |= fabs(s->se_ratio[j] - b->se_ratio) < 1e-9;
			if (!found) {
				size_t used = snprintf(allowed, sizeof allowed, "[");
				for (int j = 0; j < s->n_se_ratio && used < sizeof allowed; j++)
					used += snprintf(allowed + used, sizeof allowed - used, "%s%g",
							 j ? ", " : "", s->se_ratio[j]);
				if (used < sizeof allowed)
					snprintf(allowed + used, sizeof allowed - used, "]");
				snprintf(value, sizeof value, "%g", b->se_ratio);
				report(&k, i, "se_ratio", value, allowed);
			}
		}
		if (!s->conv_allowed[b->conv]) {
			names_text(s->conv_allowed, conv_namer, 2, allowed, sizeof allowed);
			snprintf(value, sizeof value, "\"%s\"", conv_type_name(b->conv));
			report(&k, i, "conv_type", value, allowed);
		}
		if (!s->skip_allowed[b->skip]) {
			names_text(s->skip_allowed, skip_namer, 2, allowed, sizeof allowed);
			snprintf(value, sizeof value, "\"%s\"", skip_op_name(b->skip));
			report(&k, i, "skip_op", value, allowed);
		}
		if (!s->act_allowed[b->act]) {
			names_text(s->act_allowed, act_namer, 3, allowed, sizeof allowed);
			snprintf(value, sizeof value, "\"%s\"", act_name(b->act));
			report(&k, i, "activation", value, allowed);
		}
	}
	return k.count;
}
