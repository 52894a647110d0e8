/* dataset.c — loading Fashion-MNIST (IDX), CIFAR-10/100 (binary) and safetensors datasets, the
 * validation split, and float batches (augment, normalise, bilinear resize, channel mapping). */
#include "engine/dataset.h"
#include "engine/augment.h"
#include "core/prng.h"
#include "core/safetensors.h"
#include "core/util.h"

#include <cJSON.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

/* Larger inputs are refused before allocation (4 GiB of pixels, 100M images). */
#define MAX_PIXEL_BYTES (4ull << 30)
#define MAX_IMAGES 100000000ll
#define MAX_SIDE 65536
#define MAX_CHANNELS 16
#define MAX_CLASSES 1000000

static const char *kind_names[] = {"fashion-mnist", "cifar10", "cifar100", "safetensors", "folder",
				   "csv"};
#define NKINDS 6

int dataset_kind_parse(const char *name, enum dataset_kind *out)
{
	for (int i = 0; i < NKINDS; i++)
		if (name && !strcmp(name, kind_names[i])) {
			*out = (enum dataset_kind)i;
			return 0;
		}
	return -1;
}

const char *dataset_kind_name(enum dataset_kind k)
{
	return (unsigned)k < NKINDS ? kind_names[k] : "?";
}

const char *dataset_default_path(enum dataset_kind k)
{
	return k == DS_FASHION_MNIST ? "/usr/share/datasets/fashion-mnist" : NULL;
}

void dataset_free(struct dataset *d)
{
	free(d->u8);
	free(d->f32);
	free(d->labels);
	for (int c = 0; d->class_names && c < d->classes; c++)
		free(d->class_names[c]);
	free(d->class_names);
	memset(d, 0, sizeof *d);
}

static int file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int dir_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ---- IDX (Fashion-MNIST), optionally gzip-compressed ---- */

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* zlib's message for g without the "PATH: " prefix it adds. */
static const char *gz_message(gzFile g, const char *path, int *zerr)
{
	const char *msg = gzerror(g, zerr);
	size_t n = strlen(path);
	return !strncmp(msg, path, n) && !strncmp(msg + n, ": ", 2) ? msg + n + 2 : msg;
}

/* Reads exactly n bytes into a malloc'd buffer that grows with what the file really holds
 * (doubling from 1 MiB), so a header that claims gigabytes over a few bytes of file (or of gzip)
 * fails as truncated instead of allocating them first. Returns the buffer, or NULL with the
 * reason in err. */
static uint8_t *gz_read_all(gzFile g, const char *path, size_t n, const char *what, char *err,
			    size_t errlen)
{
	size_t cap = n < (1u << 20) ? n : (1u << 20), got = 0;
	uint8_t *buf = xmalloc(cap);
	while (got < n) {
		if (got == cap) {
			cap = cap > n / 2 ? n : 2 * cap;
			buf = xrealloc(buf, cap);
		}
		unsigned chunk = cap - got > (1u << 30) ? (1u << 30) : (unsigned)(cap - got);
		int r = gzread(g, buf + got, chunk);
		if (r <= 0) {
			int zerr;
			const char *msg = gz_message(g, path, &zerr);
			if (r < 0)
				fail(err, errlen, "%s: corrupt compressed data while reading %s (%s)", path,
				     what, msg);
			else
				fail(err, errlen, "%s: truncated: %s needs %zu bytes, the file ends after %zu%s%s",
				     path, what, n, got, zerr ? ": " : "", zerr ? msg : "");
			free(buf);
			return NULL;
		}
		got += (size_t)r;
	}
	return buf;
}

/* Opens an IDX file of unsigned bytes with ndim dimensions, checks its header, reads the data.
 * dims: [ndim] out. *data: malloc'd [product of dims]. */
