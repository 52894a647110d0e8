#!/bin/sh
# pipelines/demo.sh — the whole mission end to end on the embedded defaults, offline (`make demo`):
#
#   1 search      evolve strategy, ITER iterations of CANDIDATES designs, mini-training fanned out
#                 by GNU parallel (pipelines/search.sh), ranked on the validation split
#   2 choose      the most accurate design on the last validation front; the search's front
#                 holds only designs that train MIN_EPOCHS epochs in TRAIN_MINUTES (estimated)
#   3 full-train  the chosen design (student), on the whole training split
#   4 teacher     the same design with every block TEACHER_WIDTH times as wide, full-trained
#                 side by side with the student (half the threads each)
#   5 kd          the student fine-tuned from the teacher's logits (kd --teacher); kept if it did
#                 not lower validation accuracy, else the full-trained student goes forward
#   6 quantize    int8, calibrated on CALIB training images; float and int8 test accuracy
#   7 emit-c      C sources with VECTORS test vectors, built for a Cortex-M7 with SRAM = SRAM_MAX
#   8 m7-test     run in QEMU (mps2-an500), "N/N test vectors match"
#   9 report      RUN/report.md with its pictures (pipelines/report.sh)
#
# Every setting is an environment variable or a NAME=value argument:
#
#   pipelines/demo.sh RUN=runs/demo ITER=3 FULL_EPOCHS=10
#
#   RUN=dir (runs/demo)     ITER=n (3)  CANDIDATES=k (4)  JOBS=n (2)  SEED=n (1)  STRATEGY (evolve)
#   DATASET (fashion-mnist | cifar10 | cifar100 | safetensors | folder | csv) DATA=path
#   TEST_DATA=path (the test split of a safetensors/folder/csv dataset: without it test accuracy
#                    is not measured, and quantize scores the training images)
#                    folder/csv: set RESOLUTION, CLASSES (the sub-folders) and INPUT_CHANNELS
#                    (3 for colour) to the data, e.g. make demo DATASET=folder DATA=photos/train
#                    TEST_DATA=photos/test RESOLUTION=32 CLASSES=5 INPUT_CHANNELS=3
#   RESOLUTION (28)  CLASSES (10)  INPUT_CHANNELS (1)
#   MACS_MAX (30M)  SRAM_MAX (64KiB)  FLASH_MAX (256KiB)            — the budgets
#   MINI_EPOCHS (1)  MINI_LIMIT (20000)  mini-training per candidate (epochs, training images)
#   TRAIN_MINUTES (16)  the student and the teacher train side by side for about this long: each
#                    gets the epochs its estimated speed fits (check-cost --train-time: one
#                    thread, from the op graph, so the same SEED gives the same design and epochs
#                    however busy the machine is)
#   MIN_EPOCHS (20)  the search only generates (check-cost --train-us-max) and only keeps on its
#                    front (pareto --train-minutes) designs whose estimate fits this many epochs
#                    of TRAIN_IMAGES in 90% of TRAIN_MINUTES, and the most accurate is chosen (measured on one front: two 2.2M-MAC
#                    designs trained 26-27 epochs reached 91.70 and 91.77% test, a 4.9M-MAC one
#                    trained 17 epochs 90.54%, same minutes)
#   TRAIN_IMAGES     training images per epoch: FULL_LIMIT when set, else 90% of the training
#                    split (54000 for fashion-mnist, 45000 for cifar10/cifar100; give it for
#                    safetensors)
#   FULL_EPOCHS (40) FULL_LIMIT (0: all) full training of the chosen design (epochs at most)
#   TEACHER_WIDTH (2) TEACHER_EPOCHS (40) TEACHER_LIMIT (0: all)   the wider teacher, epochs at
#                    most (it must beat the student, or distillation costs accuracy)
#   KD_EPOCHS (2)    KD_LIMIT (0: all)      distillation (the teacher runs on every batch)
#   TRAIN_ARGS ("--no-autoaugment --crop-pad 2")  options for full-train, teacher and kd: short
#                    runs learn faster without the paper's heavy augmentation (crop + flip stay on)
#   FULL_ARGS ("--mixup 0 --lr 0.2 --warmup-epochs 1")  full-train of the student and the teacher
#   KD_ARGS ("--lr 0.02")  kd (its own recipe otherwise: no warm-up, alpha 0.4 -> 0.8, T = 10;
#                    a two-epoch fine-tune of a converged student wants a gentler lr than 0.05)
#   MINI_ARGS ("--schedule cosine --lr 0.2 --warmup-epochs 0.2 --batch 128 --no-autoaugment
#                    --crop-pad 2 --test-limit 1000")  mini-train: one epoch on 20000 images with
#                    the full training's lr and batch, the lr going to zero by its end. Measured
#                    with pipelines/fidelity.sh on 16 random designs (5M MACs at most), Kendall tau
#                    against one epoch on the whole split 0.58, against two epochs 0.34 (the old
#                    proxy, two epochs on 5000 images at a constant lr 0.1 and batch 64: 0.27 and
#                    0.19), for 1.96x its CPU time: better, still far from a reliable ranking. The
#                    search ranks on the validation split, so its test accuracy is only a glance
#   CALIB (1000)  VECTORS (20)  NAME (fmnist_net)   quantize / emit-c
#   QUANT_EVAL (0: all)  test images for quantize's float and int8 accuracy
#   QUANT_ARGS ("")  extra quantize options
#   WEIGHTS (int8)   int8, or ternary: kd then trains the student through sparse ternary
#                    pointwise weights (kd --qat ternary --sparsity SPARSITY, quantisation-aware)
#                    and always goes forward, and quantize packs them 2 bits a weight
#                    (--weights ternary)   SPARSITY (0.5)  fraction of zero ternary weights
#   THREADS (all cores)  QEMU=0 skips the Cortex-M7 run  LLM_URL, LLM_MODEL, GEN_ARGS: see search.sh
#
# Progress: a banner per stage with the elapsed time on stderr. Resumable: a stage whose output
# exists in RUN is skipped (the search itself resumes mid-iteration, and the three trainings
# continue from their last completed epoch with --resume), so the same command after an
# interruption carries on. Ends by printing where the report is.
set -eu

