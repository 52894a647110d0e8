/* test_nn_grad.c — every layer's backward against central finite differences, in double.
 *
 * For each layer: a plain double-precision forward written here from the definition (the
 * reference), a scalar L = Σ r·y with fixed random r, and dL/d(every input and parameter) by
 * central differences of the double forward (h = 1e-5). The float kernels of src/engine/nn_*.c then run
 * forward (compared with the double forward) and backward with dy = r (compared with the finite
 * differences). Shapes are small and chosen to cover padding, stride 2, and more channels than
 * one thread chunk. The fast kernels are also compared with their plain float versions. */
#include "engine/nn_act.h"
#include "engine/nn_bn.h"
#include "engine/nn_conv.h"
#include "engine/nn_head.h"
#include "engine/nn_se.h"
#include "engine/net.h"
#include "engine/sgemm_small.h"
#include "core/prng.h"
#include "core/cpu.h"
#include "t.h"
#include "core/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A layer under test: nv inputs (activation then parameters, one flat vector), ny outputs. */
struct layer_case {
	const char *name;
	int nv, ny;
	void (*ref)(const double *v, double *y);
	/* float forward into y, then backward with dy into g (same layout as v) */
	void (*run)(const float *v, float *y, const float *dy, float *g);
};

static uint64_t rng = 42;
static double urand(void) { return 2 * prng_xorshift_unit(&rng) - 1; }

static void check_case(const struct layer_case *c, double scale)
{
	double *v = xmalloc(sizeof(double) * c->nv), *y = xmalloc(sizeof(double) * c->ny);
	double *r = xmalloc(sizeof(double) * c->ny), *fd = xmalloc(sizeof(double) * c->nv);
	float *vf = xmalloc(sizeof(float) * c->nv), *yf = xmalloc(sizeof(float) * c->ny);
	float *rf = xmalloc(sizeof(float) * c->ny), *g = xmalloc(sizeof(float) * c->nv);
	for (int i = 0; i < c->nv; i++) {
		vf[i] = (float)(scale * urand());
		v[i] = vf[i];
	}
	for (int i = 0; i < c->ny; i++) {
		r[i] = urand();
		rf[i] = (float)r[i];
	}
	const double h = 1e-5;
	for (int i = 0; i < c->nv; i++) {
		double keep = v[i], lp = 0, lm = 0;
		v[i] = keep + h;
		c->ref(v, y);
		for (int j = 0; j < c->ny; j++)
			lp += r[j] * y[j];
		v[i] = keep - h;
		c->ref(v, y);
		for (int j = 0; j < c->ny; j++)
			lm += r[j] * y[j];
		v[i] = keep;
		fd[i] = (lp - lm) / (2 * h);
	}
	c->ref(v, y);
	c->run(vf, yf, rf, g);
	double ymax = 0, ydiff = 0, gmax = 0, gdiff = 0;
	for (int j = 0; j < c->ny; j++) {
		ymax = fmax(ymax, fabs(y[j]));
		ydiff = fmax(ydiff, fabs(y[j] - yf[j]));
	}
	for (int i = 0; i < c->nv; i++) {
		gmax = fmax(gmax, fabs(fd[i]));
		gdiff = fmax(gdiff, fabs(fd[i] - g[i]));
	}
	printf("# %s: forward rel %.2g, backward rel %.2g (max |grad| %.3g)\n", c->name,
	       ydiff / ymax, gdiff / gmax, gmax);
	T_CHECK(ydiff <= 1e-5 * ymax, "%s: float forward = double reference", c->name);
	T_CHECK(gmax > 1e-3 && gdiff <= 2e-4 * gmax, "%s: backward = finite differences", c->name);
	free(v), free(y), free(r), free(fd), free(vf), free(yf), free(rf), free(g);
}

/* ---- conv1x1: x [M][CI], w [CO][CI] ---- */
enum { PM = 6, PCI = 5, PCO = 4 };
static void pw_ref(const double *v, double *y)
{
	const double *x = v, *w = v + PM * PCI;
	for (int m = 0; m < PM; m++)
		for (int o = 0; o < PCO; o++) {
			double s = 0;
			for (int i = 0; i < PCI; i++)
				s += x[m * PCI + i] * w[o * PCI + i];
			y[m * PCO + o] = s;
		}
}
static void pw_run(const float *v, float *y, const float *dy, float *g)
{
	static float buf[PCI * PCO]; /* pw_work_floats(PCI, PCO, 1) */
	struct pw_work wk = {buf, 1};
	conv1x1_forward(y, v, v + PM * PCI, PM, PCI, PCO, &wk);
	conv1x1_backward(g, g + PM * PCI, dy, v, v + PM * PCI, PM, PCI, PCO, 0, NULL);
}

