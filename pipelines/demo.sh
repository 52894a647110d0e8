#!/bin/sh
# pipelines/demo.sh — the whole mission end to end on the embedded defaults, offline (`make demo`):
#
#   1 search      random strategy, ITER iterations of CANDIDATES designs, mini-training fanned out
#                 by GNU parallel (pipelines/search.sh), ranked on the validation split
#   2 choose      the most accurate design the search evaluated (by its proxy; with RERANK, its
#                 first RERANK trained again on the whole training split and the most accurate
#                 by that); the search only evaluates designs that train MIN_EPOCHS epochs in
#                 TRAIN_MINUTES (estimated)
#   3 full-train  the chosen design (student), on the whole training split, on every thread
#   4 teacher     none by default (TEACHER_WIDTH=0: a teacher trained in the same minutes was
#                 weaker than the student); TEACHER_WIDTH=2: the same design with every block
#                 twice as wide, full-trained side by side with the student (half the threads each)
#   5 kd          with a teacher: the student fine-tuned from its logits (kd --teacher); kept if it
#                 did not lower validation accuracy, else the full-trained student goes forward
#   6 quantize    int8, calibrated on CALIB training images; float and int8 test accuracy
#   7 emit-c      C sources with VECTORS test vectors, built for a Cortex-M7 with SRAM = SRAM_MAX
#   8 m7-test     run in QEMU (mps2-an500), "N/N test vectors match"
#   9 report      RUN/report.md with its pictures (pipelines/report.sh)
#
# Every setting is an environment variable or a NAME=value argument:
#
#   pipelines/demo.sh RUN=runs/demo ITER=3 FULL_EPOCHS=10
#
#   RUN=dir (runs/demo)     ITER=n (2)  CANDIDATES=k (12)  JOBS=n (2)  SEED=n (1)  STRATEGY (random)
#                    random | evolve | llm (gen-arch --strategy). Random by default: the proxy ranks
#                    designs far apart well and near neighbours at chance, so evolution's one-field
#                    mutations of the best spent two of three iterations on noise (SEED 1: 36 random
#                    designs found a 3.0M-MAC design at 92.74 % int8 after 51 epochs, where 12 with
#                    evolve shipped 91.40 %; README: "Does the search's ranking mean anything?").
#                    Two iterations: the search space's wide first blocks (data/search-space.json,
#                    first_block) make designs slower to train, and 24 designs (3 to 3.5 minutes) leave
#                    the half hour room for training and the int8 fine-tune where 36 would not
#   DATASET (fashion-mnist | cifar10 | cifar100 | safetensors | folder | csv) DATA=path
#   TEST_DATA=path (the test split of a safetensors/folder/csv dataset: without it test accuracy
#                    is not measured, and quantize scores the training images)
#                    folder/csv: set RESOLUTION, CLASSES (the sub-folders) and INPUT_CHANNELS
#                    (3 for colour) to the data, e.g. make demo DATASET=folder DATA=photos/train
#                    TEST_DATA=photos/test RESOLUTION=32 CLASSES=5 INPUT_CHANNELS=3
#   RESOLUTION (28)  CLASSES (10)  INPUT_CHANNELS (1)
#   MACS_MAX (30M)  SRAM_MAX (64KiB)  FLASH_MAX (256KiB)            — the budgets
#   LATENCY_MAX ()  MCU_MHZ (216)  the longest predicted inference on the Cortex-M7, in ms
#                    (check-cost --latency-max): passed to the search, rejected like a budget
#   MINI_EPOCHS (1)  MINI_LIMIT (20000)  mini-training per candidate (epochs, training images)
#   RERANK (0: off)  RERANK_EPOCHS (2)  the choice: RERANK > 1 trains the RERANK designs the proxy
#                    ranks first again, RERANK_EPOCHS epochs on the whole training split (MINI_ARGS,
#                    one thread each, JOBS at once: 4 minutes of two cores for 4 at the demo's
#                    budget), and chooses the most accurate by that. The proxy ranks designs far
#                    apart well and near neighbours at chance, and an evolutionary search evaluates
#                    mostly near neighbours (README: "Does the search's ranking mean anything?").
#                    Off by default: on SEED 1 RERANK=4 chose a design 0.7 points more accurate in
#                    float that needs INT8_QAT=1 (below), and in 30 minutes the two together
#                    shipped 91.38 % int8 against the default's 91.40 %
#   TRAIN_MINUTES (25)  the student trains for about this long (beside the teacher, when there is
#                    one, each on half the threads): it gets the epochs its estimated speed
#                    fits (check-cost --train-time: one thread, from the op graph, so the same SEED
#                    gives the same design and epochs however busy the machine is). The
#                    estimate's constants predate the faster swish (nn_act.c), so designs with it
#                    train faster than it says (aec328244de28839: 40 epochs, about 20 minutes)
#   MIN_EPOCHS (35)  the search only generates (check-cost --train-us-max) and only keeps on its
#                    front (pareto --train-minutes) designs whose estimate fits this many epochs
#                    of TRAIN_IMAGES in 90% of the student's minutes (TRAIN_MINUTES, times
#                    THREAD_SPEEDUP when it trains alone), and the most accurate is chosen
#                    (measured on one front: two 2.2M-MAC
#                    designs trained 26-27 epochs reached 91.70 and 91.77% test, a 4.9M-MAC one
#                    trained 17 epochs 90.54%, same minutes). 25 minutes and 35 epochs allow
#                    1,071 us an image, where the previous 18 and 25 allowed 1,080: SEED 1's
#                    search draws the same 24 designs, and its choice trains longer
#   TRAIN_IMAGES     training images per epoch: FULL_LIMIT when set, else 90% of the training
#                    split (54000 for fashion-mnist, 45000 for cifar10/cifar100; give it for
#                    safetensors)
#   FULL_EPOCHS (60) FULL_LIMIT (0: all) full training of the chosen design (epochs at most; a fast
#                    design stops there, before TRAIN_MINUTES)
#   TEACHER_WIDTH (0) TEACHER_EPOCHS (40) TEACHER_LIMIT (0: all)   0: no teacher and no
#                    distillation: the student trains alone on all THREADS, its epochs from the
#                    one-thread estimate times THREAD_SPEEDUP (WEIGHTS=ternary: kd then distils the
#                    student from its full-trained self). W > 0: a teacher W times as wide, epochs
#                    at most, beside the student (it must beat the student, or distillation costs
#                    accuracy: trained in the same minutes, twice as wide was weaker, 90.14 % to
#                    the student's 91.35 %)
#   THREAD_SPEEDUP (1.5)  how much faster one training runs on THREADS threads than on one (for
#                    TEACHER_WIDTH=0; a fixed figure, so the same SEED gives the same epochs:
#                    measured 1.0-1.8x, median 1.55x, on 28 designs at 28x28, batch 128, two
#                    threads with SPIN 10000; 0.7-1.7x, median 1.2x, sleeping at once)
#   SPIN (10000)     GOMP_SPINCOUNT of every stage: idle OpenMP threads spin this many times before
#                    they sleep. No stage runs more threads than THREADS in all, so on a machine the
#                    demo has to itself spinning costs nothing, and it saves a wake-up through the
#                    kernel at each of a step's hundreds of parallel regions (small designs trained
#                    1.3-2.4x faster on two threads). SPIN=0 sleeps at once (OMP_WAIT_POLICY=passive,
#                    the pipelines' default): for a machine shared with other work
#   KD_EPOCHS (2; 1 for INT8_QAT's fine-tune without a teacher)  KD_LIMIT (0: all)  the kd stage:
#                    distillation (the teacher runs on every batch), or the QAT fine-tune
#   TRAIN_ARGS ("--no-autoaugment --crop-pad 2")  options for full-train, teacher and kd: short
#                    runs learn faster without the paper's heavy augmentation (crop + flip stay on)
#   FULL_ARGS ("--mixup 0 --lr 0.2 --warmup-epochs 1")  full-train of the student and the teacher
#   KD_ARGS ("--lr 0.02")  kd (its own recipe otherwise: no warm-up, alpha 0.4 -> 0.8, T = 10;
#                    a two-epoch fine-tune of a converged student wants a gentler lr than 0.05)
#   MINI_ARGS ("--schedule cosine --lr 0.2 --warmup-epochs 0.2 --batch 128 --no-autoaugment
#                    --crop-pad 2 --test-limit 1000")  mini-train: one epoch on 20000 images with
#                    the full training's lr and batch, the lr going to zero by its end (how well it
#                    ranks designs, measured with pipelines/fidelity.sh: README.md, "Does the
#                    search's ranking mean anything?"). The
#                    search ranks on the validation split, so its test accuracy is only a glance
#   CALIB (1000)  VECTORS (20)  NAME (fmnist_net)   quantize / emit-c
#   QUANT_EVAL (0: all)  test images for quantize's float and int8 accuracy
#   QUANT_ARGS ("")  extra quantize options
#   WEIGHTS (int8)   int8, or ternary: kd then trains the student through sparse ternary
#                    weights (kd --qat ternary --sparsity SPARSITY, quantisation-aware; all convs
#                    but the first and the classifier) and always goes forward, and quantize
#                    packs them 1.6 bits a weight
#                    (--weight-format ternary)   SPARSITY (0.5)  fraction of zero ternary weights
#   INT8_QAT (1)     1: with int8 weights, kd fine-tunes the student KD_EPOCHS epochs through its
#                    int8 arithmetic (kd --qat int8; from its full-trained self when there is no
#                    teacher) and that network is quantized, with the activation ranges it trained
#                    with. For networks that lose much to int8 after training (one with leaky ReLU
#                    in its first blocks: 92.06 % float, 85.62 % int8; after 2 epochs of QAT,
#                    4 minutes, 91.74 % int8); on by default since the search space's wide
#                    first blocks (aec328244de28839: 93.11 % float, 92.93 % int8 without it;
#                    one epoch of it from the 28-epoch network, 2 minutes, 92.95 % int8 from
#                    92.88 % float). INT8_QAT=0 ships the full-trained network as it is
#   THREADS (all cores)  QEMU=0 skips the Cortex-M7 run  LLM_URL, LLM_MODEL, GEN_ARGS: see search.sh
#
# Progress: a banner per stage with the elapsed time on stderr. The stages are make rules
# (pipelines/demo.mk, run in RUN with the settings this script writes to RUN/settings.mk; every
# setting is also in RUN/command.txt). Resumable: a stage whose output exists in RUN, newer than
# what it is made from, is skipped (the search itself resumes mid-iteration, and the three
# trainings continue from their last completed epoch with --resume), so the same command after an
# interruption carries on. Ends by printing where the report is.
set -eu