static int idx_read(const char *path, int ndim, int32_t *dims, uint8_t **data, char *err,
		    size_t errlen)
{
	*data = NULL;
	if (!file_exists(path))
		return fail(err, errlen, "%s: %s", path, strerror(errno ? errno : ENOENT));
	gzFile g = gzopen(path, "rb");
	if (!g)
		return fail(err, errlen, "%s: cannot open (%s)", path, strerror(errno));
	unsigned char *head = gz_read_all(g, path, 4 + 4 * (size_t)ndim, "the IDX header", err, errlen);
	if (!head)
		goto bad;
	uint32_t magic = be32(head);
	if (magic != (0x0800u | (uint32_t)ndim)) {
		fail(err, errlen, "%s: not an IDX file of %d-dimensional unsigned bytes (magic 0x%08x, want 0x%08x)",
		     path, ndim, magic, 0x0800u | (uint32_t)ndim);
		goto bad;
	}
	uint64_t total = 1;
	for (int i = 0; i < ndim; i++) {
		uint32_t v = be32(head + 4 + 4 * i);
		if (v == 0 || v > (i == 0 ? (uint32_t)MAX_IMAGES : (uint32_t)MAX_SIDE)) {
			fail(err, errlen, "%s: dimension %d is %u (out of range)", path, i, v);
			goto bad;
		}
		dims[i] = (int32_t)v;
		total *= v;
		if (total > MAX_PIXEL_BYTES) {
			fail(err, errlen, "%s: %llu data bytes is too large", path,
			     (unsigned long long)total);
			goto bad;
		}
	}
	free(head);
	head = NULL;
	*data = gz_read_all(g, path, total, "the IDX data", err, errlen);
	if (!*data)
		goto bad;
	char extra;
	int r = gzread(g, &extra, 1);
	if (r != 0) {
		if (r > 0)
			fail(err, errlen, "%s: trailing bytes after the %llu declared by the header", path,
			     (unsigned long long)total);
		else
			fail(err, errlen, "%s: corrupt compressed data after the IDX data", path);
		goto bad;
	}
	gzclose(g);
	return 0;
bad:
	free(head);
	free(*data);
	*data = NULL;
	gzclose(g);
	return -1;
}

/* Finds dir/name.gz or dir/name. */
static void idx_path(const char *dir, const char *name, char *out, size_t n)
{
	snprintf(out, n, "%s/%s.gz", dir, name);
	if (!file_exists(out))
		snprintf(out, n, "%s/%s", dir, name);
}

static int load_idx(const char *dir, enum dataset_split split, struct dataset *d, char *err,
		    size_t errlen)
{
	const char *prefix = split == SPLIT_TRAIN ? "train" : "t10k";
	char ipath[4096], lpath[4096], name[64];
	int32_t idims[3], ldims[1];
	uint8_t *labels8 = NULL;
	snprintf(name, sizeof name, "%s-images-idx3-ubyte", prefix);
	idx_path(dir, name, ipath, sizeof ipath);
	snprintf(name, sizeof name, "%s-labels-idx1-ubyte", prefix);
	idx_path(dir, name, lpath, sizeof lpath);
	if (idx_read(ipath, 3, idims, &d->u8, err, errlen))
		return -1;
	if (idx_read(lpath, 1, ldims, &labels8, err, errlen))
		return -1;
	if (ldims[0] != idims[0]) {
		free(labels8);
		return fail(err, errlen, "%s: %d labels for %d images in %s", lpath, ldims[0], idims[0],
			    ipath);
	}
	d->n = idims[0];
	d->h = idims[1];
	d->w = idims[2];
	d->c = 1;
	d->classes = 10;
	d->labels = xmalloc((size_t)d->n * sizeof *d->labels);
	for (int i = 0; i < d->n; i++) {
		if (labels8[i] >= 10) {
			fail(err, errlen, "%s: label %d of image %d is outside 0..9", lpath, labels8[i], i);
			free(labels8);
			return -1;
		}
		d->labels[i] = labels8[i];
	}
	free(labels8);
	/* Fashion-MNIST training-set statistics. */
	for (int ch = 0; ch < 3; ch++) {
		d->mean[ch] = 0.2860f;
		d->std[ch] = 0.3530f;
	}
	return 0;
}

/* ---- CIFAR binary ---- */

#define CIFAR_PIXELS 3072

