/* test_net_grad.c — a whole small network (depthwise and mbconv, SE, residual with and without
 * projection, ReLU6, LeakyReLU, swish) against PyTorch (tests/gen/grad_golden.py): the loss and
 * every parameter gradient of one training step, then the losses of ten SGD steps (momentum 0.9,
 * Nesterov, weight decay) and the whole state after them. Also: the checkpoint round trip. */
#include "engine/checkpoint.h"
#include "engine/net.h"
#include "core/safetensors.h"
#include "engine/sgd.h"
#include "t.h"
#include "core/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define INIT "tests/golden/grad-net-init.safetensors"
#define GOLDEN "tests/golden/grad-net-golden.safetensors"

/* max |a - b| <= rtol * max |b| (+ a tiny absolute floor) */
static int close_tensor(const float *a, const float *b, size_t n, double rtol, double *rel)
{
	double maxb = 0, maxd = 0;
	for (size_t i = 0; i < n; i++) {
		maxb = fmax(maxb, fabs(b[i]));
		maxd = fmax(maxd, fabs((double)a[i] - b[i]));
	}
	*rel = maxd / fmax(maxb, 1e-12);
	/* floor: gradients that are zero in exact arithmetic (a BN bias followed by a train-mode
	 * BN) come out as rounding noise of ~1e-7 */
	return maxd <= rtol * maxb + 1e-6;
}

/* in [n][c][h][w] (PyTorch's layout, as the golden file holds the batches) -> out [n][h][w][c],
 * the layout net_forward takes. */
static void nchw_to_nhwc(const float *in, size_t n, size_t c, size_t h, size_t w, float *out)
{
	for (size_t i = 0; i < n; i++)
		for (size_t ch = 0; ch < c; ch++)
			for (size_t p = 0; p < h * w; p++)
				out[(i * h * w + p) * c + ch] = in[(i * c + ch) * h * w + p];
}

static void to_int_labels(int *dst, const struct st_tensor *t, size_t off, int n)
{
	const int64_t *src = t->data;
	for (int i = 0; i < n; i++)
		dst[i] = (int)src[off + i];
}

/* Compares a net entry with a golden tensor in PyTorch layout. */
static int entry_matches(const struct net *n, const struct net_entry *e, const float *base,
			 const float *want, double rtol, double *rel)
{
	float *tmp = xmalloc(sizeof(float) * e->numel);
	const float *src = base + e->off;
	if (e->dw_layout) {
		int C = (int)e->shape[0], kk = (int)(e->shape[2] * e->shape[3]);
		for (int c = 0; c < C; c++)
			for (int t = 0; t < kk; t++)
				tmp[(size_t)c * kk + t] = src[(size_t)t * C + c];
	} else {
		memcpy(tmp, src, sizeof(float) * e->numel);
	}
	(void)n;
	int ok = close_tensor(tmp, want, e->numel, rtol, rel);
	free(tmp);
	return ok;
}

/* The gradient buffers (net.h: net_tensor.grad_buf): the tensors of this net share fewer
 * buffers than they have gradients, yet no two tensors whose gradients are needed at the same
 * time share one. Tensor t's gradient is needed from the last op that reads t (backward writes
 * it there first) down to the op that writes t (which reads it last); the logits' from the loss
 * on. Worked out here from the op list, independently of net.c. */
