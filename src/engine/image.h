/* image.h — one image file in and out (PNG through libpng, JPEG through libjpeg-turbo) and the
 * area resize that brings images of any size to one stored size (dataset.c's folder loader). */
#ifndef LMNAS_IMAGE_H
#define LMNAS_IMAGE_H
#include <stddef.h>
#include <stdint.h>

/* The largest side accepted from a file; larger headers are refused before allocation. */
#define IMAGE_MAX_SIDE 16384

/* Reads a PNG or JPEG file (told apart by its first bytes, not its name) as 8-bit pixels:
 * *px malloc'd [h][w][c], c = 1 for grey images, 3 for colour ones (alpha is composited over
 * black, palettes expanded, 16-bit samples reduced to 8). Returns 0, or -1 with a message naming
 * the file in err (then *px is NULL). */
int image_read(const char *path, uint8_t **px, int *h, int *w, int *c, char *err, size_t errlen);

/* Writes px [h][w][c] (c 1 or 3) as PNG, or as JPEG at quality 95. Returns 0, or -1 with err. */
int image_write_png(const char *path, const uint8_t *px, int h, int w, int c, char *err,
		    size_t errlen);
int image_write_jpeg(const char *path, const uint8_t *px, int h, int w, int c, char *err,
		     size_t errlen);

/* src [sh][sw][c] -> dst [dh][dw][c]. Per axis: a shrink averages the source pixels each output
 * pixel covers, weighted by the covered fraction (area, OpenCV's INTER_AREA); an enlargement
 * interpolates linearly (align_corners=False, as dataset_batch). Same size copies. Rounds to
 * the nearest integer. */
void image_resize_area(const uint8_t *src, int sh, int sw, int c, uint8_t *dst, int dh, int dw);
#endif
