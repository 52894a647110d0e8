/* nn_act.h — element-wise activations: ReLU6, LeakyReLU (slope 0.01), swish (x·sigmoid(x)).
 * Backward takes the activation's input x: dx (+)= act'(x)·dy. ReLU6's derivative is 1 on the
 * open interval (0, 6) as in PyTorch's hardtanh. */
#ifndef LMNAS_NN_ACT_H
#define LMNAS_NN_ACT_H
#include <stddef.h>
#include "arch.h"

#define LEAKY_SLOPE 0.01f

void act_forward(enum act a, float *y, const float *x, size_t n);
void act_backward(enum act a, float *dx, const float *dy, const float *x, size_t n, int accum);
float sigmoidf(float x);
#endif
