/* safetensors.h — reading and writing safetensors files (8-byte little-endian header length, JSON
 * header {name: {dtype, shape, data_offsets}, "__metadata__": {str: str}}, raw little-endian data).
 *
 * st_open validates the file before anything is sized from it: a regular file, a header length
 * that fits the file and is a multiple of 8 (aligned data), a header that starts with '{', whole
 * offsets inside the data, sizes equal to shape × dtype size, no overflow, and tensors that cover
 * the data exactly (no overlap, no hole, no trailing bytes). A bad file gets a message naming the
 * file and the tensor. */
#ifndef LMNAS_SAFETENSORS_H
#define LMNAS_SAFETENSORS_H
#include <stddef.h>
#include <stdint.h>
#include <cJSON.h>

#define ST_MAX_DIMS 8
#define ST_MAX_HEADER (64u << 20)
#define ST_MAX_FILE ((uint64_t)1 << 36)

enum st_dtype { ST_F32, ST_F64, ST_F16, ST_BF16, ST_I8, ST_U8, ST_I16, ST_I32, ST_I64, ST_BOOL,
		ST_NDTYPES };

struct st_tensor {
	char *name;
	enum st_dtype dtype;
	int ndim;
	int64_t shape[ST_MAX_DIMS];
	int64_t numel;
	size_t nbytes;
	const void *data; /* points into the file's bytes (read-only) */
};

struct st_file {
	char *path;
	unsigned char *bytes; /* the whole file */
	size_t size;
	int ntensors;
	struct st_tensor *tensors;
	cJSON *metadata; /* the "__metadata__" object, or NULL */
};

const char *st_dtype_name(enum st_dtype t);
size_t st_dtype_size(enum st_dtype t);

/* Opens and validates a file. Returns 0, or -1 with "PATH: reason" in err. */
int st_open(const char *path, struct st_file *f, char *err, size_t errlen);
void st_close(struct st_file *f);

/* The tensor called name, or NULL. */
const struct st_tensor *st_find(const struct st_file *f, const char *name);
/* A metadata string, or NULL. */
const char *st_meta(const struct st_file *f, const char *key);

/* Finds a tensor and checks its dtype and shape (ndim entries; -1 matches any size).
 * Returns it, or NULL with "PATH: tensor NAME: reason" in err. */
const struct st_tensor *st_expect(const struct st_file *f, const char *name, enum st_dtype dtype,
				  int ndim, const int64_t *shape, char *err, size_t errlen);

/* Writer: tensors are added by reference (data must stay valid until st_writer_save). */
struct st_writer;
struct st_writer *st_writer_new(void);
void st_writer_add(struct st_writer *w, const char *name, enum st_dtype dtype, int ndim,
		   const int64_t *shape, const void *data);
void st_writer_meta(struct st_writer *w, const char *key, const char *value);
/* Writes to path atomically (temporary file + rename). Returns 0, or -1 with errno set. */
int st_writer_save(struct st_writer *w, const char *path);
void st_writer_free(struct st_writer *w);
#endif