/* ---- depthwise: x [N][H][W][C], w [k][k][C] ---- */
static struct dw_shape D;
static void dw_ref(const double *v, double *y)
{
	const double *x = v, *w = v + D.N * D.H * D.W * D.C;
	for (int n = 0; n < D.N; n++)
		for (int oy = 0; oy < D.OH; oy++)
			for (int ox = 0; ox < D.OW; ox++)
				for (int c = 0; c < D.C; c++) {
					double s = 0;
					for (int ky = 0; ky < D.k; ky++)
						for (int kx = 0; kx < D.k; kx++) {
							int iy = oy * D.stride - D.pad + ky;
							int ix = ox * D.stride - D.pad + kx;
							if (iy >= 0 && iy < D.H && ix >= 0 && ix < D.W)
								s += x[((n * D.H + iy) * D.W + ix) * D.C + c] *
								     w[(ky * D.k + kx) * D.C + c];
						}
					y[((n * D.OH + oy) * D.OW + ox) * D.C + c] = s;
				}
}
static void dw_run(const float *v, float *y, const float *dy, float *g)
{
	size_t nx = (size_t)D.N * D.H * D.W * D.C;
	struct dw_work wk = {xmalloc(sizeof(float) * dw_work_floats(&D, 2)), 2};
	depthwise_forward(y, v, v + nx, &D, &wk);
	depthwise_backward(g, g + nx, dy, v, v + nx, &D, 0, &wk);
	free(wk.buf);
}

/* ---- activations ---- */
enum { AN = 64 };
static enum act A;
static double act_ref_one(double x)
{
	return A == ACT_RELU6 ? fmin(fmax(x, 0), 6) : A == ACT_LEAKYRELU ? (x > 0 ? x : 0.01 * x)
								 : x / (1 + exp(-x));
}
static void act_ref(const double *v, double *y)
{
	for (int i = 0; i < AN; i++)
		y[i] = act_ref_one(v[i]);
}
static void act_run(const float *v, float *y, const float *dy, float *g)
{
	act_forward(A, y, v, AN);
	act_backward(A, g, dy, v, AN, 0);
}

/* ---- batchnorm (training), alone (BN_ACT = BN_NO_ACT) or with the activation A fused:
 *      x [BM][BC], gamma, beta ---- */
enum { BM = 18, BC = 5 };
static int BN_ACT;
static void bn_ref(const double *v, double *y)
{
	const double *x = v, *ga = v + BM * BC, *be = ga + BC;
	for (int c = 0; c < BC; c++) {
		double mean = 0, var = 0;
		for (int m = 0; m < BM; m++)
			mean += x[m * BC + c] / BM;
		for (int m = 0; m < BM; m++)
			var += (x[m * BC + c] - mean) * (x[m * BC + c] - mean) / BM;
		for (int m = 0; m < BM; m++) {
			double z = (x[m * BC + c] - mean) / sqrt(var + 1e-5) * ga[c] + be[c];
			y[m * BC + c] = BN_ACT == BN_NO_ACT ? z : act_ref_one(z);
		}
	}
}
static void bn_run(const float *v, float *y, const float *dy, float *g)
{
	float mean[BC], invstd[BC], rm[BC] = {0}, rv[BC] = {1, 1, 1, 1, 1}, dz[BM * BC];
	const float *gamma = v + BM * BC, *beta = gamma + BC;
	memcpy(dz, dy, sizeof dz); /* overwritten when an activation is fused */
	bn_forward_train(y, mean, invstd, rm, rv, v, gamma, beta, BM, BC, BN_ACT);
	bn_backward(g, g + BM * BC, g + BM * BC + BC, dz, v, mean, invstd, gamma, beta, BM, BC, 0,
		    BN_ACT);
}

/* ---- SE: x [SN][SP][SC], w1 [SR][SC], b1 [SR], w2 [SC][SR], b2 [SC] ---- */
enum { SN = 2, SP = 6, SC = 5, SR = 3 };
#define SE_NX (SN * SP * SC)
static void se_ref(const double *v, double *y)
{
	const double *x = v, *w1 = v + SE_NX, *b1 = w1 + SR * SC, *w2 = b1 + SR, *b2 = w2 + SC * SR;
	for (int n = 0; n < SN; n++) {
		double p[SC], a[SR], s[SC];
		for (int c = 0; c < SC; c++) {
			p[c] = 0;
			for (int i = 0; i < SP; i++)
				p[c] += x[(n * SP + i) * SC + c] / SP;
		}
		for (int r = 0; r < SR; r++) {
			a[r] = b1[r];
			for (int c = 0; c < SC; c++)
				a[r] += w1[r * SC + c] * p[c];
			a[r] = fmax(a[r], 0);
		}
		for (int c = 0; c < SC; c++) {
			double z = b2[c];
			for (int r = 0; r < SR; r++)
				z += w2[c * SR + r] * a[r];
			s[c] = 1 / (1 + exp(-z));
		}
		for (int i = 0; i < SP; i++)
			for (int c = 0; c < SC; c++)
				y[(n * SP + i) * SC + c] = x[(n * SP + i) * SC + c] * s[c];
	}
}
static void se_run(const float *v, float *y, const float *dy, float *g)
{
	float p[SN * SC], z1[SN * SR], a1[SN * SR], s[SN * SC], dp[SN * SC], dz1[SN * SR];
	struct se_saved sv = {.p = p, .z1 = z1, .a1 = a1, .s = s, .dp = dp, .dz1 = dz1};
	const float *w1 = v + SE_NX, *b1 = w1 + SR * SC, *w2 = b1 + SR, *b2 = w2 + SC * SR;
	float *gw1 = g + SE_NX, *gb1 = gw1 + SR * SC, *gw2 = gb1 + SR, *gb2 = gw2 + SC * SR;
	se_forward(y, &sv, v, w1, b1, w2, b2, SN, SP, SC, SR);
	se_backward(g, gw1, gb1, gw2, gb2, &sv, dy, v, w1, w2, SN, SP, SC, SR, 0);
}