. "$(dirname "$0")/settings.sh"
settings_from_args "$@"

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/bin}
export BIN
die() { echo "demo: error: $*" >&2; exit 2; }

# Images of DATA (folder, csv, safetensors), as a first estimate of its training split.
count_images() {
	case $DATASET in
	folder) find "$DATA" -type f \( -iname '*.png' -o -iname '*.jpg' -o -iname '*.jpeg' \) | grep -c '' ;;
	csv) grep -c ',' "$DATA" ;;
	safetensors) n=$(od -An -tu8 -N8 "$DATA" | tr -d ' ')
		head -c $((8 + n)) "$DATA" | tail -c "$n" | jq '.images.shape[0]' ;;
	esac
}
# TRAIN_IMAGES' default: the training split less the validation 10%, at most FULL_LIMIT (> 0).
train_split_images() {
	case $DATASET in
	fashion-mnist) split=54000 ;;
	cifar10 | cifar100) split=45000 ;;
	*) split=$(count_images 2>/dev/null | awk '$1 > 0 { printf "%d", $1 * 0.9 }') ;;
	esac
	[ "$FULL_LIMIT" -gt 0 ] 2>/dev/null && { [ -z "$split" ] || [ "$FULL_LIMIT" -lt "$split" ]; } && split=$FULL_LIMIT
	echo "$split"
}

