/* test_dataset.c — the seeded RNG, dataset loaders (IDX gz, CIFAR-10/100 binary, safetensors,
 * image folders and CSVs of PNG/JPEG files)
 * with their error paths, float batches (normalisation, PyTorch bilinear resize, channels), the
 * validation split, and crop/flip. Small files of each format are written to a temp folder. */
#include "engine/augment.h"
#include "engine/dataset.h"
#include "engine/image.h"
#include "core/prng.h"
#include "core/safetensors.h"
#include "t.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

static char tmpdir[] = "/tmp/lmnas-test-dataset-XXXXXX";

static void path_in(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", tmpdir, name);
}

static void write_bytes(const char *name, const void *data, size_t len)
{
	char p[512];
	path_in(p, sizeof p, name);
	FILE *f = fopen(p, "wb");
	fwrite(data, 1, len, f);
	fclose(f);
}

static void write_gz(const char *name, const void *data, size_t len)
{
	char p[512];
	path_in(p, sizeof p, name);
	gzFile g = gzopen(p, "wb");
	gzwrite(g, data, (unsigned)len);
	gzclose(g);
}

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24, p[1] = v >> 16, p[2] = v >> 8, p[3] = v;
}

/* An IDX image file of n images h×w (pixel = 10·i + position) and a label file. */
static size_t make_idx_images(unsigned char *buf, uint32_t magic, int n, int h, int w)
{
	put_be32(buf, magic);
	put_be32(buf + 4, n);
	put_be32(buf + 8, h);
	put_be32(buf + 12, w);
	for (int i = 0; i < n * h * w; i++)
		buf[16 + i] = (unsigned char)(10 * (i / (h * w)) + i % (h * w));
	return 16 + (size_t)n * h * w;
}

static size_t make_idx_labels(unsigned char *buf, int n, const unsigned char *labels)
{
	put_be32(buf, 0x801);
	put_be32(buf + 4, n);
	memcpy(buf + 8, labels, n);
	return 8 + (size_t)n;
}

static int load_err(enum dataset_kind k, const char *path, enum dataset_split s, char *err,
		    size_t n)
{
	struct dataset d;
	int rc = dataset_load(k, path, s, &d, err, n);
	if (rc == 0)
		dataset_free(&d);
	return rc;
}

static void test_idx(void)
{
	unsigned char img[16 + 3 * 2 * 3], lab[8 + 3], bad[64];
	const unsigned char labels[3] = {7, 0, 9};
	char err[512], dir[512];
	struct dataset d;
	path_in(dir, sizeof dir, "fm");
	mkdir(dir, 0700);
	size_t ni = make_idx_images(img, 0x803, 3, 2, 3), nl = make_idx_labels(lab, 3, labels);
	write_gz("fm/train-images-idx3-ubyte.gz", img, ni);
	write_gz("fm/train-labels-idx1-ubyte.gz", lab, nl);
	write_bytes("fm/t10k-images-idx3-ubyte", img, ni); /* uncompressed also works */
	write_bytes("fm/t10k-labels-idx1-ubyte", lab, nl);
	for (int s = 0; s < 2; s++) {
		int rc = dataset_load(DS_FASHION_MNIST, dir, s ? SPLIT_TEST : SPLIT_TRAIN, &d, err, sizeof err);
		T_CHECK(rc == 0, "IDX %s loads (%s)", s ? "plain" : "gz", rc ? err : "");
		if (rc)
			continue;
		T_CHECK(d.n == 3 && d.h == 2 && d.w == 3 && d.c == 1 && d.classes == 10 && d.u8 && !d.f32,
			"IDX shape 3x2x3x1, 10 classes");
		T_CHECK(d.u8[0] == 0 && d.u8[5] == 5 && d.u8[6] == 10 && d.u8[17] == 25,
			"IDX pixels in order");
		T_CHECK(d.labels[0] == 7 && d.labels[1] == 0 && d.labels[2] == 9, "IDX labels");
		dataset_free(&d);
	}
	/* Error paths, each on the train files. */
	struct { const char *what, *expect; } cases[] = {
		{"bad magic", "magic"},          {"truncated data", "truncated"},
		{"trailing bytes", "trailing"},  {"label count", "3 labels for 2 images"},
		{"label range", "outside 0..9"}, {"cut gzip stream", "truncated"},
		{"zero dimension", "dimension 1 is 0"}, {"huge dimension", "out of range"},
		{"corrupt gzip", "corrupt"},
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		size_t n;
		write_gz("fm/train-labels-idx1-ubyte.gz", lab, nl);
		switch (c) {
		case 0:
			n = make_idx_images(bad, 0x802, 3, 2, 3);
			write_gz("fm/train-images-idx3-ubyte.gz", bad, n);
			break;
		case 1:
			n = make_idx_images(bad, 0x803, 3, 2, 3);
			write_gz("fm/train-images-idx3-ubyte.gz", bad, n - 1);
			break;
		case 2:
			n = make_idx_images(bad, 0x803, 3, 2, 3);
			write_gz("fm/train-images-idx3-ubyte.gz", bad, n + 1);
			break;
		case 3:
			n = make_idx_images(bad, 0x803, 2, 2, 3);
			write_gz("fm/train-images-idx3-ubyte.gz", bad, n);
			break;
		case 4: {
			unsigned char l2[3] = {1, 10, 2};
			write_gz("fm/train-images-idx3-ubyte.gz", img, ni);
			n = make_idx_labels(bad, 3, l2);
			write_gz("fm/train-labels-idx1-ubyte.gz", bad, n);
			break;
		}
		case 5: {
			/* A gzip stream with its tail cut off. */
			char p[512];
			path_in(p, sizeof p, "fm/train-images-idx3-ubyte.gz");
			write_gz("fm/train-images-idx3-ubyte.gz", img, ni);
			size_t len;
			const char *why;
			char *raw = read_file(p, 1 << 20, &len, &why);
			write_bytes("fm/train-images-idx3-ubyte.gz", raw, len - 12);
			free(raw);
			break;
		}
		case 6:
			n = make_idx_images(bad, 0x803, 3, 2, 3);
			put_be32(bad + 8, 0);
			write_gz("fm/train-images-idx3-ubyte.gz", bad, 16);
			break;
		case 7:
			n = make_idx_images(bad, 0x803, 3, 2, 3);
			put_be32(bad + 4, 0xffffffffu);
			write_gz("fm/train-images-idx3-ubyte.gz", bad, 16);
			break;
		case 8: {
			/* A gzip stream whose CRC no longer matches its data. */
			char p[512];
			path_in(p, sizeof p, "fm/train-images-idx3-ubyte.gz");
			write_gz("fm/train-images-idx3-ubyte.gz", img, ni);
			size_t len;
			const char *why;
			char *raw = read_file(p, 1 << 20, &len, &why);
			raw[len - 6] ^= 0x55; /* inside the CRC-32 trailer */
			write_bytes("fm/train-images-idx3-ubyte.gz", raw, len);
			free(raw);
			break;
		}
		}
		int rc = load_err(DS_FASHION_MNIST, dir, SPLIT_TRAIN, err, sizeof err);
		T_CHECK(rc == -1 && strstr(err, cases[c].expect) && strstr(err, "/fm/"),
			"IDX %s rejected with the file named (%s)", cases[c].what, err);
	}
	char missing[512];
	path_in(missing, sizeof missing, "nowhere");
	T_CHECK(load_err(DS_FASHION_MNIST, missing, SPLIT_TRAIN, err, sizeof err) == -1 &&
			strstr(err, "nowhere/train-images-idx3-ubyte"),
		"missing IDX folder names the file (%s)", err);
}

