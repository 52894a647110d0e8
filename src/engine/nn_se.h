/* nn_se.h — squeeze-and-excitation on x: [N][P][C] (P = H*W pixels), R squeeze channels:
 *   p = mean_P x  [N][C];  z1 = p·w1ᵀ + b1  [N][R];  a1 = relu(z1);
 *   z2 = a1·w2ᵀ + b2  [N][C];  s = sigmoid(z2);  y = x · s (per image and channel).
 * w1: [R][C], w2: [C][R] (PyTorch 1x1 conv weights). The forward saves p, z1, s ([N][C], [N][R],
 * [N][C]) for the backward. */
#ifndef LMNAS_NN_SE_H
#define LMNAS_NN_SE_H

struct se_saved {
	float *p, *z1, *s;  /* [N][C], [N][R], [N][C] */
	float *dp, *dz1;    /* backward scratch: [N][C], [N][R] */
};

void se_forward(float *y, struct se_saved *sv, const float *x, const float *w1, const float *b1,
		const float *w2, const float *b2, int N, int P, int C, int R);
void se_backward(float *dx, float *dw1, float *db1, float *dw2, float *db2, struct se_saved *sv,
		 const float *dy, const float *x, const float *w1, const float *w2, int N, int P,
		 int C, int R, int accum);
#endif