/* Appends the records of one CIFAR .bin file (label_bytes = 1 or 2; the last is the label). */
static int cifar_append(const char *path, int label_bytes, int classes, struct dataset *d,
			size_t *cap, char *err, size_t errlen)
{
	size_t len;
	const char *why;
	size_t rec = (size_t)label_bytes + CIFAR_PIXELS;
	unsigned char *buf = (unsigned char *)read_file(path, MAX_PIXEL_BYTES, &len, &why);
	if (!buf)
		return fail(err, errlen, "%s: %s", path, why);
	if (len == 0 || len % rec) {
		free(buf);
		return fail(err, errlen, "%s: %zu bytes is not a whole number of %zu-byte CIFAR records (truncated?)",
			    path, len, rec);
	}
	size_t count = len / rec;
	if ((size_t)d->n + count > (size_t)MAX_IMAGES) {
		free(buf);
		return fail(err, errlen, "%s: too many images", path);
	}
	if ((size_t)d->n + count > *cap) {
		while ((size_t)d->n + count > *cap)
			*cap = *cap ? *cap * 2 : 1024;
		d->u8 = xrealloc(d->u8, *cap * CIFAR_PIXELS);
		d->labels = xrealloc(d->labels, *cap * sizeof *d->labels);
	}
	for (size_t i = 0; i < count; i++) {
		const unsigned char *r = buf + i * rec;
		int label = r[label_bytes - 1];
		if (label >= classes) {
			free(buf);
			return fail(err, errlen, "%s: record %zu has label %d (classes 0..%d)", path, i,
				    label, classes - 1);
		}
		uint8_t *img = d->u8 + (size_t)d->n * CIFAR_PIXELS; /* [32][32][3] from [3][32][32] */
		for (int p = 0; p < 1024; p++)
			for (int ch = 0; ch < 3; ch++)
				img[p * 3 + ch] = r[label_bytes + ch * 1024 + p];
		d->labels[d->n++] = label;
	}
	free(buf);
	return 0;
}

static int load_cifar(const char *dir, int hundred, enum dataset_split split, struct dataset *d,
		      char *err, size_t errlen)
{
	char base[4096], path[4200];
	const char *sub = hundred ? "cifar-100-binary" : "cifar-10-batches-bin";
	const char *probe = hundred ? "train.bin" : "data_batch_1.bin";
	snprintf(path, sizeof path, "%s/%s", dir, probe);
	snprintf(base, sizeof base, "%s", dir);
	if (!file_exists(path)) {
		snprintf(base, sizeof base, "%s/%s", dir, sub);
		if (!dir_exists(base))
			snprintf(base, sizeof base, "%s", dir);
	}
	size_t cap = 0;
	int classes = hundred ? 100 : 10, rc = 0;
	d->classes = classes;
	d->h = d->w = 32;
	d->c = 3;
	if (hundred) {
		snprintf(path, sizeof path, "%s/%s", base, split == SPLIT_TRAIN ? "train.bin" : "test.bin");
		rc = cifar_append(path, 2, classes, d, &cap, err, errlen);
	} else if (split == SPLIT_TRAIN) {
		for (int b = 1; b <= 5 && !rc; b++) {
			snprintf(path, sizeof path, "%s/data_batch_%d.bin", base, b);
			rc = cifar_append(path, 1, classes, d, &cap, err, errlen);
		}
	} else {
		snprintf(path, sizeof path, "%s/test_batch.bin", base);
		rc = cifar_append(path, 1, classes, d, &cap, err, errlen);
	}
	static const float m10[3] = {0.4914f, 0.4822f, 0.4465f}, s10[3] = {0.2470f, 0.2435f, 0.2616f};
	static const float m100[3] = {0.5071f, 0.4865f, 0.4409f}, s100[3] = {0.2673f, 0.2564f, 0.2762f};
	memcpy(d->mean, hundred ? m100 : m10, sizeof d->mean);
	memcpy(d->std, hundred ? s100 : s10, sizeof d->std);
	return rc;
}

/* ---- safetensors dataset ---- */

static int64_t int_at(const struct st_tensor *t, int64_t i)
{
	const unsigned char *p = (const unsigned char *)t->data + (size_t)i * st_dtype_size(t->dtype);
	switch (t->dtype) {
	case ST_U8: return *p;
	case ST_I8: { int8_t v; memcpy(&v, p, 1); return v; }
	case ST_I16: { int16_t v; memcpy(&v, p, 2); return v; }
	case ST_I32: { int32_t v; memcpy(&v, p, 4); return v; }
	case ST_I64: { int64_t v; memcpy(&v, p, 8); return v; }
	default: return -1;
	}
}