/* The address space this process uses now, in bytes (/proc/self/statm), or 0. */
static size_t address_space(void)
{
	unsigned long pages = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%lu", &pages) != 1)
			pages = 0;
		fclose(f);
	}
	return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}

/* An IDX header that claims 3000 images of 1000×1000 (3 GB, under the 4 GiB cap) over a file of
 * 16 bytes, plain and gzip: the loader must say "truncated" without allocating the 3 GB first. The
 * load runs in a child whose address space is capped 1 GiB above the parent's, where allocating
 * the claim fails (xmalloc then exits "out of memory"). */
static void test_idx_claims(void)
{
	unsigned char head[16], lab[8 + 3] = {0};
	const unsigned char labels[3] = {1, 2, 3};
	put_be32(head, 0x803);
	put_be32(head + 4, 3000);
	put_be32(head + 8, 1000);
	put_be32(head + 12, 1000);
	size_t nl = make_idx_labels(lab, 3, labels);
	char dir[512];
	path_in(dir, sizeof dir, "claim");
	mkdir(dir, 0700);
	write_bytes("claim/t10k-images-idx3-ubyte", head, sizeof head);
	write_bytes("claim/t10k-labels-idx1-ubyte", lab, nl);
	write_gz("claim/train-images-idx3-ubyte.gz", head, sizeof head);
	write_gz("claim/train-labels-idx1-ubyte.gz", lab, nl);
	size_t cap = address_space() + ((size_t)1 << 30);
	for (int split = 0; split < 2; split++) {
		const char *what = split ? "plain" : "gzip";
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			struct rlimit rl = {cap, cap};
			setrlimit(RLIMIT_AS, &rl);
			char err[512];
			int rc = load_err(DS_FASHION_MNIST, dir, split ? SPLIT_TEST : SPLIT_TRAIN, err,
					  sizeof err);
			_exit(rc == -1 && strstr(err, "truncated") ? 0 : 3);
		}
		int status = -1;
		waitpid(pid, &status, 0);
		T_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			"IDX (%s) claiming 3 GB over 16 bytes: \"truncated\", nothing allocated for the claim (status %d)",
			what, status);
	}
}

/* A CIFAR record: label bytes then planes R, G, B with pixel p of plane ch = (seed + 3p + ch). */
static void cifar_record(unsigned char *r, int label_bytes, const int *labels, int seed)
{
	for (int i = 0; i < label_bytes; i++)
		r[i] = (unsigned char)labels[i];
	for (int ch = 0; ch < 3; ch++)
		for (int p = 0; p < 1024; p++)
			r[label_bytes + ch * 1024 + p] = (unsigned char)(seed + 3 * p + ch);
}

