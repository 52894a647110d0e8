/* test_foundation.c — arch parsing/validation/id/expansion, number parsing, safetensors I/O,
 * reading whole inputs of records and writing a JSON document. */
#include "core/arch.h"
#include "core/record.h"
#include "core/safetensors.h"
#include "t.h"
#include "core/util.h"

#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

static const char *good_block =
	"{\"output_channels\":16,\"num_layers\":2,\"kernel_size\":3,\"stride\":2,"
	"\"expansion_factor\":3,\"use_se\":false,\"se_ratio\":0.25,\"conv_type\":\"mbconv\","
	"\"skip_op\":\"residual\",\"activation\":\"relu6\"}";

static int parse_text(const char *text, struct arch *a, char *err, size_t n)
{
	cJSON *j = cJSON_Parse(text);
	int rc = arch_parse(j, a, err, n);
	cJSON_Delete(j);
	return rc;
}

static void test_arch_errors(void)
{
	struct arch a;
	char err[256], text[1024];
	static const struct { const char *from, *to, *expect; } bad[] = {
		{"\"kernel_size\":3", "\"kernel_size\":4", "must be odd"},
		{"\"stride\":2", "\"stride\":0", "stride is 0"},
		{"\"output_channels\":16", "\"output_channels\":1000000000", "output_channels is 1000000000"},
		{"\"num_layers\":2", "\"num_layers\":1000000", "num_layers is 1000000"},
		{"\"output_channels\":16,", "", "output_channels is missing"},
		{"\"output_channels\":16", "\"output_channels\":-3", "output_channels is -3"},
		{"\"activation\":\"relu6\"", "\"activation\":\"gelu\"", "activation is \"gelu\""},
		{"\"use_se\":false", "\"use_se\":1", "use_se must be true or false"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char block[512];
		const char *at = strstr(good_block, bad[i].from);
		snprintf(block, sizeof block, "%.*s%s%s", (int)(at - good_block), good_block, bad[i].to,
			 at + strlen(bad[i].from));
		snprintf(text, sizeof text, "{\"input_channels\":3,\"blocks\":[%s]}", block);
		int rc = parse_text(text, &a, err, sizeof err);
		T_CHECK(rc == -1 && strstr(err, bad[i].expect), "arch_parse rejects %s (%s)", bad[i].to, err);
	}
	T_CHECK(parse_text("{\"input_channels\":3,\"blocks\":[]}", &a, err, sizeof err) == -1,
		"arch_parse rejects an empty block list");
}

static void test_arch_id_and_expand(void)
{
	struct arch a, b;
	char err[256], text[1024], id1[17], id2[17];
	snprintf(text, sizeof text, "{\"input_channels\":3,\"blocks\":[%s]}", good_block);
	T_CHECK(parse_text(text, &a, err, sizeof err) == 0, "arch_parse accepts a good arch");
	b = a;
	b.blocks[0].se_ratio = 0.5; /* SE is off: the ratio does not change the network */
	arch_id(&a, id1);
	arch_id(&b, id2);
	T_CHECK(strlen(id1) == 16 && !strcmp(id1, id2), "equal networks have equal ids (%s)", id1);
	b.blocks[0].kernel = 5;
	arch_id(&b, id2);
	T_CHECK(strcmp(id1, id2) != 0, "different networks have different ids");

	struct arch_net *net = xmalloc(sizeof *net);
	T_CHECK(arch_expand(&a, 32, 32, 10, net, err, sizeof err) == 0, "arch_expand at 32x32");
	T_CHECK(net->nlayers == 2 && net->layers[0].stride == 2 && net->layers[1].stride == 1 &&
			net->layers[0].hidden == 9 && net->layers[1].hidden == 48 &&
			!net->layers[0].residual && net->layers[1].residual && !net->layers[1].proj &&
			net->out_h == 16 && net->feat_ch == 16,
		"arch_expand derives strides, hidden widths and residuals");
	a.blocks[0].num_layers = 1;
	a.nblocks = 1;
	T_CHECK(arch_expand(&a, 1, 1, 10, net, err, sizeof err) == -1 && strstr(err, "1x1"),
		"arch_expand rejects a stride on a 1x1 map (%s)", err);
	free(net);
}

static void test_parse_numbers(void)
{
	double v;
	T_CHECK(parse_count("350M", &v) == 0 && v == 350e6, "parse_count 350M");
	T_CHECK(parse_bytes("320KiB", &v) == 0 && v == 327680, "parse_bytes 320KiB");
	T_CHECK(parse_bytes("2MiB", &v) == 0 && v == 2097152, "parse_bytes 2MiB");
	T_CHECK(parse_bytes("12parsecs", &v) == -1, "parse_bytes rejects unknown units");
	int h, w;
	T_CHECK(parse_resolution("160x120", &h, &w) == 0 && h == 160 && w == 120, "resolution HxW");
	T_CHECK(parse_resolution("0", &h, &w) == -1, "resolution 0 is rejected");
	char e[8];
	T_CHECK(fail(e, sizeof e, "n=%d", 12345678) == -1 && !strcmp(e, "n=12345"),
		"fail formats into err (cut to its size) and returns -1 (%s)", e);
}

static void test_safetensors(void)
{
	char path[] = "/tmp/lmnas-st-XXXXXX", err[512];
	int fd = mkstemp(path);
	close(fd);
	float a[6] = {1, 2, 3, 4, 5, 6};
	int32_t b[2] = {-7, 7};
	int64_t sa[2] = {2, 3}, sb[1] = {2};
	struct st_writer *w = st_writer_new();
	st_writer_add(w, "a", ST_F32, 2, sa, a);
	st_writer_add(w, "b", ST_I32, 1, sb, b);
	st_writer_meta(w, "arch", "{}");
	T_CHECK(st_writer_save(w, path) == 0, "safetensors: write");
	st_writer_free(w);
	struct st_file f;
	T_CHECK(st_open(path, &f, err, sizeof err) == 0, "safetensors: read back");
	const struct st_tensor *t = st_expect(&f, "a", ST_F32, 2, sa, err, sizeof err);
	T_CHECK(t && !memcmp(t->data, a, sizeof a), "safetensors: data round-trips");
	T_CHECK(st_meta(&f, "arch") && !strcmp(st_meta(&f, "arch"), "{}"), "safetensors: metadata");
	int64_t wrong[2] = {3, 2};
	T_CHECK(!st_expect(&f, "a", ST_F32, 2, wrong, err, sizeof err) && strstr(err, "tensor a"),
		"safetensors: wrong shape named (%s)", err);
	size_t size = f.size;
	st_close(&f);
	T_CHECK(truncate(path, (off_t)size - 4) == 0, "truncate the file");
	T_CHECK(st_open(path, &f, err, sizeof err) == -1 && strstr(err, "tensor b"),
		"safetensors: truncated file names the tensor (%s)", err);
	unlink(path);
}

static void test_record_inputs(void)
{
	char a[] = "/tmp/lmnas-rec-XXXXXX", b[] = "/tmp/lmnas-rec-XXXXXX";
	close(mkstemp(a));
	close(mkstemp(b));
	FILE *f = fopen(a, "w");
	fputs("{\"id\":1}\nnot json\n\n{\"id\":2}\n", f);
	fclose(f);
	f = fopen(b, "w");
	fputs("[1]\n{\"id\":3}\n", f);
	fclose(f);
	char *files[] = {a, b};
	struct record_list in = {0};
	int bad = record_read_inputs(files, 2, &in);
	T_CHECK(bad == 2 && in.n == 3, "two files: 3 records, 2 lines skipped (%d, %d)", in.n, bad);
	T_CHECK(in.n == 3 && record_number(in.recs[0], "id", 0) == 1 &&
		record_number(in.recs[2], "id", 0) == 3, "records kept in input order");
	cJSON *doc = cJSON_CreateObject();
	cJSON_AddNumberToObject(doc, "n", in.n);
	T_CHECK(record_save_document(b, doc) == 0, "save a document");
	cJSON_Delete(doc);
	size_t len;
	const char *err;
	char *text = read_file(b, 1 << 20, &len, &err);
	T_CHECK(text && len > 1 && text[len - 1] == '\n' && strstr(text, "\"n\":\t3"),
		"the document is pretty-printed and ends with a newline");
	free(text);
	record_list_free(&in);
	T_CHECK(in.n == 0 && in.recs == NULL, "the list is empty after record_list_free");
	unlink(a);
	unlink(b);
}

/* xcalloc_huge: zeroed like xcalloc; from 2 MiB up on a 2 MiB boundary (where transparent huge
 * pages can back it), below that an ordinary allocation; free() releases either. */
static void test_xcalloc_huge(void)
{
	const size_t huge = (size_t)2 << 20;
	size_t big = 3 * huge / sizeof(float) + 5; /* not a multiple of 2 MiB */
	float *a = xcalloc_huge(big, sizeof(float));
	size_t nonzero = 0;
	for (size_t i = 0; i < big; i++)
		nonzero += a[i] != 0;
	T_CHECK(nonzero == 0, "a 6 MiB xcalloc_huge is zeroed");
	T_CHECK((uintptr_t)a % huge == 0, "and starts on a 2 MiB boundary");
	a[big - 1] = 1; /* the whole length is usable */
	free(a);
	float *b = xcalloc_huge(100, sizeof(float));
	nonzero = 0;
	for (int i = 0; i < 100; i++)
		nonzero += b[i] != 0;
	T_CHECK(nonzero == 0, "a small one is zeroed too");
	free(b);
}

int main(void)
{
	test_arch_errors();
	test_arch_id_and_expand();
	test_parse_numbers();
	test_safetensors();
	test_record_inputs();
	test_xcalloc_huge();
	return t_done();
}
