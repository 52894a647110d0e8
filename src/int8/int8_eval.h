/* int8_eval.h — accuracy and logits of an int8 model (quantize's output) over a dataset, by the
 * int8 reference inference (int8_ref.c): evaluate(1)'s path for int8 files. */
#ifndef LMNAS_INT8_EVAL_H
#define LMNAS_INT8_EVAL_H
#include <cJSON.h>
#include <stddef.h>
#include "engine/dataset.h"

/* Runs the int8 model in the file weights over every image of the dataset (kind, data, split as
 * dataset_load_for_model takes them), normalised and resized as the model's metadata says.
 * Adds accuracy (when the dataset has labels), count, seconds and images_per_s to ev; dump not
 * NULL: writes the dequantised logits [count][classes] there (safetensors "logits").
 * Returns 0, or -1 with err. */
int int8_evaluate(const char *weights, enum dataset_kind kind, const char *data,
		  enum dataset_split split, const char *dump, cJSON *ev, char *err, size_t errlen);
#endif
