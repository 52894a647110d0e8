/* small_net.h — the small network the QAT tests train and quantise (test_qat.c, test_qat_act.c):
 * a depthwise block, then two mbconv layers with SE, swish and a residual; 16x16 grey input,
 * 10 classes, batches of SMALL_NET_BATCH images. Header-only, for the unit tests. */
#ifndef LMNAS_TEST_SMALL_NET_H
#define LMNAS_TEST_SMALL_NET_H
#include "core/arch.h"
#include "core/util.h"
#include "engine/net.h"

#include <cJSON.h>

#define SMALL_NET_BATCH 4
#define SMALL_NET_RES 16

static const char *SMALL_NET_ARCH =
	"{\"input_channels\":1,\"blocks\":["
	"{\"output_channels\":8,\"num_layers\":1,\"kernel_size\":3,\"stride\":2,\"expansion_factor\":1,"
	"\"use_se\":false,\"se_ratio\":0,\"conv_type\":\"depthwise\",\"skip_op\":\"identity\",\"activation\":\"relu6\"},"
	"{\"output_channels\":16,\"num_layers\":2,\"kernel_size\":3,\"stride\":2,\"expansion_factor\":2,"
	"\"use_se\":true,\"se_ratio\":0.25,\"conv_type\":\"mbconv\",\"skip_op\":\"residual\",\"activation\":\"swish\"}]}";

/* The network with weights initialised from seed (dies on an error: the arch is fixed). */
static inline struct net *small_net(uint64_t seed)
{
	struct arch a;
	char err[256];
	cJSON *j = cJSON_Parse(SMALL_NET_ARCH);
	if (arch_parse(j, &a, err, sizeof err))
		die("%s", err);
	cJSON_Delete(j);
	struct net *n = net_new(&a, SMALL_NET_RES, SMALL_NET_RES, 10, SMALL_NET_BATCH, 0.0f, err,
				sizeof err);
	if (!n)
		die("%s", err);
	net_init_weights(n, seed);
	return n;
}
#endif
