/* latency.h — instructions of one inference on the Cortex-M7, predicted from the op graph.
 *
 * What is predicted is what `make m7-count` of emit-c's folder measures: RETIRED INSTRUCTIONS of
 * the emitted model built for Cortex-M7 with the DSP kernels of int8_dsp.h (QEMU -icount), not
 * cycles: memory wait states, cache misses, dual issue and multi-cycle instructions are left
 * out. Milliseconds at a clock of F MHz are instructions / (F * 1000), i.e. one instruction per
 * cycle: a first approximation only.
 *
 * Per op, instructions = sum_j coef[kind][j] * feature[j], the features being the loop trip
 * counts of the kernel the op calls (latency_features); the coefficients are least-squares fits
 * to per-op measurements (data/m7-latency.jsonl: pipelines/latency.sh, then
 * pipelines/latency-fit.py). The whole inference adds the input copy and the argmax. */
#ifndef LMNAS_LATENCY_H
#define LMNAS_LATENCY_H
#include <stdint.h>

#include "cost/graph.h"

#define LATENCY_NFEAT 6
#define LATENCY_DEFAULT_MHZ 216.0 /* STM32F7 */

/* LAT_DW: lmq_dw_dsp's windows; LAT_DW_GROUP: lmq_dwg_dsp (small outputs, channels by four). */
enum latency_kind { LAT_PW, LAT_DW, LAT_DW_GROUP, LAT_GAP, LAT_SCALE, LAT_ADD, LAT_NKINDS };

/* The kind of op (which kernel it calls) and its features, f[0] = 1. */
enum latency_kind latency_features(const struct graph *g, int op, double f[LATENCY_NFEAT]);

/* Predicted instructions of op `op` of g (the in-place graph emit-c runs). */
double latency_op_instructions(const struct graph *g, int op);

/* Predicted instructions of a whole inference. */
double latency_instructions(const struct graph *g);

/* Input rows the DSP depthwise gathers per channel (out_h output rows, kernel k, stride s). */
double latency_dw_rows(int out_h, int k, int s);

/* Kernel taps inside an input of n pixels, summed over the out_n outputs (kernel k, stride s,
 * padding pad): the taps per channel of the grouped depthwise are this for the rows times this
 * for the columns. */
double latency_dw_taps(int out_n, int n, int k, int s, int pad);

/* Milliseconds at mhz, one instruction per cycle. */
double latency_ms(double instructions, double mhz);

/* The kind's name ("pw", "dw", "dw_group", "gap", "scale", "add"), for the fit. */
const char *latency_kind_name(enum latency_kind k);
#endif