. "$(dirname "$0")/settings.sh"
settings_from_args "$@"

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/bin}
export BIN
RUN=${RUN:-runs/demo}
ITER=${ITER:-3}
CANDIDATES=${CANDIDATES:-4}
JOBS=${JOBS:-2}
SEED=${SEED:-1}
STRATEGY=${STRATEGY:-evolve}
default_target # DATASET DATA RESOLUTION CLASSES INPUT_CHANNELS MACS_MAX SRAM_MAX FLASH_MAX (settings.sh)
TEST_DATA=${TEST_DATA:-}
MINI_EPOCHS=${MINI_EPOCHS:-1}
MINI_LIMIT=${MINI_LIMIT:-20000}
MINI_ARGS=${MINI_ARGS---schedule cosine --lr 0.2 --warmup-epochs 0.2 --batch 128 --no-autoaugment --crop-pad 2 --test-limit 1000}
FULL_EPOCHS=${FULL_EPOCHS:-40}
TRAIN_MINUTES=${TRAIN_MINUTES:-16}
MIN_EPOCHS=${MIN_EPOCHS:-20}
FULL_LIMIT=${FULL_LIMIT:-0}
# images of DATA (folder, csv, safetensors), as a first estimate of its training split
count_images() {
	case $DATASET in
	folder) find "$DATA" -type f \( -iname '*.png' -o -iname '*.jpg' -o -iname '*.jpeg' \) | grep -c '' ;;
	csv) grep -c ',' "$DATA" ;;
	safetensors) n=$(od -An -tu8 -N8 "$DATA" | tr -d ' ')
		head -c $((8 + n)) "$DATA" | tail -c "$n" | jq '.images.shape[0]' ;;
	esac
}
case $DATASET in
fashion-mnist) split=54000 ;;
cifar10 | cifar100) split=45000 ;;
*) split=$(count_images 2>/dev/null | awk '$1 > 0 { printf "%d", $1 * 0.9 }') ;; # less the validation 10%
esac
[ "$FULL_LIMIT" -gt 0 ] 2>/dev/null && { [ -z "$split" ] || [ "$FULL_LIMIT" -lt "$split" ]; } && split=$FULL_LIMIT
TRAIN_IMAGES=${TRAIN_IMAGES:-$split}
TEACHER_WIDTH=${TEACHER_WIDTH:-2}
TEACHER_EPOCHS=${TEACHER_EPOCHS:-40}
TEACHER_LIMIT=${TEACHER_LIMIT:-0}
KD_EPOCHS=${KD_EPOCHS:-2}
KD_LIMIT=${KD_LIMIT:-0}
TRAIN_ARGS=${TRAIN_ARGS---no-autoaugment --crop-pad 2}
FULL_ARGS=${FULL_ARGS---mixup 0 --lr 0.2 --warmup-epochs 1}
KD_ARGS=${KD_ARGS---lr 0.02}
CALIB=${CALIB:-1000}
QUANT_EVAL=${QUANT_EVAL:-0}
QUANT_ARGS=${QUANT_ARGS:-}
WEIGHTS=${WEIGHTS:-int8}
SPARSITY=${SPARSITY:-0.5}
case $WEIGHTS in
int8) QAT_ARGS='' ;;
ternary) QAT_ARGS="--qat ternary --sparsity $SPARSITY" ;;
*) echo "demo: error: WEIGHTS=$WEIGHTS: int8 or ternary" >&2; exit 2 ;;
esac
VECTORS=${VECTORS:-20}
NAME=${NAME:-fmnist_net}
THREADS=${THREADS:-$(nproc 2>/dev/null || echo 2)}
QEMU=${QEMU:-1}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

