/* make-shapes.c — writes a small ImageFolder for the CLI tests: DIR/{circle,cross,square}/NNN.png,
 * N grey SIDE×SIDE PNGs per class (a bright shape of random size and place on a noisy dark
 * ground), through image.c's libpng writer. Usage: make-shapes DIR N SIDE SEED */
#include "image.h"
#include "prng.h"

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
	if (argc != 5) {
		fprintf(stderr, "usage: make-shapes DIR N SIDE SEED\n");
		return 2;
	}
	static const char *names[3] = {"circle", "cross", "square"};
	int n = atoi(argv[2]), side = atoi(argv[3]);
	if (n < 1 || side < 8 || side > 256)
		return 2;
	struct prng r;
	prng_seed(&r, strtoull(argv[4], NULL, 10));
	unsigned char *px = malloc((size_t)side * side);
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
			snprintf(path, sizeof path, "%s/%s/%03d.png", argv[1], names[s], i);
			if (image_write_png(path, px, side, side, 1, err, sizeof err)) {
				fprintf(stderr, "%s\n", err);
				return 1;
			}
		}
	}
	free(px);
	return 0;
}
