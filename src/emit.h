/* emit.h — writes an int8 model as C (emit-c(1)): NAME.h, NAME.c, the shared kernels
 * (int8_ref.h, copied verbatim), a test harness with test vectors, and a Makefile that builds and
 * runs it on the host and on a Cortex-M7 (QEMU mps2-an500, semihosting). */
#ifndef LMNAS_EMIT_H
#define LMNAS_EMIT_H
#include <stddef.h>
#include <stdint.h>
#include "quant.h"

struct emit_opts {
	const char *name;       /* C identifier (already sanitised) */
	const char *dir;        /* output folder (created) */
	const char *kernels;    /* path of int8_ref.h to copy */
	size_t sram_max;        /* SRAM budget of the linker script, bytes */
	size_t stack_bytes;     /* stack reserved in SRAM */
	int nvec;               /* test vectors */
	const int8_t *vec_in;   /* [nvec][input size] */
	const int8_t *vec_out;  /* [nvec][classes] expected int8 logits (reference inference) */
};

/* Sanitises name into a C identifier (letters, digits, underscore; not starting with a digit;
 * at most outlen-1 characters). Returns out. */
char *emit_sanitize(const char *name, char *out, size_t outlen);

/* Writes every file. Returns 0, or -1 with a reason in err. */
int emit_write(const struct qmodel *m, const struct emit_opts *o, char *err, size_t errlen);
#endif