die() { echo "demo: error: $*" >&2; exit 2; }
[ -n "$TRAIN_IMAGES" ] || die "TRAIN_IMAGES: give the training images per epoch for DATASET=$DATASET"
whole_numbers ITER CANDIDATES JOBS SEED MINI_EPOCHS MINI_LIMIT FULL_EPOCHS TRAIN_MINUTES MIN_EPOCHS \
	TRAIN_IMAGES FULL_LIMIT TEACHER_WIDTH TEACHER_EPOCHS TEACHER_LIMIT KD_EPOCHS KD_LIMIT CALIB QUANT_EVAL VECTORS THREADS
for p in gen-arch check-cost mini-train pareto feedback full-train kd quantize emit-c; do
	[ -x "$BIN/$p" ] || die "$BIN/$p is missing: run make (make demo builds first)"
done
command -v jq >/dev/null || die "jq is missing (make deps)"

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
skip() { echo "demo: $1 exists: stage skipped (delete it to redo)" >&2; }
# Stage timings, appended: stage seconds (report.sh reads it).
timed() { # stage command...
	st=$1
	shift
	s0=$(date +%s)
	"$@"
	echo "$st $(($(date +%s) - s0))" >>"$RUN/times.txt"
}
# The commands that reproduce the run (report.sh prints them).
{
	echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) in $ROOT"
	printf 'pipelines/demo.sh RUN=%s ITER=%s CANDIDATES=%s JOBS=%s SEED=%s STRATEGY=%s \\\n' \
		"$RUN" "$ITER" "$CANDIDATES" "$JOBS" "$SEED" "$STRATEGY"
	printf '  DATASET=%s DATA=%s TEST_DATA=%s \\\n' "$DATASET" "'$DATA'" "'$TEST_DATA'"
	printf '  RESOLUTION=%s CLASSES=%s MACS_MAX=%s SRAM_MAX=%s FLASH_MAX=%s \\\n' \
		"$RESOLUTION" "$CLASSES" "$MACS_MAX" "$SRAM_MAX" "$FLASH_MAX"
	printf '  MINI_EPOCHS=%s MINI_LIMIT=%s FULL_EPOCHS=%s FULL_LIMIT=%s TEACHER_WIDTH=%s TEACHER_EPOCHS=%s \\\n' \
		"$MINI_EPOCHS" "$MINI_LIMIT" "$FULL_EPOCHS" "$FULL_LIMIT" "$TEACHER_WIDTH" "$TEACHER_EPOCHS"
	printf '  TRAIN_MINUTES=%s MIN_EPOCHS=%s \\\n' "$TRAIN_MINUTES" "$MIN_EPOCHS"
	printf '  TEACHER_LIMIT=%s KD_EPOCHS=%s KD_LIMIT=%s CALIB=%s QUANT_EVAL=%s VECTORS=%s \\\n' \
		"$TEACHER_LIMIT" "$KD_EPOCHS" "$KD_LIMIT" "$CALIB" "$QUANT_EVAL" "$VECTORS"
	printf '  TRAIN_ARGS=%s FULL_ARGS=%s KD_ARGS=%s \\\n' "'$TRAIN_ARGS'" "'$FULL_ARGS'" "'$KD_ARGS'"
	printf "  MINI_ARGS='%s' QUANT_ARGS='%s' WEIGHTS=%s SPARSITY=%s\n" "$MINI_ARGS" "$QUANT_ARGS" "$WEIGHTS" "$SPARSITY"
} >"$RUN/command.txt"

