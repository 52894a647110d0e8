/* safetensors.c — a validating reader and an atomic writer for safetensors files. */
#include "core/safetensors.h"
#include "core/util.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const struct { const char *name; size_t size; } dtypes[ST_NDTYPES] = {
	[ST_F32] = {"F32", 4}, [ST_F64] = {"F64", 8}, [ST_F16] = {"F16", 2}, [ST_BF16] = {"BF16", 2},
	[ST_I8] = {"I8", 1},   [ST_U8] = {"U8", 1},   [ST_I16] = {"I16", 2}, [ST_I32] = {"I32", 4},
	[ST_I64] = {"I64", 8}, [ST_BOOL] = {"BOOL", 1},
};

const char *st_dtype_name(enum st_dtype t) { return dtypes[t].name; }
size_t st_dtype_size(enum st_dtype t) { return dtypes[t].size; }

static int parse_dtype(const char *s, enum st_dtype *out)
{
	for (int i = 0; i < ST_NDTYPES; i++)
		if (!strcmp(s, dtypes[i].name)) {
			*out = (enum st_dtype)i;
			return 0;
		}
	return -1;
}

/* Fills t from one header entry; data offsets are checked against data_len. */
static int parse_entry(const char *path, const cJSON *e, size_t data_len, const unsigned char *data,
		       struct st_tensor *t, char *err, size_t errlen)
{
	const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
	const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
	const cJSON *offs = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
	if (!cJSON_IsObject(e) || !cJSON_IsString(dt) || !cJSON_IsArray(shape) || !cJSON_IsArray(offs) ||
	    cJSON_GetArraySize(offs) != 2)
		return fail(err, errlen, "%s: tensor %s: malformed header entry", path, e->string);
	if (parse_dtype(dt->valuestring, &t->dtype))
		return fail(err, errlen, "%s: tensor %s: unknown dtype %.16s", path, e->string,
			    dt->valuestring);
	t->ndim = cJSON_GetArraySize(shape);
	if (t->ndim > ST_MAX_DIMS)
		return fail(err, errlen, "%s: tensor %s: %d dimensions (at most %d)", path, e->string,
			    t->ndim, ST_MAX_DIMS);
	t->numel = 1;
	int d = 0;
	for (const cJSON *s = shape->child; s; s = s->next, d++) {
		if (!cJSON_IsNumber(s) || s->valuedouble < 0 || s->valuedouble > 1e15 ||
		    s->valuedouble != (double)(int64_t)s->valuedouble)
			return fail(err, errlen, "%s: tensor %s: bad shape", path, e->string);
		t->shape[d] = (int64_t)s->valuedouble;
		if (t->shape[d] && t->numel > INT64_MAX / t->shape[d])
			return fail(err, errlen, "%s: tensor %s: shape overflows", path, e->string);
		t->numel *= t->shape[d];
	}
	const cJSON *oa = cJSON_GetArrayItem(offs, 0), *ob = cJSON_GetArrayItem(offs, 1);
	double a = cJSON_IsNumber(oa) ? oa->valuedouble : -1, b = cJSON_IsNumber(ob) ? ob->valuedouble : -1;
	if (a < 0 || b < a || a != floor(a) || b != floor(b) || b > (double)data_len)
		return fail(err, errlen, "%s: tensor %s: data offsets [%g, %g] are not whole numbers inside the %zu data bytes (truncated file?)",
			    path, e->string, a, b, data_len);
	t->nbytes = (size_t)b - (size_t)a;
	if ((uint64_t)t->numel > SIZE_MAX / dtypes[t->dtype].size ||
	    (size_t)t->numel * dtypes[t->dtype].size != t->nbytes)
		return fail(err, errlen, "%s: tensor %s: %zu bytes do not match shape x %s", path,
			    e->string, t->nbytes, dtypes[t->dtype].name);
	t->data = data + (size_t)a;
	t->name = xstrdup(e->string);
	return 0;
}