static void check_grad_sharing(const struct net *n)
{
	int *lo = xmalloc(sizeof(int) * 2 * (size_t)n->nt), *hi = lo + n->nt;
	for (int t = 0; t < n->nt; t++)
		lo[t] = hi[t] = -1;
	for (int i = 0; i < n->nops; i++) {
		const struct net_op *op = &n->ops[i];
		lo[op->out] = i;
		if (i > hi[op->in])
			hi[op->in] = i;
		if (op->in2 >= 0 && i > hi[op->in2])
			hi[op->in2] = i;
	}
	hi[n->logits] = n->nops + 1;
	int with_grad = 0, clash = 0;
	size_t one_each = 0;
	for (int t = 0; t < n->nt; t++) {
		if (!n->t[t].grad)
			continue;
		with_grad++;
		one_each += n->t[t].per_image * (size_t)n->max_batch;
		for (int u = 0; u < t; u++)
			if (n->t[u].grad == n->t[t].grad && lo[u] <= hi[t] && lo[t] <= hi[u]) {
				printf("# tensors %d [%d, %d] and %d [%d, %d] share a gradient buffer\n",
				       u, lo[u], hi[u], t, lo[t], hi[t]);
				clash++;
			}
	}
	T_CHECK(n->t[0].grad == NULL && with_grad == n->nt - 1,
		"every tensor but the input has a gradient (%d of %d)", with_grad, n->nt);
	T_CHECK(clash == 0, "no two gradients needed at the same time share a buffer");
	size_t shared = 0;
	for (int b = 0; b < n->ngrad_bufs; b++)
		shared += n->grad_buf_floats[b];
	T_CHECK(n->ngrad_bufs < with_grad && shared < one_each,
		"%d gradients share %d buffers (%zu floats instead of %zu)", with_grad, n->ngrad_bufs,
		shared, one_each);
	free(lo);
}