# ---- The settings, every one here: the value given (environment or NAME=value), else the default.
#      Each is listed in RUN/command.txt and handed to the stages (RUN/settings.mk, read by
#      demo.mk): a new setting is one line here, its use in demo.mk and its line in the header.
SETTINGS=
setting() { # NAME DEFAULT: NAME keeps a non-empty value, else takes DEFAULT
	eval "[ -n \"\${$1:-}\" ] || $1=\$2"
	SETTINGS="$SETTINGS $1"
}
options_setting() { # NAME DEFAULT: the same, but an empty value given stays empty (option lists)
	eval "[ -n \"\${$1+set}\" ] || $1=\$2"
	SETTINGS="$SETTINGS $1"
}
setting RUN runs/demo
setting ITER 2
setting CANDIDATES 12
setting JOBS 2
setting SEED 1
setting STRATEGY random
default_target # DATASET DATA RESOLUTION CLASSES INPUT_CHANNELS MACS_MAX SRAM_MAX FLASH_MAX (settings.sh)
for name in DATASET DATA RESOLUTION CLASSES INPUT_CHANNELS MACS_MAX SRAM_MAX FLASH_MAX; do
	setting "$name" ""
done
setting TEST_DATA ""
setting LATENCY_MAX ""
setting MCU_MHZ 216
setting MINI_EPOCHS 1
setting MINI_LIMIT 20000
setting RERANK 0
setting RERANK_EPOCHS 2
options_setting MINI_ARGS "--schedule cosine --lr 0.2 --warmup-epochs 0.2 --batch 128 --no-autoaugment --crop-pad 2 --test-limit 1000"
setting FULL_EPOCHS 60
setting TRAIN_MINUTES 25
setting MIN_EPOCHS 35
setting FULL_LIMIT 0
setting TRAIN_IMAGES "$(train_split_images)"
setting TEACHER_WIDTH 0
setting TEACHER_EPOCHS 40
setting THREAD_SPEEDUP 1.5
setting SPIN 10000
setting TEACHER_LIMIT 0
setting KD_LIMIT 0
options_setting TRAIN_ARGS "--no-autoaugment --crop-pad 2"
options_setting FULL_ARGS "--mixup 0 --lr 0.2 --warmup-epochs 1"
options_setting KD_ARGS "--lr 0.02"
setting CALIB 1000
setting QUANT_EVAL 0
options_setting QUANT_ARGS ""
setting VECTORS 20
setting NAME fmnist_net
setting THREADS "$(nproc 2>/dev/null || echo 2)"
setting QEMU 1
setting WEIGHTS int8
setting SPARSITY 0.5
setting INT8_QAT 1
case $INT8_QAT in 0 | 1) ;; *) die "INT8_QAT=$INT8_QAT: 0 or 1" ;; esac
case $WEIGHTS in
int8) QAT_ARGS=
	[ "$INT8_QAT" = 0 ] || QAT_ARGS="--qat int8" ;;
