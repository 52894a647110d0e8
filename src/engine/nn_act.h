/* nn_act.h — element-wise activations: ReLU6, LeakyReLU (slope 0.01), swish (x·sigmoid(x)).
 * act_forward/act_backward are the plain whole-tensor versions, the reference that the fused
 * BN + activation kernels are tested against. Backward takes the activation's input x:
 * dx (+)= act'(x)·dy. ReLU6's derivative is 1 on the open interval (0, 6) as in PyTorch's
 * hardtanh. */
#ifndef LMNAS_NN_ACT_H
#define LMNAS_NN_ACT_H
#include <stddef.h>
#include "core/arch.h"

void act_forward(enum act a, float *y, const float *x, size_t n);
void act_backward(enum act a, float *dx, const float *dy, const float *x, size_t n, int accum);
float sigmoidf(float x);

/* The same activations applied to an affine input, one row of C channels, for BN fused with its
 * activation (nn_bn.c); z = x[c]·scale[c] + shift[c] is recomputed, never stored.
 *   forward:  y[c] = act(z)
 *   backward: dy[c] *= act'(z)   (in place: the gradient at the output becomes the one at z) */
void act_affine_forward_row(enum act a, float *y, const float *x, const float *scale,
			    const float *shift, int C);
void act_affine_backward_row(enum act a, float *dy, const float *x, const float *scale,
			     const float *shift, int C);
#endif
