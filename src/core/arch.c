/* arch.c — parse, validate, canonicalise, hash and expand architectures. */
#include "core/arch.h"
#include "core/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const act_names[] = {"relu6", "leakyrelu", "swish"};
static const char *const conv_names[] = {"depthwise", "mbconv"};
static const char *const skip_names[] = {"identity", "residual"};

const char *act_name(enum act a) { return act_names[a]; }
const char *conv_type_name(enum conv_type c) { return conv_names[c]; }
const char *skip_op_name(enum skip_op s) { return skip_names[s]; }

/* Reads an integer field in [lo, hi]. Returns 0, or -1 with the reason in err. */
static int get_int(const cJSON *obj, const char *where, const char *key, int lo, int hi, int *out,
		   char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!v) {
		snprintf(err, errlen, "%s.%s is missing", where, key);
		return -1;
	}
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble != floor(v->valuedouble)) {
		snprintf(err, errlen, "%s.%s must be a whole number", where, key);
		return -1;
	}
	if (v->valuedouble < lo || v->valuedouble > hi) {
		snprintf(err, errlen, "%s.%s is %.0f; it must be between %d and %d", where, key,
			 v->valuedouble, lo, hi);
		return -1;
	}
	*out = (int)v->valuedouble;
	return 0;
}

/* Reads a string field that must be one of names[0..n). */
static int get_enum(const cJSON *obj, const char *where, const char *key, const char *const *names,
		    int n, int *out, char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!cJSON_IsString(v)) {
		snprintf(err, errlen, "%s.%s %s", where, key, v ? "must be a string" : "is missing");
		return -1;
	}
	for (int i = 0; i < n; i++)
		if (!strcmp(v->valuestring, names[i])) {
			*out = i;
			return 0;
		}
	int len = snprintf(err, errlen, "%s.%s is \"%.40s\"; it must be one of", where, key,
			   v->valuestring);
	for (int i = 0; i < n && len > 0 && (size_t)len < errlen; i++)
		len += snprintf(err + len, errlen - len, "%s %s", i ? "," : "", names[i]);
	return -1;
}

static int parse_block(const cJSON *obj, int index, struct block *b, char *err, size_t errlen)
{
	char where[32];
	int e;
	snprintf(where, sizeof where, "blocks[%d]", index);
	if (!cJSON_IsObject(obj)) {
		snprintf(err, errlen, "%s must be an object", where);
		return -1;
	}
	if (get_int(obj, where, "output_channels", 1, ARCH_MAX_CHANNELS, &b->out_ch, err, errlen) ||
	    get_int(obj, where, "num_layers", 1, ARCH_MAX_LAYERS, &b->num_layers, err, errlen) ||
	    get_int(obj, where, "kernel_size", 1, ARCH_MAX_KERNEL, &b->kernel, err, errlen) ||
	    get_int(obj, where, "stride", 1, ARCH_MAX_STRIDE, &b->stride, err, errlen) ||
	    get_int(obj, where, "expansion_factor", 1, ARCH_MAX_EXPANSION, &b->expansion, err, errlen))
		return -1;
	if (b->kernel % 2 == 0) {
		snprintf(err, errlen, "%s.kernel_size is %d; it must be odd (padding is kernel_size/2)",
			 where, b->kernel);
		return -1;
	}
	const cJSON *se = cJSON_GetObjectItemCaseSensitive(obj, "use_se");
	if (!cJSON_IsBool(se)) {
		snprintf(err, errlen, "%s.use_se %s", where, se ? "must be true or false" : "is missing");
		return -1;
	}
	b->use_se = cJSON_IsTrue(se);
	const cJSON *ratio = cJSON_GetObjectItemCaseSensitive(obj, "se_ratio");
	if (!cJSON_IsNumber(ratio) || !isfinite(ratio->valuedouble) || ratio->valuedouble < 0 ||
	    ratio->valuedouble > 1) {
		snprintf(err, errlen, "%s.se_ratio %s", where,
			 ratio ? "must be a number between 0 and 1" : "is missing");
		return -1;
	}
	b->se_ratio = ratio->valuedouble;
	if (get_enum(obj, where, "conv_type", conv_names, 2, &e, err, errlen))
		return -1;
	b->conv = (enum conv_type)e;
	if (get_enum(obj, where, "skip_op", skip_names, 2, &e, err, errlen))
		return -1;
	b->skip = (enum skip_op)e;
	if (get_enum(obj, where, "activation", act_names, 3, &e, err, errlen))
		return -1;
	b->act = (enum act)e;
	return 0;
}

