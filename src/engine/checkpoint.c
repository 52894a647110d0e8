/* checkpoint.c — safetensors checkpoints with PyTorch names. See checkpoint.h. */
#include "engine/checkpoint.h"
#include "core/safetensors.h"
#include "core/util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* [C][1][k][k] <-> [k][k][C] */
static void dw_from_torch(float *dst, const float *src, int C, int k)
{
	for (int c = 0; c < C; c++)
		for (int t = 0; t < k * k; t++)
			dst[(size_t)t * C + c] = src[(size_t)c * k * k + t];
}

static void dw_to_torch(float *dst, const float *src, int C, int k)
{
	for (int c = 0; c < C; c++)
		for (int t = 0; t < k * k; t++)
			dst[(size_t)c * k * k + t] = src[(size_t)t * C + c];
}

/* The BN entry (its running_var) whose counter num_batches_tracked is called name, or NULL. */
static const struct net_entry *bn_counter(const struct net *n, const char *name)
{
	char c[128];
	for (int i = 0; i < n->nentries; i++) {
		const struct net_entry *e = &n->entries[i];
		if (e->bn >= 0 &&
		    !strcmp(graph_tensor_name(c, sizeof c, e->module, PT_BATCHES_TRACKED), name))
			return e;
	}
	return NULL;
}

static int has_prefix(const char *s, const char *prefix)
{
	return prefix && !strncmp(s, prefix, strlen(prefix));
}

int checkpoint_load(struct net *n, const char *path, char *err, size_t errlen)
{
	struct st_file f;
	if (st_open(path, &f, err, errlen))
		return -1;
	int rc = checkpoint_load_file(n, &f, NULL, err, errlen);
	st_close(&f);
	return rc;
}

int checkpoint_load_file(struct net *n, const struct st_file *f, const char *skip_prefix,
			 char *err, size_t errlen)
{
	const char *path = f->path;
	for (int i = 0; i < n->nentries; i++) {
		const struct net_entry *e = &n->entries[i];
		const struct st_tensor *t = st_expect(f, e->name, ST_F32, e->ndim, e->shape, err,
						      errlen);
		if (!t)
			return -1;
		const float *src = t->data;
		for (size_t j = 0; j < e->numel; j++) {
			float v;
			memcpy(&v, src + j, sizeof v);
			if (!isfinite(v)) {
				return fail(err, errlen, "%s: tensor %s: element %zu is not finite",
					    path, e->name, j);
			}
		}
		float *dst = (e->is_buffer ? n->bufs : n->params) + e->off;
		if (e->dw_layout)
			dw_from_torch(dst, src, (int)e->shape[0], (int)e->shape[2]);
		else
			memcpy(dst, src, sizeof(float) * e->numel);
	}
	/* Every tensor in the file must belong to the network. */
	for (int i = 0; i < f->ntensors; i++) {
		const struct st_tensor *t = &f->tensors[i];
		if (has_prefix(t->name, skip_prefix) || net_find(n, t->name))
			continue;
		const struct net_entry *e = bn_counter(n, t->name);
		if (!e)
			return fail(err, errlen, "%s: tensor %s: unexpected (the arch does not match "
				    "the weights)", path, t->name);
		if (t->dtype != ST_I64 || t->numel != 1)
			return fail(err, errlen, "%s: tensor %s: expected an I64 scalar", path, t->name);
		memcpy(&n->batches_tracked[e->bn], t->data, sizeof(int64_t));
	}
	return 0;
}

int checkpoint_save(const struct net *n, const char *path, const char *const *meta, char *err,
		    size_t errlen)
{
	return checkpoint_save_extra(n, path, meta, NULL, err, errlen);
}

int checkpoint_save_extra(const struct net *n, const char *path, const char *const *meta,
			  const struct checkpoint_extra *extras, char *err, size_t errlen)
{
	float *staging = xmalloc(sizeof(float) * (n->nparams + n->nbufs + 1));
	struct st_writer *w = st_writer_new();
	float *p = staging;
	for (int i = 0; i < n->nentries; i++) {
		const struct net_entry *e = &n->entries[i];
		const float *src = (e->is_buffer ? n->bufs : n->params) + e->off;
		if (e->dw_layout)
			dw_to_torch(p, src, (int)e->shape[0], (int)e->shape[2]);
		else
			memcpy(p, src, sizeof(float) * e->numel);
		st_writer_add(w, e->name, ST_F32, e->ndim, e->shape, p);
		p += e->numel;
		if (e->bn >= 0) {
			char name[128];
			graph_tensor_name(name, sizeof name, e->module, PT_BATCHES_TRACKED);
			st_writer_add(w, name, ST_I64, 0, NULL, &n->batches_tracked[e->bn]);
		}
	}
	cJSON *aj = arch_to_json(&n->arch);
	char *text = cJSON_PrintUnformatted(aj);
	cJSON_Delete(aj);
	st_writer_meta(w, "arch", text);
	char buf[32];
	snprintf(buf, sizeof buf, "%d", n->an.classes);
	st_writer_meta(w, "classes", buf);
	/* The input size it was trained at: quantize expands the arch at it unless told otherwise. */
	snprintf(buf, sizeof buf, "%dx%d", n->an.in_h, n->an.in_w);
	st_writer_meta(w, "resolution", buf);
	for (int i = 0; meta && meta[i] && meta[i + 1]; i += 2)
		st_writer_meta(w, meta[i], meta[i + 1]);
	free(text);
	for (const struct checkpoint_extra *x = extras; x && x->name; x++)
		st_writer_add(w, x->name, ST_F32, 1, &x->len, x->data);
	int rc = st_writer_save(w, path);
	if (rc)
		snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
	st_writer_free(w);
	free(staging);
	return rc;
}

int checkpoint_info(const char *path, struct arch *arch, int *classes, char *err, size_t errlen)
{
	struct st_file f;
	if (st_open(path, &f, err, errlen))
		return -1;
	int rc = -1;
	if (classes) {
		int64_t any = -1;
		char name[64];
		graph_tensor_name(name, sizeof name, GRAPH_CLASSIFIER, PT_BIAS);
		const struct st_tensor *t = st_expect(&f, name, ST_F32, 1, &any, err, errlen);
		if (!t)
			goto out;
		*classes = (int)t->shape[0];
	}
	if (arch) {
		const char *text = st_meta(&f, "arch");
		if (!text) {
			snprintf(err, errlen, "%s: no \"arch\" in __metadata__ (give --arch)", path);
			goto out;
		}
		cJSON *j = cJSON_Parse(text);
		char why[256];
		if (!j || arch_parse(j, arch, why, sizeof why)) {
			snprintf(err, errlen, "%s: __metadata__ arch: %s", path,
				 j ? why : "not valid JSON");
			cJSON_Delete(j);
			goto out;
		}
		cJSON_Delete(j);
	}
	rc = 0;
out:
	st_close(&f);
	return rc;
}

int checkpoint_data_meta(const char *path, char **norm_json, char **names_json, char *err,
			 size_t errlen)
{
	struct st_file f;
	*norm_json = *names_json = NULL;
	if (st_open(path, &f, err, errlen))
		return -1;
	const char *norm = st_meta(&f, "normalisation"), *names = st_meta(&f, "class_names");
	*norm_json = norm ? xstrdup(norm) : NULL;
	*names_json = names ? xstrdup(names) : NULL;
	st_close(&f);
	return 0;
}
