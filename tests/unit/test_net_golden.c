/* test_net_golden.c — the six paper checkpoints load unchanged and their logits on the golden
 * images match PyTorch's (shared/paper-models/golden-logits.safetensors) within 1e-3 relative,
 * with the same top-1. The images go through the dataset loader (NCHW file -> NHWC) straight
 * into net_forward, as in training. */
#include "core/arch.h"
#include "engine/checkpoint.h"
#include "engine/dataset.h"
#include "engine/net.h"
#include "engine/nn_head.h"
#include "core/record.h"
#include "core/safetensors.h"
#include "t.h"
#include "core/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* shared/paper-models, found from $LMNAS_SHARED or next to the repository. */
static const char *models_dir(void)
{
	static char buf[1024];
	snprintf(buf, sizeof buf, "%s/paper-models/golden-logits.safetensors", t_shared_dir());
	if (access(buf, R_OK) != 0)
		return NULL;
	snprintf(buf, sizeof buf, "%s/paper-models", t_shared_dir());
	return buf;
}

/* The same forward with the 1x1 convolutions' GEMMs in bf16 (AMX tiles): the operands' rounding
 * (8 significant bits) moves the logits by a few thousandths of their range, not the top-1. */
static void check_bf16(struct net *n, const char *name, const struct dataset *img,
		       const float *want, int classes, double maxabs)
{
	char err[256];
	if (gemm_set_precision(GEMM_BF16, err, sizeof err)) {
		t_skip_cpu("%s in bf16: %s", name, err);
		return;
	}
	const float *y = net_forward(n, img->f32, img->n, 0);
	gemm_set_precision(GEMM_FP32, err, sizeof err);
	double maxdiff = 0;
	int same_top1 = 0;
	for (int i = 0; i < img->n * classes; i++)
		maxdiff = fmax(maxdiff, fabs(y[i] - want[i]));
	for (int b = 0; b < img->n; b++)
		same_top1 += logits_argmax(y + b * classes, classes) ==
			     logits_argmax(want + b * classes, classes);
	printf("# %s in bf16: max |diff| %.3g, same top-1 on %d of %d\n", name, maxdiff, same_top1,
	       img->n);
	T_CHECK(maxdiff <= 3e-2 * fmax(1.0, maxabs) && same_top1 == img->n,
		"%s in bf16: logits within 3e-2 relative, the same top-1 on every image", name);
}

static void check_model(const char *dir, const char *name, const char *base,
			const struct st_file *g, const struct dataset *img)
{
	char path[2048], err[512], key[128];
	snprintf(path, sizeof path, "%s/%s.json", dir, base);
	cJSON *doc = record_load_document(path);
	struct arch a;
	if (!T_CHECK(doc && arch_parse(cJSON_GetObjectItem(doc, "arch"), &a, err, sizeof err) == 0,
		     "%s: arch parses", name))
		return;
	cJSON_Delete(doc);
	snprintf(key, sizeof key, "logits.%s", name);
	const struct st_tensor *want = st_find(g, key);
	int B = img->n, H = img->h, W = img->w;
	int classes = (int)want->shape[1];
	struct net *n = net_new(&a, H, W, classes, B, 0, err, sizeof err);
	if (!T_CHECK(n != NULL, "%s: net builds", name))
		return;
	snprintf(path, sizeof path, "%s/%s.safetensors", dir, name);
	int rc = checkpoint_load(n, path, err, sizeof err);
	if (!T_CHECK(rc == 0, "%s: checkpoint loads unchanged", name)) {
		printf("# %s\n", err);
		net_free(n);
		return;
	}
	const float *y = net_forward(n, img->f32, B, 0);
	const float *w = want->data;
	double maxabs = 0, maxdiff = 0;
	int same_top1 = 1;
	for (int i = 0; i < B * classes; i++) {
		maxabs = fmax(maxabs, fabs(w[i]));
		maxdiff = fmax(maxdiff, fabs(y[i] - w[i]));
	}
	for (int b = 0; b < B; b++)
		same_top1 &= logits_argmax(y + b * classes, classes) == logits_argmax(w + b * classes, classes);
	printf("# %s: max |diff| %.3g, max |logit| %.3g\n", name, maxdiff, maxabs);
	T_CHECK(maxdiff <= 1e-3 * fmax(1.0, maxabs), "%s: logits within 1e-3 relative", name);
	T_CHECK(same_top1, "%s: same top-1 on all %d images", name, B);
	check_bf16(n, name, img, w, classes, maxabs);
	net_free(n);
}

int main(void)
{
	const char *dir = models_dir();
	if (!dir) {
		t_skip("%s/paper-models not found (set LMNAS_SHARED)", t_shared_dir());
		return t_done();
	}
	char path[2048], err[512];
	snprintf(path, sizeof path, "%s/golden-logits.safetensors", dir);
	struct st_file g;
	struct dataset img;
	if (!T_CHECK(st_open(path, &g, err, sizeof err) == 0 &&
			     dataset_load(DS_SAFETENSORS, path, SPLIT_TEST, &img, err, sizeof err) == 0 &&
			     img.f32,
		     "golden logits open, images load as float NHWC")) {
		printf("# %s\n", err);
		return t_done();
	}
	static const char *names[][2] = {
		{"lmanet-elite", "lmanet-elite"},  {"lmanet-core", "lmanet-core"},
		{"qwnet-core", "qwnet-core"},      {"lmanet-elite-kd", "lmanet-elite"},
		{"lmanet-core-kd", "lmanet-core"}, {"qwnet-core-kd", "qwnet-core"},
	};
	for (int i = 0; i < 6; i++)
		check_model(dir, names[i][0], names[i][1], &g, &img);
	dataset_free(&img);
	st_close(&g);
	return t_done();
}
