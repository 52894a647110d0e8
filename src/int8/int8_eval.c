/* int8_eval.c — evaluate(1) for int8 models: the same options and output as the float evaluate,
 * running the int8 reference inference (int8_ref.c). evaluate dispatches here when its
 * --weights file is an lmnas int8 model (quant_is_int8_file). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine/checkpoint.h"
#include "engine/dataset.h"
#include "engine/nn_head.h"
#include "int8/quant.h"
#include "core/record_loop.h"
#include "core/safetensors.h"
#include "core/util.h"

int int8_evaluate_main(int argc, char **argv)
{
	static const struct option longs[] = {
		{"weights", required_argument, 0, 'w'}, {"arch", required_argument, 0, 'a'},
		{"dataset", required_argument, 0, 'd'}, {"data", required_argument, 0, 'f'},
		{"classes", required_argument, 0, 'c'}, {"dump-logits", required_argument, 0, 'l'},
		{"batch", required_argument, 0, 'b'},   {"threads", required_argument, 0, 't'},
		{"split", required_argument, 0, 's'},   {"resolution", required_argument, 0, 'r'},
		{"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
	const char *weights = NULL, *dataset = "safetensors", *data = NULL, *dump = NULL;
	enum dataset_split split = SPLIT_TEST;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (c) {
		case 'w': weights = optarg; break;
		case 'd': dataset = optarg; break;
		case 'f': data = optarg; break;
		case 'l': dump = optarg; break;
		case 's': split = optarg && !strcmp(optarg, "train") ? SPLIT_TRAIN : SPLIT_TEST; break;
		case 'a': case 'c': case 'b': case 't': case 'r':
			break; /* the int8 file holds arch, classes and resolution */
		case 'h':
			printf("int8 models: evaluate --weights Q.safetensors --dataset D [--data F]\n"
			       "             [--split train|test] [--dump-logits OUT.safetensors]\n");
			return EXIT_OK;
		default: return EXIT_USAGE;
		}
	}
	char err[512];
	struct qmodel m;
	if (!weights || quant_load(weights, &m, err, sizeof err))
		die("%s", weights ? err : "--weights is required");
	int n, classes = m.net.classes;
	float *images;
	int32_t *labels;
	enum dataset_kind kind;
	if (dataset_kind_parse(dataset, &kind))
		die("--dataset: '%s' is not a dataset kind", dataset);
	char *norm, *names;
	struct dataset d;
	if (checkpoint_data_meta(weights, &norm, &names, err, sizeof err) ||
	    dataset_load_for_model(kind, data, split, norm, names, m.net.in_h, m.net.in_w, &d, err,
				   sizeof err))
		die("%s", err);
	free(norm);
	free(names);
	dataset_floats(&d, m.net.in_h, m.net.in_w, m.net.in_ch, 0, &n, &images, &labels);
	dataset_free(&d);
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
	if (dump) {
		struct st_writer *w = st_writer_new();
		int64_t shape[2] = {n, classes};
		st_writer_add(w, "logits", ST_F32, 2, shape, logits);
		st_writer_meta(w, "weights", weights);
		st_writer_meta(w, "int8", "dequantised int8 logits");
		if (st_writer_save(w, dump))
			die("%s: cannot write the logits", dump);
		st_writer_free(w);
	}
	cJSON *ev = cJSON_CreateObject();
	if (labels)
		cJSON_AddNumberToObject(ev, "accuracy", (double)correct / n);
	cJSON_AddNumberToObject(ev, "count", n);
	cJSON_AddNumberToObject(ev, "seconds", secs);
	cJSON_AddNumberToObject(ev, "images_per_s", secs > 0 ? n / secs : 0);
	cJSON_AddStringToObject(ev, "weights", weights);
	cJSON_AddBoolToObject(ev, "int8", 1);
	if (data)
		cJSON_AddStringToObject(ev, "data", data);
	if (dump)
		cJSON_AddStringToObject(ev, "logits", dump);
	int failed = record_loop_stamp("eval", ev);
	cJSON_Delete(ev);
	free(logits);
	free(images);
	free(labels);
	free(q);
	free(arena);
	quant_free(&m);
	return failed ? EXIT_RECORDS : EXIT_OK;
}
