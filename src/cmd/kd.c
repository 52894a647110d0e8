/* kd — fine-tunes a student checkpoint from a teacher's logits (knowledge distillation).
 * See man/man1/kd.1. */
#include "engine/blas_core.h"
#include "engine/net.h"
#include "core/record.h"
#include "engine/train.h"
#include "engine/train_main.h"
#include "core/util.h"

#include <stdio.h>

static const char about[] =
	"usage: kd (--teacher CKPT | --teacher-logits F) [--student CKPT] [--out CKPT]\n"
	"          [options] < records > records\n"
	"\n"
	"Fine-tunes the student (--student, else the record's full.checkpoint) for 50 epochs\n"
	"with L = a*CE + (1-a)*T^2*KL(p_teacher || p_student), T = 10, a updated after each\n"
	"epoch e as a += (a_final - a)*e/epochs from 0.4 towards 0.8; no MixUp, no AutoAugment.\n"
	"Adds \"kd\": val_acc_before, test_acc_before, val_acc, test_acc, checkpoint, ...\n"
	"\n"
	"distillation:\n";

static int select_student(const cJSON *rec, void *ctx)
{
	const struct train_opts *o = ctx;
	return o->student || record_string(rec, "full.checkpoint") != NULL;
}

int main(int argc, char **argv)
{
	util_init(argv[0]);
	blas_core_ensure(argv); /* first: it may start the program again */
	struct train_opts o;
	train_defaults(&o, RECIPE_KD);
	train_parse_args(&o, argc, argv, about, NULL, NULL);
	if (!o.nteachers && !o.teacher_logits)
		die("give --teacher CKPT or --teacher-logits F (see --help)");
	if (o.nteachers && o.teacher_logits)
		die("give either --teacher or --teacher-logits, not both");
	return train_main_loop(&o, select_student, &o);
}
