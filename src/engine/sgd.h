/* sgd.h — SGD with momentum, Nesterov and weight decay, exactly PyTorch's torch.optim.SGD
 * (dampening 0):
 *     g = grad + wd·p;   buf = momentum·buf + g   (buf = g at the first step);
 *     g = g + momentum·buf (Nesterov) or g = buf;   p -= lr·g
 * Weight decay applies to every parameter (BN and biases included), as the reference's
 * optim.SGD(model.parameters()) does. */
#ifndef LMNAS_SGD_H
#define LMNAS_SGD_H
#include <stddef.h>

struct sgd {
	float momentum, weight_decay;
	int nesterov;
	size_t n;
	float *buf; /* momentum buffer [n] */
	long steps;
};

struct sgd *sgd_new(size_t n, float momentum, float weight_decay, int nesterov);
void sgd_free(struct sgd *s);
void sgd_step(struct sgd *s, float *params, const float *grads, float lr);
#endif