static int load_safetensors(const char *path, struct dataset *d, char *err, size_t errlen)
{
	struct st_file f;
	if (st_open(path, &f, err, errlen))
		return -1;
	int64_t any4[4] = {-1, -1, -1, -1};
	const struct st_tensor *im = st_find(&f, "images");
	int u8 = im && im->dtype == ST_U8; /* uint8 [N,H,W,C] or [N,H,W] */
	if (u8 && im->ndim != 3 && im->ndim != 4) {
		st_close(&f);
		return fail(err, errlen, "%s: tensor images: U8 wants [N,H,W,C] or [N,H,W], not %d dims",
			    path, im->ndim);
	}
	if (!u8)
		im = st_expect(&f, "images", ST_F32, 4, any4, err, errlen);
	if (!im) {
		st_close(&f);
		return -1;
	}
	int64_t n = im->shape[0], c = im->shape[1], h = im->shape[2], w = im->shape[3];
	if (u8) /* NHWC */
		h = im->shape[1], w = im->shape[2], c = im->ndim == 4 ? im->shape[3] : 1;
	if (n < 1 || n > MAX_IMAGES || c < 1 || c > MAX_CHANNELS || h < 1 || h > MAX_SIDE || w < 1 ||
	    w > MAX_SIDE) {
		st_close(&f);
		return fail(err, errlen, "%s: images [%lld,%lld,%lld,%lld]: want [N,C,H,W] with N >= 1 and C in 1..%d",
			    path, (long long)n, (long long)c, (long long)h, (long long)w, MAX_CHANNELS);
	}
	const struct st_tensor *lt = st_find(&f, "labels");
	if (lt && lt->dtype != ST_U8 && lt->dtype != ST_I8 && lt->dtype != ST_I16 &&
	    lt->dtype != ST_I32 && lt->dtype != ST_I64) {
		fail(err, errlen, "%s: tensor labels: dtype %s is not an integer type", path,
		     st_dtype_name(lt->dtype));
		st_close(&f);
		return -1;
	}
	if (lt && (lt->ndim != 1 || lt->shape[0] != n)) {
		st_close(&f);
		return fail(err, errlen, "%s: tensor labels: want shape [%lld] (one per image)", path,
			    (long long)n);
	}
	d->n = (int)n;
	d->c = (int)c;
	d->h = (int)h;
	d->w = (int)w;
	size_t plane = (size_t)h * (size_t)w;
	if (u8) { /* stored as is; normalised with its own mean/std (training split) */
		d->u8 = xmalloc((size_t)n * plane * (size_t)c);
		memcpy(d->u8, im->data, (size_t)n * plane * (size_t)c);
	} else
		d->f32 = xmalloc((size_t)n * plane * (size_t)c * sizeof *d->f32);
	const unsigned char *src = im->data; /* [n][c][h][w] floats, possibly unaligned */
	for (int64_t i = 0; i < n && !u8; i++)
		for (int64_t ch = 0; ch < c; ch++) {
			const unsigned char *s = src + ((size_t)i * (size_t)c + (size_t)ch) * plane * 4;
			float *dst = d->f32 + (size_t)i * plane * (size_t)c + (size_t)ch;
			for (size_t p = 0; p < plane; p++)
				memcpy(dst + p * (size_t)c, s + p * 4, sizeof(float));
		}
	if (lt) {
		d->labels = xmalloc((size_t)n * sizeof *d->labels);
		int64_t maxl = -1;
		for (int64_t i = 0; i < n; i++) {
			int64_t v = int_at(lt, i);
			if (v < 0 || v >= MAX_CLASSES) {
				st_close(&f);
				dataset_free(d);
				return fail(err, errlen, "%s: labels[%lld] is %lld (want 0..%d)", path,
					    (long long)i, (long long)v, MAX_CLASSES - 1);
			}
			d->labels[i] = (int32_t)v;
			if (v > maxl)
				maxl = v;
		}
		d->classes = (int)maxl + 1;
	}
	for (int ch = 0; ch < 3; ch++) {
		d->mean[ch] = 0.0f;
		d->std[ch] = 1.0f;
	}
	if (u8)
		dataset_compute_norm(d);
	st_close(&f);
	return 0;
}

int dataset_load(enum dataset_kind k, const char *path, enum dataset_split split,
		 struct dataset *d, char *err, size_t errlen)
{
	memset(d, 0, sizeof *d);
	if (!path)
		path = dataset_default_path(k);
	if (!path)
		return fail(err, errlen, "the %s dataset has no default location: give its path",
			    dataset_kind_name(k));
	int rc;
	switch (k) {
	case DS_FASHION_MNIST: rc = load_idx(path, split, d, err, errlen); break;
	case DS_CIFAR10: rc = load_cifar(path, 0, split, d, err, errlen); break;
	case DS_CIFAR100: rc = load_cifar(path, 1, split, d, err, errlen); break;
	case DS_SAFETENSORS: rc = load_safetensors(path, d, err, errlen); break;
	case DS_FOLDER:
	case DS_CSV: return dataset_load_images(k, path, 0, 0, NULL, d, err, errlen);
	default: rc = fail(err, errlen, "unknown dataset kind %d", (int)k);
	}
	if (rc)
		dataset_free(d);
	return rc;
}