static int by_offset(const void *pa, const void *pb)
{
	const struct st_tensor *a = pa, *b = pb;
	const unsigned char *x = a->data, *y = b->data;
	return x < y ? -1 : x > y;
}

/* The tensors must cover the data exactly, one after another from offset 0: no overlap, no
 * hole, no trailing bytes (the reference implementation's InvalidOffset and
 * MetadataIncompleteBuffer). Sorts a copy by offset and compares neighbours. */
static int check_layout(const char *path, const struct st_file *f, const unsigned char *data,
			size_t data_len, char *err, size_t errlen)
{
	struct st_tensor *sorted = xmalloc(sizeof *sorted * (f->ntensors ? f->ntensors : 1));
	memcpy(sorted, f->tensors, sizeof *sorted * f->ntensors);
	qsort(sorted, f->ntensors, sizeof *sorted, by_offset);
	const unsigned char *at = data;
	int rc = 0;
	for (int i = 0; i < f->ntensors && !rc; i++) {
		const unsigned char *p = sorted[i].data;
		if (p < at)
			rc = fail(err, errlen, "%s: tensors %s and %s overlap", path, sorted[i - 1].name,
				  sorted[i].name);
		else if (p > at)
			rc = fail(err, errlen, "%s: tensor %s starts at data offset %zu, not %zu where "
				  "the previous one ends (a hole or misaligned offsets)", path,
				  sorted[i].name, (size_t)(p - data), (size_t)(at - data));
		at = p + sorted[i].nbytes;
	}
	if (!rc && at != data + data_len)
		rc = fail(err, errlen, "%s: %zu bytes after the last tensor's data (the tensors cover "
			  "%zu of %zu data bytes)", path, (size_t)(data + data_len - at),
			  (size_t)(at - data), data_len);
	free(sorted);
	return rc;
}

static int parse_header(const char *path, struct st_file *f, const char *hdr, size_t hlen,
			char *err, size_t errlen)
{
	if (hlen == 0 || hdr[0] != '{')
		return fail(err, errlen, "%s: the header does not start with '{' (not safetensors)",
			    path);
	cJSON *root = cJSON_ParseWithLength(hdr, hlen);
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return fail(err, errlen, "%s: header is not a JSON object", path);
	}
	int n = 0;
	for (cJSON *e = root->child; e; e = e->next)
		n += strcmp(e->string, "__metadata__") != 0;
	f->tensors = xcalloc(n ? n : 1, sizeof *f->tensors);
	const unsigned char *data = f->bytes + 8 + hlen;
	size_t data_len = f->size - 8 - hlen;
	for (cJSON *e = root->child; e; e = e->next) {
		if (!strcmp(e->string, "__metadata__")) {
			if (!cJSON_IsObject(e)) {
				cJSON_Delete(root);
				return fail(err, errlen, "%s: __metadata__ is not an object", path);
			}
			if (f->metadata) {
				cJSON_Delete(root);
				return fail(err, errlen, "%s: __metadata__ is given twice", path);
			}
			f->metadata = cJSON_Duplicate(e, 1);
			continue;
		}
		if (parse_entry(path, e, data_len, data, &f->tensors[f->ntensors], err, errlen)) {
			cJSON_Delete(root);
			return -1;
		}
		f->ntensors++;
	}
	cJSON_Delete(root);
	return check_layout(path, f, data, data_len, err, errlen);
}

/* Reads exactly n bytes. Returns 0, or -1 (a read error or a file shorter than its size). */
static int read_exact(FILE *fp, unsigned char *buf, size_t n)
{
	return fread(buf, 1, n, fp) == n ? 0 : -1;
}

/* Reads the whole file after checking, before allocating, that it is a regular file whose
 * 8-byte header length fits it: /dev/zero or a huge length fail at once. */
