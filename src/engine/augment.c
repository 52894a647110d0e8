/* augment.c — random crop, horizontal flip, AutoAugment (torchvision's CIFAR10 policy) and MixUp.
 *
 * The AutoAugment operations reproduce torchvision's tensor implementation on uint8 images
 * (transforms/autoaugment.py, transforms/_functional_tensor.py); each function names the
 * torchvision function it follows. */
#include "engine/augment.h"
#include "core/prng.h"
#include "core/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- crop and flip ---- */

/* Random crop after zero padding, on elements of elem bytes: img [h][w][c]. */
static void random_crop(void *img, int h, int w, int c, size_t elem, int pad, struct prng *rng)
{
	/* Like torchvision: the top offset, then the left one, each uniform in [0, 2·pad]. */
	int top = (int)prng_below(rng, (uint64_t)(2 * pad + 1)) - pad;
	int left = (int)prng_below(rng, (uint64_t)(2 * pad + 1)) - pad;
	size_t px = (size_t)c * elem, row = (size_t)w * px;
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
	unsigned char t[64], *p = img; /* px <= 16 channels × 4 bytes */
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w / 2; x++) {
			unsigned char *a = p + y * row + x * px, *b = p + y * row + (w - 1 - x) * px;
			memcpy(t, a, px);
			memcpy(a, b, px);
			memcpy(b, t, px);
		}
}

static void crop_flip(const struct augment *a, void *img, int h, int w, int c, size_t elem,
		      struct prng *rng)
{
	if (a->crop_pad > 0)
		random_crop(img, h, w, c, elem, a->crop_pad, rng);
	if (a->hflip && prng_unit(rng) < 0.5)
		hflip(img, h, w, c, elem);
}

void augment_erase(const struct augment *a, float *img, int h, int w, int c, struct prng *rng)
{
	if (!(a->erase_p > 0) || prng_unit(rng) >= a->erase_p)
		return;
	double area = (double)h * w, log_lo = log(0.3), log_hi = log(3.3);
	for (int attempt = 0; attempt < 10; attempt++) {
		double target = area * (0.02 + 0.31 * prng_unit(rng));
		double aspect = exp(log_lo + (log_hi - log_lo) * prng_unit(rng));
		int eh = (int)lround(sqrt(target * aspect)), ew = (int)lround(sqrt(target / aspect));
		if (eh < 1 || ew < 1 || eh >= h || ew >= w)
			continue;
		int top = (int)prng_below(rng, (uint64_t)(h - eh + 1));
		int left = (int)prng_below(rng, (uint64_t)(w - ew + 1));
		for (int y = top; y < top + eh; y++)
			memset(img + ((size_t)y * w + left) * c, 0, (size_t)ew * c * sizeof *img);
		return;
	}
}

void augment_u8(const struct augment *a, uint8_t *img, int h, int w, int c, struct prng *rng)
{
	crop_flip(a, img, h, w, c, 1, rng);
	if (a->autoaugment && (c == 1 || c == 3))
		aa_random(img, h, w, c, rng);
}

void augment_f32(const struct augment *a, float *img, int h, int w, int c, struct prng *rng)
{
	crop_flip(a, img, h, w, c, sizeof(float), rng);
}

/* ---- AutoAugment operations ---- */

static const char *op_names[AA_NOPS] = {
	"ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate", "Brightness", "Color", "Contrast",
	"Sharpness", "Posterize", "Solarize", "AutoContrast", "Equalize", "Invert",
};

const char *aa_op_name(enum aa_op op)
{
	return (unsigned)op < AA_NOPS ? op_names[op] : "?";
}

/* _blend: (ratio·a + (1 − ratio)·b).clamp(0, 255).to(uint8), in float32 as PyTorch does. */
static uint8_t blend(float ratio_f, float rest_f, float a, float b)
{
	float v = ratio_f * a + rest_f * b;
	if (!(v > 0))
		return 0;
	if (v > 255)
		return 255;
	return (uint8_t)v; /* truncation, as .to(torch.uint8) */
}

/* rgb_to_grayscale on uint8: (0.2989 r + 0.587 g + 0.114 b) in float32, truncated. */
static uint8_t grey_of(const uint8_t *px)
{
	float v = 0.2989f * px[0] + 0.587f * px[1];
	v = v + 0.114f * px[2];
	return (uint8_t)v;
}