/* ---- metadata ---- */

/* v in the fewest digits that read back as the same float. */
static void print_float(char *buf, size_t n, float v)
{
	for (int digits = 6; digits <= 9; digits++) {
		snprintf(buf, n, "%.*g", digits, (double)v);
		if (strtof(buf, NULL) == v)
			return;
	}
}

char *dataset_norm_json(const struct dataset *d)
{
	int nc = d->c < 3 ? d->c : 3;
	char *out = xmalloc(256), num[32];
	size_t len = 0;
	for (int part = 0; part < 2; part++) {
		const float *v = part ? d->std : d->mean;
		len += (size_t)snprintf(out + len, 256 - len, "%s\"%s\":[", part ? "," : "{",
					part ? "std" : "mean");
		for (int c = 0; c < nc; c++) {
			print_float(num, sizeof num, v[c]);
			len += (size_t)snprintf(out + len, 256 - len, "%s%s", c ? "," : "", num);
		}
		len += (size_t)snprintf(out + len, 256 - len, "]");
	}
	snprintf(out + len, 256 - len, "}");
	return out;
}

char *dataset_class_names_json(const struct dataset *d)
{
	if (!d->class_names)
		return NULL;
	cJSON *a = cJSON_CreateArray();
	for (int c = 0; c < d->classes; c++)
		cJSON_AddItemToArray(a, cJSON_CreateString(d->class_names[c]));
	char *text = cJSON_PrintUnformatted(a);
	cJSON_Delete(a);
	if (!text)
		die("out of memory");
	return text;
}

/* mean/std (and the channel count) from a "normalisation" text. Returns 0, or -1 with err. */
static int parse_norm(const char *text, struct dataset *d, char *err, size_t errlen)
{
	cJSON *j = cJSON_Parse(text);
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "mean");
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "std");
	int n = cJSON_GetArraySize(m), rc = 0;
	if (!cJSON_IsArray(m) || !cJSON_IsArray(s) || n < 1 || n > 3 || cJSON_GetArraySize(s) != n)
		rc = fail(err, errlen, "normalisation %.80s: want {\"mean\":[1 to 3 numbers],\"std\":[as many]}",
			  text);
	for (int c = 0; c < 3 && !rc; c++) {
		const cJSON *mv = cJSON_GetArrayItem(m, c < n ? c : 0);
		const cJSON *sv = cJSON_GetArrayItem(s, c < n ? c : 0);
		if (!cJSON_IsNumber(mv) || !cJSON_IsNumber(sv) || !(sv->valuedouble > 0))
			rc = fail(err, errlen, "normalisation %.80s: a mean or std is not a number (std > 0)",
				  text);
		else
			d->mean[c] = (float)mv->valuedouble, d->std[c] = (float)sv->valuedouble;
	}
	if (!rc)
		d->c = n;
	cJSON_Delete(j);
	return rc;
}

/* class names from a "class_names" text. Returns 0, or -1 with err. */
static int parse_names(const char *text, struct dataset *d, char *err, size_t errlen)
{
	cJSON *j = cJSON_Parse(text);
	int n = cJSON_GetArraySize(j), rc = 0;
	if (!cJSON_IsArray(j) || n < 1 || n > MAX_CLASSES)
		rc = fail(err, errlen, "class_names %.80s: want an array of names", text);
	d->class_names = xcalloc((size_t)(n > 0 ? n : 1), sizeof *d->class_names);
	for (int c = 0; c < n && !rc; c++) {
		const cJSON *v = cJSON_GetArrayItem(j, c);
		if (!cJSON_IsString(v))
			rc = fail(err, errlen, "class_names: entry %d is not a string", c);
		else
			d->class_names[d->classes++] = xstrdup(v->valuestring);
	}
	cJSON_Delete(j);
	return rc;
}