static int read_checked(const char *path, struct st_file *f, uint64_t *hlen, char *err,
			size_t errlen)
{
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return fail(err, errlen, "%s: %s", path, strerror(errno));
	struct stat sb;
	unsigned char head[8];
	int rc = -1;
	if (fstat(fileno(fp), &sb) || !S_ISREG(sb.st_mode)) {
		fail(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if ((uint64_t)sb.st_size > ST_MAX_FILE) {
		fail(err, errlen, "%s: %jd bytes is over the %llu-byte limit", path,
		     (intmax_t)sb.st_size, (unsigned long long)ST_MAX_FILE);
		goto out;
	}
	f->size = (size_t)sb.st_size;
	if (f->size < 8 || read_exact(fp, head, 8)) {
		fail(err, errlen, "%s: too short for a safetensors file (%zu bytes)", path, f->size);
		goto out;
	}
	*hlen = 0;
	for (int i = 7; i >= 0; i--)
		*hlen = *hlen << 8 | head[i];
	if (*hlen > ST_MAX_HEADER || *hlen > f->size - 8) {
		fail(err, errlen, "%s: header length %" PRIu64 " does not fit the %zu-byte file (truncated or not safetensors)",
		     path, *hlen, f->size);
		goto out;
	}
	if (*hlen % 8) {
		fail(err, errlen, "%s: header length %" PRIu64 " is not a multiple of 8 (the data would be misaligned)",
		     path, *hlen);
		goto out;
	}
	f->bytes = xmalloc(f->size + 1);
	memcpy(f->bytes, head, 8);
	if (read_exact(fp, f->bytes + 8, f->size - 8)) {
		fail(err, errlen, "%s: read error or the file shrank while being read", path);
		goto out;
	}
	f->bytes[f->size] = 0;
	rc = 0;
out:
	fclose(fp);
	return rc;
}

int st_open(const char *path, struct st_file *f, char *err, size_t errlen)
{
	memset(f, 0, sizeof *f);
	f->path = xstrdup(path);
	uint64_t hlen = 0;
	if (read_checked(path, f, &hlen, err, errlen) ||
	    parse_header(path, f, (const char *)f->bytes + 8, (size_t)hlen, err, errlen)) {
		st_close(f);
		return -1;
	}
	return 0;
}

void st_close(struct st_file *f)
{
	for (int i = 0; i < f->ntensors; i++)
		free(f->tensors[i].name);
	free(f->tensors);
	free(f->bytes);
	free(f->path);
	cJSON_Delete(f->metadata);
	memset(f, 0, sizeof *f);
}

const struct st_tensor *st_find(const struct st_file *f, const char *name)
{
	for (int i = 0; i < f->ntensors; i++)
		if (!strcmp(f->tensors[i].name, name))
			return &f->tensors[i];
	return NULL;
}

const char *st_meta(const struct st_file *f, const char *key)
{
	const cJSON *v = f->metadata ? cJSON_GetObjectItemCaseSensitive(f->metadata, key) : NULL;
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void shape_text(int ndim, const int64_t *shape, char *buf, size_t n)
{
	size_t len = (size_t)snprintf(buf, n, "[");
	for (int i = 0; i < ndim && len < n; i++)
		len += (size_t)snprintf(buf + len, n - len, "%s%" PRId64, i ? ", " : "", shape[i]);
	if (len < n)
		snprintf(buf + len, n - len, "]");
}

const struct st_tensor *st_expect(const struct st_file *f, const char *name, enum st_dtype dtype,
				  int ndim, const int64_t *shape, char *err, size_t errlen)
{
	const struct st_tensor *t = st_find(f, name);
	char want[160], got[160];
	if (!t) {
		fail(err, errlen, "%s: tensor %s is missing", f->path, name);
		return NULL;
	}
	if (t->dtype != dtype) {
		fail(err, errlen, "%s: tensor %s is %s, expected %s", f->path, name,
		     dtypes[t->dtype].name, dtypes[dtype].name);
		return NULL;
	}
	int same = t->ndim == ndim;
	for (int i = 0; same && i < ndim; i++)
		same = shape[i] < 0 || shape[i] == t->shape[i];
	if (!same) {
		shape_text(ndim, shape, want, sizeof want);
		shape_text(t->ndim, t->shape, got, sizeof got);
		fail(err, errlen, "%s: tensor %s has shape %s, expected %s", f->path, name, got, want);
		return NULL;
	}
	return t;
}

struct st_entry {
	char *name;
	enum st_dtype dtype;
	int ndim;
	int64_t shape[ST_MAX_DIMS];
	size_t nbytes;
	const void *data;
};

struct st_writer {
	struct st_entry *entries;
	int n, cap;
	cJSON *meta;
};

struct st_writer *st_writer_new(void)
{
	struct st_writer *w = xcalloc(1, sizeof *w);
	w->meta = cJSON_CreateObject();
	return w;
}

void st_writer_add(struct st_writer *w, const char *name, enum st_dtype dtype, int ndim,
		   const int64_t *shape, const void *data)
{
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 64;
		w->entries = xrealloc(w->entries, sizeof *w->entries * w->cap);
	}
	struct st_entry *e = &w->entries[w->n++];
	e->name = xstrdup(name);
	e->dtype = dtype;
	e->ndim = ndim;
	e->nbytes = dtypes[dtype].size;
	for (int i = 0; i < ndim; i++) {
		e->shape[i] = shape[i];
		e->nbytes *= (size_t)shape[i];
	}
	e->data = data;
}

void st_writer_meta(struct st_writer *w, const char *key, const char *value)
{
	cJSON_DeleteItemFromObjectCaseSensitive(w->meta, key);
	cJSON_AddStringToObject(w->meta, key, value);
}

/* The JSON header, padded with spaces to a multiple of 8 bytes as the format recommends. */
static char *build_header(const struct st_writer *w, size_t *hlen)
{
	cJSON *root = cJSON_CreateObject();
	if (w->meta->child)
		cJSON_AddItemToObject(root, "__metadata__", cJSON_Duplicate(w->meta, 1));
	size_t off = 0;
	for (int i = 0; i < w->n; i++) {
		const struct st_entry *e = &w->entries[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "dtype", dtypes[e->dtype].name);
		cJSON *shape = cJSON_AddArrayToObject(o, "shape");
		for (int d = 0; d < e->ndim; d++)
			cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)e->shape[d]));
		cJSON *offs = cJSON_AddArrayToObject(o, "data_offsets");
		cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
		cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)(off + e->nbytes)));
		off += e->nbytes;
		cJSON_AddItemToObject(root, e->name, o);
	}
	char *text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!text)
		die("out of memory writing a safetensors header");
	size_t n = strlen(text), padded = (n + 7) / 8 * 8;
	text = xrealloc(text, padded + 1);
	memset(text + n, ' ', padded - n);
	text[padded] = '\0';
	*hlen = padded;
	return text;
}

int st_writer_save(struct st_writer *w, const char *path)
{
	size_t hlen, total;
	char *hdr = build_header(w, &hlen);
	total = 8 + hlen;
	for (int i = 0; i < w->n; i++)
		total += w->entries[i].nbytes;
	unsigned char *buf = xmalloc(total), *p = buf;
	for (int i = 0; i < 8; i++)
		*p++ = (unsigned char)((uint64_t)hlen >> (8 * i));
	memcpy(p, hdr, hlen);
	p += hlen;
	for (int i = 0; i < w->n; i++) {
		memcpy(p, w->entries[i].data, w->entries[i].nbytes);
		p += w->entries[i].nbytes;
	}
	free(hdr);
	int rc = write_file_atomic(path, buf, total);
	int saved = errno;
	free(buf);
	errno = saved;
	return rc;
}

void st_writer_free(struct st_writer *w)
{
	if (!w)
		return;
	for (int i = 0; i < w->n; i++)
		free(w->entries[i].name);
	free(w->entries);
	cJSON_Delete(w->meta);
	free(w);
}