/* F.affine / F.rotate on tensors: m is torchvision's inverse matrix (_get_inverse_affine_matrix,
 * coordinates relative to the image centre); _gen_affine_grid then grid_sample(mode="nearest",
 * padding_mode="zeros", align_corners=False), all in float32. */
static void grid_nearest(uint8_t *img, int h, int w, int c, const double m[6])
{
	float hw = 0.5f * (float)w, hh = 0.5f * (float)h;
	float r0 = (float)m[0] / hw, r1 = (float)m[1] / hw, r2 = (float)m[2] / hw;
	float r3 = (float)m[3] / hh, r4 = (float)m[4] / hh, r5 = (float)m[5] / hh;
	size_t n = (size_t)h * w * c;
	uint8_t *out = xcalloc(n, 1);
	for (int i = 0; i < h; i++) {
		float y = -(float)h * 0.5f + 0.5f + (float)i;
		for (int j = 0; j < w; j++) {
			float x = -(float)w * 0.5f + 0.5f + (float)j;
			float gx = x * r0 + y * r1 + r2, gy = x * r3 + y * r4 + r5;
			float sx = ((gx + 1.0f) * (float)w - 1.0f) / 2.0f;
			float sy = ((gy + 1.0f) * (float)h - 1.0f) / 2.0f;
			float ix = nearbyintf(sx), iy = nearbyintf(sy);
			if (ix < 0 || ix > (float)(w - 1) || iy < 0 || iy > (float)(h - 1))
				continue; /* zero padding */
			memcpy(out + ((size_t)i * w + j) * c, img + ((size_t)iy * w + (size_t)ix) * c,
			       (size_t)c);
		}
	}
	memcpy(img, out, n);
	free(out);
}

/* _get_inverse_affine_matrix(center, angle, translate, scale = 1, shear), degrees. */
static void inverse_affine(double cx, double cy, double angle, double tx, double ty, double shx,
			   double shy, double m[6])
{
	double rot = angle * M_PI / 180.0, sx = shx * M_PI / 180.0, sy = shy * M_PI / 180.0;
	double a = cos(rot - sy) / cos(sy);
	double b = -cos(rot - sy) * tan(sx) / cos(sy) - sin(rot);
	double cc = sin(rot - sy) / cos(sy);
	double d = -sin(rot - sy) * tan(sx) / cos(sy) + cos(rot);
	m[0] = d, m[1] = -b, m[2] = 0, m[3] = -cc, m[4] = a, m[5] = 0;
	m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty);
	m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty);
	m[2] += cx;
	m[5] += cy;
}

/* ShearX/ShearY: F.affine(shear=degrees(atan(mag)), center=[0, 0]) — the top-left corner,
 * which torchvision turns into (-w/2, -h/2) relative to the centre. */
static void op_shear(uint8_t *img, int h, int w, int c, float mag, int along_y)
{
	double deg = atan((double)mag) * 180.0 / M_PI, m[6];
	inverse_affine(-0.5 * w, -0.5 * h, 0, 0, 0, along_y ? 0 : deg, along_y ? deg : 0, m);
	grid_nearest(img, h, w, c, m);
}

/* TranslateX/Y: F.affine(translate=[int(mag), 0] or [0, int(mag)]), centre of the image. */
static void op_translate(uint8_t *img, int h, int w, int c, float mag, int along_y)
{
	double t = (double)(int)mag, m[6];
	inverse_affine(0, 0, 0, along_y ? 0 : t, along_y ? t : 0, 0, 0, m);
	grid_nearest(img, h, w, c, m);
}

/* Rotate: F.rotate(angle) = inverse matrix of −angle about the centre. */
static void op_rotate(uint8_t *img, int h, int w, int c, float deg)
{
	double m[6];
	inverse_affine(0, 0, -(double)deg, 0, 0, 0, 0, m);
	grid_nearest(img, h, w, c, m);
}

static void op_brightness(uint8_t *img, size_t n, double factor)
{
	float r = (float)factor, rest = (float)(1.0 - factor);
	for (size_t i = 0; i < n; i++)
		img[i] = blend(r, rest, img[i], 0.0f);
}

