/* fuzz_images.c — libFuzzer target for the image-file datasets (dataset_load_images): a CSV of
 * path,label or a folder with one sub-folder per class, each image a PNG or a JPEG decoded by
 * libpng / libjpeg-turbo (image.c) and area-resized; then a test split loaded like the training
 * split, and one float batch of the first image.
 *
 * Built and run by pipelines/fuzz.sh (make fuzz). The input:
 *   byte 0        bit 0: 0 CSV, 1 folder; bit 1: stored at the first image's size (0) or 8x8 (1)
 *   bytes 1-2     length A (little-endian) of the first part, then bytes 3..: the rest
 *   CSV           part one is list.csv (lines such as "a.png,cat"), the rest is split in two
 *                 halves written as a.png and b.jpg next to it
 *   folder        part one is cat/a.png, the rest dog/b.jpg */
#include "engine/dataset.h"
#include "core/util.h"
#include "fuzz_file.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	util_init("fuzz_images");
	return 0;
}

static void check_loaded(const struct dataset *d)
{
	if (d->n < 1 || d->h < 1 || d->w < 1 || (d->c != 1 && d->c != 3) || !d->u8 ||
	    d->classes < 1)
		abort();
	for (int i = 0; i < d->n; i++)
		if (d->labels[i] < 0 || d->labels[i] >= d->classes)
			abort();
	int idx = 0;
	float out[8 * 8 * 3];
	int32_t label;
	dataset_batch(d, &idx, 1, 8, 8, d->c, NULL, NULL, out, &label); /* [1][8][8][c] */
}

/* Writes the input's files into a fresh sub-folder "run" and returns the path to load. */
static const char *write_inputs(int folder, const uint8_t *a, size_t na, const uint8_t *b,
				size_t nb, char *path, size_t n)
{
	char p[512];
	snprintf(p, sizeof p, "%s/run", fuzz_dir());
	mkdir(p, 0700); /* fuzz_write makes one level of folder */
	if (folder) {
		fuzz_write("run/cat", "a.png", a, na, p, sizeof p);
		fuzz_write("run/dog", "b.jpg", b, nb, p, sizeof p);
		snprintf(path, n, "%s/run", fuzz_dir());
	} else {
		fuzz_write("run", "a.png", b, nb / 2, p, sizeof p);
		fuzz_write("run", "b.jpg", b + nb / 2, nb - nb / 2, p, sizeof p);
		fuzz_write("run", "list.csv", a, na, path, n);
	}
	return path;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	int folder = data[0] & 1, side = data[0] & 2 ? 8 : 0;
	size_t na = (size_t)(data[1] | data[2] << 8);
	data += 3;
	size -= 3;
	if (na > size)
		na = size;
	char path[512], err[1024];
	write_inputs(folder, data, na, data + na, size - na, path, sizeof path);
	enum dataset_kind k = folder ? DS_FOLDER : DS_CSV;
	struct dataset train, test;
	if (dataset_load_images(k, path, side, side, NULL, &train, err, sizeof err) == 0) {
		check_loaded(&train);
		if (dataset_load_images(k, path, 0, 0, &train, &test, err, sizeof err) == 0) {
			check_loaded(&test);
			dataset_free(&test);
		}
		dataset_free(&train);
	}
	char run[512];
	snprintf(run, sizeof run, "%s/run", fuzz_dir());
	nftw(run, fuzz_remove_one, 8, FTW_DEPTH | FTW_PHYS);
	return 0;
}