int main(void)
{
	char err[512];
	struct arch a;
	int classes;
	struct st_file g;
	if (!T_CHECK(checkpoint_info(INIT, &a, &classes, err, sizeof err) == 0, "init arch read") ||
	    !T_CHECK(st_open(GOLDEN, &g, err, sizeof err) == 0, "golden opens")) {
		printf("# %s\n", err);
		return t_done();
	}
	const struct st_tensor *img = st_find(&g, "images"), *lab = st_find(&g, "labels");
	const struct st_tensor *losses = st_find(&g, "losses"), *loss0 = st_find(&g, "loss0");
	int steps = (int)img->shape[0], B = (int)img->shape[1];
	int H = (int)img->shape[3], W = (int)img->shape[4];
	size_t per_batch = (size_t)B * img->shape[2] * H * W;
	float *x = xmalloc(sizeof(float) * per_batch * steps); /* [steps][B][H][W][C] */
	nchw_to_nhwc(img->data, (size_t)steps * B, (size_t)img->shape[2], H, W, x);
	struct net *n = net_new(&a, H, W, classes, B, 0, err, sizeof err);
	if (!T_CHECK(n && checkpoint_load(n, INIT, err, sizeof err) == 0, "net builds and loads")) {
		printf("# %s\n", err);
		return t_done();
	}
	int labels[64];
	to_int_labels(labels, lab, 0, B);
	net_forward(n, x, B, 1);
	double loss = net_loss(n, labels, B);
	T_NEAR(loss, ((const float *)loss0->data)[0], 1e-5, "loss of batch 0 matches PyTorch");
	net_backward(n, B);
	int nchecked = 0, nbad = 0;
	double worst = 0;
	for (int i = 0; i < n->nentries; i++) {
		const struct net_entry *e = &n->entries[i];
		if (e->is_buffer)
			continue;
		char key[128];
		snprintf(key, sizeof key, "grad.%s", e->name);
		const struct st_tensor *t = st_find(&g, key);
		double rel = 1;
		if (!t || !entry_matches(n, e, n->grads, t->data, 1e-3, &rel)) {
			printf("# %s: relative error %.3g\n", key, rel);
			nbad++;
		}
		if (t && e->numel > 0 && rel < 1 && strstr(e->name, ".bias") == NULL)
			worst = fmax(worst, rel);
		nchecked++;
	}
	printf("# worst relative gradient error %.3g over %d tensors\n", worst, nchecked);
	T_CHECK(nchecked > 40 && nbad == 0, "all %d parameter gradients match PyTorch within 1e-3",
		nchecked);
	check_grad_sharing(n);
	/* The loss's gradient has a buffer of its own: backward leaves it as the loss wrote it. */
	net_forward(n, x, B, 1);
	net_loss(n, labels, B);
	float *dl = xmalloc(sizeof(float) * B * classes);
	memcpy(dl, net_dlogits(n), sizeof(float) * B * classes);
	net_backward(n, B);
	T_CHECK(memcmp(dl, net_dlogits(n), sizeof(float) * B * classes) == 0,
		"net_backward leaves the loss's gradient as it was");
	free(dl);

	/* Ten SGD steps from the initial state. */
	checkpoint_load(n, INIT, err, sizeof err);
	struct sgd *opt = sgd_new(n->nparams, 0.9f, 5e-4f, 1);
	int loss_ok = 1;
	for (int s = 0; s < steps; s++) {
		to_int_labels(labels, lab, (size_t)s * B, B);
		net_forward(n, x + s * per_batch, B, 1);
		double l = net_loss(n, labels, B);
		double want = ((const float *)losses->data)[s];
		printf("# step %d loss %.7f (PyTorch %.7f)\n", s, l, want);
		loss_ok &= fabs(l - want) <= 1e-3 * fabs(want);
		net_backward(n, B);
		sgd_step(opt, n->params, n->grads, 0.05f);
	}
	T_CHECK(loss_ok, "ten SGD steps reproduce PyTorch's losses within 1e-3");
	nbad = 0;
	for (int i = 0; i < n->nentries; i++) {
		const struct net_entry *e = &n->entries[i];
		char key[128];
		snprintf(key, sizeof key, "after.%s", e->name);
		const struct st_tensor *t = st_find(&g, key);
		double rel = 1;
		if (!t || !entry_matches(n, e, e->is_buffer ? n->bufs : n->params, t->data, 1e-3,
					 &rel)) {
			printf("# %s: relative error %.3g\n", key, rel);
			nbad++;
		}
	}
	T_CHECK(nbad == 0, "parameters and running statistics after ten steps match PyTorch");
	T_CHECK(n->batches_tracked[0] == steps, "num_batches_tracked counts the steps");

	/* Round trip: save, load into a fresh net, same logits in inference. */
	char path[] = "/tmp/lmnas-ckpt-XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	const char *meta[] = {"stage", "test", NULL};
	T_CHECK(checkpoint_save(n, path, meta, err, sizeof err) == 0, "checkpoint saves");
	struct arch a2;
	int classes2;
	T_CHECK(checkpoint_info(path, &a2, &classes2, err, sizeof err) == 0 && classes2 == classes &&
			a2.nblocks == a.nblocks,
		"saved checkpoint carries arch and classes");
	struct net *m = net_new(&a2, H, W, classes2, B, 0, err, sizeof err);
	T_CHECK(checkpoint_load(m, path, err, sizeof err) == 0, "saved checkpoint loads");
	float *y1 = xmalloc(sizeof(float) * B * classes);
	memcpy(y1, net_forward(n, x, B, 0), sizeof(float) * B * classes);
	const float *y2 = net_forward(m, x, B, 0);
	T_CHECK(memcmp(y1, y2, sizeof(float) * B * classes) == 0, "reloaded net gives equal logits");
	T_CHECK(m->batches_tracked[0] == steps, "num_batches_tracked survives the round trip");
	free(y1);
	/* For tests/gen/check_strict_load.py: keep a copy where asked. */
	const char *keep = getenv("LMNAS_SAVE_CKPT");
	if (keep)
		T_CHECK(checkpoint_save(n, keep, meta, err, sizeof err) == 0, "kept a copy in %s", keep);
	/* Bad checkpoints: a NaN weight, a save into a folder that does not exist. */
	m->params[0] = NAN;
	T_CHECK(checkpoint_save(m, path, meta, err, sizeof err) == 0, "checkpoint with a NaN saves");
	T_CHECK(checkpoint_load(n, path, err, sizeof err) != 0 && strstr(err, "not finite") &&
			strstr(err, n->entries[0].name),
		"loading a NaN weight fails naming the tensor: %s", err);
	T_CHECK(checkpoint_save(n, "/nonexistent-dir/x.safetensors", meta, err, sizeof err) != 0 &&
			access("/nonexistent-dir/x.safetensors", F_OK) != 0,
		"saving into a missing folder fails and leaves no file");
	int bad_labels[64];
	for (int i = 0; i < B; i++)
		bad_labels[i] = classes; /* out of range */
	net_forward(n, x, B, 1);
	T_CHECK(isnan(net_loss(n, bad_labels, B)), "a label out of range gives a NaN loss");
	unlink(path);
	net_free(m);
	sgd_free(opt);
	net_free(n);
	free(x);
	st_close(&g);
	return t_done();
}
