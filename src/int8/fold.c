/* fold.c — BN folding of a float checkpoint and the float inference of the folded network. */
#include "int8/fold.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/safetensors.h"
#include "core/util.h"

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
	int64_t wshape[4] = {cout, cin, k, k}, cshape[1] = {cout};
	int linear = !strcmp(conv, GRAPH_CLASSIFIER);
	const float *w = get_f32(f, graph_tensor_name(name, sizeof name, conv, PT_WEIGHT),
				 linear ? 2 : 4, wshape, err, errlen);
	if (!w)
		return -1;
	c->w = xmalloc(sizeof(float) * cout * per);
	c->b = xcalloc(cout, sizeof(float));
	memcpy(c->w, w, sizeof(float) * cout * per);
	if (!bn) {
		const float *b = get_f32(f, graph_tensor_name(name, sizeof name, conv, PT_BIAS), 1,
					 cshape, err, errlen);
		if (!b)
			return -1;
		memcpy(c->b, b, sizeof(float) * cout);
		return 0;
	}
	const float *p[4];
	static const enum pt_tensor part[4] = {PT_WEIGHT, PT_BIAS, PT_RUNNING_MEAN, PT_RUNNING_VAR};
	for (int i = 0; i < 4; i++)
		if (!(p[i] = get_f32(f, graph_tensor_name(name, sizeof name, bn, part[i]), 1, cshape,
				     err, errlen)))
			return -1;
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

/* The folded weights of op i (ops without a conv: nothing). */
static int load_op(const struct st_file *f, const struct graph *g, int i, struct fconv *c,
		   char *err, size_t errlen)
{
	const struct g_op *op = &g->ops[i];
	if (!op->conv[0])
		return 0;
	int cout = g->tensors[op->out].c;
	int cin = op->kind == OP_DW ? 1 : g->tensors[op->in[0]].c;
	return load_conv(f, op->conv, op->bn[0] ? op->bn : NULL, cout, cin, op->kernel, c, err,
			 errlen);
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
	char cname[64];
	graph_tensor_name(cname, sizeof cname, GRAPH_CLASSIFIER, PT_WEIGHT);
	const struct st_tensor *cw = st_find(&f, cname);
	if (!cw || cw->ndim != 2 || cw->shape[0] < 1 || cw->shape[0] > ARCH_MAX_CLASSES) {
		snprintf(err, errlen, "%s: %s is missing or not [classes][features]", path, cname);
		goto out;
	}
	if (arch_expand(&fn->arch, res_h, res_w, (int)cw->shape[0], &fn->net, err, errlen))
		goto out;
	graph_build(&fn->net, false, &fn->g);
	fn->conv = xcalloc(fn->g.nops, sizeof *fn->conv);
	for (int i = 0; i < fn->g.nops; i++)
		if (load_op(&f, &fn->g, i, &fn->conv[i], err, errlen))
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
	for (int i = 0; fn->conv && i < fn->g.nops; i++)
		free_conv(&fn->conv[i]);
	free(fn->conv);
	fn->conv = NULL;
	if (fn->g.ops)
		graph_free(&fn->g);
}