DS="--dataset $DATASET ${DATA:+--data $DATA}"
TDS="${TEST_DATA:+--test-data $TEST_DATA}" # the trainers' and quantize's test split
# Bytes from 64KiB, 512K, 2MiB, 65536 (as check-cost reads them; K = KiB here).
bytes() {
	echo "$1" | awk '{ n = $0 + 0; u = $0; sub(/^[0-9.]+/, "", u)
		f = (u ~ /^[Kk]/) ? 1024 : (u ~ /^M/) ? 1048576 : (u ~ /^G/) ? 1073741824 : 1
		printf "%.0f\n", n * f }'
}
jq -n --arg macs "$MACS_MAX" --arg sram "$SRAM_MAX" --arg flash "$FLASH_MAX" \
	--argjson sb "$(bytes "$SRAM_MAX")" --arg ds "$DATASET" --argjson res "$RESOLUTION" \
	--argjson classes "$CLASSES" --argjson tw "$TEACHER_WIDTH" \
	'{macs_max: $macs, sram_max: $sram, flash_max: $flash, sram_max_bytes: $sb, dataset: $ds,
	  resolution: $res, classes: $classes, teacher_width: $tw}' >"$RUN/budget.json"
lim() { [ "$1" -gt 0 ] && echo "--train-limit $1" || true; }
# Runs a filter on a one-record file into OUT, atomically: OUT exists only when it succeeded.
stage_filter() { # in out command...
	in=$1
	out=$2
	shift 2
	"$@" <"$in" >"$out.tmp" || { rm -f "$out.tmp"; die "$1 failed (see above)"; }
	jq -e -s 'length == 1 and (map(.. | objects | select(has("error"))) | length == 0)' "$out.tmp" \
		>/dev/null || { cat "$out.tmp" >&2; rm -f "$out.tmp"; die "$(basename "$1") wrote an error"; }
	mv "$out.tmp" "$out"
}

# The time the search may spend per training image, one thread: MIN_EPOCHS_FIT epochs of
# TRAIN_IMAGES in 90% of TRAIN_MINUTES. gen-arch rejects slower designs as it rejects a budget
# (check-cost --train-us-max, from the deterministic estimate), so every design the search
# evaluates can be chosen, and pareto keeps the same limit on the front.
MIN_EPOCHS_FIT=$((MIN_EPOCHS < FULL_EPOCHS ? MIN_EPOCHS : FULL_EPOCHS))
TRAIN_US_MAX=$(awk -v m="$TRAIN_MINUTES" -v e="$MIN_EPOCHS_FIT" -v n="$TRAIN_IMAGES" \
	'BEGIN { printf "%.0f", m * 0.9 * 60e6 / (e * n) }')