ternary) QAT_ARGS="--qat ternary --sparsity $SPARSITY" ;;
*) die "WEIGHTS=$WEIGHTS: int8 or ternary" ;;
esac
# The int8 fine-tune of the student from itself gets one epoch (2 minutes at the demo's budget);
# distillation from a teacher and the ternary fine-tune, two.
setting KD_EPOCHS "$([ "$TEACHER_WIDTH" = 0 ] && [ "$WEIGHTS" = int8 ] && echo 1 || echo 2)"

[ -n "$TRAIN_IMAGES" ] || die "TRAIN_IMAGES: give the training images per epoch for DATASET=$DATASET"
whole_numbers ITER CANDIDATES JOBS SEED MINI_EPOCHS MINI_LIMIT RERANK RERANK_EPOCHS FULL_EPOCHS TRAIN_MINUTES MIN_EPOCHS \
	TRAIN_IMAGES FULL_LIMIT TEACHER_WIDTH TEACHER_EPOCHS TEACHER_LIMIT KD_EPOCHS KD_LIMIT CALIB QUANT_EVAL VECTORS THREADS \
	SPIN
[ "$RERANK" -le 1 ] || [ "$RERANK_EPOCHS" -ge 1 ] || die "RERANK_EPOCHS=0: re-ranking needs at least one epoch (RERANK=0 turns it off)"
omp_waits "$SPIN" # every stage, the search's scripts too (settings.sh leaves it so)
for p in gen-arch check-cost mini-train pareto feedback full-train kd quantize emit-c bytes; do
	[ -x "$BIN/$p" ] || die "$BIN/$p is missing: run make (make demo builds first)"
