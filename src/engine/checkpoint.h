/* checkpoint.h — networks to and from safetensors with PyTorch's names and layouts.
 *
 * Tensors: every state_dict entry of the reference model (conv weights OIHW, BN weight, bias,
 * running_mean, running_var F32; num_batches_tracked I64 scalar), so a checkpoint loads into the
 * reference PyTorch model with strict=True. __metadata__ holds "arch" (the arch as JSON text) and
 * whatever provenance the caller adds. Loading accepts files without num_batches_tracked (the
 * paper's released weights) and refuses missing or unexpected tensors, wrong dtypes or shapes and
 * non-finite values, naming the file and tensor. Saving is atomic (temporary file + rename). */
#ifndef LMNAS_CHECKPOINT_H
#define LMNAS_CHECKPOINT_H
#include <stddef.h>
#include "core/arch.h"
#include "engine/net.h"
#include "core/safetensors.h"

/* Loads every tensor of n from path. Returns 0, or -1 with "PATH: tensor NAME: reason" in err;
 * on failure n's parameters may be partly overwritten. */
int checkpoint_load(struct net *n, const char *path, char *err, size_t errlen);

/* checkpoint_load on an open file; tensors whose names start with skip_prefix (may be NULL) are
 * left to the caller (the resume state keeps the optimizer's there). */
int checkpoint_load_file(struct net *n, const struct st_file *f, const char *skip_prefix,
			 char *err, size_t errlen);

/* Writes n to path. meta: NULL or a NULL-terminated list of key, value strings (provenance).
 * Returns 0, or -1 with a reason in err. */
int checkpoint_save(const struct net *n, const char *path, const char *const *meta, char *err,
		    size_t errlen);
/* A further F32 tensor for checkpoint_save_extra: the resume state's optimizer and average. */
struct checkpoint_extra {
	const char *name; /* NULL ends a list */
	const float *data;
	int64_t len;      /* [len] */
};
/* checkpoint_save plus the tensors of extras (a list ended by a NULL name; NULL: none). */
int checkpoint_save_extra(const struct net *n, const char *path, const char *const *meta,
			  const struct checkpoint_extra *extras, char *err, size_t errlen);

/* The arch in a checkpoint's metadata ("arch"), and its class count (classifier.bias length).
 * Returns 0, or -1 with a reason in err. classes may be NULL; arch may be NULL. */
int checkpoint_info(const char *path, struct arch *arch, int *classes, char *err, size_t errlen);
/* The data metadata of a checkpoint or int8 model (training and quantize write them):
 * "normalisation" {"mean":[...],"std":[...]} and "class_names" [...], as malloc'd JSON text, or
 * NULL when the file has none (older files). Returns 0, or -1 with err (unreadable file). */
int checkpoint_data_meta(const char *path, char **norm_json, char **names_json, char *err,
			 size_t errlen);
#endif