/* adjust_saturation: blend with the uint8 greyscale image; identity on 1-channel images. */
static void op_color(uint8_t *img, size_t npix, int c, double factor)
{
	if (c == 1)
		return;
	float r = (float)factor, rest = (float)(1.0 - factor);
	for (size_t p = 0; p < npix; p++) {
		uint8_t *px = img + p * 3;
		float g = grey_of(px);
		for (int ch = 0; ch < 3; ch++)
			px[ch] = blend(r, rest, px[ch], g);
	}
}

/* adjust_contrast: blend with the float32 mean of the greyscale image (of the image itself when
 * it has one channel). */
static void op_contrast(uint8_t *img, size_t npix, int c, double factor)
{
	float sum = 0; /* integer values: exact in float32 up to 2^24 */
	double exact = 0;
	for (size_t p = 0; p < npix; p++) {
		float g = c == 3 ? grey_of(img + p * 3) : img[p];
		sum += g;
		exact += g;
	}
	float mean = (exact < 16777216.0 ? sum : (float)exact) / (float)npix;
	float r = (float)factor, rest = (float)(1.0 - factor);
	for (size_t i = 0; i < npix * c; i++)
		img[i] = blend(r, rest, img[i], mean);
}

/* adjust_sharpness: blend with the image smoothed by [[1,1,1],[1,5,1],[1,1,1]]/13 (rounded to
 * uint8) inside a one-pixel border that keeps the original pixels; no-op when h or w <= 2. */
static void op_sharpness(uint8_t *img, int h, int w, int c, double factor)
{
	if (h <= 2 || w <= 2)
		return;
	size_t n = (size_t)h * w * c;
	uint8_t *blur = xmalloc(n);
	memcpy(blur, img, n);
	for (int y = 1; y < h - 1; y++)
		for (int x = 1; x < w - 1; x++)
			for (int ch = 0; ch < c; ch++) {
				int s = 4 * img[((size_t)y * w + x) * c + ch];
				for (int dy = -1; dy <= 1; dy++)
					for (int dx = -1; dx <= 1; dx++)
						s += img[((size_t)(y + dy) * w + (x + dx)) * c + ch];
				/* s/13 is never a tie, so rounding the exact value matches torch.round */
				blur[((size_t)y * w + x) * c + ch] = (uint8_t)lround(s / 13.0);
			}
	float r = (float)factor, rest = (float)(1.0 - factor);
	for (size_t i = 0; i < n; i++)
		img[i] = blend(r, rest, img[i], blur[i]);
	free(blur);
}

static void op_posterize(uint8_t *img, size_t n, int bits)
{
	uint8_t mask = (uint8_t)(0xff << (8 - bits));
	for (size_t i = 0; i < n; i++)
		img[i] &= mask;
}

static void op_solarize(uint8_t *img, size_t n, float threshold)
{
	for (size_t i = 0; i < n; i++)
		if ((float)img[i] >= threshold)
			img[i] = (uint8_t)(255 - img[i]);
}

/* autocontrast: per channel, (x − min)·255/(max − min) in float32, clamped, truncated;
 * a flat channel is left as is. */
static void op_autocontrast(uint8_t *img, size_t npix, int c)
{
	for (int ch = 0; ch < c; ch++) {
		int lo = 255, hi = 0;
		for (size_t p = 0; p < npix; p++) {
			int v = img[p * c + ch];
			lo = v < lo ? v : lo;
			hi = v > hi ? v : hi;
		}
		if (hi == lo)
			continue;
		float mn = (float)lo, scale = 255.0f / ((float)hi - mn);
		for (size_t p = 0; p < npix; p++) {
			float v = ((float)img[p * c + ch] - mn) * scale;
			img[p * c + ch] = v >= 255.0f ? 255 : v <= 0 ? 0 : (uint8_t)v;
		}
	}
}

/* equalize (_scale_channel): per channel, step = (sum of the non-zero histogram bins except the
 * last) / 255; lut[v] = (cdf[v − 1] + step/2) / step, lut[0] = 0; unchanged when step is 0. */
static void op_equalize(uint8_t *img, size_t npix, int c)
{
	for (int ch = 0; ch < c; ch++) {
		int64_t hist[256] = {0}, lut[256];
		for (size_t p = 0; p < npix; p++)
			hist[img[p * c + ch]]++;
		int last = 255;
		while (last > 0 && hist[last] == 0)
			last--;
		int64_t step = 0;
		for (int v = 0; v < last; v++)
			step += hist[v];
		step /= 255;
		if (step == 0)
			continue;
		int64_t cdf = 0;
		for (int v = 0; v < 256; v++) {
			int64_t l = (cdf + step / 2) / step;
			lut[v] = l > 255 ? 255 : l;
			cdf += hist[v];
		}
		for (size_t p = 0; p < npix; p++)
			img[p * c + ch] = (uint8_t)lut[img[p * c + ch]];
	}
}

