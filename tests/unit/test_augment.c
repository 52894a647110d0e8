/* test_augment.c — AutoAugment operations against values derived by hand from torchvision's
 * tensor semantics (transforms/_functional_tensor.py, autoaugment.py), geometric ops against
 * tests/gen/augment_golden.py, the CIFAR10 sub-policies, determinism, MixUp. */
#include "engine/augment.h"
#include "engine/dataset.h"
#include "core/prng.h"
#include "t.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>

static int same(const uint8_t *a, const uint8_t *b, size_t n, const char *what)
{
	int ok = !memcmp(a, b, n);
	if (!ok) {
		printf("# %s: got", what);
		for (size_t i = 0; i < n; i++)
			printf(" %d", a[i]);
		printf("\n#   want");
		for (size_t i = 0; i < n; i++)
			printf(" %d", b[i]);
		printf("\n");
	}
	return T_CHECK(ok, "%s", what);
}

static void test_pointwise(void)
{
	uint8_t a[4] = {0, 10, 200, 255};
	aa_apply(AA_INVERT, 0, a, 1, 4, 1);
	same(a, (uint8_t[]){255, 245, 55, 0}, 4, "Invert: 255 - x");

	uint8_t p[4] = {0x7f, 255, 7, 0x80};
	aa_apply(AA_POSTERIZE, 5, p, 1, 4, 1);
	same(p, (uint8_t[]){0x78, 248, 0, 0x80}, 4, "Posterize 5 bits: x & 0xf8");

	uint8_t s[4] = {113, 114, 200, 255};
	aa_apply(AA_SOLARIZE, aa_magnitude(AA_SOLARIZE, 5, 32, 32), s, 1, 4, 1);
	same(s, (uint8_t[]){113, 141, 55, 0}, 4, "Solarize at 113.33: x >= t -> 255 - x");
	uint8_t s0[2] = {254, 255};
	aa_apply(AA_SOLARIZE, 255.0f, s0, 1, 2, 1);
	same(s0, (uint8_t[]){254, 0}, 2, "Solarize at 255 only inverts 255");

	uint8_t b[3] = {100, 200, 7};
	aa_apply(AA_BRIGHTNESS, aa_magnitude(AA_BRIGHTNESS, 7, 32, 32), b, 1, 3, 1);
	same(b, (uint8_t[]){170, 255, 11}, 3, "Brightness +0.7: trunc(1.7 x), clamped");
	uint8_t b2[3] = {100, 200, 7};
	aa_apply(AA_BRIGHTNESS, -aa_magnitude(AA_BRIGHTNESS, 7, 32, 32), b2, 1, 3, 1);
	same(b2, (uint8_t[]){30, 60, 2}, 3, "Brightness -0.7: trunc(0.3 x)");
}

static void test_contrast_color(void)
{
	uint8_t g[4] = {0, 100, 200, 100}; /* grey: mean of the image = 100 */
	aa_apply(AA_CONTRAST, 0.5f, g, 2, 2, 1);
	same(g, (uint8_t[]){0, 100, 250, 100}, 4, "Contrast 1.5 on grey: 1.5x - 50");
	uint8_t g2[4] = {0, 100, 200, 100};
	aa_apply(AA_CONTRAST, -0.5f, g2, 2, 2, 1);
	same(g2, (uint8_t[]){50, 100, 150, 100}, 4, "Contrast 0.5 on grey: 0.5x + 50");
	/* RGB: greys trunc(.2989 r + .587 g + .114 b) = 18 and 124, mean 71. */
	uint8_t c[6] = {10, 20, 30, 200, 100, 50};
	aa_apply(AA_CONTRAST, 1.0f, c, 1, 2, 3);
	same(c, (uint8_t[]){0, 0, 0, 255, 129, 29}, 6, "Contrast 2 on RGB: 2x - mean grey (71)");

	uint8_t k[6] = {10, 20, 30, 200, 100, 50};
	aa_apply(AA_COLOR, 1.0f, k, 1, 2, 3);
	same(k, (uint8_t[]){2, 22, 42, 255, 76, 0}, 6, "Color 2: 2x - grey of the pixel");
	uint8_t k2[3] = {10, 20, 30};
	aa_apply(AA_COLOR, -0.9f, k2, 1, 1, 3);
	same(k2, (uint8_t[]){17, 18, 19}, 3, "Color 0.1: 0.1x + 0.9 grey (18)");
	uint8_t kg[3] = {10, 20, 30};
	aa_apply(AA_COLOR, 0.9f, kg, 1, 3, 1);
	same(kg, (uint8_t[]){10, 20, 30}, 3, "Color leaves a grey image unchanged");
}