done
command -v jq >/dev/null || die "jq is missing (make deps)"
SRAM_MAX_BYTES=$("$BIN/bytes" "$SRAM_MAX") || die "SRAM_MAX: '$SRAM_MAX' is not a size (e.g. 64KiB)"
"$BIN/bytes" "$FLASH_MAX" >/dev/null || die "FLASH_MAX: '$FLASH_MAX' is not a size (e.g. 256KiB)"

# ---- Derived from the settings (handed to the stages with them).
# STUDENT_MINUTES: one-thread minutes of the student's training, which the estimates fill: beside
# the teacher it has half the threads for TRAIN_MINUTES; alone (TEACHER_WIDTH=0) all of them.
awk -v s="$THREAD_SPEEDUP" 'BEGIN { exit !(s >= 1 && s <= 64) }' ||
	die "THREAD_SPEEDUP=$THREAD_SPEEDUP: a number from 1 to 64"
if [ "$TEACHER_WIDTH" = 0 ]; then
	STUDENT_MINUTES=$(awk -v m="$TRAIN_MINUTES" -v s="$THREAD_SPEEDUP" -v t="$THREADS" \
		'BEGIN { print (t > 1 ? m * s : m) }')
	TRAIN_THREADS=$THREADS
else
	STUDENT_MINUTES=$TRAIN_MINUTES
	TRAIN_THREADS=$((THREADS / 2 > 0 ? THREADS / 2 : 1)) # the student and the teacher side by side
fi
# The time the search may spend per training image, one thread: MIN_EPOCHS_FIT epochs of
# TRAIN_IMAGES in 90% of TRAIN_MINUTES. gen-arch rejects slower designs as it rejects a budget
# (check-cost --train-us-max, from the deterministic estimate), so every design the search
# evaluates can be chosen, and pareto keeps the same limit on the front (PARETO_MINUTES).
MIN_EPOCHS_FIT=$((MIN_EPOCHS < FULL_EPOCHS ? MIN_EPOCHS : FULL_EPOCHS))
TRAIN_US_MAX=$(awk -v m="$STUDENT_MINUTES" -v e="$MIN_EPOCHS_FIT" -v n="$TRAIN_IMAGES" \
	'BEGIN { printf "%.0f", m * 0.9 * 60e6 / (e * n) }')
PARETO_MINUTES=$(awk -v m="$STUDENT_MINUTES" 'BEGIN { print m * 0.9 }')
DERIVED="ROOT BIN MIN_EPOCHS_FIT TRAIN_US_MAX PARETO_MINUTES TRAIN_THREADS STUDENT_MINUTES QAT_ARGS"

mkdir -p "$RUN"
RUN=$(cd "$RUN" && pwd)
# One demo per run directory; the lock (fd 8) is inherited by the trainings (settings.sh lock_run).
exec 8>>"$RUN/.lock"
lock_run 8 "$RUN/.lock" demo
T0=$(date +%s)
STAGES=9
elapsed() { s=$(($(date +%s) - T0)); printf '%dm%02ds' $((s / 60)) $((s % 60)); }
banner() { # n title
	printf '\n==== demo [%s/%s] %s   (elapsed %s)\n' "$1" "$STAGES" "$2" "$(elapsed)" >&2
}

# RUN/command.txt: the command that reproduces the run, every setting (report.sh prints it).
quoted() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
{
	echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) in $ROOT"
	printf 'pipelines/demo.sh'
	sep=' '
	for name in $SETTINGS; do
		eval "value=\$$name"
		printf '%s%s=%s' "$sep" "$name" "$(quoted "$value")"
		sep=' \
  ' # a backslash, a new line, two spaces
	done
	echo
} >"$RUN/command.txt"
# RUN/settings.mk: the same settings and the derived values, for demo.mk ($ and # escaped).
for name in $SETTINGS $DERIVED; do
	eval "value=\$$name"
	printf '%s := %s\n' "$name" "$(printf '%s' "$value" | sed 's/\$/$$/g; s/#/\\#/g')"