static void op_invert(uint8_t *img, size_t n)
{
	for (size_t i = 0; i < n; i++)
		img[i] = (uint8_t)(255 - img[i]);
}

void aa_apply(enum aa_op op, float mag, uint8_t *img, int h, int w, int c)
{
	size_t npix = (size_t)h * w, n = npix * c;
	switch (op) {
	case AA_SHEAR_X: op_shear(img, h, w, c, mag, 0); break;
	case AA_SHEAR_Y: op_shear(img, h, w, c, mag, 1); break;
	case AA_TRANSLATE_X: op_translate(img, h, w, c, mag, 0); break;
	case AA_TRANSLATE_Y: op_translate(img, h, w, c, mag, 1); break;
	case AA_ROTATE: op_rotate(img, h, w, c, mag); break;
	case AA_BRIGHTNESS: op_brightness(img, n, 1.0 + (double)mag); break;
	case AA_COLOR: op_color(img, npix, c, 1.0 + (double)mag); break;
	case AA_CONTRAST: op_contrast(img, npix, c, 1.0 + (double)mag); break;
	case AA_SHARPNESS: op_sharpness(img, h, w, c, 1.0 + (double)mag); break;
	case AA_POSTERIZE: op_posterize(img, n, (int)mag); break;
	case AA_SOLARIZE: op_solarize(img, n, mag); break;
	case AA_AUTOCONTRAST: op_autocontrast(img, npix, c); break;
	case AA_EQUALIZE: op_equalize(img, npix, c); break;
	case AA_INVERT: op_invert(img, n); break;
	default: break;
	}
}

/* torch.linspace(start, end, 10)[bin] in float32: the first half counts up from start, the
 * second half down from end. */
static float linspace10(float start, float end, int bin)
{
	float step = (end - start) / 9.0f;
	return bin < 5 ? start + step * (float)bin : end - step * (float)(9 - bin);
}

float aa_magnitude(enum aa_op op, int bin, int h, int w)
{
	switch (op) {
	case AA_SHEAR_X:
	case AA_SHEAR_Y: return linspace10(0.0f, 0.3f, bin);
	/* image_size is [width, height]: TranslateX scales with the width */
	case AA_TRANSLATE_X: return linspace10(0.0f, (float)(150.0 / 331.0 * w), bin);
	case AA_TRANSLATE_Y: return linspace10(0.0f, (float)(150.0 / 331.0 * h), bin);
	case AA_ROTATE: return linspace10(0.0f, 30.0f, bin);
	case AA_BRIGHTNESS:
	case AA_COLOR:
	case AA_CONTRAST:
	case AA_SHARPNESS: return linspace10(0.0f, 0.9f, bin);
	case AA_POSTERIZE: return (float)(8 - (int)nearbyint(bin / (9.0 / 4.0))); /* 8 8 7 7 6 6 5 5 4 4 */
	case AA_SOLARIZE: return linspace10(255.0f, 0.0f, bin);
	default: return 0.0f;
	}
}

static int aa_signed(enum aa_op op)
{
	return op <= AA_SHARPNESS;
}