/* A second backward after one forward gives the same gradients: the forward's state survives
 * the backward (a1 used to be kept in the backward's scratch and was overwritten by it). */
static void check_se_backward_twice(void)
{
	enum { NV = SE_NX + 2 * SR * SC + SR + SC };
	static float v[NV], y[SE_NX], dy[SE_NX], g[2][NV];
	float p[SN * SC], z1[SN * SR], a1[SN * SR], s[SN * SC], dp[SN * SC], dz1[SN * SR];
	struct se_saved sv = {.p = p, .z1 = z1, .a1 = a1, .s = s, .dp = dp, .dz1 = dz1};
	for (int i = 0; i < NV; i++)
		v[i] = (float)urand();
	for (int i = 0; i < SE_NX; i++)
		dy[i] = (float)urand();
	const float *w1 = v + SE_NX, *b1 = w1 + SR * SC, *w2 = b1 + SR, *b2 = w2 + SC * SR;
	se_forward(y, &sv, v, w1, b1, w2, b2, SN, SP, SC, SR);
	for (int k = 0; k < 2; k++) {
		float *gw1 = g[k] + SE_NX, *gb1 = gw1 + SR * SC, *gw2 = gb1 + SR, *gb2 = gw2 + SC * SR;
		se_backward(g[k], gw1, gb1, gw2, gb2, &sv, dy, v, w1, w2, SN, SP, SC, SR, 0);
	}
	T_CHECK(memcmp(g[0], g[1], sizeof g[0]) == 0,
		"squeeze-excite: a second backward after one forward gives the same gradients");
}

/* ---- global average pool x [GN][GP][GC] -> [GN][GC] ---- */
enum { GN = 3, GP = 4, GC = 5 };
static void gap_ref(const double *v, double *y)
{
	for (int n = 0; n < GN; n++)
		for (int c = 0; c < GC; c++) {
			y[n * GC + c] = 0;
			for (int i = 0; i < GP; i++)
				y[n * GC + c] += v[(n * GP + i) * GC + c] / GP;
		}
}
static void gap_run(const float *v, float *y, const float *dy, float *g)
{
	gap_forward(y, v, GN, GP, GC);
	gap_backward(g, dy, GN, GP, GC, 0);
}

/* ---- linear: x [LN][LI], w [LO][LI], b [LO] ---- */
enum { LN = 3, LI = 6, LO = 4 };
static void lin_ref(const double *v, double *y)
{
	const double *x = v, *w = v + LN * LI, *b = w + LO * LI;
	for (int n = 0; n < LN; n++)
		for (int o = 0; o < LO; o++) {
			double s = b[o];
			for (int i = 0; i < LI; i++)
				s += x[n * LI + i] * w[o * LI + i];
			y[n * LO + o] = s;
		}
}
static void lin_run(const float *v, float *y, const float *dy, float *g)
{
	const float *w = v + LN * LI, *b = w + LO * LI;
	linear_forward(y, v, w, b, LN, LI, LO);
	linear_backward(g, g + LN * LI, g + LN * LI + LO * LI, dy, v, w, LN, LI, LO, 0);
}

/* ---- dropout with a fixed mask: y = x·mask ---- */
enum { DN = 40 };
static float dmask[DN];
static void drop_ref(const double *v, double *y)
{
	for (int i = 0; i < DN; i++)
		y[i] = v[i] * dmask[i];
}
static void drop_run(const float *v, float *y, const float *dy, float *g)
{
	(void)y;
	for (int i = 0; i < DN; i++)
		y[i] = v[i] * dmask[i];
	dropout_backward(g, dy, dmask, DN, 0);
}

/* ---- residual add: y = a + b ---- */
enum { RN = 30 };
static void add_ref(const double *v, double *y)
{
	for (int i = 0; i < RN; i++)
		y[i] = v[i] + v[RN + i];
}
static void add_run(const float *v, float *y, const float *dy, float *g)
{
	add_forward(y, v, v + RN, RN);
	pass_backward(g, dy, RN, 0);
	pass_backward(g + RN, dy, RN, 0);
}

/* softmax cross-entropy: dlogits against finite differences of the loss. */
static void check_xent(void)
{
	enum { N = 3, O = 5 };
	float z[N * O], dz[N * O];
	int lab[N] = {0, 3, 4};
	for (int i = 0; i < N * O; i++)
		z[i] = (float)(3 * urand());
	softmax_xent(dz, z, lab, N, O);
	double worst = 0;
	for (int i = 0; i < N * O; i++) {
		float keep = z[i];
		z[i] = keep + 1e-2f;
		double lp = softmax_xent(NULL, z, lab, N, O);
		z[i] = keep - 1e-2f;
		double lm = softmax_xent(NULL, z, lab, N, O);
		z[i] = keep;
		worst = fmax(worst, fabs((lp - lm) / 2e-2 - dz[i]));
	}
	T_CHECK(worst < 1e-4, "softmax cross-entropy: dlogits = finite differences (%.2g)", worst);
	int bad[N] = {0, 5, 1};
	T_CHECK(isnan(softmax_xent(dz, z, bad, N, O)), "softmax cross-entropy: bad label gives NaN");
}

/* dx (+)= Σ dy·w at stride 2 and more, each input's taps in the order of the tap lists (ky
 * ascending, then kx) from 0 with fused multiply-adds (fmaf rounds once, as the instruction
 * does), then added to dx when accum: what the fast kernels compute on a CPU with FMA, bit for
 * bit. */
