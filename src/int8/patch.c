/* patch.c — the host reference of row-streamed execution (cost/stream.h): the steps of a stream,
 * one output row of one op each, with the row kernels of int8_ref.h, on the arena the plan laid
 * out. emit.c writes the same steps as C. */
#include <stdlib.h>
#include "int8/int8_ref.h"
#include "int8/quant.h"
#include "core/util.h"

/* Row r of tensor t in the arena: its ring slot. */
static int8_t *row_of(const struct qmodel *m, int t, int r, int8_t *arena)
{
	const struct qtensor *x = &m->t[t];
	return lmq_row(arena + x->offset, r, x->ring, (int32_t)(x->size / x->rows));
}

/* Output row r of op i. */
static void step(const struct qmodel *m, int i, int r, int8_t *arena)
{
	const struct qop *o = &m->ops[i];
	const struct qtensor *ti = &m->t[o->in], *to = &m->t[o->out];
	int8_t *y = row_of(m, o->out, r, arena);
	int32_t np = (int32_t)(o->np / to->rows); /* positions (pw) or elements (add) in a row */
	struct lmq_rq rq;
	struct lmq_rq3 rq3;
	switch (o->kind) {
	case QOP_PW:
		int8_ref_rq(m, o, &rq);
		int8_ref_rq3(m, o, &rq3);
		if (o->w3)
			lmq_pw_t3(row_of(m, o->in, r, arena), np, o->cin, ti->zp, o->w3, o->cout,
				  &rq3, y);
		else
			lmq_pw(row_of(m, o->in, r, arena), np, o->cin, ti->zp, o->w, o->cout, &rq, y);
		break;
	case QOP_DW:
		int8_ref_rq(m, o, &rq);
		int8_ref_rq3(m, o, &rq3);
		if (o->w3)
			lmq_dw_row_t3(arena + ti->offset, o->h, ti->ring, o->wd, o->cout, ti->zp,
				      o->w3, o->k, o->stride, o->pad, r, o->ow, &rq3, y);
		else
			lmq_dw_row(arena + ti->offset, o->h, ti->ring, o->wd, o->cout, ti->zp, o->w,
				   o->k, o->stride, o->pad, r, o->ow, &rq, y);
		break;
	case QOP_ADD:
		lmq_add(row_of(m, o->in, r, arena), ti->zp, row_of(m, o->in2, r, arena),
			m->t[o->in2].zp, np, o->emult, o->eshift, to->zp, y);
		break;
	default:
		die("patch: %s cannot be row-streamed", o->name);
	}
}

int int8_stream_op(const struct qmodel *m, int i, int8_t *arena)
{
	const struct streams *s = &m->st;
	int sid = s->stream_of ? s->stream_of[i] : -1;
	if (sid < 0)
		return 0;
	if (i != s->first[sid])
		return 1; /* ran with the stream */
	int first = s->first[sid];
	int *row = xcalloc(s->last[sid] - first + 1, sizeof *row);
	for (int k = s->step_begin[sid]; k < s->step_begin[sid + 1]; k++) {
		int op = s->steps[k];
		step(m, op, row[op - first]++, arena);
	}
	free(row);
	return 1;
}