static void test_cifar(void)
{
	char err[512], dir[512], name[256];
	struct dataset d;
	unsigned char rec[2][1 + 3072];
	path_in(dir, sizeof dir, "c10");
	mkdir(dir, 0700);
	char sub[512];
	path_in(sub, sizeof sub, "c10/cifar-10-batches-bin");
	mkdir(sub, 0700);
	for (int b = 1; b <= 5; b++) {
		int l0 = b, l1 = 9;
		cifar_record(rec[0], 1, &l0, b);
		cifar_record(rec[1], 1, &l1, 100 + b);
		snprintf(name, sizeof name, "c10/cifar-10-batches-bin/data_batch_%d.bin", b);
		write_bytes(name, rec, b == 3 ? sizeof rec[0] : sizeof rec); /* batch 3 has one record */
	}
	int lt = 4;
	cifar_record(rec[0], 1, &lt, 7);
	write_bytes("c10/cifar-10-batches-bin/test_batch.bin", rec[0], sizeof rec[0]);
	int rc = dataset_load(DS_CIFAR10, dir, SPLIT_TRAIN, &d, err, sizeof err);
	T_CHECK(rc == 0, "CIFAR-10 train loads from the parent folder (%s)", rc ? err : "");
	if (!rc) {
		T_CHECK(d.n == 9 && d.h == 32 && d.w == 32 && d.c == 3 && d.classes == 10,
			"CIFAR-10: 9 images 32x32x3");
		T_CHECK(d.labels[0] == 1 && d.labels[1] == 9 && d.labels[4] == 3 && d.labels[5] == 4 &&
				d.labels[8] == 9,
			"CIFAR-10 labels in batch order");
		/* image 1 (seed 101), pixel p = 5, channel 2 -> 101 + 15 + 2 */
		T_CHECK(d.u8[1 * 3072 + 5 * 3 + 2] == 118 && d.u8[1 * 3072 + 5 * 3 + 0] == 116,
			"CIFAR planes become HWC");
		T_NEAR(d.mean[0], 0.4914, 1e-6, "CIFAR-10 mean R");
		dataset_free(&d);
	}
	rc = dataset_load(DS_CIFAR10, sub, SPLIT_TEST, &d, err, sizeof err);
	T_CHECK(rc == 0 && d.n == 1 && d.labels[0] == 4, "CIFAR-10 test batch (%s)", rc ? err : "");
	if (!rc)
		dataset_free(&d);
	write_bytes("c10/cifar-10-batches-bin/data_batch_4.bin", rec[0], 3000);
	rc = load_err(DS_CIFAR10, dir, SPLIT_TRAIN, err, sizeof err);
	T_CHECK(rc == -1 && strstr(err, "data_batch_4.bin") && strstr(err, "3000 bytes"),
		"truncated CIFAR batch rejected (%s)", err);
	int l11 = 11;
	cifar_record(rec[0], 1, &l11, 0);
	write_bytes("c10/cifar-10-batches-bin/data_batch_4.bin", rec[0], sizeof rec[0]);
	rc = load_err(DS_CIFAR10, dir, SPLIT_TRAIN, err, sizeof err);
	T_CHECK(rc == -1 && strstr(err, "label 11"), "CIFAR-10 label 11 rejected (%s)", err);

	/* CIFAR-100: coarse, fine labels; the fine label is kept. */
	unsigned char r100[2 + 3072];
	int labs[2] = {3, 77};
	path_in(dir, sizeof dir, "c100");
	mkdir(dir, 0700);
	cifar_record(r100, 2, labs, 5);
	write_bytes("c100/train.bin", r100, sizeof r100);
	write_bytes("c100/test.bin", r100, sizeof r100);
	rc = dataset_load(DS_CIFAR100, dir, SPLIT_TRAIN, &d, err, sizeof err);
	T_CHECK(rc == 0 && d.n == 1 && d.classes == 100 && d.labels[0] == 77 && d.u8[1] == 6,
		"CIFAR-100 uses the fine label (%s)", rc ? err : "");
	if (!rc)
		dataset_free(&d);
	T_CHECK(load_err(DS_CIFAR100, NULL, SPLIT_TRAIN, err, sizeof err) == -1 &&
			strstr(err, "no default location"),
		"CIFAR-100 without a path is refused (%s)", err);
}

static void test_safetensors(void)
{
	char err[512], path[512];
	struct dataset d;
	/* images [2][3][2][2]: value = 1000 n + 100 c + 10 y + x */
	float im[2 * 3 * 2 * 2];
	for (int n = 0; n < 2; n++)
		for (int c = 0; c < 3; c++)
			for (int y = 0; y < 2; y++)
				for (int x = 0; x < 2; x++)
					im[((n * 3 + c) * 2 + y) * 2 + x] = 1000 * n + 100 * c + 10 * y + x;
	int64_t labels[2] = {4, 1}, shape[4] = {2, 3, 2, 2}, lshape[1] = {2};
	path_in(path, sizeof path, "ds.safetensors");
	struct st_writer *w = st_writer_new();
	st_writer_add(w, "images", ST_F32, 4, shape, im);
	st_writer_add(w, "labels", ST_I64, 1, lshape, labels);
	T_CHECK(st_writer_save(w, path) == 0, "write a safetensors dataset");
	st_writer_free(w);
	int rc = dataset_load(DS_SAFETENSORS, path, SPLIT_TEST, &d, err, sizeof err);
	T_CHECK(rc == 0, "safetensors dataset loads (%s)", rc ? err : "");
	if (!rc) {
		T_CHECK(d.n == 2 && d.c == 3 && d.h == 2 && d.w == 2 && d.classes == 5 && d.f32 && !d.u8,
			"safetensors: 2 images 2x2x3, classes = max label + 1");
		/* NHWC: image 1, y 1, x 0, channel 2 */
		T_NEAR(d.f32[((1 * 2 + 1) * 2 + 0) * 3 + 2], 1210, 0, "safetensors NCHW becomes NHWC");
		T_CHECK(d.labels[0] == 4 && d.labels[1] == 1, "safetensors labels");
		float out[2 * 2 * 2 * 3];
		int32_t lab[2];
		int idx[2] = {1, 0};
		dataset_batch(&d, idx, 2, 2, 2, 3, NULL, NULL, out, lab);
		T_CHECK(out[0] == 1000 && out[5] == 1201 && lab[0] == 1 && lab[1] == 4,
			"safetensors batch is used as is");
		dataset_free(&d);
	}
	w = st_writer_new();
	st_writer_add(w, "images", ST_F32, 4, shape, im);
	st_writer_save(w, path);
	st_writer_free(w);
	rc = dataset_load(DS_SAFETENSORS, path, SPLIT_TRAIN, &d, err, sizeof err);
	T_CHECK(rc == 0 && !d.labels && d.classes == 0, "safetensors without labels (%s)",
		rc ? err : "");
	if (!rc) {
		int32_t lab[1];
		float out[12];
		int idx[1] = {0};
		dataset_batch(&d, idx, 1, 2, 2, 3, NULL, NULL, out, lab);
		T_CHECK(lab[0] == -1, "no labels -> -1");
		dataset_free(&d);
	}
	float flab[2] = {1, 2};
	w = st_writer_new();
	st_writer_add(w, "images", ST_F32, 4, shape, im);
	st_writer_add(w, "labels", ST_F32, 1, lshape, flab);
	st_writer_save(w, path);
	st_writer_free(w);
	T_CHECK(load_err(DS_SAFETENSORS, path, SPLIT_TRAIN, err, sizeof err) == -1 &&
			strstr(err, "not an integer"),
		"float labels rejected (%s)", err);
	int64_t neg[2] = {0, -3};
	w = st_writer_new();
	st_writer_add(w, "images", ST_F32, 4, shape, im);
	st_writer_add(w, "labels", ST_I64, 1, lshape, neg);
	st_writer_save(w, path);
	st_writer_free(w);
	T_CHECK(load_err(DS_SAFETENSORS, path, SPLIT_TRAIN, err, sizeof err) == -1 &&
			strstr(err, "labels[1] is -3"),
		"negative label rejected (%s)", err);
	int64_t bad_shape[3] = {2, 6, 2};
	w = st_writer_new();
	st_writer_add(w, "images", ST_F32, 3, bad_shape, im);
	st_writer_save(w, path);
	st_writer_free(w);
	T_CHECK(load_err(DS_SAFETENSORS, path, SPLIT_TRAIN, err, sizeof err) == -1 &&
			strstr(err, "images"),
		"3-d images rejected (%s)", err);
}

