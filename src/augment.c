/* augment.c — random crop, horizontal flip. */
#include "augment.h"
#include "rng.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* Random crop after zero padding, on elements of elem bytes: img [h][w][c]. */
static void random_crop(void *img, int h, int w, int c, size_t elem, int pad, struct rng *rng)
{
	/* torchvision draws the top offset, then the left one, each uniform in [0, 2·pad]. */
	int top = (int)rng_below(rng, (uint64_t)(2 * pad + 1)) - pad;
	int left = (int)rng_below(rng, (uint64_t)(2 * pad + 1)) - pad;
	size_t row = (size_t)w * c * elem, px = (size_t)c * elem;
	unsigned char *src = img, *tmp = xcalloc((size_t)h, row);
	for (int y = 0; y < h; y++) {
		int sy = y + top;
		if (sy < 0 || sy >= h)
			continue;
		for (int x = 0; x < w; x++) {
			int sx = x + left;
			if (sx >= 0 && sx < w)
				memcpy(tmp + y * row + x * px, src + sy * row + sx * px, px);
		}
	}
	memcpy(img, tmp, (size_t)h * row);
	free(tmp);
}

static void hflip(void *img, int h, int w, int c, size_t elem)
{
	size_t px = (size_t)c * elem, row = (size_t)w * px;
	unsigned char t[64], *p = img;
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w / 2; x++) {
			unsigned char *a = p + y * row + x * px, *b = p + y * row + (w - 1 - x) * px;
			memcpy(t, a, px);
			memcpy(a, b, px);
			memcpy(b, t, px);
		}
}

static void crop_flip(const struct augment *a, void *img, int h, int w, int c, size_t elem,
		      struct rng *rng)
{
	if (a->crop_pad > 0)
		random_crop(img, h, w, c, elem, a->crop_pad, rng);
	if (a->hflip && rng_uniform(rng) < 0.5)
		hflip(img, h, w, c, elem);
}

void augment_u8(const struct augment *a, uint8_t *img, int h, int w, int c, struct rng *rng)
{
	crop_flip(a, img, h, w, c, 1, rng);
}

void augment_f32(const struct augment *a, float *img, int h, int w, int c, struct rng *rng)
{
	crop_flip(a, img, h, w, c, sizeof(float), rng);
}