/* torchvision AutoAugmentPolicy.CIFAR10: (op, probability, magnitude bin or -1) pairs. */
static const struct aa_step { enum aa_op op; float p; int bin; } cifar10_policy[25][2] = {
	{{AA_INVERT, 0.1f, -1}, {AA_CONTRAST, 0.2f, 6}},
	{{AA_ROTATE, 0.7f, 2}, {AA_TRANSLATE_X, 0.3f, 9}},
	{{AA_SHARPNESS, 0.8f, 1}, {AA_SHARPNESS, 0.9f, 3}},
	{{AA_SHEAR_Y, 0.5f, 8}, {AA_TRANSLATE_Y, 0.7f, 9}},
	{{AA_AUTOCONTRAST, 0.5f, -1}, {AA_EQUALIZE, 0.9f, -1}},
	{{AA_SHEAR_Y, 0.2f, 7}, {AA_POSTERIZE, 0.3f, 7}},
	{{AA_COLOR, 0.4f, 3}, {AA_BRIGHTNESS, 0.6f, 7}},
	{{AA_SHARPNESS, 0.3f, 9}, {AA_BRIGHTNESS, 0.7f, 9}},
	{{AA_EQUALIZE, 0.6f, -1}, {AA_EQUALIZE, 0.5f, -1}},
	{{AA_CONTRAST, 0.6f, 7}, {AA_SHARPNESS, 0.6f, 5}},
	{{AA_COLOR, 0.7f, 7}, {AA_TRANSLATE_X, 0.5f, 8}},
	{{AA_EQUALIZE, 0.3f, -1}, {AA_AUTOCONTRAST, 0.4f, -1}},
	{{AA_TRANSLATE_Y, 0.4f, 3}, {AA_SHARPNESS, 0.2f, 6}},
	{{AA_BRIGHTNESS, 0.9f, 6}, {AA_COLOR, 0.2f, 8}},
	{{AA_SOLARIZE, 0.5f, 2}, {AA_INVERT, 0.0f, -1}},
	{{AA_EQUALIZE, 0.2f, -1}, {AA_AUTOCONTRAST, 0.6f, -1}},
	{{AA_EQUALIZE, 0.2f, -1}, {AA_EQUALIZE, 0.6f, -1}},
	{{AA_COLOR, 0.9f, 9}, {AA_EQUALIZE, 0.6f, -1}},
	{{AA_AUTOCONTRAST, 0.8f, -1}, {AA_SOLARIZE, 0.2f, 8}},
	{{AA_BRIGHTNESS, 0.1f, 3}, {AA_COLOR, 0.7f, 0}},
	{{AA_SOLARIZE, 0.4f, 5}, {AA_AUTOCONTRAST, 0.9f, -1}},
	{{AA_TRANSLATE_Y, 0.9f, 9}, {AA_TRANSLATE_Y, 0.7f, 9}},
	{{AA_AUTOCONTRAST, 0.9f, -1}, {AA_SOLARIZE, 0.8f, 3}},
	{{AA_EQUALIZE, 0.8f, -1}, {AA_INVERT, 0.1f, -1}},
	{{AA_TRANSLATE_Y, 0.7f, 9}, {AA_AUTOCONTRAST, 0.9f, -1}},
};

void aa_subpolicy(int id, const float probs[2], const int signs[2], uint8_t *img, int h, int w,
		  int c)
{
	for (int i = 0; i < 2; i++) {
		const struct aa_step *s = &cifar10_policy[id][i];
		if (!(probs[i] <= s->p))
			continue;
		float mag = s->bin >= 0 ? aa_magnitude(s->op, s->bin, h, w) : 0.0f;
		if (aa_signed(s->op) && signs[i] == 0)
			mag = -mag;
		aa_apply(s->op, mag, img, h, w, c);
	}
}

void aa_random(uint8_t *img, int h, int w, int c, struct prng *rng)
{
	/* torchvision's get_params order: policy id, two probabilities, two signs. */
	int id = (int)prng_below(rng, 25);
	float probs[2] = {prng_unitf(rng), prng_unitf(rng)};
	int signs[2] = {(int)prng_below(rng, 2), (int)prng_below(rng, 2)};
	aa_subpolicy(id, probs, signs, img, h, w, c);
}

/* ---- MixUp ---- */

float mixup_batch(float *x, int count, size_t per_image, const int32_t *labels, int32_t *labels_b,
		  double alpha, struct prng *rng)
{
	float lam = (float)prng_beta(rng, alpha, alpha);
	int *perm = xmalloc((size_t)count * sizeof *perm);
	for (int i = 0; i < count; i++)
		perm[i] = i;
	prng_shuffle(rng, perm, count);
	float *orig = xmalloc((size_t)count * per_image * sizeof *orig);
	memcpy(orig, x, (size_t)count * per_image * sizeof *orig);
	for (int i = 0; i < count; i++) {
		float *dst = x + (size_t)i * per_image;
		const float *a = orig + (size_t)i * per_image, *b = orig + (size_t)perm[i] * per_image;
		for (size_t k = 0; k < per_image; k++)
			dst[k] = lam * a[k] + (1.0f - lam) * b[k];
		if (labels_b)
			labels_b[i] = labels ? labels[perm[i]] : -1;
	}
	free(orig);
	free(perm);
	return lam;
}
