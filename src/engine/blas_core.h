/* blas_core.h — OpenBLAS's kernels for the CPU this program runs on.
 *
 * OpenBLAS picks its kernels once, while the library loads, from the CPU's model number.
 * Debian's 0.3.21 does not know CPUs newer than it (an Emerald Rapids Xeon, family 6 model 207,
 * among them) and falls back to its SSE3 kernels, "Prescott": a 1536³ SGEMM then ran at 28
 * GFLOP/s on one core where its AVX-512 kernels ("SkylakeX") ran at 148. OPENBLAS_CORETYPE
 * names the kernels to use instead, and OpenBLAS reads it only while it loads, so
 * blas_core_ensure runs the program again with it set.
 *
 *   int main(int argc, char **argv) { util_init(argv[0]); blas_core_ensure(argv); ... }
 *
 * Call it first, before anything reads stdin (the program starts over: a buffered read would
 * be lost). */
#ifndef LMNAS_BLAS_CORE_H
#define LMNAS_BLAS_CORE_H
#include "core/cpu.h"

/* The OPENBLAS_CORETYPE to run with when OpenBLAS chose `current` (openblas_get_corename) on a
 * CPU with features f, or NULL to keep its choice: only its unknown-CPU fallback, Prescott, is
 * replaced, by SkylakeX (AVX-512) or Haswell (AVX2 + FMA). */
const char *blas_core_choice(const char *current, struct cpu_features f);

/* Runs the program again (/proc/self/exe, the same argv) with OPENBLAS_CORETYPE set when
 * blas_core_choice says so and the user did not set it; returns when nothing is to be done or
 * the exec failed (then with a warning: the program goes on with OpenBLAS's choice). */
void blas_core_ensure(char **argv);

/* The kernels OpenBLAS runs (its name for them, e.g. "SkylakeX"). */
const char *blas_core_name(void);
#endif