done >"$RUN/settings.mk.tmp"
mv "$RUN/settings.mk.tmp" "$RUN/settings.mk"
jq -n --arg macs "$MACS_MAX" --arg sram "$SRAM_MAX" --arg flash "$FLASH_MAX" \
	--argjson sb "$SRAM_MAX_BYTES" --arg ds "$DATASET" --argjson res "$RESOLUTION" \
	--argjson classes "$CLASSES" --argjson tw "$TEACHER_WIDTH" \
	'{macs_max: $macs, sram_max: $sram, flash_max: $flash, sram_max_bytes: $sb, dataset: $ds,
	  resolution: $res, classes: $classes, teacher_width: $tw}' >"$RUN/budget.json"

# make_stage TARGET...: makes the targets in RUN (pipelines/demo.mk; two at a time, so the student
# and the teacher train side by side); says which were already made. Dies when one fails.
make_stage() {
	for t in "$@"; do
		demo_make -q "$t" 2>/dev/null && echo "demo: $t is made: stage skipped (delete it to redo)" >&2
	done
	demo_make -j2 -k "$@" || die "making $* failed (see above); run the demo again to resume"
}
demo_make() { MAKEFLAGS= make --no-print-directory -s -f "$ROOT/pipelines/demo.mk" -C "$RUN" "$@"; }

echo "demo: run directory $RUN; budgets MACs <= $MACS_MAX, SRAM <= $SRAM_MAX, flash <= $FLASH_MAX" >&2
echo "demo: $DATASET at ${RESOLUTION}x$RESOLUTION, $CLASSES classes, $THREADS threads" >&2

banner 1 "search: $STRATEGY, $ITER iterations x $CANDIDATES candidates, mini-train $(epochs "$MINI_EPOCHS") on $MINI_LIMIT images, $JOBS jobs"
make_stage "search/front-$(printf %03d "$ITER").jsonl"

if [ "$RERANK" -gt 1 ]; then
	banner 2 "choose: the proxy's $RERANK most accurate designs trained again, $(epochs "$RERANK_EPOCHS") on all $TRAIN_IMAGES training images, $JOBS jobs; the most accurate by that (each trains at least $MIN_EPOCHS epochs in $TRAIN_MINUTES minutes)"
else
	banner 2 "choose: the most accurate design by the proxy (each trains at least $MIN_EPOCHS epochs in $TRAIN_MINUTES minutes)"
fi
if [ "$TEACHER_WIDTH" = 0 ]; then make_stage chosen.jsonl plan.txt; else make_stage chosen.jsonl plan.txt teacher-arch.jsonl; fi
jq -r '"demo: chose \(.id): val_acc \(.mini.val_acc * 10000 | round / 100)%\(if .rerank.val_acc then " (re-ranked: \(.rerank.val_acc * 10000 | round / 100)% after \(.rerank.epochs) epochs)" else "" end), \(.demo.full_epochs) epochs, \(.cost.macs) MACs, \(.cost.params) params, arena \(.cost.arena_bytes) B, flash \(.cost.flash_bytes) B"' \
	"$RUN/chosen.jsonl" >&2

# A percentage, or "n/a" when not measured (no test split: safetensors/folder/csv without TEST_DATA).
PCT='def pct: if . == null then "n/a" else "\(. * 10000 | round / 100)%" end;'
if [ "$TEACHER_WIDTH" = 0 ]; then
	banner 3 "full-train the chosen design: $(jq -r .demo.full_epochs "$RUN/chosen.jsonl") epochs on $THREADS threads (no teacher: TEACHER_WIDTH=0)"
	make_stage full.jsonl
	jq -r "$PCT"'"demo: full-train: test_acc \(.full.test_acc | pct)"' "$RUN/full.jsonl" >&2
	banner 4 "teacher: none (TEACHER_WIDTH=0)"