echo "demo: run directory $RUN; budgets MACs <= $MACS_MAX, SRAM <= $SRAM_MAX, flash <= $FLASH_MAX" >&2
echo "demo: $DATASET at ${RESOLUTION}x$RESOLUTION, $CLASSES classes, $THREADS threads" >&2

# 1. The search.
banner 1 "search: $STRATEGY, $ITER iterations x $CANDIDATES candidates, mini-train $MINI_EPOCHS epochs on $MINI_LIMIT images, $JOBS jobs"
last_front=$RUN/search/front-$(printf %03d "$ITER").jsonl
if [ -s "$last_front" ]; then
	skip "$last_front"
else
	# shellcheck disable=SC2086
	timed search "$ROOT/pipelines/search.sh" RUN="$RUN/search" ITER="$ITER" CANDIDATES="$CANDIDATES" \
		JOBS="$JOBS" SEED="$SEED" STRATEGY="$STRATEGY" DATASET="$DATASET" DATA="$DATA" \
		RESOLUTION="$RESOLUTION" CLASSES="$CLASSES" INPUT_CHANNELS="$INPUT_CHANNELS" \
		MACS_MAX="$MACS_MAX" SRAM_MAX="$SRAM_MAX" FLASH_MAX="$FLASH_MAX" PLOT=0 \
		MINI_ARGS="--epochs $MINI_EPOCHS $(lim "$MINI_LIMIT") --seed $SEED $MINI_ARGS $TDS" \
		TRAIN_US_MAX="$TRAIN_US_MAX" \
		PARETO_ARGS="--train-minutes $(awk -v m="$TRAIN_MINUTES" 'BEGIN { print m * 0.9 }') --train-epochs $MIN_EPOCHS_FIT --train-images $TRAIN_IMAGES"
fi
[ -s "$last_front" ] || die "the search left no front in $last_front"

# 2. The design to deploy. The search ranks designs after a few mini-training steps, but what ships
#    is trained for TRAIN_MINUTES: a design that trains too slowly for MIN_EPOCHS epochs in that time
#    ends up behind a faster one. So the search's front holds only designs whose estimated training
#    time (check-cost --train-time: one thread, as the student trains beside the teacher; computed
#    from the op graph, nothing is timed) fits MIN_EPOCHS epochs in 90% of TRAIN_MINUTES (data
#    loading and the end-of-training evaluation), and the choice is the most accurate of them
#    (validation), else, when none fits, the fastest design evaluated. Epochs: what the estimate
#    fits, at most FULL_EPOCHS. Deterministic: the same SEED gives the same design and epochs.
# Epochs of N training images at US microseconds per image that fit MINUTES (90%), at least 1 and
# at most CAP.
fit_epochs() { # us n minutes cap
	awk -v us="$1" -v n="$2" -v m="$3" -v cap="$4" \
		'BEGIN { e = int(m * 60 * 0.9 * 1e6 / (us * n)); if (e > cap) e = cap; if (e < 1) e = 1; print e }'
}
# Adds demo.train_us_per_image and demo.<key> epochs to each record (check-cost --train-time).
with_epochs() { # key cap < records
	"$BIN/check-cost" --train-time --resolution "$RESOLUTION" --classes "$CLASSES" 2>/dev/null |
		while IFS= read -r rec; do
			us=$(echo "$rec" | jq -r .cost.train_us_per_image)
			e=$(fit_epochs "$us" "$TRAIN_IMAGES" "$TRAIN_MINUTES" "$2")
			echo "$rec" | jq -c --arg k "$1" --argjson e "$e" \
				'.demo += {($k): $e, train_us_per_image: .cost.train_us_per_image, images_per_s: (1e6 / .cost.train_us_per_image)}'
		done
}
banner 2 "choose: the most accurate design on the validation front (each trains $MIN_EPOCHS epochs in $TRAIN_MINUTES minutes)"
if [ -s "$RUN/chosen.jsonl" ]; then
	skip "$RUN/chosen.jsonl"