static void dw_dx_in_tap_order(float *dx, const float *dy, const float *w, const struct dw_shape *s,
			       int accum)
{
	const int st = s->stride, C = s->C;
	for (int n = 0; n < s->N; n++)
		for (int iy = 0; iy < s->H; iy++)
			for (int ix = 0; ix < s->W; ix++)
				for (int c = 0; c < C; c++) {
					float acc = 0;
					int ky0 = (iy + s->pad) % st, kx0 = (ix + s->pad) % st;
					for (int ky = ky0, oy = (iy + s->pad - ky0) / st;
					     ky < s->k && oy >= 0; ky += st, oy--)
						for (int kx = kx0, ox = (ix + s->pad - kx0) / st;
						     kx < s->k && ox >= 0 && oy < s->OH; kx += st, ox--)
							if (ox < s->OW)
								acc = fmaf(dy[(((size_t)n * s->OH + oy) * s->OW + ox) * C + c],
									   w[((size_t)ky * s->k + kx) * C + c], acc);
					float *d = dx + (((size_t)n * s->H + iy) * s->W + ix) * C + c;
					*d = accum ? acc + *d : acc;
				}
}

/* The fast kernels against their plain versions on a larger shape. */
static void check_dw_fast_vs_plain(struct dw_shape s)
{
	s.OH = (s.H + 2 * s.pad - s.k) / s.stride + 1;
	s.OW = (s.W + 2 * s.pad - s.k) / s.stride + 1;
	size_t nx = (size_t)s.N * s.H * s.W * s.C, ny = (size_t)s.N * s.OH * s.OW * s.C;
	size_t nw = (size_t)s.k * s.k * s.C;
	float *x = xmalloc(4 * nx), *w = xmalloc(4 * nw), *dy = xmalloc(4 * ny);
	float *y1 = xmalloc(4 * ny), *y2 = xmalloc(4 * ny), *dx1 = xmalloc(4 * nx);
	float *dx2 = xmalloc(4 * nx), *dw1 = xmalloc(4 * nw), *dw2 = xmalloc(4 * nw);
	for (size_t i = 0; i < nx; i++)
		x[i] = (float)urand(), dx1[i] = dx2[i] = (float)urand();
	for (size_t i = 0; i < nw; i++)
		w[i] = (float)urand();
	for (size_t i = 0; i < ny; i++)
		dy[i] = (float)urand();
	struct dw_work wk = {xmalloc(sizeof(float) * dw_work_floats(&s, 2)), 2};
	depthwise_forward(y1, x, w, &s, &wk);
	depthwise_forward_ref(y2, x, w, &s);
	double d = 0;
	for (size_t i = 0; i < ny; i++)
		d = fmax(d, fabs(y1[i] - y2[i]));
	T_CHECK(d < 1e-5, "depthwise k%d s%d C%d forward: fast = plain (%.2g)", s.k, s.stride, s.C,
		d);
	/* Without scratch the forward takes the tap lists and pixel blocks (no padded image, no
	 * dw_avx512): every kernel adds the same products in the same order, so the sums agree
	 * bit for bit, not just within rounding. */
	depthwise_forward(y2, x, w, &s, NULL);
	T_CHECK(memcmp(y1, y2, sizeof(float) * ny) == 0,
		"depthwise k%d s%d C%d forward: the same bits with and without scratch", s.k,
		s.stride, s.C);
	float *dx3 = xmalloc(4 * nx);
	memcpy(dx3, dx1, 4 * nx);
	depthwise_backward(dx1, dw1, dy, x, w, &s, 1, &wk);
	if (s.stride >= 2 && s.C >= 8) { /* the tap lists' order (C < 8 has kernels of its own) */
		if (cpu_features_detect().avx2_fma) {
			dw_dx_in_tap_order(dx3, dy, w, &s, 1);
			T_CHECK(memcmp(dx1, dx3, 4 * nx) == 0,
				"depthwise k%d s%d C%d input gradient: the tap lists' sums, bit for bit",
				s.k, s.stride, s.C);
		} else {
			t_skip_cpu("depthwise k%d s%d C%d input gradient bit for bit: no FMA", s.k,
				   s.stride, s.C);
		}
	}
	free(dx3);
	depthwise_backward_ref(dx2, dw2, dy, x, w, &s, 1);
	free(wk.buf);
	d = 0;
	for (size_t i = 0; i < nx; i++)
		d = fmax(d, fabs(dx1[i] - dx2[i]));
	for (size_t i = 0; i < nw; i++)
		d = fmax(d, fabs(dw1[i] - dw2[i]) / 10);
	T_CHECK(d < 1e-4, "depthwise k%d s%d C%d backward (accumulating): fast = plain (%.2g)", s.k,
		s.stride, s.C, d);
	free(x), free(w), free(dy), free(y1), free(y2), free(dx1), free(dx2), free(dw1), free(dw2);
}

