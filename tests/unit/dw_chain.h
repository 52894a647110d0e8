/* dw_chain.h — an arch of depthwise blocks (one layer of 8 channels each, relu6, no SE, no
 * residual) with the given kernels and strides, as JSON: small nets whose kernels overhang their
 * maps, for the live-tap tests (test_cost.c, test_qat.c). Header-only, for the unit tests. */
#ifndef LMNAS_TEST_DW_CHAIN_H
#define LMNAS_TEST_DW_CHAIN_H
#include <stdio.h>

/* Writes the arch into buf [n] (1 input channel); nblocks kernels and strides. */
static inline void dw_chain_json(char *buf, size_t n, int nblocks, const int *kernel,
				 const int *stride)
{
	size_t at = (size_t)snprintf(buf, n, "{\"input_channels\":1,\"blocks\":[");
	for (int b = 0; b < nblocks && at < n; b++)
		at += (size_t)snprintf(buf + at, n - at,
				       "%s{\"output_channels\":8,\"num_layers\":1,\"kernel_size\":%d,"
				       "\"stride\":%d,\"expansion_factor\":1,\"use_se\":false,"
				       "\"se_ratio\":0,\"conv_type\":\"depthwise\",\"skip_op\":"
				       "\"identity\",\"activation\":\"relu6\"}",
				       b ? "," : "", kernel[b], stride[b]);
	if (at < n)
		snprintf(buf + at, n - at, "]}");
}
#endif