/* A 1-channel u8 dataset built in memory. */
static void mem_dataset(struct dataset *d, int n, int h, int w, int c)
{
	memset(d, 0, sizeof *d);
	d->n = n, d->h = h, d->w = w, d->c = c, d->classes = 10;
	d->u8 = xmalloc((size_t)n * h * w * c);
	d->labels = xmalloc((size_t)n * sizeof *d->labels);
	for (int i = 0; i < n * h * w * c; i++)
		d->u8[i] = (uint8_t)(i * 7 % 256);
	for (int i = 0; i < n; i++)
		d->labels[i] = i % 10;
	for (int ch = 0; ch < 3; ch++)
		d->mean[ch] = 0.25f * (ch + 1), d->std[ch] = 0.5f / (ch + 1);
}

static void test_batch(void)
{
	struct dataset d;
	mem_dataset(&d, 2, 1, 2, 1); /* pixels: image 0 = {0, 7}, image 1 = {14, 21} */
	/* 1×2 -> 1×4, grey to 3 channels; normalise (x/255 - 0.25) / 0.5 */
	float out[4 * 3];
	int idx[1] = {1};
	int32_t lab[1];
	dataset_batch(&d, idx, 1, 1, 4, 3, NULL, NULL, out, lab);
	double a = (14 / 255.0 - 0.25) / 0.5, b = (21 / 255.0 - 0.25) / 0.5;
	T_NEAR(out[0], a, 1e-6, "upsample x0 = a");
	T_NEAR(out[3], 0.75 * a + 0.25 * b, 1e-6, "upsample x1 = .75a + .25b");
	T_NEAR(out[6], 0.25 * a + 0.75 * b, 1e-6, "upsample x2 = .25a + .75b");
	T_NEAR(out[9], b, 1e-6, "upsample x3 = b (clamped)");
	T_CHECK(out[1] == out[0] && out[2] == out[0] && out[11] == out[9], "grey replicated to 3 channels");
	T_CHECK(lab[0] == 1, "batch label");
	dataset_free(&d);

	/* 1×4 -> 1×2 averages pairs (no antialias: exactly the two middle taps). */
	mem_dataset(&d, 1, 1, 4, 1); /* {0, 7, 14, 21} */
	float o2[2];
	idx[0] = 0;
	dataset_batch(&d, idx, 1, 1, 2, 1, NULL, NULL, o2, NULL);
	T_NEAR(o2[1], ((14 + 21) / 2.0 / 255 - 0.25) / 0.5, 1e-6, "downsample by 2 = mean of pair");
	dataset_free(&d);

	/* RGB to grey: luma of normalised channels. */
	mem_dataset(&d, 1, 1, 1, 3); /* {0, 7, 14} */
	dataset_batch(&d, idx, 1, 1, 1, 1, NULL, NULL, o2, NULL);
	double r = (0 - 0.25) / 0.5, g = (7 / 255.0 - 0.5) / 0.25, bl = (14 / 255.0 - 0.75) / (0.5 / 3);
	T_NEAR(o2[0], 0.299 * r + 0.587 * g + 0.114 * bl, 1e-5, "RGB to 1 channel takes the luma");
	dataset_free(&d);
}

/* Golden values from tests/gen/resize_golden.py (PyTorch interpolate, bilinear). */
static void test_resize_golden(void)
{
	static const float in[15] = {0.0, 1.0, 2.8284270763397217, 5.196152210235596, 8.0,
		11.180339813232422, 14.696938514709473, 18.520259857177734, 22.627416610717773, 27.0,
		31.62277603149414, 36.482872009277344, 41.569217681884766, 46.87216567993164,
		52.383201599121094};
	static const float want[28] = {0.125, 1.6856601238250732, 4.308255195617676,
		7.649518966674805, 1.767130732536316, 3.749235153198242, 6.705252170562744,
		10.33579158782959, 6.693522930145264, 9.939959526062012, 13.89624309539795,
		18.394609451293945, 11.619915008544922, 16.13068389892578, 21.08723258972168,
		26.453428268432617, 20.452932357788086, 25.670499801635742, 31.285659790039062,
		37.27095413208008, 29.28594970703125, 35.21031188964844, 41.48408508300781,
		48.088478088378906, 32.23028564453125, 38.39025115966797, 44.88356018066406,
		51.69432067871094};
	struct dataset d = {.n = 1, .h = 3, .w = 5, .c = 1, .mean = {0, 0, 0}, .std = {1, 1, 1}};
	d.f32 = (float *)in;
	float out[28];
	int idx[1] = {0};
	dataset_batch(&d, idx, 1, 7, 4, 1, NULL, NULL, out, NULL);
	double worst = 0;
	for (int i = 0; i < 28; i++)
		if (fabs(out[i] - want[i]) > worst)
			worst = fabs(out[i] - want[i]);
	T_CHECK(worst < 1e-4, "3x5 -> 7x4 bilinear matches PyTorch (max abs diff %g)", worst);
}