/* BN with the activation fused against BN alone followed by the plain activation kernels. */
static void check_bn_act_fused_vs_plain(enum act a)
{
	enum { M = 700, C = 70 };
	float *x = xmalloc(4 * M * C), *dy = xmalloc(4 * M * C), *dz = xmalloc(4 * M * C);
	float *y1 = xmalloc(4 * M * C), *z = xmalloc(4 * M * C), *y2 = xmalloc(4 * M * C);
	float *dx1 = xmalloc(4 * M * C), *dx2 = xmalloc(4 * M * C), *dzp = xmalloc(4 * M * C);
	float gamma[C], beta[C], mean[C], invstd[C], rm[C] = {0}, rv[C], dg[2][C], db[2][C];
	for (int c = 0; c < C; c++)
		gamma[c] = (float)(1.5 * urand()), beta[c] = (float)(2 * urand()), rv[c] = 1;
	for (int i = 0; i < M * C; i++) {
		x[i] = (float)(3 * urand() + 1);
		dy[i] = dz[i] = (float)urand();
		dx1[i] = dx2[i] = (float)urand(); /* accumulated into */
	}
	bn_forward_train(y1, mean, invstd, rm, rv, x, gamma, beta, M, C, (int)a);
	bn_backward(dx1, dg[0], db[0], dz, x, mean, invstd, gamma, beta, M, C, 1, (int)a);
	bn_forward_train(z, mean, invstd, rm, rv, x, gamma, beta, M, C, BN_NO_ACT);
	act_forward(a, y2, z, (size_t)M * C);
	act_backward(a, dzp, dy, z, (size_t)M * C, 0);
	bn_backward(dx2, dg[1], db[1], dzp, x, mean, invstd, gamma, beta, M, C, 1, BN_NO_ACT);
	double dyv = 0, ddx = 0, dpar = 0;
	for (int i = 0; i < M * C; i++) {
		dyv = fmax(dyv, fabs(y1[i] - y2[i]));
		ddx = fmax(ddx, fabs(dx1[i] - dx2[i]));
	}
	for (int c = 0; c < C; c++)
		dpar = fmax(dpar, fmax(fabs(dg[0][c] - dg[1][c]), fabs(db[0][c] - db[1][c])) / M);
	T_CHECK(dyv < 1e-5 && ddx < 1e-4 && dpar < 1e-5,
		"batchnorm + %s fused = batchnorm then activation (y %.2g, dx %.2g, dgamma/M %.2g)",
		a == ACT_RELU6 ? "relu6" : a == ACT_LEAKYRELU ? "leakyrelu" : "swish", dyv, ddx, dpar);
	free(x), free(dy), free(dz), free(y1), free(z), free(y2), free(dx1), free(dx2), free(dzp);
}

/* BN on a narrow tensor (3 channels, run as [M/16][48]) against double precision: the output,
 * the saved and running statistics, and the parameter gradients. */
static void check_bn_narrow(void)
{
	enum { M = 96, C = 3 };
	float x[M * C], y[M * C], dy[M * C], dx[M * C], gamma[C] = {1.5f, 0.5f, 2}, beta[C] = {0, 1, -1};
	float mean[C], invstd[C], rm[C] = {0}, rv[C] = {1, 1, 1}, dg[C], db[C];
	for (int i = 0; i < M * C; i++)
		x[i] = (float)(3 * urand() + (i % C)), dy[i] = (float)urand();
	bn_forward_train(y, mean, invstd, rm, rv, x, gamma, beta, M, C, BN_NO_ACT);
	bn_backward(dx, dg, db, dy, x, mean, invstd, gamma, beta, M, C, 0, BN_NO_ACT);
	double worst = 0;
	for (int c = 0; c < C; c++) {
		double mu = 0, var = 0, sdy = 0, sdyx = 0;
		for (int m = 0; m < M; m++)
			mu += x[m * C + c] / (double)M;
		for (int m = 0; m < M; m++)
			var += (x[m * C + c] - mu) * (x[m * C + c] - mu) / M;
		double is = 1 / sqrt(var + 1e-5);
		for (int m = 0; m < M; m++) {
			double xh = (x[m * C + c] - mu) * is;
			worst = fmax(worst, fabs(y[m * C + c] - (xh * gamma[c] + beta[c])));
			sdy += dy[m * C + c], sdyx += dy[m * C + c] * xh;
		}
		for (int m = 0; m < M; m++) {
			double xh = (x[m * C + c] - mu) * is;
			double d = gamma[c] * is / M * (M * dy[m * C + c] - sdy - xh * sdyx);
			worst = fmax(worst, fabs(dx[m * C + c] - d));
		}
		worst = fmax(worst, fabs(mean[c] - mu) + fabs(invstd[c] - is) / is);
		worst = fmax(worst, fabs(rm[c] - 0.1 * mu) + fabs(rv[c] - (0.9 + 0.1 * var * M / (M - 1))));
		worst = fmax(worst, (fabs(db[c] - sdy) + fabs(dg[c] - sdyx)) / M);
	}
	T_CHECK(worst < 1e-5, "batchnorm on 3 channels (rows grouped 16 at a time) = double reference "
		"(y, dx, statistics, running statistics, dgamma, dbeta: %.2g)", worst);
}

/* The fused kernels' swish (its own vectorised e^x) against double precision, over a range
 * that covers both tails: relative error above v = -20, and below it (where e^-v is clamped at
 * e^20, nn_act.c: EXP_VEC_MAX) an absolute error within |v|·2.1e-9. */