static void test_sharpness(void)
{
	/* centre 55, neighbours 10..90 (sum 400): blur = round((400 + 5·55)/13) = round(51.92) = 52 */
	uint8_t im[9] = {10, 20, 30, 40, 55, 60, 70, 80, 90};
	aa_apply(AA_SHARPNESS, 0.9f, im, 3, 3, 1);
	same(im, (uint8_t[]){10, 20, 30, 40, 57, 60, 70, 80, 90}, 9,
	     "Sharpness 1.9: centre trunc(1.9·55 - 0.9·52) = 57, border kept");
	uint8_t im2[9] = {0, 0, 0, 0, 130, 0, 0, 0, 0};
	aa_apply(AA_SHARPNESS, -0.5f, im2, 3, 3, 1);
	same(im2, (uint8_t[]){0, 0, 0, 0, 90, 0, 0, 0, 0}, 9, "Sharpness 0.5: (130 + 50)/2 = 90");
	uint8_t im3[4] = {0, 100, 200, 50};
	aa_apply(AA_SHARPNESS, 0.9f, im3, 2, 2, 1);
	same(im3, (uint8_t[]){0, 100, 200, 50}, 4, "Sharpness is a no-op on a 2x2 image");
}

static void test_autocontrast_equalize(void)
{
	uint8_t a[3] = {50, 100, 150};
	aa_apply(AA_AUTOCONTRAST, 0, a, 1, 3, 1);
	same(a, (uint8_t[]){0, 127, 255}, 3, "AutoContrast: (x - 50)·2.55 truncated");
	uint8_t rgb[6] = {9, 20, 100, 9, 30, 200}; /* R flat, G 20..30, B 100..200 */
	aa_apply(AA_AUTOCONTRAST, 0, rgb, 1, 2, 3);
	same(rgb, (uint8_t[]){9, 0, 0, 9, 255, 255}, 6, "AutoContrast per channel; a flat channel is kept");

	/* 32x32 grey: 512 zeros, 256 × 100, 256 × 200. step = (512 + 256)/255 = 3;
	 * lut[100] = (512 + 1)/3 = 171, lut[200] = (768 + 1)/3 = 256 -> 255. */
	uint8_t *e = xmalloc(1024);
	for (int i = 0; i < 1024; i++)
		e[i] = i < 512 ? 0 : i < 768 ? 100 : 200;
	aa_apply(AA_EQUALIZE, 0, e, 32, 32, 1);
	T_CHECK(e[0] == 0 && e[600] == 171 && e[900] == 255, "Equalize: 0 -> 0, 100 -> 171, 200 -> 255 (%d %d %d)",
		e[0], e[600], e[900]);
	free(e);
	uint8_t few[4] = {10, 20, 30, 40};
	aa_apply(AA_EQUALIZE, 0, few, 2, 2, 1);
	same(few, (uint8_t[]){10, 20, 30, 40}, 4, "Equalize with step 0 leaves the image");
}

