/* nn_head.h — the classifier head and the element-wise joins:
 *   gap:      x [N][P][C] -> y [N][C] (mean over the P = H*W pixels)
 *   dropout:  y = x·mask, mask[i] = 0 with probability p else 1/(1-p) (inverted dropout)
 *   linear:   y [N][O] = x [N][I] · w[O][I]ᵀ + b[O]
 *   softmax cross-entropy: mean over the batch of -log softmax(logits)[label]; dlogits written
 *   add:      y = a + b (the residual join)
 * Backward conventions as nn_conv.h: parameter gradients written, input gradients written or
 * added (accum). */
#ifndef LMNAS_NN_HEAD_H
#define LMNAS_NN_HEAD_H
#include <stddef.h>
#include <stdint.h>

void gap_forward(float *y, const float *x, int N, int P, int C);
void gap_backward(float *dx, const float *dy, int N, int P, int C, int accum);

/* rng: the engine stream (prng_xorshift_unit, prng.h), advanced by the call. */
void dropout_forward(float *y, float *mask, const float *x, size_t n, float p, uint64_t *rng);
void dropout_backward(float *dx, const float *dy, const float *mask, size_t n, int accum);

void linear_forward(float *y, const float *x, const float *w, const float *b, int N, int nin, int O);
void linear_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
		     const float *w, int N, int nin, int O, int accum);

/* The predicted class of one row of logits v[n]: the index of the first largest value. */
int logits_argmax(const float *v, int n);

/* Returns the mean loss; labels outside [0, O) make it return NAN. dlogits may be NULL. */
double softmax_xent(float *dlogits, const float *logits, const int *labels, int N, int O);

void add_forward(float *y, const float *a, const float *b, size_t n);
/* dx (+)= dy */
void pass_backward(float *dx, const float *dy, size_t n, int accum);
#endif
