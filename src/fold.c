/* fold.c — BN folding of a float checkpoint and the float inference of the folded network. */
#include "fold.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "safetensors.h"
#include "util.h"

#define BN_EPS 1e-5

/* Reads a float tensor of exactly the shape [ndim] (PyTorch's layout): a permuted shape with the
 * same element count is refused. */
static const float *get_f32(const struct st_file *f, const char *name, int ndim,
			    const int64_t *shape, char *err, size_t errlen)
{
	const struct st_tensor *t = st_expect(f, name, ST_F32, ndim, shape, err, errlen);
	return t ? t->data : NULL;
}

/* Loads conv weight "<conv>.weight" [cout][cin][k][k] (the classifier's: [cout][cin]) and folds
 * BN "<bn>.*" into it (bn NULL: plain conv with "<conv>.bias"). */
static int load_conv(const struct st_file *f, const char *conv, const char *bn, int cout, int cin,
		     int k, struct fconv *c, char *err, size_t errlen)
{
	char name[256];
	int64_t per = (int64_t)cin * k * k;
	c->cout = cout;
	c->cin = cin;
	c->k = k;
	snprintf(name, sizeof name, "%s.weight", conv);
	int64_t wshape[4] = {cout, cin, k, k}, cshape[1] = {cout};
	int linear = !strcmp(conv, "classifier");
	const float *w = get_f32(f, name, linear ? 2 : 4, wshape, err, errlen);
	if (!w)
		return -1;
	c->w = xmalloc(sizeof(float) * cout * per);
	c->b = xcalloc(cout, sizeof(float));
	memcpy(c->w, w, sizeof(float) * cout * per);
	if (!bn) {
		snprintf(name, sizeof name, "%s.bias", conv);
		const float *b = get_f32(f, name, 1, cshape, err, errlen);
		if (!b)
			return -1;
		memcpy(c->b, b, sizeof(float) * cout);
		return 0;
	}
	const float *p[4];
	static const char *const part[4] = {"weight", "bias", "running_mean", "running_var"};
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof name, "%s.%s", bn, part[i]);
		if (!(p[i] = get_f32(f, name, 1, cshape, err, errlen)))
			return -1;
	}
	for (int o = 0; o < cout; o++) {
		double s = p[0][o] / sqrt((double)p[3][o] + BN_EPS);
		for (int64_t j = 0; j < per; j++)
			c->w[o * per + j] = (float)(w[o * per + j] * s);
		c->b[o] = (float)(p[1][o] - p[2][o] * s);
	}
	return 0;
}

static void free_conv(struct fconv *c)
{
	free(c->w);
	free(c->b);
	c->w = c->b = NULL;
}

static int load_layer(const struct st_file *f, const struct arch_layer *L, struct flayer *fl,
		      char *err, size_t errlen)
{
	char pre[64], a[128], b[128];
	snprintf(pre, sizeof pre, "layers.%d.layers.%d", L->block, L->index);
	int i = 0; /* index inside the conv Sequential */
#define NAMES(ci, bi) (snprintf(a, sizeof a, "%s.conv.%d", pre, ci), \
		       snprintf(b, sizeof b, "%s.conv.%d", pre, bi))
	if (L->conv == CONV_MBCONV) {
		NAMES(0, 1);
		if (load_conv(f, a, b, L->hidden, L->cin, 1, &fl->expand, err, errlen))
			return -1;
		i = 3;
	}
	NAMES(i, i + 1);
	if (load_conv(f, a, b, L->hidden, 1, L->kernel, &fl->dw, err, errlen))
		return -1;
	i += 3; /* conv, BN, act */
	if (L->se) {
		snprintf(a, sizeof a, "%s.conv.%d.se.1", pre, i);
		if (load_conv(f, a, NULL, L->se_ch, L->hidden, 1, &fl->se1, err, errlen))
			return -1;
		snprintf(a, sizeof a, "%s.conv.%d.se.3", pre, i);
		if (load_conv(f, a, NULL, L->hidden, L->se_ch, 1, &fl->se2, err, errlen))
			return -1;
		i++;
	}
	NAMES(i, i + 1);
	if (load_conv(f, a, b, L->cout, L->hidden, 1, &fl->project, err, errlen))
		return -1;
#undef NAMES
	if (L->proj) {
		snprintf(a, sizeof a, "%s.res_proj.0", pre);
		snprintf(b, sizeof b, "%s.res_proj.1", pre);
		if (load_conv(f, a, b, L->cout, L->cin, 1, &fl->res, err, errlen))
			return -1;
	}
	return 0;
}

