/* emit.h — writes an int8 model as C (emit-c(1)): NAME.h, NAME.c, the shared kernels
 * (int8_ref.h, copied verbatim), a test harness with test vectors, and, from the templates in
 * data/emit (@KEY@ placeholders replaced), a startup file, a linker script and a Makefile that
 * build and run it on the host and on a Cortex-M7 (QEMU mps2-an500, semihosting), a
 * CMakeLists.txt (static library + host test) and a README.md for firmware engineers. */
#ifndef LMNAS_EMIT_H
#define LMNAS_EMIT_H
#include <stddef.h>
#include <stdint.h>
#include "int8/quant.h"

/* What the device must do to a camera image before NAME_run, and the class names (emit-c finds
 * them in the int8 model's metadata or the dataset quantize used). */
struct emit_input {
	int norm_channels;       /* channels of mean/std: 1 (grey) or 3 (RGB); 0 = unknown */
	float mean[3], std[3];   /* per channel: x = (pixel / 255 - mean) / std */
	char norm_from[128];     /* where mean/std come from (for the header's comment) */
	char (*class_names)[64]; /* [classes] C-safe names, or NULL when unknown */
};

struct emit_opts {
	const char *name;       /* C identifier (already sanitised) */
	const char *dir;        /* output folder (created) */
	const char *kernels;    /* path of int8_ref.h to copy */
	const char *templates;  /* folder of the static files' templates (<data>/emit) */
	size_t sram_max;        /* SRAM budget of the linker script, bytes */
	size_t stack_bytes;     /* stack reserved in SRAM */
	const struct emit_input *input; /* normalisation and class names (NULL: unknown) */
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

/* Writes every file but README.md into o->dir (created if missing). Returns 0, or -1 with a
 * reason in err. */
int emit_write(const struct qmodel *m, const struct emit_opts *o, char *err, size_t errlen);
/* Writes README.md (template data/emit/README.md) into o->dir: how to call and build the model
 * and the memory it needs; flash_bytes is the measured flash, or -1 (then check-cost's formula
 * is given as an estimate). Returns 0, or -1 with a reason in err. */
int emit_write_readme(const struct qmodel *m, const struct emit_opts *o, long flash_bytes,
		      char *err, size_t errlen);
#endif
