/* int8_eval.c — an int8 model over a dataset. See int8_eval.h. */
#include "int8/int8_eval.h"
#include "core/safetensors.h"
#include "core/util.h"
#include "engine/checkpoint.h"
#include "engine/nn_head.h"
#include "int8/quant.h"

#include <stdint.h>
#include <stdlib.h>

/* The dataset's images as floats [n][h][w][c] for model m, normalised by the file's metadata. */
static int load_images(const char *weights, const struct qmodel *m, enum dataset_kind kind,
		       const char *data, enum dataset_split split, int *n, float **images,
		       int32_t **labels, char *err, size_t errlen)
{
	char *norm, *names;
	struct dataset d;
	if (checkpoint_data_meta(weights, &norm, &names, err, errlen))
		return -1;
	int rc = dataset_load_for_model(kind, data, split, norm, names, m->net.in_h, m->net.in_w, &d,
					err, errlen);
	free(norm);
	free(names);
	if (rc)
		return -1;
	dataset_floats(&d, m->net.in_h, m->net.in_w, m->net.in_ch, 0, n, images, labels);
	dataset_free(&d);
	return 0;
}

/* logits [n][classes] -> a safetensors file with the weights it came from. */
static int dump_logits(const char *dump, const char *weights, const float *logits, int n,
		       int classes, char *err, size_t errlen)
{
	struct st_writer *w = st_writer_new();
	int64_t shape[2] = {n, classes};
	st_writer_add(w, "logits", ST_F32, 2, shape, logits);
	st_writer_meta(w, "weights", weights);
	st_writer_meta(w, "int8", "dequantised int8 logits");
	int rc = st_writer_save(w, dump);
	st_writer_free(w);
	return rc ? fail(err, errlen, "%s: cannot write the logits", dump) : 0;
}

int int8_evaluate(const char *weights, enum dataset_kind kind, const char *data,
		  enum dataset_split split, const char *dump, cJSON *ev, char *err, size_t errlen)
{
	struct qmodel m;
	if (quant_load(weights, &m, err, errlen))
		return -1;
	int n, classes = m.net.classes;
	float *images;
	int32_t *labels;
	if (load_images(weights, &m, kind, data, split, &n, &images, &labels, err, errlen)) {
		quant_free(&m);
		return -1;
	}
	size_t isz = m.t[m.input].size;
	float *logits = xmalloc(sizeof(float) * (size_t)n * classes + 1);
	int8_t *q = xmalloc(isz), *arena = xcalloc(m.arena_bytes, 1);
	long correct = 0;
	double t0 = now_seconds();
	for (int i = 0; i < n; i++) {
		float *row = logits + (size_t)i * classes;
		quant_input(&m, images + i * isz, isz, q);
		int8_ref_run(&m, q, arena, NULL, row);
		correct += labels && logits_argmax(row, classes) == labels[i];
	}
	double secs = now_seconds() - t0;
	int rc = dump ? dump_logits(dump, weights, logits, n, classes, err, errlen) : 0;
	if (labels)
		cJSON_AddNumberToObject(ev, "accuracy", (double)correct / n);
	cJSON_AddNumberToObject(ev, "count", n);
	cJSON_AddNumberToObject(ev, "seconds", secs);
	cJSON_AddNumberToObject(ev, "images_per_s", secs > 0 ? n / secs : 0);
	free(logits);
	free(images);
	free(labels);
	free(q);
	free(arena);
	quant_free(&m);
	return rc;
}
