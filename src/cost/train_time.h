/* train_time.h — a deterministic estimate of a design's training time: microseconds per training
 * image (forward + backward + SGD step, batch 128, one thread), from the op graph:
 *
 *   us = C0 + C_PW * pw_MMACs + C_DW * dw_MMACs + C_ACT * activation_kElements
 *
 * pw: every 1x1 conv and the classifier (GEMMs: SE's too); dw: depthwise convs; activations: the
 * elements every op writes (the elementwise work of BN, activations, SE scale, adds). The constants
 * are fitted to mini-train --benchmark measurements (pipelines/fit-train-time.sh; the figures are
 * in data/train-time.jsonl). A choice made on this estimate does not depend on how busy the machine
 * was while something was timed. */
#ifndef LMNAS_TRAIN_TIME_H
#define LMNAS_TRAIN_TIME_H
#include "core/arch.h"

#include <cJSON.h>

struct train_time_features {
	double pw_mmacs; /* millions of 1x1-conv and classifier MACs per image */
	double dw_mmacs; /* millions of depthwise MACs per image */
	double act_k;    /* thousands of activation elements written per image */
};

void train_time_features(const struct arch_net *net, struct train_time_features *f);
/* The estimate from the committed constants (at least 1 us). */
double train_time_us_per_image(const struct train_time_features *f);
/* The features and estimate of a record (its arch at cost.resolution and cost.classes, else
 * resolution/classes keys, else the given defaults). Returns 0, or -1 with a reason. */
int train_time_record(const cJSON *rec, int res_h, int res_w, int classes,
		      struct train_time_features *f, double *us, char *err, size_t errlen);
#endif
