/* zero_cost.h — scores of an untrained network from one batch of training images: no training
 * step, a fraction of a second per design, so a search can rank designs before it trains them.
 *
 *   naswot     Mellor et al. 2021, "Neural Architecture Search without Training": each image's
 *              binary code says which units after every activation are positive (ReLU6, leaky,
 *              swish: positive exactly when their input is); K[i][j] = the number of units on
 *              which images i and j agree; naswot = log|det K|. A network whose activations
 *              tell the images apart scores higher.
 *   grad_norm  Abdelfattah et al. 2021: the Euclidean norm of the gradient of the batch's mean
 *              cross-entropy with respect to every parameter.
 *
 * Usage:
 *     struct net *n = net_new(&arch, H, W, classes, B, 0.0f, err, sizeof err);
 *     net_init_weights(n, seed);
 *     struct zero_cost zc;
 *     if (zero_cost_score(n, x, y, B, &zc, err, sizeof err)) ...   // x [B][C][H][W], y [B]
 */
#ifndef LMNAS_ZERO_COST_H
#define LMNAS_ZERO_COST_H
#include <cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include "engine/net.h"
#include "engine/train.h"

struct zero_cost {
	double naswot;    /* log|det K| */
	double grad_norm; /* ||d loss / d params|| */
	long units;       /* activation units in each image's code */
};

/* Scores n (freshly initialised) on the batch x [B][C][H][W] with labels y [B], 2 <= B <=
 * n->max_batch. Runs one training forward (the BN running statistics move) and one backward.
 * Returns 0, or -1 with a reason in err: no activation to code, two images with the same code
 * (K singular), a non-finite loss. */
int zero_cost_score(struct net *n, const float *x, const int32_t *y, int B, struct zero_cost *zc,
		    char *err, size_t errlen);

/* log|det a| of the n x n matrix a (row-major, overwritten) by Gaussian elimination with partial
 * pivoting; -INFINITY when a is singular. */
double log_abs_det(double *a, int n);

/* mini-train --zero-cost: scores the record's arch (seeded init, o->seed) on the first `images`
 * training images of a seeded shuffle of the training split (no augmentation) and fills stage
 * with naswot, grad_norm, units, images and seconds. Returns 0, or -1 with a reason in err. */
int zero_cost_record(const struct train_opts *o, const struct train_data *td, const cJSON *rec,
		     int images, cJSON *stage, char *err, size_t errlen);
#endif
