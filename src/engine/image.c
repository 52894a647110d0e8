/* image.c — PNG (libpng's simplified API) and JPEG (libjpeg) files to 8-bit pixels and back,
 * and the area resize. */
#include "engine/image.h"
#include "core/util.h"

#include <errno.h>
#include <setjmp.h>
#include <stdio.h> /* before jpeglib.h, which uses FILE */
#include <jpeglib.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

/* ---- PNG ---- */

static int png_read(const char *path, uint8_t **px, int *h, int *w, int *c, char *err,
		    size_t errlen)
{
	png_image im;
	memset(&im, 0, sizeof im);
	im.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_file(&im, path))
		return fail(err, errlen, "%s: not a readable PNG (%s)", path, im.message);
	if (im.width < 1 || im.height < 1 || im.width > IMAGE_MAX_SIDE || im.height > IMAGE_MAX_SIDE) {
		png_image_free(&im);
		return fail(err, errlen, "%s: PNG of %ux%u pixels (sides 1..%d)", path, im.width,
			    im.height, IMAGE_MAX_SIDE);
	}
	*c = (im.format & PNG_FORMAT_FLAG_COLOR) ? 3 : 1;
	im.format = *c == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
	*h = (int)im.height;
	*w = (int)im.width;
	*px = xcalloc(PNG_IMAGE_SIZE(im), 1);
	png_color black = {0, 0, 0};
	if (!png_image_finish_read(&im, &black, *px, 0, NULL)) {
		free(*px);
		*px = NULL;
		png_image_free(&im);
		return fail(err, errlen, "%s: corrupt PNG (%s)", path, im.message);
	}
	return 0;
}

int image_write_png(const char *path, const uint8_t *px, int h, int w, int c, char *err,
		    size_t errlen)
{
	png_image im;
	memset(&im, 0, sizeof im);
	im.version = PNG_IMAGE_VERSION;
	im.width = (png_uint_32)w;
	im.height = (png_uint_32)h;
	im.format = c == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
	if (!png_image_write_to_file(&im, path, 0, px, 0, NULL))
		return fail(err, errlen, "%s: cannot write PNG (%s)", path, im.message);
	return 0;
}

/* ---- JPEG ---- */

/* libjpeg calls error_exit on any error; it jumps back here with the message. */
struct jpeg_err {
	struct jpeg_error_mgr mgr;
	jmp_buf back;
	char msg[JMSG_LENGTH_MAX];
};

static void jpeg_error_jump(j_common_ptr ci)
{
	struct jpeg_err *e = (struct jpeg_err *)ci->err;
	(*ci->err->format_message)(ci, e->msg);
	longjmp(e->back, 1);
}

/* Warnings (e.g. "premature end of data") are treated as errors: a damaged file is refused. */
static void jpeg_warning_jump(j_common_ptr ci, int level)
{
	if (level < 0)
		jpeg_error_jump(ci);
}

static int jpeg_read(const char *path, uint8_t **px, int *h, int *w, int *c, char *err,
		     size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return fail(err, errlen, "%s: %s", path, strerror(errno));
	struct jpeg_decompress_struct ci;
	struct jpeg_err je;
	uint8_t *volatile buf = NULL;
	ci.err = jpeg_std_error(&je.mgr);
	je.mgr.error_exit = jpeg_error_jump;
	je.mgr.emit_message = jpeg_warning_jump;
	if (setjmp(je.back)) {
		jpeg_destroy_decompress(&ci);
		fclose(f);
		free(buf);
		*px = NULL;
		return fail(err, errlen, "%s: corrupt JPEG (%s)", path, je.msg);
	}
	jpeg_create_decompress(&ci);
	jpeg_stdio_src(&ci, f);
	jpeg_read_header(&ci, TRUE);
	if (ci.image_width < 1 || ci.image_height < 1 || ci.image_width > IMAGE_MAX_SIDE ||
	    ci.image_height > IMAGE_MAX_SIDE) {
		fail(err, errlen, "%s: JPEG of %ux%u pixels (sides 1..%d)", path, ci.image_width,
		     ci.image_height, IMAGE_MAX_SIDE);
		jpeg_destroy_decompress(&ci);
		fclose(f);
		return -1;
	}
	ci.out_color_space = ci.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
	jpeg_start_decompress(&ci);
	int cc = ci.output_components;
	size_t stride = (size_t)ci.output_width * cc;
	buf = xmalloc(stride * ci.output_height);
	while (ci.output_scanline < ci.output_height) {
		JSAMPROW row = buf + stride * ci.output_scanline;
		jpeg_read_scanlines(&ci, &row, 1);
	}
	jpeg_finish_decompress(&ci);
	*h = (int)ci.output_height;
	*w = (int)ci.output_width;
	*c = cc;
	*px = buf;
	jpeg_destroy_decompress(&ci);
	fclose(f);
	return 0;
}