int fold_load(const char *path, const struct arch *arch, int res_h, int res_w, struct fnet *fn,
	      char *err, size_t errlen)
{
	struct st_file f;
	memset(fn, 0, sizeof *fn);
	if (st_open(path, &f, err, errlen))
		return -1;
	int rc = -1;
	if (arch) {
		fn->arch = *arch;
	} else {
		const char *s = st_meta(&f, "arch");
		cJSON *j = s ? cJSON_Parse(s) : NULL;
		char why[256];
		if (!j) {
			snprintf(err, errlen, "%s: no arch in the metadata; give --arch", path);
			goto out;
		}
		if (arch_parse(j, &fn->arch, why, sizeof why)) {
			snprintf(err, errlen, "%s: metadata arch: %s", path, why);
			cJSON_Delete(j);
			goto out;
		}
		cJSON_Delete(j);
	}
	if (res_h <= 0 || res_w <= 0) { /* from the metadata, else the paper's 160x160 */
		const char *r = st_meta(&f, "resolution");
		res_h = res_w = 160;
		if (r && parse_resolution(r, &res_h, &res_w)) {
			snprintf(err, errlen, "%s: bad resolution metadata %s", path, r);
			goto out;
		}
	}
	const struct st_tensor *cw = st_find(&f, "classifier.weight");
	if (!cw || cw->ndim != 2 || cw->shape[0] < 1 || cw->shape[0] > ARCH_MAX_CLASSES) {
		snprintf(err, errlen, "%s: classifier.weight is missing or not [classes][features]",
			 path);
		goto out;
	}
	if (arch_expand(&fn->arch, res_h, res_w, (int)cw->shape[0], &fn->net, err, errlen))
		goto out;
	fn->layers = xcalloc(fn->net.nlayers, sizeof *fn->layers);
	for (int l = 0; l < fn->net.nlayers; l++)
		if (load_layer(&f, &fn->net.layers[l], &fn->layers[l], err, errlen))
			goto out;
	if (load_conv(&f, "classifier", NULL, fn->net.classes, fn->net.feat_ch, 1, &fn->fc, err,
		      errlen))
		goto out;
	rc = 0;
out:
	st_close(&f);
	if (rc)
		fold_free(fn);
	return rc;
}

void fold_free(struct fnet *fn)
{
	if (fn->layers)
		for (int l = 0; l < fn->net.nlayers; l++) {
			struct flayer *fl = &fn->layers[l];
			free_conv(&fl->expand);
			free_conv(&fl->dw);
			free_conv(&fl->se1);
			free_conv(&fl->se2);
			free_conv(&fl->project);
			free_conv(&fl->res);
		}
	free(fn->layers);
	free_conv(&fn->fc);
	fn->layers = NULL;
}

float fold_act(enum act a, float v)
{
	switch (a) {
	case ACT_RELU6:
		return v < 0 ? 0 : v > 6 ? 6 : v;
	case ACT_LEAKYRELU:
		return v < 0 ? 0.01f * v : v;
	case ACT_SWISH:
		return v / (1.0f + expf(-v));
	}
	return v;
}

/* ---- float layers, NHWC ---- */

/* y[p][o] = b[o] + sum_i x[p][i] * w[o][i].  x: [np][cin], y: [np][cout] */
static void pw_forward(const float *x, int np, const struct fconv *c, float *y)
{
	for (int p = 0; p < np; p++) {
		const float *xp = x + (size_t)p * c->cin;
		float *yp = y + (size_t)p * c->cout;
		for (int o = 0; o < c->cout; o++) {
			const float *wo = c->w + (size_t)o * c->cin;
			float acc = c->b[o];
			for (int i = 0; i < c->cin; i++)
				acc += xp[i] * wo[i];
			yp[o] = acc;
		}
	}
}

/* x: [h][w][C] -> y: [oh][ow][C], zero padding pad, w: [C][k][k] */
static void dw_forward(const float *x, int h, int w, const struct fconv *c, int stride, int pad,
		       int oh, int ow, float *y)
{
	int C = c->cout, k = c->k;
	for (int oy = 0; oy < oh; oy++)
		for (int ox = 0; ox < ow; ox++)
			for (int ch = 0; ch < C; ch++) {
				float acc = c->b[ch];
				const float *wc = c->w + (size_t)ch * k * k;
				for (int ky = 0; ky < k; ky++) {
					int iy = oy * stride - pad + ky;
					if (iy < 0 || iy >= h)
						continue;
					for (int kx = 0; kx < k; kx++) {
						int ix = ox * stride - pad + kx;
						if (ix < 0 || ix >= w)
							continue;
						acc += x[((size_t)iy * w + ix) * C + ch] * wc[ky * k + kx];
					}
				}
				y[((size_t)oy * ow + ox) * C + ch] = acc;
			}
}

