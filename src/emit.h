/* emit.h — writes an int8 model as C (emit-c(1)): NAME.h, NAME.c, the shared kernels
 * (int8_ref.h, copied verbatim), a test harness with test vectors, and, from the templates in
 * data/emit (@NAME@, @SRAM_MAX@, @STACK_BYTES@ replaced), a startup file, a linker script and a
 * Makefile that build and run it on the host and on a Cortex-M7 (QEMU mps2-an500,
 * semihosting). */
#ifndef LMNAS_EMIT_H
#define LMNAS_EMIT_H
#include <stddef.h>
#include <stdint.h>
#include "quant.h"

struct emit_opts {
	const char *name;       /* C identifier (already sanitised) */
	const char *dir;        /* output folder (created) */
	const char *kernels;    /* path of int8_ref.h to copy */
	const char *templates;  /* folder of the static files' templates (<data>/emit) */
	size_t sram_max;        /* SRAM budget of the linker script, bytes */
	size_t stack_bytes;     /* stack reserved in SRAM */
	int nvec;               /* test vectors */
	const int8_t *vec_in;   /* [nvec][input size] */
	const int8_t *vec_out;  /* [nvec][classes] expected int8 logits (reference inference) */
};

/* Sanitises name into a C identifier (letters, digits, underscore; not starting with a digit;
 * at most outlen-1 characters). Returns out. */
char *emit_sanitize(const char *name, char *out, size_t outlen);

/* The output folder is written whole or not at all. emit_stage_dir makes an empty folder beside
 * dir ("dir.tmp.PID", in dir's parent, so the rename stays on one file system) and writes its
 * path to tmp (first removing the staging folders of dir left by processes that are gone);
 * emit_commit_dir renames it to dir (an existing dir is swapped out atomically and
 * removed); emit_remove_tree removes a staged folder that failed. Return 0, or -1 with err. */
int emit_stage_dir(const char *dir, char *tmp, size_t n, char *err, size_t errlen);
int emit_commit_dir(const char *tmp, const char *dir, char *err, size_t errlen);
void emit_remove_tree(const char *path);

/* Writes every file into o->dir (created if missing). Returns 0, or -1 with a reason in err. */
int emit_write(const struct qmodel *m, const struct emit_opts *o, char *err, size_t errlen);
#endif
