/* make-shapes.c — writes a small ImageFolder for the CLI tests: DIR/{circle,cross,square}/NNN.png,
 * N grey SIDE×SIDE PNGs per class (a bright shape of random size and place on a noisy dark
 * ground), through image.c's libpng writer; with OUT.safetensors also the same images as a
 * safetensors dataset (images F32 [3N,1,SIDE,SIDE] = pixel/255, labels I64 [3N]).
 * Usage: make-shapes DIR N SIDE SEED [OUT.safetensors] */
#include "engine/image.h"
#include "core/prng.h"
#include "core/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static int inside(int shape, int x, int y, int cx, int cy, int r)
{
	int dx = x - cx, dy = y - cy;
	if (shape == 0) /* circle */
		return dx * dx + dy * dy <= r * r;
	if (shape == 1) /* cross */
		return (abs(dx) <= r / 3 && abs(dy) <= r) || (abs(dy) <= r / 3 && abs(dx) <= r);
	return abs(dx) <= r && abs(dy) <= r; /* square */
}

int main(int argc, char **argv)
{
	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: make-shapes DIR N SIDE SEED [OUT.safetensors]\n");
		return 2;
	}
	static const char *names[3] = {"circle", "cross", "square"};
	int n = atoi(argv[2]), side = atoi(argv[3]);
	if (n < 1 || side < 8 || side > 256)
		return 2;
	struct prng r;
	prng_seed(&r, strtoull(argv[4], NULL, 10));
	unsigned char *px = malloc((size_t)side * side);
	float *all = malloc(sizeof(float) * 3 * (size_t)n * side * side);
	int64_t *labels = malloc(sizeof(int64_t) * 3 * (size_t)n);
	char path[4096], err[512];
	mkdir(argv[1], 0755);
	for (int s = 0; s < 3; s++) {
		snprintf(path, sizeof path, "%s/%s", argv[1], names[s]);
		mkdir(path, 0755);
		for (int i = 0; i < n; i++) {
			int rad = side / 6 + (int)(prng_below(&r, (uint64_t)(side / 6)));
			int cx = rad + (int)(prng_below(&r, (uint64_t)(side - 2 * rad)));
			int cy = rad + (int)(prng_below(&r, (uint64_t)(side - 2 * rad)));
			for (int y = 0; y < side; y++)
				for (int x = 0; x < side; x++)
					px[y * side + x] = (unsigned char)((inside(s, x, y, cx, cy, rad) ? 200 : 20) +
									   prng_below(&r, 40));
			size_t at = ((size_t)s * n + i) * side * side;
			for (int p = 0; p < side * side; p++)
				all[at + p] = px[p] / 255.0f;
			labels[s * n + i] = s;
			snprintf(path, sizeof path, "%s/%s/%03d.png", argv[1], names[s], i);
			if (image_write_png(path, px, side, side, 1, err, sizeof err)) {
				fprintf(stderr, "%s\n", err);
				return 1;
			}
		}
	}
	if (argc == 6) {
		struct st_writer *w = st_writer_new();
		int64_t shape[4] = {3 * n, 1, side, side}, lshape[1] = {3 * n};
		st_writer_add(w, "images", ST_F32, 4, shape, all);
		st_writer_add(w, "labels", ST_I64, 1, lshape, labels);
		if (st_writer_save(w, argv[5])) {
			fprintf(stderr, "%s: cannot write\n", argv[5]);
			return 1;
		}
		st_writer_free(w);
	}
	free(px);
	free(all);
	free(labels);
	return 0;
}