else
	jq -c '{id, arch, gen, mini, resolution: '"$RESOLUTION"', classes: '"$CLASSES"'}' "$last_front" |
		with_epochs full_epochs "$FULL_EPOCHS" >"$RUN/front-fit.jsonl"
	jq -r '"demo:   \(.id): val_acc \(.mini.val_acc * 10000 | round / 100)%, \(.cost.macs) MACs, \(.demo.images_per_s | round) img/s (estimated): \(.demo.full_epochs) epochs"' \
		"$RUN/front-fit.jsonl" >&2
	# None fits when the front is empty: the fastest design evaluated instead.
	if [ ! -s "$RUN/front-fit.jsonl" ]; then
		echo "demo: no design evaluated fits $MIN_EPOCHS epochs in $TRAIN_MINUTES minutes: the fastest goes forward" >&2
		jq -c 'select(.mini.val_acc != null) | {id, arch, gen, mini, resolution: '"$RESOLUTION"', classes: '"$CLASSES"'}' \
			"$RUN/search/evaluated.jsonl" | with_epochs full_epochs "$FULL_EPOCHS" |
			jq -c -s 'sort_by(.demo.train_us_per_image, .id) | .[0] // empty' >"$RUN/front-fit.jsonl"
	fi
	jq -c -s 'sort_by(-.mini.val_acc, .cost.macs, .id) | .[0]
		| {id, arch, gen, resolution, classes, cost, check, mini, demo}' \
		"$RUN/front-fit.jsonl" >"$RUN/chosen.jsonl.tmp"
	jq -e .id "$RUN/chosen.jsonl.tmp" >/dev/null 2>&1 || die "no design to choose from in $last_front"
	mv "$RUN/chosen.jsonl.tmp" "$RUN/chosen.jsonl"
fi
jq -r '"demo: chose \(.id): val_acc \(.mini.val_acc * 10000 | round / 100)%, \(.demo.full_epochs) epochs, \(.cost.macs) MACs, \(.cost.params) params, arena \(.cost.arena_bytes) B, flash \(.cost.flash_bytes) B"' \
	"$RUN/chosen.jsonl" >&2
"$BIN/check-cost" --plan --resolution "$RESOLUTION" --classes "$CLASSES" "$RUN/chosen.jsonl" \
	>"$RUN/plan.txt" 2>/dev/null || die "check-cost --plan failed on the chosen design"

# 3 and 4. Full training of the chosen design (the student) and of the teacher: every block
#    TEACHER_WIDTH times as many channels (SE ratios and everything else unchanged), same recipe; it
#    is not deployed, so it may exceed the budgets. The two train side by side with half the threads
#    each: a small net keeps two cores busier as two processes than as one process on two threads.
#    Their per-epoch lines are prefixed with "student |" and "teacher |".
TRAIN_THREADS=$((THREADS / 2 > 0 ? THREADS / 2 : 1))
prefixed() { # label command... (stderr prefixed with the label)
	label=$1
	shift
	{ "$@" 2>&1 >&3 3>&- | sed -u "s/^/$label | /" >&2 3>&-; } 3>&1
}
full_epochs=$(jq -r .demo.full_epochs "$RUN/chosen.jsonl")
banner 3 "full-train the chosen design: $full_epochs epochs (side by side with the teacher)"
student_pid=
if [ -s "$RUN/full.jsonl" ]; then
	skip "$RUN/full.jsonl"
else
	# shellcheck disable=SC2086
	prefixed student timed full-train stage_filter "$RUN/chosen.jsonl" "$RUN/full.jsonl" \
		"$BIN/full-train" $DS $TDS --resolution "$RESOLUTION" --epochs "$full_epochs" $(lim "$FULL_LIMIT") \
		--seed "$SEED" --threads "$TRAIN_THREADS" --no-progress $TRAIN_ARGS $FULL_ARGS --resume \
		--out "$RUN/student-full.safetensors" &
	student_pid=$!
