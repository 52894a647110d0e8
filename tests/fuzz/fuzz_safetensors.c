/* fuzz_safetensors.c — libFuzzer target for the safetensors reader (st_open validates the header
 * against the file) and what is read from a checkpoint's header as checkpoint_info does: the arch
 * in __metadata__ (JSON text -> arch_parse) and the class count. (checkpoint.c itself needs the
 * OpenMP network code, which the fuzz build leaves out.)
 *
 * Built and run by pipelines/fuzz.sh (make fuzz). The input is the whole file. */
#include "core/arch.h"
#include "core/safetensors.h"
#include "core/util.h"
#include "fuzz_file.h"

#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	util_init("fuzz_safetensors");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[256], err[1024];
	fuzz_write("st", "input.safetensors", data, size, path, sizeof path);
	struct st_file f;
	if (st_open(path, &f, err, sizeof err) == 0) {
		/* Invariant: every tensor lies inside the file, its size is shape x dtype. */
		for (int i = 0; i < f.ntensors; i++) {
			const struct st_tensor *t = &f.tensors[i];
			const unsigned char *p = t->data;
			if (t->nbytes != (size_t)t->numel * st_dtype_size(t->dtype) ||
			    (t->nbytes && (p < f.bytes || p + t->nbytes > f.bytes + f.size)))
				abort();
			volatile unsigned char sum = 0; /* every byte readable (ASan) */
			for (size_t b = 0; b < t->nbytes; b++)
				sum ^= p[b];
			if (st_find(&f, t->name) == NULL)
				abort();
		}
		int64_t any1[1] = {-1};
		(void)st_expect(&f, "classifier.bias", ST_F32, 1, any1, err, sizeof err);
		const char *text = st_meta(&f, "arch");
		cJSON *doc = text ? cJSON_Parse(text) : NULL;
		struct arch a;
		if (doc && arch_parse(doc, &a, err, sizeof err) == 0) {
			char id[17];
			arch_id(&a, id);
		}
		cJSON_Delete(doc);
		st_close(&f);
	}
	return 0;
}
