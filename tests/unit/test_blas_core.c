/* test_blas_core.c — OpenBLAS runs kernels fit for this CPU (engine/blas_core.h). */
#include "t.h"
#include "engine/blas_core.h"

#include <strings.h>

/* Only OpenBLAS's unknown-CPU fallback is replaced, and by what the CPU can run. */
static void test_choice(void)
{
	struct cpu_features none = {0}, avx2 = {.avx2_fma = 1},
			    avx512 = {.avx2_fma = 1, .avx512_skx = 1};
	T_CHECK(blas_core_choice("Prescott", none) == NULL, "Prescott on an SSE-only CPU: kept");
	const char *c = blas_core_choice("Prescott", avx2);
	T_CHECK(c && strcmp(c, "Haswell") == 0, "Prescott on an AVX2 CPU: Haswell (%s)", c ? c : "kept");
	c = blas_core_choice("Prescott", avx512);
	T_CHECK(c && strcmp(c, "SkylakeX") == 0, "Prescott on an AVX-512 CPU: SkylakeX (%s)",
		c ? c : "kept");
	T_CHECK(blas_core_choice("Zen", avx2) == NULL, "a core OpenBLAS knows (Zen): kept");
	T_CHECK(blas_core_choice("SkylakeX", avx512) == NULL, "SkylakeX: kept");
	T_CHECK(blas_core_choice(NULL, avx512) == NULL, "no name: kept");
}

/* On this machine, after blas_core_ensure (which may have started this test again): no SSE3
 * fallback on a CPU with AVX2. Fails on a CPU newer than Debian's OpenBLAS without the fix. */
static void test_this_cpu(void)
{
	struct cpu_features f = cpu_features_detect();
	const char *name = blas_core_name();
	if (!f.avx2_fma) {
		t_skip_cpu("this CPU has no AVX2 + FMA: OpenBLAS's choice (%s) stands", name);
		return;
	}
	T_CHECK(strcasecmp(name, "Prescott") != 0,
		"OpenBLAS runs AVX2 or wider kernels on this AVX2 CPU (%s; OPENBLAS_CORETYPE %s)", name,
		getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "unset");
}

int main(int argc, char **argv)
{
	(void)argc;
	blas_core_ensure(argv);
	test_choice();
	test_this_cpu();
	return t_done();
}