static void check_swish_exp(void)
{
	enum { N = 4001 };
	float *x = xmalloc(4 * N), *y = xmalloc(4 * N), *g = xmalloc(4 * N);
	float *one = xmalloc(4 * N), *zero = xmalloc(4 * N);
	for (int i = 0; i < N; i++) {
		x[i] = (float)(-100.0 + 0.05 * i);
		g[i] = 1, one[i] = 1, zero[i] = 0;
	}
	act_affine_forward_row(ACT_SWISH, y, x, one, zero, N);
	act_affine_backward_row(ACT_SWISH, g, x, one, zero, N);
	double fwd = 0, bwd = 0;
	double tail = 0;
	for (int i = 0; i < N; i++) {
		double v = x[i], s = 1 / (1 + exp(-v));
		double ef = fabs(y[i] - v * s), eb = fabs(g[i] - s * (1 + v * (1 - s)));
		if (v < -20) {
			tail = fmax(tail, fmax(ef, eb) / (fabs(v) * 2.1e-9));
			continue;
		}
		fwd = fmax(fwd, ef / fmax(fabs(v * s), 1e-30));
		bwd = fmax(bwd, eb / fmax(1, fabs(v)));
	}
	T_CHECK(fwd < 1e-6 && bwd < 1e-6 && tail <= 1,
		"swish with the vectorised exp = double precision on [-20, 100] (fwd %.2g, bwd %.2g), "
		"within |v|·2.1e-9 below (%.2g of it)", fwd, bwd, tail);
	free(x), free(y), free(g), free(one), free(zero);
}

/* Seconds for the fused forward row kernel with activation a over rows of x: the fastest of
 * 5 rounds. */
static double act_row_seconds(enum act a, float *y, const float *x, const float *one,
			      const float *zero, int rows, int C)
{
	double best = 1e30;
	for (int round = 0; round < 5; round++) {
		double t = now_seconds();
		for (int r = 0; r < rows; r++)
			act_affine_forward_row(a, y + (size_t)r * C, x + (size_t)r * C, one, zero, C);
		t = now_seconds() - t;
		best = t < best ? t : best;
	}
	return best;
}

/* No subnormal branch in the fused swish: on data in cache it takes about 5 times LeakyReLU's
 * time, and took 38 times through a microcode assist per vector when its exp's clamp reached
 * 88 (nn_act.c: EXP_VEC_MAX). The bound, 12 times, leaves room for other CPUs. */
static void check_swish_speed(void)
{
	enum { C = 64, ROWS = 2048 };
	float *x = xmalloc(sizeof(float) * C * ROWS), *y = xmalloc(sizeof(float) * C * ROWS);
	float one[C], zero[C];
	for (int c = 0; c < C; c++)
		one[c] = 1, zero[c] = 0;
	for (int i = 0; i < C * ROWS; i++)
		x[i] = (float)((i * 7919) % 1000) / 300.0f - 1.5f;
	double leaky = act_row_seconds(ACT_LEAKYRELU, y, x, one, zero, ROWS, C);
	double swish = act_row_seconds(ACT_SWISH, y, x, one, zero, ROWS, C);
	T_CHECK(swish < 12 * leaky, "fused swish takes %.1fx LeakyReLU's time (at most 12x: no "
		"subnormal branch)", swish / leaky);
	free(x), free(y);
}

typedef void sgemm_fn(int M, int N, int K, const float *a, size_t ars, size_t aks,
		      const float *b, size_t ldb, float *c, size_t ldc, int add);

/* A sgemm_small kernel against its plain loops: A as rows and transposed, written and added,
 * with partial blocks of rows and columns (masked lanes) and K over one slice. */
static void check_sgemm_small(sgemm_fn *kernel, const char *name, int M, int N, int K,
			      int trans_a, int add)
{
	float *a = xmalloc(4 * (size_t)M * K), *b = xmalloc(4 * (size_t)K * (N + 3));
	float *c1 = xmalloc(4 * (size_t)M * (N + 5)), *c2 = xmalloc(4 * (size_t)M * (N + 5));
	for (size_t i = 0; i < (size_t)M * K; i++)
		a[i] = (float)urand();
	for (size_t i = 0; i < (size_t)K * (N + 3); i++)
		b[i] = (float)urand();
	for (size_t i = 0; i < (size_t)M * (N + 5); i++)
		c1[i] = c2[i] = (float)urand();
	size_t ars = trans_a ? 1 : (size_t)K, aks = trans_a ? (size_t)M : 1;
	/* B and C with row strides wider than N: columns past N are never read or written */
	kernel(M, N, K, a, ars, aks, b, N + 3, c1, N + 5, add);
	sgemm_small_ref(M, N, K, a, ars, aks, b, N + 3, c2, N + 5, add);
	double d = 0;
	for (size_t i = 0; i < (size_t)M * (N + 5); i++)
		d = fmax(d, fabs(c1[i] - c2[i]) / (1 + sqrt((double)K)));
	T_CHECK(d < 1e-5, "%s %dx%dx%d%s%s = plain loops (%.2g)", name, M, N, K,
		trans_a ? " Aᵀ" : "", add ? " added" : "", d);
	free(a), free(b), free(c1), free(c2);
}

/* Each sgemm_small kernel this CPU runs (the AVX2 one, the AVX-512 one, and sgemm_small, which
 * picks one) over shapes with partial row blocks (of 6 and of 12 rows), partial column vectors
 * (of 8 and of 16), one to three vectors a row, and K over one slice (256). */