fi
if [ ! -s "$RUN/teacher-arch.jsonl" ]; then
	jq -c --argjson w "$TEACHER_WIDTH" '{id: (.id + "-teacher"), arch: (.arch | .blocks |= map(.output_channels *= $w)), resolution, classes}' \
		"$RUN/chosen.jsonl" | with_epochs teacher_epochs "$TEACHER_EPOCHS" >"$RUN/teacher-arch.jsonl.tmp"
	jq -e .demo.teacher_epochs "$RUN/teacher-arch.jsonl.tmp" >/dev/null 2>&1 || die "the teacher could not be costed"
	mv "$RUN/teacher-arch.jsonl.tmp" "$RUN/teacher-arch.jsonl"
fi
teacher_epochs=$(jq -r .demo.teacher_epochs "$RUN/teacher-arch.jsonl")
banner 4 "teacher: the chosen design x$TEACHER_WIDTH channels, $teacher_epochs epochs (side by side with the student)"
teacher_pid=
if [ -s "$RUN/teacher.jsonl" ]; then
	skip "$RUN/teacher.jsonl"
else
	# shellcheck disable=SC2086
	prefixed teacher timed teacher stage_filter "$RUN/teacher-arch.jsonl" "$RUN/teacher.jsonl" \
		"$BIN/full-train" $DS $TDS --resolution "$RESOLUTION" --epochs "$teacher_epochs" \
		$(lim "$TEACHER_LIMIT") --seed "$SEED" --threads "$TRAIN_THREADS" --no-progress $TRAIN_ARGS \
		$FULL_ARGS --resume --out "$RUN/teacher.safetensors" &
	teacher_pid=$!
fi
# A failed training leaves no record (stage_filter); the other one still finishes its epochs.
[ -z "$student_pid" ] || wait "$student_pid" || true
[ -z "$teacher_pid" ] || wait "$teacher_pid" || true
[ -s "$RUN/full.jsonl" ] || die "full-train of the student failed (see above); run again to resume it"
[ -s "$RUN/teacher.jsonl" ] || die "full-train of the teacher failed (see above); run again to resume it"
# A percentage, or "n/a" when not measured (no test split: safetensors/folder/csv without TEST_DATA).
PCT='def pct: if . == null then "n/a" else "\(. * 10000 | round / 100)%" end;'
jq -r "$PCT"'"demo: full-train: test_acc \(.full.test_acc | pct)"' "$RUN/full.jsonl" >&2
jq -r "$PCT"'"demo: teacher: \(.cost.macs) MACs, \(.cost.params) params, test_acc \(.full.test_acc | pct)"' \
	"$RUN/teacher.jsonl" >&2

# 5. Distillation of the student from the teacher.
banner 5 "kd: the student from the teacher, $KD_EPOCHS epochs"
if [ -s "$RUN/kd.jsonl" ]; then
	skip "$RUN/kd.jsonl"
else
	# shellcheck disable=SC2086
	timed kd stage_filter "$RUN/full.jsonl" "$RUN/kd.jsonl" "$BIN/kd" $DS $TDS \
		--resolution "$RESOLUTION" --epochs "$KD_EPOCHS" $(lim "$KD_LIMIT") --seed "$SEED" \
		--threads "$THREADS" --no-progress $TRAIN_ARGS $KD_ARGS $QAT_ARGS --teacher "$RUN/teacher.safetensors" \
		--resume --out "$RUN/student-kd.safetensors"
fi
jq -r "$PCT"'"demo: kd: test_acc \(.kd.test_acc_before | pct) -> \(.kd.test_acc | pct)"' \
	"$RUN/kd.jsonl" >&2

# What goes forward: the distilled student if distillation did not lower its validation accuracy,
# else the student as full-trained (a teacher trained in the same minutes may not be stronger).
# Chosen on the validation split; the test split is only reported. With WEIGHTS=ternary the
# distilled student always goes forward: only it was trained through its ternary weights.
if [ ! -s "$RUN/deploy.jsonl" ]; then
	jq -c --arg kd "$RUN/student-kd.safetensors" --arg full "$RUN/student-full.safetensors" \
		'.demo += (if .kd.val_acc >= .kd.val_acc_before or .kd.qat then {deployed: "kd", weights: $kd}
			else {deployed: "full", weights: $full} end)' "$RUN/kd.jsonl" >"$RUN/deploy.jsonl.tmp"
	mv "$RUN/deploy.jsonl.tmp" "$RUN/deploy.jsonl"