static void act_forward(float *x, size_t n, enum act a)
{
	for (size_t i = 0; i < n; i++)
		x[i] = fold_act(a, x[i]);
}

/* mean over positions: x [np][C] -> m [C] */
static void gap_forward(const float *x, int np, int C, float *m)
{
	for (int c = 0; c < C; c++)
		m[c] = 0;
	for (int p = 0; p < np; p++)
		for (int c = 0; c < C; c++)
			m[c] += x[(size_t)p * C + c];
	for (int c = 0; c < C; c++)
		m[c] /= (float)np;
}

#define OBS(l, s, x, n) do { if (obs) obs(ctx, (l), (s), (x), (n)); } while (0)

/* One layer: x [in_h][in_w][cin] -> y [out_h][out_w][cout]. */
static void layer_forward(const struct arch_layer *L, const struct flayer *fl, int l,
			  const float *x, float *y, fold_observer obs, void *ctx)
{
	size_t in_np = (size_t)L->in_h * L->in_w, np = (size_t)L->out_h * L->out_w;
	const float *h = x;
	float *e = NULL;
	if (L->conv == CONV_MBCONV) {
		e = xmalloc(sizeof(float) * in_np * L->hidden);
		pw_forward(x, (int)in_np, &fl->expand, e);
		OBS(l, FS_EXP_PRE, e, in_np * L->hidden);
		act_forward(e, in_np * L->hidden, L->act);
		OBS(l, FS_EXP, e, in_np * L->hidden);
		h = e;
	}
	float *d = xmalloc(sizeof(float) * np * L->hidden);
	dw_forward(h, L->in_h, L->in_w, &fl->dw, L->stride, L->pad, L->out_h, L->out_w, d);
	free(e);
	OBS(l, FS_DW_PRE, d, np * L->hidden);
	act_forward(d, np * L->hidden, L->act);
	OBS(l, FS_DW, d, np * L->hidden);
	if (L->se) {
		float *m = xmalloc(sizeof(float) * L->hidden);
		float *s1 = xmalloc(sizeof(float) * L->se_ch);
		float *s2 = xmalloc(sizeof(float) * L->hidden);
		gap_forward(d, (int)np, L->hidden, m);
		pw_forward(m, 1, &fl->se1, s1);
		for (int i = 0; i < L->se_ch; i++)
			s1[i] = s1[i] > 0 ? s1[i] : 0;
		OBS(l, FS_SE_FC1, s1, L->se_ch);
		pw_forward(s1, 1, &fl->se2, s2);
		OBS(l, FS_SE_FC2_PRE, s2, L->hidden);
		for (int c = 0; c < L->hidden; c++)
			s2[c] = 1.0f / (1.0f + expf(-s2[c]));
		for (size_t p = 0; p < np; p++)
			for (int c = 0; c < L->hidden; c++)
				d[p * L->hidden + c] *= s2[c];
		OBS(l, FS_SE_OUT, d, np * L->hidden);
		free(m);
		free(s1);
		free(s2);
	}
	pw_forward(d, (int)np, &fl->project, y);
	free(d);
	OBS(l, FS_PROJECT, y, np * L->cout);
	if (L->residual) {
		if (L->proj) {
			float *r = xmalloc(sizeof(float) * np * L->cout);
			pw_forward(x, (int)np, &fl->res, r);
			OBS(l, FS_RES, r, np * L->cout);
			for (size_t i = 0; i < np * L->cout; i++)
				y[i] += r[i];
			free(r);
		} else {
			for (size_t i = 0; i < np * L->cout; i++)
				y[i] += x[i];
		}
	}
	OBS(l, FS_OUT, y, np * L->cout);
}

void fold_forward(const struct fnet *fn, const float *x, float *logits, fold_observer obs,
		  void *ctx)
{
	const struct arch_net *n = &fn->net;
	size_t insz = (size_t)n->in_h * n->in_w * n->in_ch;
	float *cur = xmalloc(sizeof(float) * insz);
	memcpy(cur, x, sizeof(float) * insz);
	OBS(-1, FS_OUT, cur, insz);
	for (int l = 0; l < n->nlayers; l++) {
		const struct arch_layer *L = &n->layers[l];
		float *y = xmalloc(sizeof(float) * L->out_h * L->out_w * L->cout);
		layer_forward(L, &fn->layers[l], l, cur, y, obs, ctx);
		free(cur);
		cur = y;
	}
	float *m = xmalloc(sizeof(float) * n->feat_ch);
	gap_forward(cur, n->out_h * n->out_w, n->feat_ch, m);
	pw_forward(m, 1, &fn->fc, logits);
	OBS(n->nlayers, FS_OUT, logits, n->classes);
	free(m);
	free(cur);
}
