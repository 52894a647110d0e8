/* int8_ref.c — host reference inference of an int8 model with the shared kernels of int8_ref.h,
 * on one arena laid out by the same plan emit-c writes. */
#include "int8/int8_ref.h"
#include <stdlib.h>
#include <string.h>
#include "int8/quant.h"
#include "core/util.h"

static struct lmq_rq conv_rq(const struct qmodel *m, const struct qop *o)
{
	struct lmq_rq rq;
	rq.bias = o->bias;
	rq.mult = o->mult;
	rq.shift = o->shift;
	rq.out_zp = quant_requant_zp(m, o);
	rq.lo = o->lo;
	rq.hi = o->hi;
	rq.lut = o->lut;
	return rq;
}

static struct lmq_rq3 conv_rq3(const struct qmodel *m, const struct qop *o)
{
	struct lmq_rq3 rq;
	rq.bias16 = o->bias16;
	rq.mult16 = o->mult16;
	rq.shift = o->shift;
	rq.lut = o->lut;
	rq.bshift = o->bshift;
	rq.out_zp = quant_requant_zp(m, o);
	rq.lo = o->lo;
	rq.hi = o->hi;
	return rq;
}

void int8_ref_run(const struct qmodel *m, const int8_t *q_in, int8_t *arena, int8_t *logits_q,
		  float *logits)
{
	int8_t *own = NULL;
	if (!arena)
		arena = own = xcalloc(m->arena_bytes, 1);
	memcpy(arena + m->t[m->input].offset, q_in, m->t[m->input].size);
	for (int i = 0; i < m->nops; i++) {
		const struct qop *o = &m->ops[i];
		const struct qtensor *ti = &m->t[o->in];
		int8_t *x = arena + ti->offset, *y = arena + m->t[o->out].offset;
		struct lmq_rq rq;
		struct lmq_rq3 rq3;
		if (int8_stream_op(m, i, arena))
			continue;
		switch (o->kind) {
		case QOP_PW:
			rq = conv_rq(m, o);
			rq3 = conv_rq3(m, o);
			if (o->w3)
				lmq_pw_t3(x, o->np, o->cin, ti->zp, o->w3, o->cout, &rq3, y);
			else
				lmq_pw(x, o->np, o->cin, ti->zp, o->w, o->cout, &rq, y);
			break;
		case QOP_DW: {
			int8_t *scratch = o->scratch >= 0 ? arena + m->t[o->scratch].offset : NULL;
			rq = conv_rq(m, o);
			rq3 = conv_rq3(m, o);
			if (o->w3)
				lmq_dw_t3(x, o->h, o->wd, o->cout, ti->zp, o->w3, o->k, o->stride,
					  o->pad, o->oh, o->ow, &rq3, y, scratch);
			else
				lmq_dw(x, o->h, o->wd, o->cout, ti->zp, o->w, o->k, o->stride, o->pad,
				       o->oh, o->ow, &rq, y, scratch);
			break;
		}
		case QOP_GAP:
			lmq_gap(x, o->np, o->cout, y);
			break;
		case QOP_SCALE:
			lmq_scale(x, o->np, o->cout, ti->zp, arena + m->t[o->in2].offset,
				  m->t[o->in2].zp, o->emult[0], o->eshift[0], m->t[o->out].zp, y);
			break;
		case QOP_ADD:
			lmq_add(x, ti->zp, arena + m->t[o->in2].offset, m->t[o->in2].zp, o->np,
				o->emult, o->eshift, m->t[o->out].zp, y);
			break;
		}
	}
	const struct qtensor *tl = &m->t[m->logits];
	const int8_t *lq = arena + tl->offset;
	for (int c = 0; c < m->net.classes; c++) {
		if (logits_q)
			logits_q[c] = lq[c];
		if (logits)
			logits[c] = tl->scale * (float)(lq[c] - tl->zp);
	}
	free(own);
}

void int8_ref_rq(const struct qmodel *m, const struct qop *o, struct lmq_rq *rq)
{
	*rq = conv_rq(m, o);
}

void int8_ref_rq3(const struct qmodel *m, const struct qop *o, struct lmq_rq3 *rq)
{
	*rq = conv_rq3(m, o);
}