fi
jq -r 'def p: (. * 10000 | round) as $x | "\($x / 100 | floor).\($x % 100 | tostring | if length < 2 then "0" + . else . end)";
	if .demo.deployed == "kd"
	then "demo: deployed: the distilled student (val_acc \(.kd.val_acc_before | p)% -> \(.kd.val_acc | p)%)"
	else "demo: deployed: the student as full-trained: distillation lowered val_acc \(.kd.val_acc_before | p)% -> \(.kd.val_acc | p)%" end' \
	"$RUN/deploy.jsonl" >&2

# 6. int8.
banner 6 "quantize: int8, calibrated on $CALIB training images"
if [ -s "$RUN/quant.jsonl" ]; then
	skip "$RUN/quant.jsonl"
else
	# shellcheck disable=SC2086
	timed quantize stage_filter "$RUN/deploy.jsonl" "$RUN/quant.jsonl" "$BIN/quantize" \
		--weights "$(jq -r .demo.weights "$RUN/deploy.jsonl")" $DS $TDS --resolution "$RESOLUTION" --calib "$CALIB" $([ "$QUANT_EVAL" -gt 0 ] && echo "--eval $QUANT_EVAL") $QUANT_ARGS \
		$([ "$WEIGHTS" = ternary ] && echo "--weights ternary --sparsity $SPARSITY") -o "$RUN/$NAME-int8.safetensors"
fi
jq -r "$PCT"'"demo: quantize: on \(.quant.eval_images) \(.quant.eval_split // "test") images, float \(.quant.float_acc | pct), int8 \(.quant.int8_acc | pct)"' \
	"$RUN/quant.jsonl" >&2

# 7. C sources.
banner 7 "emit-c: $NAME.c with $VECTORS test vectors, SRAM limit $SRAM_MAX"
if [ -s "$RUN/emit.jsonl" ]; then
	skip "$RUN/emit.jsonl"
else
	# shellcheck disable=SC2086
	timed emit-c stage_filter "$RUN/quant.jsonl" "$RUN/emit.jsonl" "$BIN/emit-c" \
		--model "$RUN/$NAME-int8.safetensors" --name "$NAME" -o "$RUN/c" --sram-max "$SRAM_MAX" \
		--test-vectors "$VECTORS" $DS
fi
jq -r '"demo: emit-c: arena \(.emit.arena_bytes) B, flash \(.emit.flash_bytes // .emit.flash_formula_bytes) B, in \(.emit.dir)"' \
	"$RUN/emit.jsonl" >&2

# 8. The Cortex-M7 in QEMU.
banner 8 "m7-test: the emitted model on a Cortex-M7 (QEMU mps2-an500)"
if [ "$QEMU" != 1 ]; then
	echo "demo: QEMU=0: skipped" >&2
elif [ -s "$RUN/m7-test.txt" ] && grep -q 'test vectors match' "$RUN/m7-test.txt"; then
	skip "$RUN/m7-test.txt"
else
	s0=$(date +%s)
	make -s -C "$RUN/c" m7-test >"$RUN/m7-test.log" 2>&1 || { cat "$RUN/m7-test.log" >&2; die "m7-test failed"; }
	echo "m7-test $(($(date +%s) - s0))" >>"$RUN/times.txt"
	grep 'test vectors match' "$RUN/m7-test.log" | tail -1 >"$RUN/m7-test.txt"
	[ -s "$RUN/m7-test.txt" ] || { cat "$RUN/m7-test.log" >&2; die "m7-test printed no match count"; }
fi
[ -s "$RUN/m7-test.txt" ] && echo "demo: Cortex-M7: $(cat "$RUN/m7-test.txt")" >&2

# 9. The report.
banner 9 "report"
echo "$(($(date +%s) - T0))" >"$RUN/wall.txt"
"$ROOT/pipelines/report.sh" "$RUN"
printf '\ndemo: done in %s. The report: %s/report.md\n' "$(elapsed)" "$RUN" >&2
echo "$RUN/report.md"
