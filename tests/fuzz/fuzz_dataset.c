/* fuzz_dataset.c — libFuzzer target for the dataset loaders (dataset_load): Fashion-MNIST IDX
 * (plain or gzip), CIFAR-10 and CIFAR-100 binary, safetensors datasets; then one float batch of
 * the first image, as training reads it.
 *
 * Built and run by pipelines/fuzz.sh (make fuzz). The input:
 *   byte 0        which loader: 0 IDX, 1 CIFAR-10, 2 CIFAR-100, 3 safetensors (mod 4);
 *                 bit 2: the batch maps the channels (grey to 3, RGB to 1)
 *   IDX           bytes 1-2: length L (little-endian) of the images file, then its L bytes, then
 *                 the labels file (t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte)
 *   otherwise     bytes 1..: the one file (test_batch.bin, test.bin or a .safetensors file) */
#include "engine/dataset.h"
#include "core/util.h"
#include "fuzz_file.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	util_init("fuzz_dataset");
	return 0;
}

/* out_c: the dataset's channels, or the mappings dataset_batch documents (grey to 3, RGB to 1). */
static void one_batch(const struct dataset *d, int other)
{
	int out_c = !other ? d->c : d->c == 1 ? 3 : d->c == 3 ? 1 : d->c;
	int idx = 0;
	float out[8 * 8 * 16];
	int32_t label;
	dataset_batch(d, &idx, 1, 8, 8, out_c, NULL, NULL, out, &label);
	if (d->labels && (label < 0 || label >= d->classes))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static const enum dataset_kind kinds[4] = {DS_FASHION_MNIST, DS_CIFAR10, DS_CIFAR100,
						   DS_SAFETENSORS};
	static const char *subs[4] = {"idx", "cifar10", "cifar100", "st"};
	static const char *names[4] = {"t10k-images-idx3-ubyte", "test_batch.bin", "test.bin",
				       "data.safetensors"};
	int k = data[0] % 4, other = data[0] & 4;
	char path[256], dir[256], err[1024];
	data++;
	size--;
	if (k == 0) {
		size_t len = size >= 2 ? (size_t)(data[0] | data[1] << 8) : 0;
		data += size >= 2 ? 2 : size;
		size -= size >= 2 ? 2 : size;
		if (len > size)
			len = size;
		fuzz_write(subs[0], names[0], data, len, path, sizeof path);
		fuzz_write(subs[0], "t10k-labels-idx1-ubyte", data + len, size - len, path, sizeof path);
	} else {
		fuzz_write(subs[k], names[k], data, size, path, sizeof path);
	}
	snprintf(dir, sizeof dir, "%s/%s", fuzz_dir(), subs[k]);
	struct dataset d;
	if (dataset_load(kinds[k], k == 3 ? path : dir, SPLIT_TEST, &d, err, sizeof err) == 0) {
		if (d.n < 1 || d.h < 1 || d.w < 1 || d.c < 1 || (!d.u8 && !d.f32))
			abort();
		one_batch(&d, other);
		dataset_free(&d);
	}
	return 0;
}