int dataset_load_for_model(enum dataset_kind k, const char *path, enum dataset_split split,
			   const char *norm_json, const char *names_json, int h, int w,
			   struct dataset *d, char *err, size_t errlen)
{
	struct dataset like;
	memset(&like, 0, sizeof like);
	memset(d, 0, sizeof *d);
	if (norm_json && parse_norm(norm_json, &like, err, errlen))
		return -1;
	if (k == DS_FOLDER || k == DS_CSV) {
		if (!path)
			return fail(err, errlen, "the %s dataset needs a path", dataset_kind_name(k));
		if (!names_json || !norm_json) /* no model metadata: as a training split */
			return dataset_load_images(k, path, h, w, NULL, d, err, errlen);
		int rc = parse_names(names_json, &like, err, errlen);
		like.h = h, like.w = w;
		if (!rc)
			rc = dataset_load_images(k, path, h, w, &like, d, err, errlen);
		dataset_free(&like);
		return rc;
	}
	if (dataset_load(k, path, split, d, err, errlen))
		return -1;
	if (norm_json && d->u8) {
		memcpy(d->mean, like.mean, sizeof d->mean);
		memcpy(d->std, like.std, sizeof d->std);
	}
	return 0;
}

void dataset_floats(const struct dataset *d, int h, int w, int c, int limit, int *n,
		    float **nhwc, int32_t **labels)
{
	*n = limit > 0 && limit < d->n ? limit : d->n;
	size_t isz = (size_t)h * w * c;
	*nhwc = xmalloc(sizeof(float) * isz * (size_t)*n + 1);
	int32_t *lab = xmalloc(sizeof(int32_t) * ((size_t)*n + 1));
	int idx[256];
	for (int i = 0; i < *n; i += 256) {
		int cnt = *n - i < 256 ? *n - i : 256;
		for (int k = 0; k < cnt; k++)
			idx[k] = i + k;
		dataset_batch(d, idx, cnt, h, w, c, NULL, NULL, *nhwc + isz * (size_t)i, lab + i);
	}
	*labels = d->labels ? lab : NULL;
	if (!d->labels)
		free(lab);
}

/* ---- batches ---- */

/* One axis of PyTorch's bilinear interpolation (align_corners=False): for each output position,
 * the two source positions and the weight of the second. */
struct lerp_axis {
	int *i0, *i1;
	float *w1;
};

static void lerp_axis_init(struct lerp_axis *a, int in, int out)
{
	a->i0 = xmalloc((size_t)out * sizeof *a->i0);
	a->i1 = xmalloc((size_t)out * sizeof *a->i1);
	a->w1 = xmalloc((size_t)out * sizeof *a->w1);
	float scale = (float)in / (float)out;
	for (int o = 0; o < out; o++) {
		float src = scale * ((float)o + 0.5f) - 0.5f;
		if (src < 0)
			src = 0;
		int i0 = (int)src;
		if (i0 > in - 1)
			i0 = in - 1;
		a->i0[o] = i0;
		a->i1[o] = i0 < in - 1 ? i0 + 1 : i0;
		a->w1[o] = src - (float)i0;
	}
}

static void lerp_axis_free(struct lerp_axis *a)
{
	free(a->i0);
	free(a->i1);
	free(a->w1);
}

/* src: [h][w][c] normalised (h is implied by ay) -> dst: [oh][ow][oc] resized, channels mapped. */
static void resize_map(const float *src, int w, int c, const struct lerp_axis *ay,
		       const struct lerp_axis *ax, int oh, int ow, int oc, float *dst)
{
	static const float luma[3] = {0.299f, 0.587f, 0.114f};
	float px[MAX_CHANNELS];
	for (int y = 0; y < oh; y++) {
		int y0 = ay->i0[y], y1 = ay->i1[y];
		float wy1 = ay->w1[y], wy0 = 1.0f - wy1;
		for (int x = 0; x < ow; x++) {
			int x0 = ax->i0[x], x1 = ax->i1[x];
			float wx1 = ax->w1[x], wx0 = 1.0f - wx1;
			const float *p00 = src + ((size_t)y0 * w + x0) * c, *p01 = src + ((size_t)y0 * w + x1) * c;
			const float *p10 = src + ((size_t)y1 * w + x0) * c, *p11 = src + ((size_t)y1 * w + x1) * c;
			for (int ch = 0; ch < c; ch++)
				px[ch] = wy0 * (wx0 * p00[ch] + wx1 * p01[ch]) +
					 wy1 * (wx0 * p10[ch] + wx1 * p11[ch]);
			float *o = dst + ((size_t)y * ow + x) * oc;
			if (oc == c)
				memcpy(o, px, (size_t)c * sizeof *o);
			else if (c == 1)
				for (int ch = 0; ch < oc; ch++)
					o[ch] = px[0];
			else /* c == 3, oc == 1 */
				o[0] = luma[0] * px[0] + luma[1] * px[1] + luma[2] * px[2];
		}
	}
}