else
	# Their per-epoch lines are prefixed with "student |" and "teacher |".
	banner 3 "full-train the chosen design: $(jq -r .demo.full_epochs "$RUN/chosen.jsonl") epochs (side by side with the teacher)"
	banner 4 "teacher: the chosen design x$TEACHER_WIDTH channels, $(jq -r .demo.teacher_epochs "$RUN/teacher-arch.jsonl") epochs (side by side with the student)"
	make_stage full.jsonl teacher.jsonl
	jq -r "$PCT"'"demo: full-train: test_acc \(.full.test_acc | pct)"' "$RUN/full.jsonl" >&2
	jq -r "$PCT"'"demo: teacher: \(.cost.macs) MACs, \(.cost.params) params, test_acc \(.full.test_acc | pct)"' \
		"$RUN/teacher.jsonl" >&2
fi

if [ "$TEACHER_WIDTH" = 0 ] && [ -z "$QAT_ARGS" ]; then
	banner 5 "kd: none (no teacher)"
	make_stage deploy.jsonl
	echo "demo: deployed: the student as full-trained (no teacher)" >&2
else
	banner 5 "kd: the student from $([ "$TEACHER_WIDTH" = 0 ] && echo "its full-trained self" || echo "the teacher"), $(epochs "$KD_EPOCHS")${QAT_ARGS:+, through its quantised weights ($QAT_ARGS)}"
	make_stage kd.jsonl deploy.jsonl
	jq -r "$PCT"'"demo: kd: test_acc \(.kd.test_acc_before | pct) -> \(.kd.test_acc | pct)"' \
		"$RUN/kd.jsonl" >&2
	jq -r 'def p: (. * 10000 | round) as $x | "\($x / 100 | floor).\($x % 100 | tostring | if length < 2 then "0" + . else . end)";
		if .demo.deployed == "kd"
		then "demo: deployed: the distilled student (val_acc \(.kd.val_acc_before | p)% -> \(.kd.val_acc | p)%)"
		else "demo: deployed: the student as full-trained: distillation lowered val_acc \(.kd.val_acc_before | p)% -> \(.kd.val_acc | p)%" end' \
		"$RUN/deploy.jsonl" >&2
fi

banner 6 "quantize: int8, calibrated on $CALIB training images"
make_stage quant.jsonl
jq -r "$PCT"'"demo: quantize: on \(.quant.eval_images) \(.quant.eval_split // "test") images, float \(.quant.float_acc | pct)\(if .kd.qat == "int8" then " (the QAT network without its activation rounding)" else "" end), int8 \(.quant.int8_acc | pct)"' \
	"$RUN/quant.jsonl" >&2
# A network can lose much more to int8 than another of the same search (one with leaky ReLU in
# its first blocks lost 6.4 points where its relu6 neighbour lost none): say what recovers it.
[ -n "$QAT_ARGS" ] || jq -r "$PCT"'select(.quant.float_acc - .quant.int8_acc > 0.01) |
	"demo: int8 lost more than a point to float (\(.quant.float_acc | pct) -> \(.quant.int8_acc | pct)): INT8_QAT=1 fine-tunes the network through its int8 arithmetic before quantizing (make demo INT8_QAT=1; the stages from kd on are redone)"' \
	"$RUN/quant.jsonl" >&2

banner 7 "emit-c: $NAME.c with $VECTORS test vectors, SRAM limit $SRAM_MAX"
make_stage emit.jsonl
jq -r '"demo: emit-c: arena \(.emit.arena_bytes) B, flash \(.emit.flash_bytes // .emit.flash_formula_bytes) B, in \(.emit.dir)"' \
	"$RUN/emit.jsonl" >&2

banner 8 "m7-test: the emitted model on a Cortex-M7 (QEMU mps2-an500)"
if [ "$QEMU" != 1 ]; then
	echo "demo: QEMU=0: skipped" >&2
else
	make_stage m7-test.txt
	echo "demo: Cortex-M7: $(cat "$RUN/m7-test.txt")" >&2
fi

banner 9 "report"
echo "$(($(date +%s) - T0))" >"$RUN/wall.txt"
"$ROOT/pipelines/report.sh" "$RUN"
printf '\ndemo: done in %s. The report: %s/report.md\n' "$(elapsed)" "$RUN" >&2
echo "$RUN/report.md"