static void test_split(void)
{
	struct index_split a, b, c;
	T_CHECK(dataset_split_val(1000, 0.1, 0, 42, &a) == 0 && a.nval == 100 && a.ntrain == 900,
		"split 1000 at 0.1 -> 900 / 100");
	char *seen = calloc(1000, 1);
	int ok = 1;
	for (int i = 0; i < a.nval; i++)
		seen[a.val[i]]++;
	for (int i = 0; i < a.ntrain; i++)
		seen[a.train[i]]++;
	for (int i = 0; i < 1000; i++)
		ok &= seen[i] == 1;
	for (int i = 1; i < a.ntrain; i++)
		ok &= a.train[i - 1] < a.train[i];
	T_CHECK(ok, "train and val are disjoint, cover everything, sorted");
	free(seen);
	dataset_split_val(1000, 0.1, 0, 42, &b);
	T_CHECK(!memcmp(a.val, b.val, 100 * sizeof(int)), "same seed, same split");
	index_split_free(&b);
	dataset_split_val(1000, 0.1, 0, 43, &b);
	T_CHECK(memcmp(a.val, b.val, 100 * sizeof(int)) != 0, "another seed, another split");
	index_split_free(&b);
	T_CHECK(dataset_split_val(1000, 0.1, 50, 42, &c) == 0 && c.ntrain == 50 &&
			!memcmp(a.val, c.val, 100 * sizeof(int)),
		"train_limit keeps 50 and leaves the validation set unchanged");
	int subset = 1;
	for (int i = 0, j = 0; i < c.ntrain; i++) {
		while (j < a.ntrain && a.train[j] < c.train[i])
			j++;
		subset &= j < a.ntrain && a.train[j] == c.train[i];
	}
	T_CHECK(subset, "the limited training set is a subset of the full one");
	index_split_free(&c);
	index_split_free(&a);
	T_CHECK(dataset_split_val(10, 0, 0, 1, &a) == 0 && a.nval == 0 && a.ntrain == 10 && !a.val,
		"val_frac 0: everything trains");
	index_split_free(&a);
	T_CHECK(dataset_split_val(10, 1.0, 0, 1, &a) == -1, "val_frac 1 refused");
}

static void test_rng(void)
{
	struct prng r, s;
	prng_seed(&r, 1);
	prng_seed(&s, 1);
	int same = 1;
	for (int i = 0; i < 100; i++)
		same &= prng_u64(&r) == prng_u64(&s);
	T_CHECK(same, "same seed, same stream");
	prng_seed(&s, 2);
	T_CHECK(prng_u64(&r) != prng_u64(&s), "another seed, another stream");
	/* xoshiro256** reference: state {1, 2, 3, 4} gives 11520 then 0 then 1509978240. */
	struct prng ref = {{1, 2, 3, 4}};
	uint64_t x0 = prng_u64(&ref), x1 = prng_u64(&ref), x2 = prng_u64(&ref);
	T_CHECK(x0 == 11520 && x1 == 0 && x2 == 1509978240ull,
		"xoshiro256** reference outputs (%llu %llu %llu)", (unsigned long long)x0,
		(unsigned long long)x1, (unsigned long long)x2);
	double su = 0, sn = 0, sn2 = 0, sb = 0, min = 1, max = 0;
	int n = 200000, below_ok = 1;
	for (int i = 0; i < n; i++) {
		double u = prng_unit(&r), z = prng_gauss(&r);
		su += u, sn += z, sn2 += z * z;
		min = u < min ? u : min, max = u > max ? u : max;
		below_ok &= prng_below(&r, 7) < 7;
	}
	for (int i = 0; i < 20000; i++)
		sb += prng_beta(&r, 0.2, 0.2);
	T_NEAR(su / n, 0.5, 0.01, "uniform mean 0.5");
	T_CHECK(min >= 0 && max < 1, "uniform in [0, 1)");
	T_NEAR(sn / n, 0, 0.01, "normal mean 0");
	T_NEAR(sn2 / n, 1, 0.02, "normal variance 1");
	T_NEAR(sb / 20000, 0.5, 0.02, "Beta(0.2, 0.2) mean 0.5");
	T_NEAR(prng_gamma(&r, 3.0) > 0, 1, 0, "gamma positive");
	double sg = 0;
	for (int i = 0; i < 20000; i++)
		sg += prng_gamma(&r, 3.0);
	T_NEAR(sg / 20000, 3.0, 0.03, "Gamma(3) mean 3");
	T_CHECK(below_ok, "prng_below(7) < 7");
	int a[50], count[50] = {0}, moved = 0;
	for (int i = 0; i < 50; i++)
		a[i] = i;
	prng_shuffle(&r, a, 50);
	for (int i = 0; i < 50; i++)
		count[a[i]]++, moved += a[i] != i;
	int perm = 1;
	for (int i = 0; i < 50; i++)
		perm &= count[i] == 1;
	T_CHECK(perm && moved > 10, "shuffle is a permutation that moves things");
	prng_seed(&r, 9);
	prng_fork(&r, &s);
	T_CHECK(prng_u64(&r) != prng_u64(&s), "a fork is another stream");

	/* The engine's xorshift64*: from state 1 the states 0x2000001, 0x4004000802801 and the top
	 * 53 bits of state * 0x2545F4914F6CDD1D: 2529537253518747, 6045066965290796 (x 2^-53). */
	uint64_t xs = 1;
	double v0 = prng_xorshift_unit(&xs);
	uint64_t xs0 = xs;
	double v1 = prng_xorshift_unit(&xs);
	T_CHECK(xs0 == 0x2000001ull && xs == 0x4004000802801ull &&
		v0 == 2529537253518747.0 / 9007199254740992.0 &&
		v1 == 6045066965290796.0 / 9007199254740992.0,
		"xorshift64* reference states and uniforms");
	double xn = 0, xn2 = 0;
	for (int i = 0; i < n; i++) {
		double z = prng_xorshift_gauss(&xs);
		xn += z, xn2 += z * z;
	}
	T_NEAR(xn / n, 0, 0.01, "xorshift normal mean 0");
	T_NEAR(xn2 / n, 1, 0.02, "xorshift normal variance 1");
}

