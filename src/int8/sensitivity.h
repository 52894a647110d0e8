/* sensitivity.h — which convs ternary weights cost the most: each conv that
 * --weight-format ternary makes ternary is ternarised alone (the rule of qat_ternary_channel,
 * depthwise taps that never meet the image zeroed) in the folded float network, and the images
 * are classified again; what changes is how often the top-1 class still agrees with the float
 * network's. A conv that loses much agreement for few weights is the one to keep int8
 * (--int8-ops), at the flash it costs. */
#ifndef LMNAS_SENSITIVITY_H
#define LMNAS_SENSITIVITY_H
#include <cJSON.h>

#include "int8/fold.h"

/* The ternary candidates of fn, most sensitive first: an array of
 *   {"op": name, "weights": n, "agree": top-1 agreement with the float network when this conv
 *    alone is ternary, "int8_extra_bytes": the flash keeping it int8 adds}
 * measured on n images x ([n][in_h][in_w][in_ch], normalised). fn's weights are restored. */
cJSON *ternary_sensitivity(struct fnet *fn, const float *x, int n, double sparsity);
#endif