static void check_sgemm_kernels(void)
{
	static const int shapes[][5] = { /* M, N, K, trans_a, add */
		{13, 37, 5, 0, 0},  {6, 16, 300, 0, 1}, {29, 3, 600, 1, 0}, {7, 24, 40, 1, 1},
		{1, 8, 1, 0, 0},    {25, 45, 7, 0, 0},  {12, 32, 257, 0, 1}, {37, 17, 33, 1, 0},
		{11, 64, 3, 1, 1},  {24, 1, 9, 0, 0},
	};
	struct {
		sgemm_fn *fn;
		const char *name;
		int (*available)(void);
	} kernels[] = {{sgemm_small_avx2, "sgemm_small (AVX2)", sgemm_small_available},
		       {sgemm_small_avx512, "sgemm_small (AVX-512)", sgemm_small_avx512_available},
		       {sgemm_small, "sgemm_small (dispatched)", sgemm_small_available}};
	for (size_t k = 0; k < sizeof kernels / sizeof kernels[0]; k++) {
		if (!kernels[k].available()) {
			t_skip_cpu("%s: this CPU lacks its instructions", kernels[k].name);
			continue;
		}
		for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
			check_sgemm_small(kernels[k].fn, kernels[k].name, shapes[s][0], shapes[s][1],
					  shapes[s][2], shapes[s][3], shapes[s][4]);
	}
}

/* The depthwise shapes whose fast kernels check_dw_fast_vs_plain compares with the plain ones. */
static const struct dw_shape dw_shapes[] = {
	{.N = 3, .H = 11, .W = 9, .C = 70, .k = 5, .stride = 2, .pad = 2},
	{.N = 5, .H = 8, .W = 10, .C = 3, .k = 3, .stride = 1, .pad = 1},
	{.N = 2, .H = 9, .W = 9, .C = 37, .k = 7, .stride = 1, .pad = 3},
	/* stride 1 with many channels: backward without replication */
	{.N = 3, .H = 7, .W = 6, .C = 80, .k = 3, .stride = 1, .pad = 1},
	/* channels a multiple of 8, rows wide enough for blocks of 8, 4 and 1 interior pixels */
	{.N = 2, .H = 12, .W = 21, .C = 16, .k = 3, .stride = 1, .pad = 1},
	{.N = 2, .H = 11, .W = 37, .C = 24, .k = 5, .stride = 2, .pad = 2},
	{.N = 3, .H = 9, .W = 23, .C = 8, .k = 7, .stride = 1, .pad = 3},
	/* 7x7 with more channels than one group of 32 (and a partial one) */
	{.N = 2, .H = 9, .W = 19, .C = 72, .k = 7, .stride = 1, .pad = 3},
	/* strided, fewer than 8 channels: the first layer's kernels */
	{.N = 3, .H = 13, .W = 11, .C = 3, .k = 3, .stride = 2, .pad = 1},
	{.N = 2, .H = 10, .W = 9, .C = 5, .k = 5, .stride = 2, .pad = 2},
	/* no interior: every pixel on the border */
	{.N = 2, .H = 4, .W = 4, .C = 8, .k = 7, .stride = 1, .pad = 3},
	/* the pixel-blocked weight gradient: two vectors and a last one, 3x3 stride 2 over an
	 * odd width, one vector at 5x5 stride 2, 5x5 stride 1 over many channels; 7x7 stride 2
	 * (tap lists) */
	{.N = 2, .H = 9, .W = 13, .C = 40, .k = 3, .stride = 2, .pad = 1},
	{.N = 2, .H = 12, .W = 15, .C = 8, .k = 5, .stride = 2, .pad = 2},
	{.N = 2, .H = 15, .W = 17, .C = 24, .k = 7, .stride = 2, .pad = 3},
	{.N = 2, .H = 7, .W = 9, .C = 144, .k = 5, .stride = 1, .pad = 2},
	/* channels a multiple of 16 (dw_avx512 on CPUs with AVX-512): at stride 1 rows of 8, 4,
	 * 2 and 1 pixels, 3x3 over two vectors, 7x7 over a row narrower than the kernel */
	{.N = 3, .H = 6, .W = 15, .C = 48, .k = 5, .stride = 1, .pad = 2},
	{.N = 2, .H = 5, .W = 11, .C = 32, .k = 3, .stride = 1, .pad = 1},
	{.N = 2, .H = 6, .W = 5, .C = 16, .k = 7, .stride = 1, .pad = 3},
	/* and its weight gradient at stride 2: three vectors at 3x3, one at 5x5 */
	{.N = 2, .H = 9, .W = 13, .C = 48, .k = 3, .stride = 2, .pad = 1},
	{.N = 2, .H = 11, .W = 15, .C = 16, .k = 5, .stride = 2, .pad = 2},
	/* the input gradient at 7x7 stride 2: classes of 4 and 3 taps */
	{.N = 2, .H = 12, .W = 19, .C = 32, .k = 7, .stride = 2, .pad = 3},
	/* the tap lists' last C % 8 channels in the vector of the last 8 (taps_dot_tail): the
	 * make demo design's first depthwise (18 channels), and 6 channels past 8 */
	{.N = 2, .H = 9, .W = 11, .C = 18, .k = 5, .stride = 2, .pad = 2},
	{.N = 2, .H = 7, .W = 8, .C = 14, .k = 3, .stride = 2, .pad = 1},
};