void dataset_batch(const struct dataset *d, const int *idx, int count, int out_h, int out_w,
		   int out_c, const struct augment *aug, struct prng *rng, float *out, int32_t *labels)
{
	if (!(out_c == d->c || d->c == 1 || (d->c == 3 && out_c == 1)))
		die("dataset_batch: cannot map %d channels to %d", d->c, out_c);
	size_t npix = (size_t)d->h * d->w, nval = npix * d->c;
	uint8_t *img8 = xmalloc(nval);
	float *imgf = xmalloc(nval * sizeof *imgf);
	struct lerp_axis ay, ax;
	lerp_axis_init(&ay, d->h, out_h);
	lerp_axis_init(&ax, d->w, out_w);
	float scale[MAX_CHANNELS], shift[MAX_CHANNELS]; /* x/255 - mean) / std = x·scale + shift */
	for (int ch = 0; ch < d->c; ch++) {
		float m = d->mean[ch < 3 ? ch : 0], s = d->std[ch < 3 ? ch : 0];
		scale[ch] = 1.0f / (255.0f * s);
		shift[ch] = -m / s;
	}
	size_t out_stride = (size_t)out_h * out_w * out_c;
	for (int i = 0; i < count; i++) {
		int j = idx[i];
		if (d->u8) {
			memcpy(img8, d->u8 + (size_t)j * nval, nval);
			if (aug)
				augment_u8(aug, img8, d->h, d->w, d->c, rng);
			for (size_t p = 0; p < npix; p++)
				for (int ch = 0; ch < d->c; ch++)
					imgf[p * d->c + ch] = (float)img8[p * d->c + ch] * scale[ch] + shift[ch];
		} else {
			memcpy(imgf, d->f32 + (size_t)j * nval, nval * sizeof *imgf);
			if (aug)
				augment_f32(aug, imgf, d->h, d->w, d->c, rng);
		}
		if (aug)
			augment_erase(aug, imgf, d->h, d->w, d->c, rng);
		resize_map(imgf, d->w, d->c, &ay, &ax, out_h, out_w, out_c, out + (size_t)i * out_stride);
		if (labels)
			labels[i] = d->labels ? d->labels[j] : -1;
	}
	lerp_axis_free(&ay);
	lerp_axis_free(&ax);
	free(img8);
	free(imgf);
}

/* ---- validation split ---- */

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

int dataset_split_val(int n, double val_frac, long train_limit, uint64_t seed,
		      struct index_split *s)
{
	memset(s, 0, sizeof *s);
	if (n < 1 || !(val_frac >= 0.0 && val_frac < 1.0))
		return -1;
	int nval = (int)llround(val_frac * n);
	int ntrain = n - nval;
	if (train_limit > 0 && train_limit < ntrain)
		ntrain = (int)train_limit;
	if (ntrain < 1)
		return -1;
	int *perm = xmalloc((size_t)n * sizeof *perm);
	for (int i = 0; i < n; i++)
		perm[i] = i;
	struct prng r;
	prng_seed(&r, seed ^ 0x5eed5eedull);
	prng_shuffle(&r, perm, n);
	s->nval = nval;
	s->ntrain = ntrain;
	if (nval) {
		s->val = xmalloc((size_t)nval * sizeof *s->val);
		memcpy(s->val, perm, (size_t)nval * sizeof *s->val);
		qsort(s->val, (size_t)nval, sizeof *s->val, cmp_int);
	}
	s->train = xmalloc((size_t)ntrain * sizeof *s->train);
	memcpy(s->train, perm + nval, (size_t)ntrain * sizeof *s->train);
	qsort(s->train, (size_t)ntrain, sizeof *s->train, cmp_int);
	free(perm);
	return 0;
}

void index_split_free(struct index_split *s)
{
	free(s->train);
	free(s->val);
	memset(s, 0, sizeof *s);
}
