/* cpu.c — the instruction sets of this CPU. See cpu.h. */
#include "core/cpu.h"

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
	return f;
}