int arch_parse(const cJSON *obj, struct arch *a, char *err, size_t errlen)
{
	memset(a, 0, sizeof *a);
	if (!cJSON_IsObject(obj)) {
		snprintf(err, errlen, "arch must be a JSON object");
		return -1;
	}
	if (get_int(obj, "arch", "input_channels", 1, ARCH_MAX_IN_CH, &a->input_channels, err, errlen))
		return -1;
	const cJSON *pool = cJSON_GetObjectItemCaseSensitive(obj, "pool_type");
	if (pool && !(cJSON_IsString(pool) && (!strcmp(pool->valuestring, "average") ||
					       !strcmp(pool->valuestring, "global")))) {
		snprintf(err, errlen, "arch.pool_type must be \"average\" (global average pooling)");
		return -1;
	}
	const cJSON *blocks = cJSON_GetObjectItemCaseSensitive(obj, "blocks");
	if (!cJSON_IsArray(blocks)) {
		snprintf(err, errlen, "arch.blocks %s", blocks ? "must be an array" : "is missing");
		return -1;
	}
	int n = cJSON_GetArraySize(blocks);
	if (n < 1 || n > ARCH_MAX_BLOCKS) {
		snprintf(err, errlen, "arch.blocks has %d entries; it must have 1 to %d", n,
			 ARCH_MAX_BLOCKS);
		return -1;
	}
	a->nblocks = n;
	int i = 0, cin = a->input_channels;
	for (const cJSON *b = blocks->child; b; b = b->next, i++) {
		if (parse_block(b, i, &a->blocks[i], err, errlen))
			return -1;
		struct block *blk = &a->blocks[i];
		/* The widest hidden tensor of the block: its first layer's input times E, then out*E. */
		if (blk->conv == CONV_MBCONV &&
		    (long)(cin > blk->out_ch ? cin : blk->out_ch) * blk->expansion > ARCH_MAX_CHANNELS) {
			snprintf(err, errlen,
				 "blocks[%d] expands to %ld channels; at most %d are supported", i,
				 (long)(cin > blk->out_ch ? cin : blk->out_ch) * blk->expansion,
				 ARCH_MAX_CHANNELS);
			return -1;
		}
		cin = blk->out_ch;
	}
	return 0;
}

cJSON *arch_to_json(const struct arch *a)
{
	cJSON *obj = cJSON_CreateObject();
	cJSON_AddNumberToObject(obj, "input_channels", a->input_channels);
	cJSON *blocks = cJSON_AddArrayToObject(obj, "blocks");
	for (int i = 0; i < a->nblocks; i++) {
		const struct block *b = &a->blocks[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "output_channels", b->out_ch);
		cJSON_AddNumberToObject(o, "num_layers", b->num_layers);
		cJSON_AddNumberToObject(o, "kernel_size", b->kernel);
		cJSON_AddNumberToObject(o, "stride", b->stride);
		cJSON_AddNumberToObject(o, "expansion_factor", b->expansion);
		cJSON_AddBoolToObject(o, "use_se", b->use_se);
		cJSON_AddNumberToObject(o, "se_ratio", b->se_ratio);
		cJSON_AddStringToObject(o, "conv_type", conv_type_name(b->conv));
		cJSON_AddStringToObject(o, "skip_op", skip_op_name(b->skip));
		cJSON_AddStringToObject(o, "activation", act_name(b->act));
		cJSON_AddItemToArray(blocks, o);
	}
	return obj;
}