static void test_crop_flip(void)
{
	/* 3×3 grey image 1..9; pad 1: every output is the image shifted by (dy, dx) in {-1,0,1}². */
	uint8_t base[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, img[9];
	struct augment crop = {.crop_pad = 1}, flip = {.hflip = 1};
	struct prng r;
	prng_seed(&r, 5);
	int shifts_seen[9] = {0}, all_valid = 1;
	for (int t = 0; t < 200; t++) {
		memcpy(img, base, 9);
		augment_u8(&crop, img, 3, 3, 1, &r);
		int match = -1;
		for (int dy = -1; dy <= 1 && match < 0; dy++)
			for (int dx = -1; dx <= 1 && match < 0; dx++) {
				int ok = 1;
				for (int y = 0; y < 3; y++)
					for (int x = 0; x < 3; x++) {
						int sy = y + dy, sx = x + dx;
						int v = sy >= 0 && sy < 3 && sx >= 0 && sx < 3 ? base[sy * 3 + sx] : 0;
						ok &= img[y * 3 + x] == v;
					}
				if (ok)
					match = (dy + 1) * 3 + dx + 1;
			}
		if (match < 0)
			all_valid = 0;
		else
			shifts_seen[match]++;
	}
	int all_seen = 1;
	for (int i = 0; i < 9; i++)
		all_seen &= shifts_seen[i] > 0;
	T_CHECK(all_valid && all_seen, "crop pad 1: every output a zero-filled shift, all 9 shifts occur");
	int flipped = 0, kept = 0;
	for (int t = 0; t < 100; t++) {
		memcpy(img, base, 9);
		augment_u8(&flip, img, 3, 3, 1, &r);
		if (img[0] == 3 && img[1] == 2 && img[2] == 1 && img[8] == 7)
			flipped++;
		else if (!memcmp(img, base, 9))
			kept++;
	}
	T_CHECK(flipped + kept == 100 && flipped > 30 && kept > 30, "flip mirrors rows about half the time (%d)",
		flipped);
	float f[6] = {1, 2, 3, 4, 5, 6}; /* 1×3×2 */
	struct augment always = {.hflip = 1};
	int done = 0;
	for (int t = 0; t < 20 && !done; t++) {
		augment_f32(&always, f, 1, 3, 2, &r);
		done = f[0] == 5 && f[1] == 6 && f[4] == 1 && f[5] == 2;
	}
	T_CHECK(done, "float flip moves whole pixels");
}

static void test_fashion_mnist(void)
{
	char err[512];
	struct dataset d;
	int rc = dataset_load(DS_FASHION_MNIST, NULL, SPLIT_TEST, &d, err, sizeof err);
	T_CHECK(rc == 0, "Fashion-MNIST test split loads from the Debian path (%s)", rc ? err : "");
	if (rc)
		return;
	int count[10] = {0};
	for (int i = 0; i < d.n; i++)
		count[d.labels[i]]++;
	int balanced = 1;
	for (int i = 0; i < 10; i++)
		balanced &= count[i] == 1000;
	T_CHECK(d.n == 10000 && d.h == 28 && d.w == 28 && d.c == 1 && balanced,
		"Fashion-MNIST test: 10000 28x28 grey, 1000 per class");
	double sum = 0, sum2 = 0;
	size_t np = (size_t)d.n * 784;
	for (size_t i = 0; i < np; i++) {
		double v = d.u8[i] / 255.0;
		sum += v, sum2 += v * v;
	}
	double mean = sum / np, sd = sqrt(sum2 / np - mean * mean);
	T_NEAR(mean, d.mean[0], 0.01, "Fashion-MNIST pixel mean matches the constant");
	T_NEAR(sd, d.std[0], 0.01, "Fashion-MNIST pixel std matches the constant");
	dataset_free(&d);
}


/* ---- image files: folder and CSV ---- */

static void write_image(const char *name, int png, const uint8_t *px, int h, int w, int c)
{
	char p[512], err[512];
	path_in(p, sizeof p, name);
	int rc = png ? image_write_png(p, px, h, w, c, err, sizeof err)
		     : image_write_jpeg(p, px, h, w, c, err, sizeof err);
	if (rc)
		printf("# %s\n", err);
}

static void test_image_files(void)
{
	char err[512], p[512];
	uint8_t grey[16], rgb[2 * 3 * 3], *px;
	for (int i = 0; i < 16; i++)
		grey[i] = (uint8_t)(16 * i);
	for (int i = 0; i < 18; i++)
		rgb[i] = (uint8_t)(10 * i + 5);
	write_image("g.png", 1, grey, 4, 4, 1);
	int h, w, c;
	path_in(p, sizeof p, "g.png");
	int rc = image_read(p, &px, &h, &w, &c, err, sizeof err);
	T_CHECK(rc == 0 && h == 4 && w == 4 && c == 1 && !memcmp(px, grey, 16),
		"a grey PNG reads back exactly (%s)", rc ? err : "");
	free(px);
	write_image("c.png", 1, rgb, 2, 3, 3);
	path_in(p, sizeof p, "c.png");
	rc = image_read(p, &px, &h, &w, &c, err, sizeof err);
	T_CHECK(rc == 0 && h == 2 && w == 3 && c == 3 && !memcmp(px, rgb, 18),
		"a colour PNG reads back exactly, [h][w][3] (%s)", rc ? err : "");
	free(px);
	uint8_t flat[8 * 8 * 3];
	for (int i = 0; i < 64; i++)
		flat[3 * i] = 200, flat[3 * i + 1] = 100, flat[3 * i + 2] = 30;
	write_image("c.jpg", 0, flat, 8, 8, 3);
	path_in(p, sizeof p, "c.jpg");
	rc = image_read(p, &px, &h, &w, &c, err, sizeof err);
	T_CHECK(rc == 0 && h == 8 && w == 8 && c == 3 && abs(px[0] - 200) <= 3 &&
		abs(px[1] - 100) <= 3 && abs(px[2] - 30) <= 3,
		"a colour JPEG reads back within 3 (%s)", rc ? err : "");
	free(px);

	/* area: 4x4 -> 2x2 averages 2x2 blocks; 4 -> 3 weights the covered fractions;
	 * 2 -> 4 interpolates as PyTorch's bilinear (align_corners=False). */
	uint8_t small[4], row3[3], up[4];
	image_resize_area(grey, 4, 4, 1, small, 2, 2);
	T_CHECK(small[0] == 40 && small[1] == 72 && small[2] == 168 && small[3] == 200,
		"area 4x4 -> 2x2 averages blocks (%d %d %d %d)", small[0], small[1], small[2], small[3]);
	const uint8_t line[4] = {0, 30, 60, 90}, two[2] = {0, 100};
	image_resize_area(line, 1, 4, 1, row3, 1, 3);
	/* out 0 covers [0, 4/3): (0·1 + 30·1/3)/(4/3) = 7.5 -> 8; out 1 [4/3, 8/3): 45; out 2: 83 */
	T_CHECK(row3[0] == 8 && row3[1] == 45 && row3[2] == 83, "area 4 -> 3 by covered fraction (%d %d %d)",
		row3[0], row3[1], row3[2]);
	image_resize_area(two, 1, 2, 1, up, 1, 4);
	T_CHECK(up[0] == 0 && up[1] == 25 && up[2] == 75 && up[3] == 100,
		"2 -> 4 is bilinear (%d %d %d %d)", up[0], up[1], up[2], up[3]);

	/* ImageFolder: classes sorted by name; sizes differ; grey and colour mixed -> 3 channels. */
	path_in(p, sizeof p, "imgs");
	mkdir(p, 0755);
	path_in(p, sizeof p, "imgs/zebra");
	mkdir(p, 0755);
	path_in(p, sizeof p, "imgs/ant");
	mkdir(p, 0755);
	path_in(p, sizeof p, "imgs/.hidden");
	mkdir(p, 0755);
	uint8_t g2[4] = {10, 20, 30, 40};
	write_image("imgs/zebra/b.png", 1, g2, 2, 2, 1);
	write_image("imgs/zebra/a.png", 1, grey, 4, 4, 1);
	write_image("imgs/ant/x.jpg", 0, flat, 8, 8, 3);
	write_bytes("imgs/ant/notes.txt", "hello", 5);
	struct dataset d, t;
	path_in(p, sizeof p, "imgs");
	enum dataset_kind k;
	T_CHECK(dataset_kind_parse("folder", &k) == 0 && k == DS_FOLDER &&
		dataset_kind_parse("csv", &k) == 0 && k == DS_CSV, "kinds folder and csv");
	rc = dataset_load_images(DS_FOLDER, p, 2, 2, NULL, &d, err, sizeof err);
	T_CHECK(rc == 0, "an image folder loads (%s)", rc ? err : "");
	if (rc == 0) {
		T_CHECK(d.n == 3 && d.h == 2 && d.w == 2 && d.c == 3 && d.classes == 2 && d.u8 &&
			!strcmp(d.class_names[0], "ant") && !strcmp(d.class_names[1], "zebra") &&
			d.resize && !strcmp(d.resize, "area"),
			"folder: 3 images 2x2x3, classes ant, zebra (n %d %dx%dx%d classes %d)", d.n, d.h,
			d.w, d.c, d.classes);
		T_CHECK(d.labels[0] == 0 && d.labels[1] == 1 && d.labels[2] == 1,
			"folder labels follow the sorted sub-folders and files");
		/* image 1 is zebra/a.png (4x4 grey, area -> 40 72 168 200, repeated to 3 channels);
		 * image 2 is zebra/b.png (2x2, as it is) */
		const uint8_t *a = d.u8 + 12, *b = d.u8 + 24;
		T_CHECK(a[0] == 40 && a[1] == 40 && a[2] == 40 && a[3] == 72 && a[11] == 200 &&
			b[0] == 10 && b[5] == 20 && b[9] == 40, "folder pixels: resized, grey repeated");
		T_CHECK(abs(d.u8[0] - 200) <= 3 && abs(d.u8[1] - 100) <= 3, "folder JPEG pixels");
		double s = 0, ss = 0;
		for (int i = 0; i < 3; i++)
			for (int q = 0; q < 4; q++) {
				double v = d.u8[(i * 4 + q) * 3 + 1] / 255.0;
				s += v, ss += v * v;
			}
		double m = s / 12, sd = sqrt(ss / 12 - m * m);
		T_NEAR(d.mean[1], m, 1e-5, "folder mean of channel G from the pixels");
		T_NEAR(d.std[1], sd, 1e-5, "folder std of channel G from the pixels");
		dataset_free(&d);
	}
	rc = dataset_load(DS_FOLDER, p, SPLIT_TRAIN, &d, err, sizeof err);
	T_CHECK(rc == 0 && d.h == 8 && d.w == 8, "dataset_load: the first image's size (%s)",
		rc ? err : "");
	if (rc == 0)
		dataset_free(&d);

	/* CSV with numeric labels, then a test split loaded like the training one. */
	write_bytes("list.csv", "path,label\nimgs/zebra/a.png,2\n\nimgs/ant/x.jpg,0\r\n", 50);
	path_in(p, sizeof p, "list.csv");
	rc = dataset_load_images(DS_CSV, p, 4, 4, NULL, &d, err, sizeof err);
	T_CHECK(rc == 0 && d.n == 2 && d.classes == 3 && d.labels[0] == 2 && d.labels[1] == 0 &&
		!strcmp(d.class_names[2], "2") && d.h == 4 && d.c == 3 && d.u8[3] == 16,
		"CSV with numeric labels: index = the number, 3 classes (%s)", rc ? err : "");
	write_bytes("test.csv", "imgs/zebra/b.png,2\n", 19);
	path_in(p, sizeof p, "test.csv");
	if (rc == 0) {
		int rt = dataset_load_images(DS_CSV, p, 0, 0, &d, &t, err, sizeof err);
		T_CHECK(rt == 0 && t.n == 1 && t.h == 4 && t.w == 4 && t.c == 3 && t.labels[0] == 2 &&
			t.mean[0] == d.mean[0] && t.std[2] == d.std[2],
			"a test split takes the training split's size, classes and mean/std (%s)",
			rt ? err : "");
		if (rt == 0)
			dataset_free(&t);
		write_bytes("test.csv", "imgs/zebra/b.png,7\n", 19);
		rt = dataset_load_images(DS_CSV, p, 0, 0, &d, &t, err, sizeof err);
		T_CHECK(rt == -1 && strstr(err, "'7'") && strstr(err, "b.png"),
			"a test label the training split lacks is refused (%s)", err);
		dataset_free(&d);
	}

	/* Malformed files fail with the file named, never crash. */
	static const struct {
		const char *name, *expect;
		size_t keep; /* bytes of a good file kept; 0: garbage */
	} bad[] = {
		{"bad/k/trunc.png", "PNG (", 40},
		{"bad/k/cut.png", "PNG (", 70},
		{"bad/k/trunc.jpg", "corrupt JPEG", 300},
		{"bad/k/junk.png", "neither a PNG nor a JPEG", 0},
		{"bad/k/empty.jpg", "neither a PNG nor a JPEG", 1},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		path_in(p, sizeof p, "bad");
		char cmd[1200];
		snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s/k", p, p);
		T_CHECK(system(cmd) == 0, "make %s", bad[i].name);
		char src[512], dst[512];
		path_in(src, sizeof src, strstr(bad[i].name, ".png") ? "imgs/zebra/a.png" : "c.jpg");
		path_in(dst, sizeof dst, bad[i].name);
		if (bad[i].keep)
			snprintf(cmd, sizeof cmd, "head -c %zu %s > %s", bad[i].keep == 1 ? 0 : bad[i].keep,
				 src, dst);
		else
			snprintf(cmd, sizeof cmd, "echo 'not an image at all' > %s", dst);
		T_CHECK(system(cmd) == 0, "cut %s", bad[i].name);
		rc = dataset_load_images(DS_FOLDER, p, 0, 0, NULL, &d, err, sizeof err);
		T_CHECK(rc == -1 && strstr(err, bad[i].expect) && strstr(err, bad[i].name),
			"%s refused: %s", bad[i].name, err);
	}
	path_in(p, sizeof p, "c.png");
	T_CHECK(dataset_load_images(DS_FOLDER, p, 0, 0, NULL, &d, err, sizeof err) == -1 &&
		strstr(err, "c.png"), "a file given as a folder is refused (%s)", err);
}

/* uint8 NHWC safetensors: pixels as they are, mean/std from them, the model's norm for a test. */
static void test_safetensors_u8(void)
{
	char err[512], path[512];
	struct dataset d;
	uint8_t px[2 * 2 * 3 * 3]; /* [2][2][3][3] = n*100 + y*30 + x*3 + c */
	for (int i = 0; i < 36; i++)
		px[i] = (uint8_t)((i / 18) * 100 + (i % 18) / 9 * 30 + (i % 9) / 3 * 3 + i % 3);
	int64_t shape[4] = {2, 2, 3, 3}, lshape[1] = {2};
	uint8_t labels[2] = {1, 0};
	path_in(path, sizeof path, "u8.safetensors");
	struct st_writer *w = st_writer_new();
	st_writer_add(w, "images", ST_U8, 4, shape, px);
	st_writer_add(w, "labels", ST_U8, 1, lshape, labels);
	T_CHECK(st_writer_save(w, path) == 0, "write a uint8 NHWC safetensors dataset");
	st_writer_free(w);
	int rc = dataset_load(DS_SAFETENSORS, path, SPLIT_TRAIN, &d, err, sizeof err);
	T_CHECK(rc == 0 && d.n == 2 && d.h == 2 && d.w == 3 && d.c == 3 && d.u8 && !d.f32 &&
		d.classes == 2, "uint8 safetensors loads as [N,H,W,C] (%s)", rc ? err : "");
	if (rc)
		return;
	T_CHECK(d.u8[18 + 9 + 6 + 2] == 100 + 30 + 6 + 2, "uint8 pixels stay NHWC");
	double s = 0;
	for (int i = 0; i < 12; i++)
		s += px[i * 3 + 1] / 255.0;
	T_NEAR(d.mean[1], s / 12, 1e-5, "uint8 safetensors: mean of channel G from the pixels");
	dataset_free(&d);
	rc = dataset_load_for_model(DS_SAFETENSORS, path, SPLIT_TEST, "{\"mean\":[0.5,0.25,0.125],\"std\":[2,2,2]}",
				    NULL, 2, 3, &d, err, sizeof err);
	T_CHECK(rc == 0 && d.mean[2] == 0.125f && d.std[0] == 2.0f,
		"dataset_load_for_model: the model's normalisation replaces the file's (%s)", rc ? err : "");
	if (rc == 0)
		dataset_free(&d);
	rc = dataset_load_for_model(DS_SAFETENSORS, path, SPLIT_TEST, "{\"mean\":[0.5],\"std\":[0]}",
				    NULL, 2, 3, &d, err, sizeof err);
	T_CHECK(rc == -1 && strstr(err, "std > 0"), "a normalisation with std 0 is refused (%s)", err);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 2;
	}
	test_rng();
	test_idx();
	test_idx_claims();
	test_cifar();
	test_safetensors();
	test_batch();
	test_resize_golden();
	test_split();
	test_crop_flip();
	test_fashion_mnist();
	test_image_files();
	test_safetensors_u8();
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmpdir);
	return t_done();
}
