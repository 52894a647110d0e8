/* nn_se.h — squeeze-and-excitation on x: [N][P][C] (P = H*W pixels), R squeeze channels:
 *   p = mean_P x  [N][C];  z1 = p·w1ᵀ + b1  [N][R];  a1 = relu(z1);
 *   z2 = a1·w2ᵀ + b2  [N][C];  s = sigmoid(z2);  y = x · s (per image and channel).
 * w1: [R][C], w2: [C][R] (PyTorch 1x1 conv weights). The forward saves p, z1, s ([N][C], [N][R],
 * [N][C]) for the backward. */
#ifndef LMNAS_NN_SE_H
#define LMNAS_NN_SE_H
#include <stddef.h>

/* The values inside SE a tap may rewrite (fake quantisation), in the order the forward makes
 * them: p, a1 = relu(z1), z2 (before the sigmoid) and the gate s. */
enum se_part { SE_POOL, SE_FC1, SE_FC2_PRE, SE_GATE, SE_NPARTS };
/* forward: called on each part right after it is computed (v: [n], rewritable); backward: on the
 * gradient at that part once it is complete, before it flows further back. The backward then
 * takes the rounded values as they are (the sigmoid's derivative at the rounded gate). */
struct se_tap {
	void (*forward)(void *ctx, enum se_part part, float *v, size_t n, int train);
	void (*backward)(void *ctx, enum se_part part, float *g, size_t n);
	void *ctx;
};

struct se_saved {
	float *p, *z1, *a1, *s; /* [N][C], [N][R], [N][R] relu(z1), [N][C]: kept for the backward */
	float *dp, *dz1;    /* backward scratch: [N][C], [N][R] */
	struct se_tap tap;  /* forward NULL: none */
	int train;          /* se_forward's: whether the tap observes */
};

void se_forward(float *y, struct se_saved *sv, const float *x, const float *w1, const float *b1,
		const float *w2, const float *b2, int N, int P, int C, int R);
void se_backward(float *dx, float *dw1, float *db1, float *dw2, float *db2, struct se_saved *sv,
		 const float *dy, const float *x, const float *w1, const float *w2, int N, int P,
		 int C, int R, int accum);
#endif
