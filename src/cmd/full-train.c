/* full-train — the paper's full recipe on each record with an arch; --out writes the checkpoint.
 * See man/man1/full-train.1. */
#include "engine/blas_core.h"
#include "engine/net.h"
#include "core/record.h"
#include "engine/train.h"
#include "engine/train_main.h"
#include "core/util.h"

#include <stdio.h>

static const char about[] =
	"usage: full-train --out CKPT [options] < records > records\n"
	"\n"
	"Trains each record's arch with the paper's full recipe (120 epochs, batch 128, SGD\n"
	"Nesterov 0.9, warm-up 20 epochs from 0 to lr 0.5 then cosine to 0, weight decay 1e-4,\n"
	"crop + flip + AutoAugment, MixUp 0.2), writes the checkpoint after every epoch and adds\n"
	"\"full\": test_acc, val_acc, checkpoint, seconds, ... Records without an arch pass.\n"
	"\n";

static int select_arch(const cJSON *rec, void *ctx)
{
	(void)ctx;
	return record_get(rec, "arch") != NULL;
}

int main(int argc, char **argv)
{
	util_init(argv[0]);
	blas_core_ensure(argv); /* first: it may start the program again */
	struct train_opts o;
	train_defaults(&o, RECIPE_FULL);
	train_parse_args(&o, argc, argv, about, NULL, NULL);
	if (!o.out)
		log_info("no --out: the trained network is not saved");
	return train_main_loop(&o, select_arch, NULL);
}
