/* cpu.h — the instruction sets of the CPU this program runs on, for the kernels chosen at run
 * time (sgemm_small's AVX2 and AVX-512 kernels, OpenBLAS's kernels in blas_core.h, the
 * AMX GEMMs in gemm_amx.c, the instruction-rate probes in bench_rates.c). */
#ifndef LMNAS_CPU_H
#define LMNAS_CPU_H

struct cpu_features {
	int avx2_fma;   /* AVX2 and FMA */
	int avx512f;    /* AVX-512 Foundation */
	int avx512_skx; /* AVX-512 F, CD, BW, DQ and VL (a Skylake-X's set) */
	int avx512_bf16; /* AVX-512 F and BF16 (vdpbf16ps: bf16 pairs into fp32 sums) */
	int amx_bf16;    /* AMX tiles with bf16 products, and the AVX-512 (BW, BF16) that packs them;
			    the kernel must still grant the tiles (gemm_amx_ready) */
};

/* This CPU's features (cpuid, read by libgcc at start-up: cheap to ask often). */
struct cpu_features cpu_features_detect(void);
#endif
