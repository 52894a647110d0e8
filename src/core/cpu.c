/* cpu.c — the instruction sets of this CPU. See cpu.h. */
#include "core/cpu.h"

#include <cpuid.h>

/* AMX tiles with bf16 products: CPUID leaf 7, EDX bits 22 (AMX-BF16) and 24 (AMX-TILE). Asked of
 * cpuid itself: compilers' __builtin_cpu_supports do not all know AMX. */
static int has_amx_bf16(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return 0;
	return (d >> 22 & 1) && (d >> 24 & 1);
}

struct cpu_features cpu_features_detect(void)
{
	__builtin_cpu_init();
	struct cpu_features f = {
		.avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"),
		.avx512f = __builtin_cpu_supports("avx512f"),
		.avx512_skx = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
			      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
			      __builtin_cpu_supports("avx512vl"),
		.avx512_bf16 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16"),
	};
	f.amx_bf16 = f.avx512_skx && f.avx512_bf16 && has_amx_bf16();
	return f;
}
