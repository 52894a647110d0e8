/* blas_core.c — OpenBLAS's kernels for the CPU this program runs on. See blas_core.h. */
#include "engine/blas_core.h"
#include "core/util.h"

#include <cblas.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

const char *blas_core_choice(const char *current, struct cpu_features f)
{
	if (!current || strcasecmp(current, "Prescott") != 0)
		return NULL;
	if (f.avx512_skx && f.avx2_fma)
		return "SkylakeX";
	if (f.avx2_fma)
		return "Haswell";
	return NULL;
}

void blas_core_ensure(char **argv)
{
	if (getenv("OPENBLAS_CORETYPE")) /* the user's choice, or this program's second start */
		return;
	const char *core = blas_core_choice(openblas_get_corename(), cpu_features_detect());
	if (!core)
		return;
	if (setenv("OPENBLAS_CORETYPE", core, 1) == 0)
		execv("/proc/self/exe", argv);
	log_info("OpenBLAS runs its SSE3 kernels on this CPU, and starting again with "
		 "OPENBLAS_CORETYPE=%s failed (%s): GEMMs run several times slower", core,
		 strerror(errno));
	unsetenv("OPENBLAS_CORETYPE");
}

const char *blas_core_name(void)
{
	const char *name = openblas_get_corename();
	return name ? name : "unknown";
}
