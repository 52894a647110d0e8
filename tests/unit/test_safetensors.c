/* test_safetensors.c — st_open refuses malformed files before sizing anything from them:
 * trailing bytes, holes and misaligned or fractional offsets, overlaps, out-of-range offsets, a
 * header length that is not a multiple of 8 or does not fit the file, a header that is not an
 * object, and /dev/zero (not a regular file: it fails at once instead of reading forever); the
 * float loaders (checkpoint_load, fold_load for quantize) refuse a permuted shape with the right
 * element count. */
#include "core/arch.h"
#include "engine/checkpoint.h"
#include "int8/fold.h"
#include "engine/net.h"
#include "core/safetensors.h"
#include "t.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/lmnas-st-XXXXXX";

/* Writes [8-byte length][header padded with spaces to pad_to (0: no padding)][data][trailing]. */
static const char *write_raw(const char *name, const char *header, int pad_to, size_t ndata,
			     size_t trailing)
{
	static char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	size_t h = strlen(header), hp = pad_to ? (h + pad_to - 1) / pad_to * pad_to : h;
	FILE *f = fopen(path, "wb");
	for (int i = 0; i < 8; i++)
		fputc((int)((uint64_t)hp >> (8 * i) & 0xff), f);
	fputs(header, f);
	for (size_t i = h; i < hp; i++)
		fputc(' ', f);
	for (size_t i = 0; i < ndata + trailing; i++)
		fputc((int)(i & 0x3f), f); /* small bytes: finite floats */
	fclose(f);
	return path;
}

/* st_open must fail with a message containing want. */
static void refuses(const char *what, const char *path, const char *want)
{
	struct st_file f;
	char err[512] = "";
	int rc = st_open(path, &f, err, sizeof err);
	if (rc == 0)
		st_close(&f);
	T_CHECK(rc == -1 && strstr(err, want), "st_open refuses %s (%s)", what, err);
}

static void test_layout(void)
{
	struct st_file f;
	char err[512];
	const char *two = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
			  "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}";
	const char *p = write_raw("good.st", two, 8, 16, 0);
	T_CHECK(st_open(p, &f, err, sizeof err) == 0, "a well-formed file opens (%s)", err);
	st_close(&f);
	refuses("__metadata__ twice (the fuzzer's leak: the first copy was dropped unfreed)",
		write_raw("meta2.st", "{\"__metadata__\":{\"a\":\"1\"},\"__metadata__\":{\"b\":\"2\"},"
				      "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, 8, 0),
		"given twice");
	refuses("trailing bytes after the data", write_raw("trail.st", two, 8, 16, 4),
		"4 bytes after the last tensor");
	refuses("a hole between tensors (misaligned offsets)",
		write_raw("hole.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
				     "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[10,18]}}",
			  8, 18, 0),
		"starts at data offset 10, not 8");
	refuses("data that does not start at offset 0",
		write_raw("lead.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
			  8, 12, 0),
		"starts at data offset 4, not 0");
	refuses("fractional offsets",
		write_raw("frac.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0.5,8.5]}}",
			  8, 9, 0),
		"data offsets");
	refuses("overlapping tensors",
		write_raw("over.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
				     "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
			  8, 12, 0),
		"overlap");
	refuses("offsets past the end",
		write_raw("range.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8000]}}",
			  8, 8, 0),
		"inside the 8 data bytes");
	refuses("a header length that is not a multiple of 8 (misaligned data)",
		write_raw("unpadded.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
			  0, 8, 0),
		"not a multiple of 8");
	refuses("a header that is not a JSON object", write_raw("array.st", "[1,2,3]", 8, 0, 0),
		"does not start with '{'");
}

static void test_huge_and_special(void)
{
	char path[256];
	snprintf(path, sizeof path, "%s/huge.st", dir);
	FILE *f = fopen(path, "wb");
	unsigned char len[8] = {0, 0, 0, 0, 0, 0, 0, 0x40}; /* 2^62 */
	fwrite(len, 1, 8, f);
	fputs("{}      ", f);
	fclose(f);
	refuses("an absurd header length", path, "does not fit");
	double t0 = now_seconds();
	refuses("/dev/zero", "/dev/zero", "not a regular file");
	T_CHECK(now_seconds() - t0 < 1.0, "/dev/zero fails at once (%.3f s)", now_seconds() - t0);
	refuses("a folder", dir, "not a regular file");
}

/* A checkpoint whose first conv weight [O][I][k][k] with O != I is written as [I][O][k][k]. */
static void test_permuted_shape(void)
{
	const char *text =
		"{\"input_channels\":1,\"blocks\":[{\"output_channels\":8,\"num_layers\":1,"
		"\"kernel_size\":3,\"stride\":2,\"expansion_factor\":1,\"use_se\":false,\"se_ratio\":0,"
		"\"conv_type\":\"depthwise\",\"skip_op\":\"identity\",\"activation\":\"relu6\"},"
		"{\"output_channels\":16,\"num_layers\":1,\"kernel_size\":3,\"stride\":2,"
		"\"expansion_factor\":2,\"use_se\":false,\"se_ratio\":0,\"conv_type\":\"mbconv\","
		"\"skip_op\":\"identity\",\"activation\":\"relu6\"}]}";
	char err[512], good[256], bad[256];
	struct arch a;
	cJSON *j = cJSON_Parse(text);
	T_CHECK(arch_parse(j, &a, err, sizeof err) == 0, "test arch parses");
	cJSON_Delete(j);
	struct net *n = net_new(&a, 16, 16, 10, 2, 0.0f, err, sizeof err);
	net_init_weights(n, 1);
	snprintf(good, sizeof good, "%s/good.safetensors", dir);
	snprintf(bad, sizeof bad, "%s/permuted.safetensors", dir);
	T_CHECK(checkpoint_save(n, good, NULL, err, sizeof err) == 0, "checkpoint written");

	struct st_file f;
	st_open(good, &f, err, sizeof err);
	struct st_writer *w = st_writer_new();
	const char *permuted = NULL;
	for (const cJSON *m = f.metadata ? f.metadata->child : NULL; m; m = m->next)
		st_writer_meta(w, m->string, m->valuestring);
	for (int i = 0; i < f.ntensors; i++) {
		const struct st_tensor *t = &f.tensors[i];
		int64_t shape[ST_MAX_DIMS];
		memcpy(shape, t->shape, sizeof shape);
		if (!permuted && t->ndim == 4 && shape[0] != shape[1]) {
			shape[0] = t->shape[1];
			shape[1] = t->shape[0];
			permuted = t->name;
		}
		st_writer_add(w, t->name, t->dtype, t->ndim, shape, t->data);
	}
	T_CHECK(permuted && st_writer_save(w, bad) == 0, "a permuted copy written (%s)",
		permuted ? permuted : "none");
	st_writer_free(w);

	struct fnet fn;
	T_CHECK(fold_load(good, NULL, 0, 0, &fn, err, sizeof err) == 0, "fold_load reads the original (%s)", err);
	fold_free(&fn);
	err[0] = 0;
	T_CHECK(fold_load(bad, NULL, 0, 0, &fn, err, sizeof err) == -1 && strstr(err, permuted) &&
			strstr(err, "expected"),
		"fold_load (quantize) refuses a permuted shape (%s)", err);
	err[0] = 0;
	T_CHECK(checkpoint_load(n, bad, err, sizeof err) == -1 && strstr(err, permuted),
		"checkpoint_load refuses a permuted shape (%s)", err);
	st_close(&f);
	net_free(n);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_layout();
	test_huge_and_special();
	test_permuted_shape();
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return t_done();
}