static void test_geometry(void)
{
	uint8_t t[3] = {1, 2, 3};
	aa_apply(AA_TRANSLATE_X, 1.6f, t, 1, 3, 1);
	same(t, (uint8_t[]){0, 1, 2}, 3, "TranslateX 1.6 -> int 1 pixel right, zero fill");
	uint8_t t2[3] = {1, 2, 3};
	aa_apply(AA_TRANSLATE_X, -1.6f, t2, 1, 3, 1);
	same(t2, (uint8_t[]){2, 3, 0}, 3, "TranslateX -1.6 -> 1 pixel left");
	uint8_t ty[6] = {1, 2, 3, 4, 5, 6}; /* 3×1 RGB-less: h 3, w 1, c 2 */
	aa_apply(AA_TRANSLATE_Y, 1.0f, ty, 3, 1, 2);
	same(ty, (uint8_t[]){0, 0, 1, 2, 3, 4}, 6, "TranslateY 1 moves whole pixels down");

	uint8_t r[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
	aa_apply(AA_ROTATE, 90.0f, r, 3, 3, 1);
	same(r, (uint8_t[]){3, 6, 9, 2, 5, 8, 1, 4, 7}, 9, "Rotate 90 is counter-clockwise");
	uint8_t r2[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
	aa_apply(AA_ROTATE, 180.0f, r2, 3, 3, 1);
	same(r2, (uint8_t[]){9, 8, 7, 6, 5, 4, 3, 2, 1}, 9, "Rotate 180");

	/* ShearX m: source column = j + m·(i + 0.5), row kept (centre = top-left corner). */
	uint8_t sh[16], want[16] = {0, 1, 2, 3, 10, 11, 12, 13, 21, 22, 23, 0, 31, 32, 33, 0};
	for (int i = 0; i < 16; i++)
		sh[i] = (uint8_t)(10 * (i / 4) + i % 4);
	aa_apply(AA_SHEAR_X, 0.3f, sh, 4, 4, 1);
	same(sh, want, 16, "ShearX 0.3 on 4x4: rows 2, 3 move one pixel left");
	for (int i = 0; i < 16; i++)
		sh[i] = (uint8_t)(10 * (i / 4) + i % 4);
	aa_apply(AA_SHEAR_X, -0.3f, sh, 4, 4, 1);
	same(sh, (uint8_t[]){0, 1, 2, 3, 10, 11, 12, 13, 0, 20, 21, 22, 0, 30, 31, 32}, 16,
	     "ShearX -0.3: rows 2, 3 move right");
	for (int i = 0; i < 16; i++)
		sh[i] = (uint8_t)(10 * (i % 4) + i / 4); /* transposed: ShearY acts on columns */
	aa_apply(AA_SHEAR_Y, 0.3f, sh, 4, 4, 1);
	uint8_t wantT[16];
	for (int i = 0; i < 16; i++)
		wantT[i] = want[(i % 4) * 4 + i / 4];
	same(sh, wantT, 16, "ShearY 0.3 is ShearX transposed");
}

/* From tests/gen/augment_golden.py (torch grid_sample). */
static void test_grid_golden(void)
{
	static const uint8_t in[30] = {1, 8, 15, 22, 29, 36, 43, 50, 57, 64, 71, 78, 85, 92, 99,
		106, 113, 120, 127, 134, 141, 148, 155, 162, 169, 176, 183, 190, 197, 204};
	static const struct { enum aa_op op; float mag; const char *name; uint8_t want[30]; } g[] = {
		{AA_ROTATE, 20.0f, "Rotate 20", {0, 15, 22, 29, 78, 0, 1, 50, 57, 64, 113, 120, 43, 50,
			99, 106, 155, 162, 85, 92, 141, 148, 155, 204, 0, 127, 176, 183, 190, 0}},
		{AA_ROTATE, -13.333333015441895f, "Rotate -13.33", {43, 8, 15, 22, 22, 0, 85, 50, 57,
			64, 71, 36, 127, 92, 99, 106, 113, 78, 169, 134, 141, 148, 155, 120, 0, 183,
			183, 190, 197, 162}},
		{AA_SHEAR_X, 0.30000001192092896f, "ShearX 0.3", {1, 8, 15, 22, 29, 36, 43, 50, 57, 64,
			71, 78, 92, 99, 106, 113, 120, 0, 134, 141, 148, 155, 162, 0, 176, 183, 190,
			197, 204, 0}},
		{AA_SHEAR_Y, -0.2666666805744171f, "ShearY -0.2667", {1, 8, 0, 0, 0, 0, 43, 50, 15, 22,
			29, 36, 85, 92, 57, 64, 71, 78, 127, 134, 99, 106, 113, 120, 169, 176, 141,
			148, 155, 162}},
	};
	for (size_t k = 0; k < sizeof g / sizeof g[0]; k++) {
		uint8_t img[30];
		char what[80];
		memcpy(img, in, 30);
		aa_apply(g[k].op, g[k].mag, img, 5, 6, 1);
		snprintf(what, sizeof what, "%s on 5x6 matches torch grid_sample", g[k].name);
		same(img, g[k].want, 30, what);
	}
}

static void test_magnitudes(void)
{
	/* torch.linspace(..., 10) in float32 (printed by torch). */
	T_CHECK(aa_magnitude(AA_SHEAR_X, 1, 32, 32) == 0.03333333507180214f &&
			aa_magnitude(AA_SHEAR_Y, 9, 32, 32) == 0.30000001192092896f &&
			aa_magnitude(AA_SHEAR_X, 7, 32, 32) == 0.23333334922790527f,
		"shear magnitudes = torch.linspace(0, 0.3, 10)");
	T_CHECK(aa_magnitude(AA_ROTATE, 1, 32, 32) == 3.3333332538604736f &&
			aa_magnitude(AA_ROTATE, 5, 32, 32) == 16.666667938232422f,
		"rotate magnitudes = torch.linspace(0, 30, 10)");
	T_CHECK(aa_magnitude(AA_BRIGHTNESS, 1, 32, 32) == 0.09999999403953552f &&
			aa_magnitude(AA_SHARPNESS, 7, 32, 32) == 0.699999988079071f &&
			aa_magnitude(AA_COLOR, 4, 32, 32) == 0.3999999761581421f,
		"enhance magnitudes = torch.linspace(0, 0.9, 10)");
	T_CHECK(aa_magnitude(AA_SOLARIZE, 2, 32, 32) == 198.3333282470703f &&
			aa_magnitude(AA_SOLARIZE, 4, 32, 32) == 141.66665649414062f &&
			aa_magnitude(AA_SOLARIZE, 9, 32, 32) == 0.0f,
		"solarize thresholds = torch.linspace(255, 0, 10)");
	T_CHECK(aa_magnitude(AA_TRANSLATE_X, 9, 32, 32) == 14.501510620117188f &&
			aa_magnitude(AA_TRANSLATE_Y, 3, 32, 32) == 4.833837032318115f,
		"translate magnitudes = torch.linspace(0, 150/331·32, 10)");
	T_CHECK(aa_magnitude(AA_TRANSLATE_X, 9, 28, 20) < aa_magnitude(AA_TRANSLATE_Y, 9, 28, 20),
		"TranslateX scales with the width, TranslateY with the height");
	static const int bits[10] = {8, 8, 7, 7, 6, 6, 5, 5, 4, 4};
	int ok = 1;
	for (int i = 0; i < 10; i++)
		ok &= aa_magnitude(AA_POSTERIZE, i, 32, 32) == bits[i];
	T_CHECK(ok, "posterize bits 8 8 7 7 6 6 5 5 4 4");
}

static void test_policy(void)
{
	/* Sub-policy 14: (Solarize 0.5, bin 2), (Invert 0.0): prob <= p applies, so a draw of
	 * exactly 0 still inverts, as torchvision's `probs[i] <= p`. */
	uint8_t a[2] = {100, 250};
	aa_subpolicy(14, (float[]){0.6f, 0.0f}, (int[]){1, 1}, a, 1, 2, 1);
	same(a, (uint8_t[]){155, 5}, 2, "sub-policy 14: Solarize skipped (0.6 > 0.5), Invert at p 0");
	uint8_t b[2] = {100, 250};
	aa_subpolicy(14, (float[]){0.5f, 0.5f}, (int[]){1, 1}, b, 1, 2, 1);
	same(b, (uint8_t[]){100, 5}, 2, "sub-policy 14: Solarize at 198.3 applied, Invert skipped");
	/* Sub-policy 1: (Rotate 0.7, bin 2 = 6.67°), (TranslateX 0.3, bin 9 = int 14 on 32 wide). */
	uint8_t *img = xcalloc(32 * 32, 1), *ref = xcalloc(32 * 32, 1);
	for (int i = 0; i < 32 * 32; i++)
		img[i] = ref[i] = (uint8_t)(i % 32 + 1);
	aa_subpolicy(1, (float[]){0.9f, 0.2f}, (int[]){0, 0}, img, 32, 32, 1);
	aa_apply(AA_TRANSLATE_X, -14.0f, ref, 32, 32, 1);
	T_CHECK(!memcmp(img, ref, 32 * 32), "sub-policy 1, sign 0: TranslateX by -14 pixels");
	T_CHECK(img[31] == 0 && img[17] == 32, "columns 18.. are zero after moving 14 left");
	free(img);
	free(ref);
}

static void test_random(void)
{
	struct prng r1, r2;
	uint8_t base[32 * 32 * 3], x[32 * 32 * 3], y[32 * 32 * 3];
	struct prng src;
	prng_seed(&src, 77);
	for (size_t i = 0; i < sizeof base; i++)
		base[i] = (uint8_t)prng_below(&src, 256);
	prng_seed(&r1, 5);
	prng_seed(&r2, 5);
	struct augment all = {.crop_pad = 4, .hflip = 1, .autoaugment = 1};
	int identical = 1, changed = 0;
	for (int t = 0; t < 50; t++) {
		memcpy(x, base, sizeof x);
		memcpy(y, base, sizeof y);
		augment_u8(&all, x, 32, 32, 3, &r1);
		augment_u8(&all, y, 32, 32, 3, &r2);
		identical &= !memcmp(x, y, sizeof x);
		changed += memcmp(x, base, sizeof x) != 0;
	}
	T_CHECK(identical, "same seed, same augmented images");
	T_CHECK(changed > 40, "augmentation changes most images (%d of 50)", changed);
	int aa_changed = 0;
	for (int t = 0; t < 200; t++) {
		memcpy(x, base, sizeof x);
		aa_random(x, 32, 32, 3, &r1);
		aa_changed += memcmp(x, base, sizeof x) != 0;
	}
	/* Each sub-policy applies at least one op with probability >= 0.2 (policy 14: 0.5); about
	 * 3/4 of draws change the image. */
	T_CHECK(aa_changed > 100 && aa_changed < 195, "AutoAugment alone changes %d of 200", aa_changed);
	uint8_t g[28 * 28], h[28 * 28];
	int grey_same = 1, grey_changed = 0;
	prng_seed(&r1, 8);
	prng_seed(&r2, 8);
	for (int t = 0; t < 100; t++) {
		for (int i = 0; i < 28 * 28; i++)
			g[i] = h[i] = (uint8_t)(i * 3);
		aa_random(g, 28, 28, 1, &r1);
		aa_random(h, 28, 28, 1, &r2);
		grey_same &= !memcmp(g, h, sizeof g);
		for (int i = 0; i < 28 * 28; i++)
			if (g[i] != (uint8_t)(i * 3)) {
				grey_changed++;
				break;
			}
	}
	T_CHECK(grey_same && grey_changed > 40, "AutoAugment on 28x28 grey: reproducible, changes %d of 100",
		grey_changed);
}

static void test_mixup(void)
{
	struct prng r;
	prng_seed(&r, 11);
	enum { N = 16, P = 5 };
	float x[N * P];
	int32_t labels[N], lb[N];
	for (int i = 0; i < N; i++) {
		labels[i] = i;
		for (int k = 0; k < P; k++)
			x[i * P + k] = (float)i;
	}
	float lam = mixup_batch(x, N, P, labels, lb, 0.2, &r);
	int ok = lam >= 0 && lam <= 1, perm_seen[N] = {0};
	for (int i = 0; i < N; i++) {
		perm_seen[lb[i]]++;
		for (int k = 0; k < P; k++)
			ok &= fabsf(x[i * P + k] - (lam * i + (1 - lam) * lb[i])) < 1e-5f;
	}
	for (int i = 0; i < N; i++)
		ok &= perm_seen[i] == 1;
	T_CHECK(ok, "mixup: x = lam·x + (1 - lam)·x[p], labels_b = labels[p], p a permutation (lam %.3f)", lam);
	int extreme = 0;
	double sum = 0;
	for (int t = 0; t < 2000; t++) {
		float l = mixup_batch(x, 2, P, labels, lb, 0.2, &r);
		sum += l;
		extreme += l < 0.1f || l > 0.9f;
	}
	T_NEAR(sum / 2000, 0.5, 0.05, "mixup lambda mean 0.5");
	T_CHECK(extreme > 1000, "Beta(0.2, 0.2) is U-shaped: %d of 2000 lambdas outside [0.1, 0.9]", extreme);
}

/* Random erasing: a zeroed rectangle of 2-33% of the image inside it, else the image untouched;
 * about p of the images; nothing drawn when off. */
static void test_erase(void)
{
	enum { H = 28, W = 20, C = 2, N = 2000 };
	float img[H * W * C];
	struct prng r, r0;
	prng_seed(&r, 21);
	struct augment on = {.erase_p = 0.5}, off = {0};
	int erased = 0, shapes_ok = 1, min_area = H * W, max_area = 0;
	for (int t = 0; t < N; t++) {
		for (int i = 0; i < H * W * C; i++)
			img[i] = 1.0f;
		augment_erase(&on, img, H, W, C, &r);
		int top = H, bottom = -1, left = W, right = -1, zeros = 0;
		for (int y = 0; y < H; y++)
			for (int x = 0; x < W; x++) {
				int z = img[(y * W + x) * C] == 0;
				shapes_ok &= z == (img[(y * W + x) * C + 1] == 0); /* every channel */
				if (z) {
					zeros++;
					top = y < top ? y : top;
					bottom = y > bottom ? y : bottom;
					left = x < left ? x : left;
					right = x > right ? x : right;
				}
			}
		if (!zeros)
			continue;
		erased++;
		int area = (bottom - top + 1) * (right - left + 1);
		shapes_ok &= area == zeros; /* one solid rectangle */
		min_area = area < min_area ? area : min_area;
		max_area = area > max_area ? area : max_area;
	}
	T_CHECK(shapes_ok, "random erasing zeroes one solid rectangle across every channel");
	T_CHECK(erased > N * 0.45 && erased < N * 0.55, "random erasing p 0.5 erases %d of %d", erased, N);
	T_CHECK(min_area >= 0.02 * H * W - W && max_area <= 0.33 * H * W + H + W,
		"erased areas %d..%d of %d pixels: 2-33%% up to rounding", min_area, max_area, H * W);
	prng_seed(&r, 5);
	prng_seed(&r0, 5);
	augment_erase(&off, img, H, W, C, &r);
	T_CHECK(prng_u64(&r) == prng_u64(&r0), "random erasing off draws no random numbers");
}

static void test_batch_with_augment(void)
{
	/* dataset_batch with AutoAugment: reproducible for a seed, differs from no augmentation. */
	struct dataset d = {.n = 4, .h = 8, .w = 8, .c = 1, .classes = 10};
	d.u8 = xmalloc(4 * 64);
	for (int i = 0; i < 4 * 64; i++)
		d.u8[i] = (uint8_t)(i * 5);
	d.mean[0] = d.mean[1] = d.mean[2] = 0.5f;
	d.std[0] = d.std[1] = d.std[2] = 0.25f;
	int idx[4] = {0, 1, 2, 3};
	float a[4 * 16 * 16 * 3], b[4 * 16 * 16 * 3], plain[4 * 16 * 16 * 3];
	struct augment aug = {.crop_pad = 2, .hflip = 1, .autoaugment = 1};
	struct prng r1, r2;
	prng_seed(&r1, 3);
	prng_seed(&r2, 3);
	dataset_batch(&d, idx, 4, 16, 16, 3, &aug, &r1, a, NULL);
	dataset_batch(&d, idx, 4, 16, 16, 3, &aug, &r2, b, NULL);
	dataset_batch(&d, idx, 4, 16, 16, 3, NULL, NULL, plain, NULL);
	T_CHECK(!memcmp(a, b, sizeof a) && memcmp(a, plain, sizeof a),
		"augmented batches: same seed same floats, unlike the plain batch");
	free(d.u8);
}

int main(void)
{
	test_pointwise();
	test_contrast_color();
	test_sharpness();
	test_autocontrast_equalize();
	test_geometry();
	test_grid_golden();
	test_magnitudes();
	test_policy();
	test_random();
	test_mixup();
	test_erase();
	test_batch_with_augment();
	return t_done();
}
