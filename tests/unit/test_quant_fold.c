/* test_quant_fold.c — BN folding: the float inference of the folded paper models reproduces the
 * golden PyTorch logits (shared/paper-models/golden-logits.safetensors) to 1e-3 relative. */
#include <stdlib.h>
#include <string.h>
#include "t.h"
#include "int8/fold.h"
#include "core/record.h"
#include "core/safetensors.h"
#include "core/util.h"

int main(void)
{
	static const char *const models[] = {"lmanet-elite", "lmanet-core", "qwnet-core"};
	char path[512], err[512];
	struct st_file g;
	snprintf(path, sizeof path, "%s/paper-models/golden-logits.safetensors", t_shared_dir());
	if (st_open(path, &g, err, sizeof err)) {
		t_skip("no paper models (%s); set LMNAS_SHARED", err);
		return t_done();
	}
	const struct st_tensor *im = st_find(&g, "images");
	T_CHECK(im && im->ndim == 4 && im->shape[1] == 3, "golden images are [N][3][H][W]");
	int n = (int)im->shape[0], H = (int)im->shape[2], W = (int)im->shape[3];
	float *nhwc = xmalloc(sizeof(float) * n * H * W * 3);
	const float *src = im->data;
	for (int i = 0; i < n; i++)
		for (int c = 0; c < 3; c++)
			for (int p = 0; p < H * W; p++)
				nhwc[((size_t)i * H * W + p) * 3 + c] = src[((size_t)i * 3 + c) * H * W + p];
	for (int m = 0; m < 3; m++)
		for (int kd = 0; kd < 2; kd++) {
			char name[64];
			snprintf(name, sizeof name, "%s%s", models[m], kd ? "-kd" : "");
			snprintf(path, sizeof path, "%s/paper-models/%s.json", t_shared_dir(), models[m]);
			cJSON *doc = record_load_document(path);
			struct arch a;
			T_CHECK(doc && !arch_parse(cJSON_GetObjectItem(doc, "arch"), &a, err, sizeof err),
				"%s arch parses", name);
			cJSON_Delete(doc);
			snprintf(path, sizeof path, "%s/paper-models/%s.safetensors", t_shared_dir(), name);
			struct fnet fn;
			if (!T_CHECK(!fold_load(path, &a, H, W, &fn, err, sizeof err), "%s folds", name)) {
				printf("# %s\n", err);
				continue;
			}
			char key[80];
			snprintf(key, sizeof key, "logits.%s", name);
			const struct st_tensor *gl = st_find(&g, key);
			T_CHECK(gl && gl->numel == (int64_t)n * fn.net.classes, "%s golden logits", name);
			double worst = 0;
			float *lg = xmalloc(sizeof(float) * fn.net.classes);
			for (int i = 0; gl && i < n; i++) {
				fold_forward(&fn, nhwc + (size_t)i * H * W * 3, lg, NULL, NULL);
				const float *want = (const float *)gl->data + (size_t)i * fn.net.classes;
				double maxabs = 0;
				for (int k = 0; k < fn.net.classes; k++)
					maxabs = fabs(want[k]) > maxabs ? fabs(want[k]) : maxabs;
				for (int k = 0; k < fn.net.classes; k++) {
					double e = fabs(lg[k] - want[k]) / (maxabs > 1 ? maxabs : 1);
					worst = e > worst ? e : worst;
				}
			}
			printf("# %s: worst relative logit error %.3g\n", name, worst);
			T_CHECK(worst <= 1e-3, "%s folded float logits match PyTorch to 1e-3", name);
			free(lg);
			fold_free(&fn);
		}
	free(nhwc);
	st_close(&g);
	return t_done();
}
