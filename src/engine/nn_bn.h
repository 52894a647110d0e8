/* nn_bn.h — batch normalisation over NHWC activations viewed as x: [M][C] (M = N*H*W).
 *
 * Training: batch mean and biased variance normalise; running statistics are updated as PyTorch
 * does (momentum 0.1, running_var from the unbiased variance). Inference: running statistics.
 * mean and invstd ([C]) are saved by the training forward for the backward. eps = 1e-5.
 * The activation that follows BN in a layer is fused into it: one pass over memory instead of
 * two forward and backward. */
#ifndef LMNAS_NN_BN_H
#define LMNAS_NN_BN_H

#define BN_EPS 1e-5f
#define BN_MOMENTUM 0.1f

#define BN_NO_ACT (-1) /* act: BN alone; otherwise an enum act applied to BN's output */

/* y = act(BN(x)); the activation's input is never stored (the backward recomputes it from x). */
void bn_forward_train(float *y, float *mean, float *invstd, float *run_mean, float *run_var,
		      const float *x, const float *gamma, const float *beta, int M, int C, int act);
void bn_forward_infer(float *y, const float *x, const float *gamma, const float *beta,
		      const float *run_mean, const float *run_var, int M, int C, int act);
/* dgamma, dbeta written; dx written (accum 0) or added (accum 1); dx may be NULL.
 * dy: the gradient at y; with an activation it is overwritten by the gradient at BN's output. */
void bn_backward(float *dx, float *dgamma, float *dbeta, float *dy, const float *x,
		 const float *mean, const float *invstd, const float *gamma, const float *beta,
		 int M, int C, int accum, int act);
#endif