void arch_canonical(const struct arch *a, struct arch *canon)
{
	*canon = *a;
	for (int i = 0; i < canon->nblocks; i++) {
		struct block *b = &canon->blocks[i];
		if (!(b->use_se && b->se_ratio > 0)) {
			b->use_se = false;
			b->se_ratio = 0;
		}
		if (b->conv == CONV_DEPTHWISE)
			b->expansion = 1;
	}
}

void arch_id(const struct arch *a, char out[17])
{
	struct arch canon;
	arch_canonical(a, &canon);
	cJSON *json = arch_to_json(&canon);
	char *text = cJSON_PrintUnformatted(json);
	if (!text)
		die("out of memory hashing an arch");
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a 64 */
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ull;
	}
	snprintf(out, 17, "%016llx", (unsigned long long)h);
	free(text);
	cJSON_Delete(json);
}

static int conv_out(int in, int kernel, int stride)
{
	return (in + 2 * (kernel / 2) - kernel) / stride + 1;
}

int arch_expand(const struct arch *a, int in_h, int in_w, int classes, struct arch_net *net,
		char *err, size_t errlen)
{
	memset(net, 0, sizeof *net);
	if (in_h < 1 || in_w < 1 || in_h > ARCH_MAX_RESOLUTION || in_w > ARCH_MAX_RESOLUTION) {
		snprintf(err, errlen, "resolution %dx%d is outside 1..%d", in_h, in_w,
			 ARCH_MAX_RESOLUTION);
		return -1;
	}
	if (classes < 1 || classes > ARCH_MAX_CLASSES) {
		snprintf(err, errlen, "classes %d is outside 1..%d", classes, ARCH_MAX_CLASSES);
		return -1;
	}
	net->in_h = in_h;
	net->in_w = in_w;
	net->in_ch = a->input_channels;
	net->classes = classes;
	int h = in_h, w = in_w, c = a->input_channels;
	for (int bi = 0; bi < a->nblocks; bi++) {
		const struct block *b = &a->blocks[bi];
		for (int li = 0; li < b->num_layers; li++) {
			struct arch_layer *L = &net->layers[net->nlayers++];
			L->block = bi;
			L->index = li;
			L->conv = b->conv;
			L->act = b->act;
			L->cin = c;
			L->cout = b->out_ch;
			L->hidden = b->conv == CONV_MBCONV ? c * b->expansion : c;
			L->kernel = b->kernel;
			L->stride = li == 0 ? b->stride : 1;
			L->pad = b->kernel / 2;
			if (L->stride > 1 && h == 1 && w == 1) {
				snprintf(err, errlen,
					 "blocks[%d] (stride %d) receives a 1x1 feature map: the "
					 "resolution collapses; use fewer stride-2 stages or a larger input",
					 bi, L->stride);
				return -1;
			}
			L->in_h = h;
			L->in_w = w;
			L->out_h = conv_out(h, b->kernel, L->stride);
			L->out_w = conv_out(w, b->kernel, L->stride);
			L->se = b->use_se && b->se_ratio > 0;
			if (L->se) {
				int r = (int)floor(L->hidden * b->se_ratio);
				L->se_ch = r > 1 ? r : 1;
			}
			L->residual = b->skip == SKIP_RESIDUAL && L->stride == 1;
			L->proj = L->residual && L->cin != L->cout;
			h = L->out_h;
			w = L->out_w;
			c = L->cout;
		}
	}
	net->feat_ch = c;
	net->out_h = h;
	net->out_w = w;
	return 0;
}

int parse_resolution(const char *s, int *h, int *w)
{
	long a, b;
	char buf[64];
	const char *x = strchr(s, 'x');
	if (!x) {
		if (parse_int(s, 1, ARCH_MAX_RESOLUTION, &a))
			return -1;
		*h = *w = (int)a;
		return 0;
	}
	if ((size_t)(x - s) >= sizeof buf)
		return -1;
	memcpy(buf, s, x - s);
	buf[x - s] = '\0';
	if (parse_int(buf, 1, ARCH_MAX_RESOLUTION, &a) || parse_int(x + 1, 1, ARCH_MAX_RESOLUTION, &b))
		return -1;
	*h = (int)a;
	*w = (int)b;
	return 0;
}