static void check_fast_vs_plain(void)
{
	check_sgemm_kernels();
	check_swish_exp();
	check_swish_speed();
	check_bn_narrow();
	for (int a = 0; a < 3; a++)
		check_bn_act_fused_vs_plain((enum act)a);
	for (size_t i = 0; i < sizeof dw_shapes / sizeof dw_shapes[0]; i++)
		check_dw_fast_vs_plain(dw_shapes[i]);
	int M = 300, ci = 37, co = 29;
	float *a = xmalloc(4 * M * ci), *b = xmalloc(4 * co * ci), *c1 = xmalloc(4 * M * co);
	float *c2 = xmalloc(4 * M * co);
	for (int i = 0; i < M * ci; i++)
		a[i] = (float)urand();
	for (int i = 0; i < co * ci; i++)
		b[i] = (float)urand();
	struct pw_work pw = {xmalloc(sizeof(float) * pw_work_floats(ci, co, 2)), 2};
	conv1x1_forward(c1, a, b, M, ci, co, &pw);
	conv1x1_forward_ref(c2, a, b, M, ci, co);
	double d = 0;
	for (int i = 0; i < M * co; i++)
		d = fmax(d, fabs(c1[i] - c2[i]));
	T_CHECK(d < 1e-4, "conv1x1 forward: threaded GEMM = plain loops (%.2g)", d);
	/* backward: a = x [M][ci], b = w [co][ci], c1 = dy [M][co]; weight gradient split by pixels */
	float *dx1 = xmalloc(4 * M * ci), *dx2 = xmalloc(4 * M * ci);
	float *dw1 = xmalloc(4 * co * ci), *dw2 = xmalloc(4 * co * ci);
	for (int i = 0; i < M * ci; i++)
		dx1[i] = dx2[i] = (float)urand();
	conv1x1_backward(dx1, dw1, c1, a, b, M, ci, co, 1, &pw);
	conv1x1_backward_ref(dx2, dw2, c1, a, b, M, ci, co, 1);
	d = 0;
	for (int i = 0; i < M * ci; i++)
		d = fmax(d, fabs(dx1[i] - dx2[i]));
	for (int i = 0; i < co * ci; i++)
		d = fmax(d, fabs(dw1[i] - dw2[i]) / 100);
	T_CHECK(d < 1e-4, "conv1x1 backward (accumulating): pixel-split GEMMs = plain loops (%.2g)",
		d);
	free(pw.buf), free(dx1), free(dx2), free(dw1), free(dw2);
	free(a), free(b), free(c1), free(c2);
}

int main(void)
{
	const float logits[5] = {-1, 3, 0.5f, 3, 2};
	T_CHECK(logits_argmax(logits, 5) == 1 && logits_argmax(logits + 2, 3) == 1 &&
		logits_argmax(logits, 1) == 0, "logits_argmax: the first largest logit");
	struct layer_case pw = {"conv1x1", PM * PCI + PCO * PCI, PM * PCO, pw_ref, pw_run};
	check_case(&pw, 1);
	static const struct dw_shape shapes[] = {
		{.N = 2, .H = 5, .W = 6, .C = 3, .k = 3, .stride = 1, .pad = 1},
		{.N = 2, .H = 7, .W = 5, .C = 4, .k = 3, .stride = 2, .pad = 1},
		{.N = 1, .H = 6, .W = 6, .C = 40, .k = 5, .stride = 2, .pad = 2},
	};
	for (int i = 0; i < 3; i++) {
		D = shapes[i];
		D.OH = (D.H + 2 * D.pad - D.k) / D.stride + 1;
		D.OW = (D.W + 2 * D.pad - D.k) / D.stride + 1;
		char name[64];
		snprintf(name, sizeof name, "depthwise k%d s%d C%d", D.k, D.stride, D.C);
		struct layer_case c = {name, D.N * D.H * D.W * D.C + D.k * D.k * D.C,
				       D.N * D.OH * D.OW * D.C, dw_ref, dw_run};
		check_case(&c, 1);
	}
	BN_ACT = BN_NO_ACT;
	struct layer_case bn = {"batchnorm (training)", BM * BC + 2 * BC, BM * BC, bn_ref, bn_run};
	check_case(&bn, 2);
	static const char *an[] = {"relu6", "leakyrelu", "swish"};
	for (int i = 0; i < 3; i++) {
		A = (enum act)i;
		char name[48];
		snprintf(name, sizeof name, "%s", an[i]);
		struct layer_case c = {name, AN, AN, act_ref, act_run};
		check_case(&c, 8); /* spans ReLU6's 0 and 6 kinks (FD points near them are rare) */
		BN_ACT = i;
		snprintf(name, sizeof name, "batchnorm + %s (fused)", an[i]);
		struct layer_case f = {name, BM * BC + 2 * BC, BM * BC, bn_ref, bn_run};
		check_case(&f, 2);
	}
	struct layer_case se = {"squeeze-excitation", SE_NX + 2 * SR * SC + SR + SC, SE_NX, se_ref,
				se_run};
	check_case(&se, 1);
	struct layer_case gp = {"global average pool", GN * GP * GC, GN * GC, gap_ref, gap_run};
	check_case(&gp, 1);
	struct layer_case ln = {"linear", LN * LI + LO * LI + LO, LN * LO, lin_ref, lin_run};
	check_case(&ln, 1);
	for (int i = 0; i < DN; i++)
		dmask[i] = i % 3 ? 1.0f / 0.7f : 0.0f;
	struct layer_case dr = {"dropout", DN, DN, drop_ref, drop_run};
	check_case(&dr, 1);
	struct layer_case ad = {"residual add", 2 * RN, RN, add_ref, add_run};
	check_case(&ad, 1);
	check_xent();
	check_fast_vs_plain();
	check_se_backward_twice();
	return t_done();
}