int image_write_jpeg(const char *path, const uint8_t *px, int h, int w, int c, char *err,
		     size_t errlen)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return fail(err, errlen, "%s: %s", path, strerror(errno));
	struct jpeg_compress_struct ci;
	struct jpeg_err je;
	ci.err = jpeg_std_error(&je.mgr);
	je.mgr.error_exit = jpeg_error_jump;
	if (setjmp(je.back)) {
		jpeg_destroy_compress(&ci);
		fclose(f);
		return fail(err, errlen, "%s: cannot write JPEG (%s)", path, je.msg);
	}
	jpeg_create_compress(&ci);
	jpeg_stdio_dest(&ci, f);
	ci.image_width = (JDIMENSION)w;
	ci.image_height = (JDIMENSION)h;
	ci.input_components = c;
	ci.in_color_space = c == 3 ? JCS_RGB : JCS_GRAYSCALE;
	jpeg_set_defaults(&ci);
	jpeg_set_quality(&ci, 95, TRUE);
	jpeg_start_compress(&ci, TRUE);
	while (ci.next_scanline < ci.image_height) {
		JSAMPROW row = (JSAMPROW)(px + (size_t)ci.next_scanline * w * c);
		jpeg_write_scanlines(&ci, &row, 1);
	}
	jpeg_finish_compress(&ci);
	jpeg_destroy_compress(&ci);
	if (fclose(f))
		return fail(err, errlen, "%s: %s", path, strerror(errno));
	return 0;
}

int image_read(const char *path, uint8_t **px, int *h, int *w, int *c, char *err, size_t errlen)
{
	*px = NULL;
	unsigned char head[8] = {0};
	FILE *f = fopen(path, "rb");
	if (!f)
		return fail(err, errlen, "%s: %s", path, strerror(errno));
	size_t got = fread(head, 1, sizeof head, f);
	fclose(f);
	if (got == 8 && !png_sig_cmp(head, 0, 8))
		return png_read(path, px, h, w, c, err, errlen);
	if (got >= 3 && head[0] == 0xff && head[1] == 0xd8 && head[2] == 0xff)
		return jpeg_read(path, px, h, w, c, err, errlen);
	return fail(err, errlen, "%s: neither a PNG nor a JPEG file", path);
}

/* ---- resize ---- */

/* One output pixel's source pixels along an axis: first index, count, weights (sum 1). */
struct taps {
	int first, count;
	float *wt;
};

/* The taps of every output position o in 0..out for a source of n pixels. */
static struct taps *axis_taps(int n, int out)
{
	struct taps *t = xcalloc((size_t)out, sizeof *t);
	double scale = (double)n / out;
	for (int o = 0; o < out; o++) {
		if (scale > 1.0) { /* area: source interval [o·scale, (o+1)·scale) */
			double a = o * scale, b = a + scale;
			int i0 = (int)a, i1 = (int)b < n ? (int)b : n - 1;
			t[o].first = i0;
			t[o].count = i1 - i0 + 1;
			t[o].wt = xmalloc((size_t)t[o].count * sizeof *t[o].wt);
			for (int i = i0; i <= i1; i++) {
				double lo = i > a ? i : a, hi = i + 1 < b ? i + 1 : b;
				t[o].wt[i - i0] = (float)((hi > lo ? hi - lo : 0) / scale);
			}
		} else { /* linear, align_corners=False */
			double s = scale * (o + 0.5) - 0.5;
			if (s < 0)
				s = 0;
			int i0 = (int)s < n - 1 ? (int)s : n - 1;
			double f = s - i0;
			t[o].first = i0;
			t[o].count = i0 < n - 1 ? 2 : 1;
			t[o].wt = xmalloc(2 * sizeof *t[o].wt);
			t[o].wt[0] = t[o].count == 2 ? (float)(1 - f) : 1.0f;
			t[o].wt[1] = (float)f;
		}
	}
	return t;
}

static void taps_free(struct taps *t, int out)
{
	for (int o = 0; o < out; o++)
		free(t[o].wt);
	free(t);
}

void image_resize_area(const uint8_t *src, int sh, int sw, int c, uint8_t *dst, int dh, int dw)
{
	if (sh == dh && sw == dw) {
		memcpy(dst, src, (size_t)sh * sw * c);
		return;
	}
	struct taps *ty = axis_taps(sh, dh), *tx = axis_taps(sw, dw);
	float *rows = xmalloc((size_t)dh * sw * c * sizeof *rows); /* [dh][sw][c] after the y pass */
	for (int y = 0; y < dh; y++)
		for (size_t k = 0; k < (size_t)sw * c; k++) {
			float s = 0;
			for (int i = 0; i < ty[y].count; i++)
				s += ty[y].wt[i] * src[(size_t)(ty[y].first + i) * sw * c + k];
			rows[(size_t)y * sw * c + k] = s;
		}
	for (int y = 0; y < dh; y++)
		for (int x = 0; x < dw; x++)
			for (int ch = 0; ch < c; ch++) {
				float s = 0;
				for (int i = 0; i < tx[x].count; i++)
					s += tx[x].wt[i] * rows[((size_t)y * sw + tx[x].first + i) * c + ch];
				int v = (int)(s + 0.5f);
				dst[((size_t)y * dw + x) * c + ch] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
			}
	free(rows);
	taps_free(ty, dh);
	taps_free(tx, dw);
}
