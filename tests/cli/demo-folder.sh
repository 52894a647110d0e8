#!/bin/sh
# tests/cli/demo-folder.sh — `make demo DATASET=folder DATA=... TEST_DATA=...` on a folder of PNGs
# made here (3 classes x 30 grey 16x16 shapes, tests/cli/make-shapes.c), with tiny budgets: every
# stage runs on it (search, full-train, teacher, kd, quantize, emit-c, the Cortex-M7 in QEMU,
# report). The first run is killed (its whole process group, as a ^C) once the design is chosen,
# and the same command resumes it: the stages already made are skipped, not redone. Then
# DATASET=safetensors without TEST_DATA, which used to die in stage 4 (jq: null test accuracy),
# runs to the end and says what it could not measure.
. "$(dirname "$0")/../lib.sh"

cc -std=c11 -D_GNU_SOURCE -O2 -I"$ROOT/src" -I/usr/include/cjson -o "$TMP/make-shapes" \
	"$ROOT/tests/cli/make-shapes.c" "$ROOT/build/liblmnas.a" -lcjson -lpng -ljpeg -lz -lm ||
	fail "build make-shapes"
"$TMP/make-shapes" "$TMP/train" 30 16 1 "$TMP/train.safetensors" &&
	"$TMP/make-shapes" "$TMP/test" 10 16 2 || fail "make the image folders"

# Tiny budgets (as tests/cli/readme.sh): one iteration of two candidates, a few epochs; a teacher
# (not the default), so that every stage runs.
export ITER=1 CANDIDATES=2 JOBS=1 THREADS=2 MACS_MAX=4M MINI_EPOCHS=1 MINI_LIMIT=0 TEACHER_WIDTH=2 \
	FULL_EPOCHS=2 FULL_LIMIT=0 TEACHER_EPOCHS=1 TEACHER_LIMIT=0 KD_EPOCHS=1 KD_LIMIT=0 \
	TRAIN_MINUTES=1 MIN_EPOCHS=1 RERANK=2 CALIB=20 VECTORS=2 QUANT_EVAL=0 \
	MINI_ARGS="--no-autoaugment --batch 16 --val-split 0.2" \
	TRAIN_ARGS="--no-autoaugment --mixup 0 --batch 16 --val-split 0.2" \
	RESOLUTION=16 CLASSES=3 NAME=shapes_net OMP_WAIT_POLICY=passive
R=$TMP/run
setsid make -s -C "$ROOT" demo RUN="$R" DATASET=folder DATA="$TMP/train" TEST_DATA="$TMP/test" \
	>"$TMP/out0" 2>"$TMP/err0" &
demo=$!
i=0
# (the wait ends as soon as the choice is made: seconds when idle; 10 minutes at most, for a
# machine loaded with other tests)
while [ ! -s "$R/chosen.jsonl" ] && [ $i -lt 6000 ]; do sleep 0.1; i=$((i + 1)); done
kill -TERM "-$demo" 2>/dev/null
wait "$demo" 2>/dev/null
check "the first run was killed after choosing, before the end" sh -c "test -s '$R/chosen.jsonl' && test ! -e '$R/report.md'"
front_time=$(stat -c %Y "$R/search/front-001.jsonl")
make -s -C "$ROOT" demo RUN="$R" DATASET=folder DATA="$TMP/train" TEST_DATA="$TMP/test" \
	>"$TMP/out" 2>"$TMP/err"
check_eq "make demo DATASET=folder, run again after the kill: status 0" "$?" 0
check "it skipped the search, already made" grep -q 'search/front-001.jsonl is made: stage skipped' "$TMP/err"
check_eq "and left its front as it was" "$(stat -c %Y "$R/search/front-001.jsonl")" "$front_time"
tail -5 "$TMP/err" | sed 's/^/# /'
check "it wrote the report" test -s "$R/report.md"
check "the choice re-trained both candidates on the folder (RERANK=2)" \
	jq -e -s 'length == 2 and all(.rerank.val_acc >= 0 and .rerank.epochs == 2 and .rerank.classes == 3)' "$R/rerank.jsonl"
check "the emitted model ran on the Cortex-M7" grep -q '2/2 test vectors match' "$R/m7-test.txt"
check "full-train measured the test folder (30 images, 3 classes)" \
	jq -e '.full.test_acc >= 0 and .full.classes == 3' "$R/full.jsonl"
check "kd measured the test folder" jq -e '.kd.test_acc >= 0' "$R/kd.jsonl"
check "quantize scored the test folder" jq -e '.quant.eval_split == "test" and .quant.eval_images == 30' "$R/quant.jsonl"
n=$(od -An -tu8 -N8 "$R/shapes_net-int8.safetensors" | tr -d ' ')
check_eq "the int8 model carries the class names" \
	"$(tail -c +9 "$R/shapes_net-int8.safetensors" | head -c "$n" | jq -r .__metadata__.class_names)" \
	'["circle","cross","square"]'
check "command.txt records DATA and TEST_DATA" grep -q "TEST_DATA='$TMP/test'" "$R/command.txt"

# safetensors, no TEST_DATA: no test accuracy, but no death either.
R2=$TMP/run2
make -s -C "$ROOT" demo RUN="$R2" DATASET=safetensors DATA="$TMP/train.safetensors" QEMU=0 \
	>"$TMP/out2" 2>"$TMP/err2"
check_eq "make demo DATASET=safetensors without TEST_DATA: status 0" "$?" 0
tail -5 "$TMP/err2" | sed 's/^/# /'
check "stage 4 says the test accuracy is not measured" grep -q 'demo: full-train: test_acc n/a' "$TMP/err2"
check "quantize says it scored the training images" grep -q 'demo: quantize: on 90 train images' "$TMP/err2"
check "it wrote the report" test -s "$R2/report.md"
done_testing
