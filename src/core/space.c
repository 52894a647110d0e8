/* space.c — load data/search-space.json and check an arch against it. */
#include "core/space.h"
#include "core/util.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cJSON *field_values(const cJSON *fields, const char *name, char *err, size_t errlen)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(fields, name);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(f, "values");
	int n = cJSON_GetArraySize(v);
	if (!cJSON_IsArray(v) || n < 1 || n > SPACE_MAX_VALUES) {
		snprintf(err, errlen, "block_fields.%s.values must be an array of 1 to %d values", name,
			 SPACE_MAX_VALUES);
		return NULL;
	}
	return v;
}

static int load_ints(const cJSON *fields, const char *name, int lo, int hi, int *out, int *n,
		     char *err, size_t errlen)
{
	const cJSON *v = field_values(fields, name, err, errlen);
	if (!v)
		return -1;
	*n = 0;
	for (const cJSON *e = v->child; e; e = e->next) {
		if (!cJSON_IsNumber(e) || e->valuedouble != floor(e->valuedouble) ||
		    e->valuedouble < lo || e->valuedouble > hi) {
			snprintf(err, errlen, "block_fields.%s.values must hold whole numbers in %d..%d",
				 name, lo, hi);
			return -1;
		}
		out[(*n)++] = (int)e->valuedouble;
	}
	return 0;
}

static int load_names(const cJSON *fields, const char *name, const char *(*namer)(int), int count,
		      bool *allowed, char *err, size_t errlen)
{
	const cJSON *v = field_values(fields, name, err, errlen);
	if (!v)
		return -1;
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
			snprintf(err, errlen, "block_fields.%s.values holds an unknown value", name);
			return -1;
		}
	}
	return 0;
}

static const char *act_namer(int i) { return act_name((enum act)i); }
static const char *conv_namer(int i) { return conv_type_name((enum conv_type)i); }
static const char *skip_namer(int i) { return skip_op_name((enum skip_op)i); }

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
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(root, "block_fields");
	if (!cJSON_IsObject(f)) {
		snprintf(err, errlen, "block_fields must be an object");
		return -1;
	}
	if (load_ints(f, "output_channels", 1, ARCH_MAX_CHANNELS, s->out_ch, &s->n_out_ch, err, errlen) ||
	    load_ints(f, "kernel_size", 1, ARCH_MAX_KERNEL, s->kernel, &s->n_kernel, err, errlen) ||
	    load_ints(f, "stride", 1, ARCH_MAX_STRIDE, s->stride, &s->n_stride, err, errlen) ||
	    load_ints(f, "expansion_factor", 1, ARCH_MAX_EXPANSION, s->expansion, &s->n_expansion, err,
		      errlen) ||
	    load_ints(f, "num_layers", 1, ARCH_MAX_LAYERS, s->layers, &s->n_layers, err, errlen))
		return -1;
	for (int i = 0; i < s->n_kernel; i++)
		if (s->kernel[i] % 2 == 0) {
			snprintf(err, errlen, "block_fields.kernel_size.values must be odd");
			return -1;
		}
	const cJSON *v = field_values(f, "se_ratio", err, errlen);
	if (!v)
		return -1;
	for (const cJSON *e = v->child; e; e = e->next) {
		if (!cJSON_IsNumber(e) || !(e->valuedouble > 0 && e->valuedouble <= 1)) {
			snprintf(err, errlen, "block_fields.se_ratio.values must be numbers in (0, 1]");
			return -1;
		}
		s->se_ratio[s->n_se_ratio++] = e->valuedouble;
	}
	v = field_values(f, "use_se", err, errlen);
	if (!v)
		return -1;
	for (const cJSON *e = v->child; e; e = e->next) {
		if (!cJSON_IsBool(e)) {
			snprintf(err, errlen, "block_fields.use_se.values must be true and/or false");
			return -1;
		}
		s->se_allowed[cJSON_IsTrue(e)] = true;
	}
	if (load_names(f, "conv_type", conv_namer, 2, s->conv_allowed, err, errlen) ||
	    load_names(f, "skip_op", skip_namer, 2, s->skip_allowed, err, errlen) ||
	    load_names(f, "activation", act_namer, 3, s->act_allowed, err, errlen))
		return -1;
	return 0;
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

int space_check(const struct space *s, const struct arch *a, struct space_violation *v, int max)
{
	struct sink k = {v, max, 0};
	if (a->nblocks != s->stages) {
		if (k.count < max) {
			struct space_violation *x = &v[k.count];
			snprintf(x->field, sizeof x->field, "blocks");
			snprintf(x->value, sizeof x->value, "%d", a->nblocks);
			snprintf(x->allowed, sizeof x->allowed, "[%d]", s->stages);
			snprintf(x->message, sizeof x->message,
				 "the arch has %d blocks but the search space has exactly %d stages; %s "
				 "blocks",
				 a->nblocks, s->stages, a->nblocks > s->stages ? "merge or remove" : "add");
		}
		k.count++;
	}
	char value[48], allowed[160];
	for (int i = 0; i < a->nblocks; i++) {
		const struct block *b = &a->blocks[i];
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