/* The activation of an op, in float. */
static float act(enum op_act a, float v)
{
	switch (a) {
	case OPACT_NONE:
		return v;
	case OPACT_RELU:
		return v > 0 ? v : 0;
	case OPACT_RELU6:
		return v < 0 ? 0 : v > 6 ? 6 : v;
	case OPACT_LEAKYRELU:
		return v < 0 ? LEAKY_SLOPE * v : v;
	case OPACT_SWISH:
		return v / (1.0f + expf(-v));
	case OPACT_SIGMOID:
		return 1.0f / (1.0f + expf(-v));
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

static void act_forward(float *x, size_t n, enum op_act a)
{
	for (size_t i = 0; i < n; i++)
		x[i] = act(a, x[i]);
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

struct fold_obs fold_op_obs(const struct arch_net *net, const struct g_op *op)
{
	static const struct {
		const char *role;
		int pre, out;
	} slot[] = {
		{"expand", FS_EXP_PRE, FS_EXP}, {"dw", FS_DW_PRE, FS_DW}, {"se_pool", -1, -1},
		{"se_fc1", -1, FS_SE_FC1}, {"se_fc2", FS_SE_FC2_PRE, -1}, {"se_scale", -1, FS_SE_OUT},
		{"project", -1, FS_PROJECT}, {"res_proj", -1, FS_RES}, {"add", -1, FS_OUT},
		{"pool", -1, -1}, {"classifier", -1, FS_OUT}};
	struct fold_obs o = {op->layer, -1, -1};
	if (op->kind == OP_LINEAR)
		o.layer = net->nlayers;
	for (size_t i = 0; i < sizeof slot / sizeof slot[0]; i++)
		if (!strcmp(op->role, slot[i].role)) {
			o.pre = slot[i].pre;
			o.out = slot[i].out;
			break;
		}
	if (o.out == FS_PROJECT && !net->layers[op->layer].residual)
		o.out = FS_OUT; /* the projection is the layer's output */
	return o;
}

/* Runs op i of fn: reads v[in] (and v[in2]), writes a new v[out]; reports its value before and
 * after the activation to obs as fold_op_obs says. */
static void op_forward(const struct fnet *fn, int i, float **v, fold_observer obs, void *ctx)
{
	const struct g_op *op = &fn->g.ops[i];
	const struct g_tensor *ti = &fn->g.tensors[op->in[0]], *to = &fn->g.tensors[op->out];
	const struct fconv *c = &fn->conv[i];
	const float *x = v[op->in[0]];
	size_t n = (size_t)to->bytes, np = (size_t)to->h * to->w;
	float *y = xmalloc(sizeof(float) * n);
	struct fold_obs ob = fold_op_obs(&fn->net, op);
	switch (op->kind) {
	case OP_PW:
	case OP_SE_FC1:
	case OP_SE_FC2:
	case OP_LINEAR:
		pw_forward(x, (int)np, c, y);
		break;
	case OP_DW:
		dw_forward(x, ti->h, ti->w, c, op->stride, op->pad, to->h, to->w, y);
		break;
	case OP_SE_POOL:
	case OP_POOL:
		gap_forward(x, ti->h * ti->w, ti->c, y);
		break;
	case OP_SE_SCALE: /* y [np][C] = x [np][C] * s [C] */
		for (size_t p = 0; p < np; p++)
			for (int ch = 0; ch < to->c; ch++)
				y[p * to->c + ch] = x[p * to->c + ch] * v[op->in[1]][ch];
		break;
	case OP_ADD:
		for (size_t j = 0; j < n; j++)
			y[j] = x[j] + v[op->in[1]][j];
		break;
	}
	if (ob.pre >= 0 && obs)
		obs(ctx, ob.layer, ob.pre, y, n);
	if (op->act != OPACT_NONE)
		act_forward(y, n, op->act);
	if (ob.out >= 0 && obs)
		obs(ctx, ob.layer, ob.out, y, n);
	v[op->out] = y;
}

void fold_forward(const struct fnet *fn, const float *x, float *logits, fold_observer obs,
		  void *ctx)
{
	const struct graph *g = &fn->g;
	float **v = xcalloc(g->ntensors, sizeof *v); /* float values of the graph's tensors */
	size_t insz = (size_t)g->tensors[g->input].bytes;
	v[g->input] = xmalloc(sizeof(float) * insz);
	memcpy(v[g->input], x, sizeof(float) * insz);
	if (obs)
		obs(ctx, -1, FS_OUT, v[g->input], insz);
	for (int i = 0; i < g->nops; i++) {
		op_forward(fn, i, v, obs, ctx);
		for (int t = 0; t < g->ntensors; t++) /* free what no later op reads */
			if (v[t] && t != g->output && g->tensors[t].last <= i) {
				free(v[t]);
				v[t] = NULL;
			}
	}
	memcpy(logits, v[g->output], sizeof(float) * fn->net.classes);
	free(v[g->output]);
	free(v);
}
