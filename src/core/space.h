/* space.h — the search space (data/search-space.json, the paper's Table I): load it, and check an
 * arch against it. gen-arch draws from the same struct. */
#ifndef LMNAS_SPACE_H
#define LMNAS_SPACE_H
#include <stdbool.h>
#include <stddef.h>

#include "core/arch.h"

#define SPACE_MAX_VALUES 16

/* The values the fields of one block may take. */
struct block_space {
	int n_out_ch, out_ch[SPACE_MAX_VALUES];
	int n_kernel, kernel[SPACE_MAX_VALUES];
	int n_stride, stride[SPACE_MAX_VALUES];
	int n_expansion, expansion[SPACE_MAX_VALUES]; /* checked for mbconv blocks only */
	int n_layers, layers[SPACE_MAX_VALUES];
	int n_se_ratio;
	double se_ratio[SPACE_MAX_VALUES];   /* checked only when use_se */
	bool se_allowed[2];                  /* [false], [true] */
	bool conv_allowed[2];                /* by enum conv_type */
	bool skip_allowed[2];                /* by enum skip_op */
	bool act_allowed[3];                 /* by enum act */
};

struct space {
	int stages;                          /* number of blocks an arch must have */
	struct block_space block;            /* every block, but see first */
	/* The file's optional "first_block": with first_channels > 0, the first block of an arch
	 * whose input has first_channels channels takes its values from first (block_fields with
	 * the ones first_block gives replaced). */
	int first_channels;
	struct block_space first;
};

/* The values block i of an arch with input_channels input channels may take. */
const struct block_space *space_block(const struct space *s, int input_channels, int i);

/* Loads a search-space file. Returns 0, or -1 with a reason in err. */
int space_load(const char *path, struct space *s, char *err, size_t errlen);
/* The same from a parsed JSON object. */
int space_from_json(const void *cjson_obj, struct space *s, char *err, size_t errlen);

/* One value outside the space. */
struct space_violation {
	char field[48];     /* "blocks[2].kernel_size" or "blocks" */
	char value[48];     /* the value as JSON text: 4, "gelu", 6 */
	char allowed[160];  /* the allowed set as JSON text: [3,5,7] */
	char message[320];  /* one sentence for the LLM */
};

/* Checks a parsed arch. Writes up to max violations; returns how many were found (may exceed
 * max: the rest are counted, not written). */
int space_check(const struct space *sp, const struct arch *a, struct space_violation *v, int max);
#endif
