#!/bin/sh
# The demo's choice (stage 2) and its epochs come from the training-time estimate, not from a timing:
# the same search gives the same design, epochs and teacher epochs with the CPU idle or busy. The
# trainings are stubs that fail, so the demo stops right after choosing. The re-ranking of the
# proxy's first designs (RERANK) is tested at the end with a stub mini-train; before that the
# default (RERANK=0) chooses by the proxy.
. "$(dirname "$0")/../lib.sh"
D=$ROOT/pipelines/demo.sh
mkdir -p "$TMP/bin"
for p in gen-arch check-cost mini-train pareto feedback kd quantize emit-c bytes; do ln -s "$BIN/$p" "$TMP/bin/$p"; done
printf '#!/bin/sh\necho "full-train: stub" >&2\nexit 2\n' >"$TMP/bin/full-train"
chmod +x "$TMP/bin/full-train"
# Three measured designs, given as the search's evaluations and its last front (the search's own
# pareto --train-minutes is tested in train-time.sh): the most accurate is chosen. With a teacher
# twice as wide, 16 minutes and 25 epochs at least (not the defaults: given, so the figures below
# hold).
jq -c 'select(.id == "c4ce65bdcd368a01" or .id == "68f69a6164f96b98" or .id == "212f074e4fc2db81")
	| {id, arch, resolution, classes, mini: {val_acc: (if .id == "212f074e4fc2db81" then 0.8 else 0.7 end)}}' \
	"$ROOT/data/train-time.jsonl" >"$TMP/front.jsonl"
searched() { # run-dir: the search's results, as if it had run
	mkdir -p "$1/search"
	cp "$TMP/front.jsonl" "$1/search/front-002.jsonl" # the last front of ITER (2) iterations
	cp "$TMP/front.jsonl" "$1/search/evaluated.jsonl"
}
demo_until_choice() { # run-dir
	searched "$1"
	BIN=$TMP/bin "$D" RUN="$1" QEMU=0 TEACHER_WIDTH=2 TRAIN_MINUTES=16 MIN_EPOCHS=25 >/dev/null 2>"$1.log"
}
demo_until_choice "$TMP/a"
check "the demo stopped at the stub full-train, after choosing" sh -c "test -s '$TMP/a/chosen.jsonl' && grep -q 'full-train' '$TMP/a.log'"
check_eq "the most accurate design on the front is chosen" "$(jq -r .id "$TMP/a/chosen.jsonl")" 212f074e4fc2db81
check "by default (RERANK=0) nothing is trained again: the proxy's choice" \
	sh -c "test ! -e '$TMP/a/rerank.jsonl' && jq -e 'has(\"rerank\") | not' '$TMP/a/chosen.jsonl' >/dev/null"
us=$(jq -r .demo.train_us_per_image "$TMP/a/chosen.jsonl")
want=$(awk -v us="$us" 'BEGIN { e = int(16 * 60 * 0.9 * 1e6 / (us * 54000)); print (e > 40 ? 40 : e) }')
check_eq "its epochs are what the estimate fits in 16 minutes" "$(jq -r .demo.full_epochs "$TMP/a/chosen.jsonl")" "$want"
check "the teacher's epochs come from the estimate too" jq -e -s 'length == 1 and .[0].demo.teacher_epochs >= 1' "$TMP/a/teacher-arch.jsonl"
# Again with both cores busy: the same design and epochs.
busy() { end=$(($(date +%s) + 20)); while [ "$(date +%s)" -lt "$end" ]; do :; done; }
busy & b1=$!
busy & b2=$!
demo_until_choice "$TMP/b"
kill "$b1" "$b2" 2>/dev/null
wait "$b1" "$b2" 2>/dev/null
pick='[.id, .demo.full_epochs, .demo.teacher_epochs]'
check_eq "with the CPU busy: the same design and epochs" \
	"$(jq -c "$pick" "$TMP/b/chosen.jsonl")" "$(jq -c "$pick" "$TMP/a/chosen.jsonl")"
check_eq "and the same teacher epochs" \
	"$(jq -c "$pick" "$TMP/b/teacher-arch.jsonl")" "$(jq -c "$pick" "$TMP/a/teacher-arch.jsonl")"
# Sizes are converted by the programs' parser (bytes), not by the script: 512kB is 512000 bytes
# (the old awk conversion made it 524288). command.txt holds every setting, quoted for the shell.
searched "$TMP/c"
BIN=$TMP/bin "$D" RUN="$TMP/c" QEMU=0 TEACHER_WIDTH=2 SRAM_MAX=512kB MINI_ARGS="--lr 0.1 --batch 64" >/dev/null 2>"$TMP/c.log"
check_eq "SRAM_MAX=512kB: the budget is 512000 bytes" "$(jq .sram_max_bytes "$TMP/c/budget.json")" 512000
check "command.txt parses as a shell command" sh -n "$TMP/c/command.txt"
check "command.txt holds the settings given" sh -c "grep -q \"SRAM_MAX='512kB'\" '$TMP/c/command.txt' &&
	grep -q \"MINI_ARGS='--lr 0.1 --batch 64'\" '$TMP/c/command.txt' && grep -q \"QEMU='0'\" '$TMP/c/command.txt'"
check "and the defaults (KD_EPOCHS 2 with a teacher)" sh -c "grep -q \"ITER='2'\" '$TMP/c/command.txt' && grep -q \"FLASH_MAX='256KiB'\" '$TMP/c/command.txt' &&
	grep -q \"KD_ARGS='--lr 0.02'\" '$TMP/c/command.txt' && grep -q \"TRAIN_MINUTES='25'\" '$TMP/c/command.txt' &&
	grep -q \"INT8_QAT='1'\" '$TMP/c/command.txt' && grep -q \"KD_EPOCHS='2'\" '$TMP/c/command.txt'"

# TEACHER_WIDTH=0: no teacher. The student's epochs are what the estimate fits in TRAIN_MINUTES
# times THREAD_SPEEDUP (it has every thread), it trains on all THREADS, no teacher is made, and
# with int8 weights and INT8_QAT=0 the full-trained student is deployed without a kd stage. The stub full-train
# writes a result (its arguments in args.txt); the real quantize then fails on its fake
# checkpoint, which ends the run after deploy.jsonl.
mkdir -p "$TMP/nt/bin"
for p in gen-arch check-cost mini-train pareto feedback quantize emit-c bytes; do ln -s "$BIN/$p" "$TMP/nt/bin/$p"; done
# It also writes the OpenMP waits it was given (env.txt: OMP_WAIT_POLICY|GOMP_SPINCOUNT).
printf '#!/bin/sh\necho "$*" >"%s/args.txt"\necho "${OMP_WAIT_POLICY:-}|${GOMP_SPINCOUNT:-}" >"%s/env.txt"\nexec jq -c ".full = {test_acc: 0.9, val_acc: 0.9, epochs: 1}"\n' "$TMP/nt" "$TMP/nt" >"$TMP/nt/bin/full-train"
printf '#!/bin/sh\necho "kd: must not run" >&2\ntouch "%s/kd-ran"\nexit 2\n' "$TMP/nt" >"$TMP/nt/bin/kd"
chmod +x "$TMP/nt/bin/full-train" "$TMP/nt/bin/kd"
searched "$TMP/d"
BIN=$TMP/nt/bin "$D" RUN="$TMP/d" QEMU=0 TEACHER_WIDTH=0 INT8_QAT=0 TRAIN_MINUTES=16 MIN_EPOCHS=25 THREADS=2 THREAD_SPEEDUP=1.5 >/dev/null 2>"$TMP/d.log"
check_eq "TEACHER_WIDTH=0: the same design is chosen" "$(jq -r .id "$TMP/d/chosen.jsonl")" 212f074e4fc2db81
want=$(awk -v us="$us" 'BEGIN { e = int(16 * 1.5 * 60 * 0.9 * 1e6 / (us * 54000)); print (e > 40 ? 40 : e) }')
check_eq "TEACHER_WIDTH=0: its epochs fit 16 minutes at 1.5x the one-thread estimate" \
	"$(jq -r .demo.full_epochs "$TMP/d/chosen.jsonl")" "$want"
check "TEACHER_WIDTH=0: the student trains on both threads" grep -q -- "--threads 2 " "$TMP/nt/args.txt"
check "TEACHER_WIDTH=0: no teacher is made" test ! -e "$TMP/d/teacher-arch.jsonl" -a ! -e "$TMP/d/teacher.jsonl"
check "TEACHER_WIDTH=0, int8, INT8_QAT=0: no kd; the full-trained student is deployed" \
	sh -c "test ! -e '$TMP/nt/kd-ran' && jq -e '.demo.deployed == \"student\" and (.demo.weights | endswith(\"student-full.safetensors\"))' '$TMP/d/deploy.jsonl' >/dev/null"
BIN=$TMP/nt/bin "$D" RUN="$TMP/e" QEMU=0 TEACHER_WIDTH=0 THREAD_SPEEDUP=0.5 >/dev/null 2>"$TMP/e.log"
check_eq "THREAD_SPEEDUP=0.5 is refused: exit 2" "$?" 2
# The trainings' idle OpenMP threads: by default they spin SPIN (10000) times before sleeping,
# whatever the caller exported (make exports OMP_WAIT_POLICY=passive); SPIN=0 sleeps at once.
check_eq "SPIN's default: GOMP_SPINCOUNT=10000, OMP_WAIT_POLICY unset" "$(cat "$TMP/nt/env.txt")" "|10000"
searched "$TMP/f"
OMP_WAIT_POLICY=passive BIN=$TMP/nt/bin "$D" RUN="$TMP/f" QEMU=0 TEACHER_WIDTH=0 SPIN=0 >/dev/null 2>"$TMP/f.log"
check_eq "SPIN=0: OMP_WAIT_POLICY=passive, no GOMP_SPINCOUNT" "$(cat "$TMP/nt/env.txt")" "passive|"
BIN=$TMP/nt/bin "$D" RUN="$TMP/g" QEMU=0 SPIN=-1 >/dev/null 2>"$TMP/g.log"
check_eq "SPIN=-1 is refused: exit 2" "$?" 2

# INT8_QAT=1 (the default), no teacher: kd fine-tunes the full-trained student one epoch (KD_EPOCHS'
# default there) through its int8 arithmetic (from itself) and that is deployed. The stub kd records its arguments, the stub quantize reports; emit-c
# then fails on the missing model.
mkdir -p "$TMP/qat/bin"
for p in gen-arch check-cost mini-train pareto feedback emit-c bytes; do ln -s "$BIN/$p" "$TMP/qat/bin/$p"; done
ln -s "$TMP/nt/bin/full-train" "$TMP/qat/bin/full-train"
printf '#!/bin/sh\nexec jq -c ".quant = {float_acc: 0.82, int8_acc: 0.91, eval_images: 10000}"\n' >"$TMP/qat/bin/quantize"
chmod +x "$TMP/qat/bin/quantize"
printf '#!/bin/sh\necho "$*" >"%s/kd-args.txt"\nexec jq -c ".kd = {qat: \\"int8\\", val_acc: 0.8, val_acc_before: 0.9, test_acc: 0.8, test_acc_before: 0.9}"\n' \
	"$TMP/qat" >"$TMP/qat/bin/kd"
chmod +x "$TMP/qat/bin/kd"
searched "$TMP/q"
BIN=$TMP/qat/bin "$D" RUN="$TMP/q" QEMU=0 TEACHER_WIDTH=0 >/dev/null 2>"$TMP/q.log"
check "INT8_QAT=1: kd trains through int8 from the full-trained student" \
	sh -c "grep -q -- '--qat int8 --teacher $TMP/q/student-full.safetensors' '$TMP/qat/kd-args.txt'"
check "INT8_QAT=1: one epoch" grep -q -- '--epochs 1 ' "$TMP/qat/kd-args.txt"
check "INT8_QAT=1: the QAT network is deployed, though its float val_acc is lower" \
	jq -e '.demo.deployed == "kd" and (.demo.weights | endswith("student-kd.safetensors"))' "$TMP/q/deploy.jsonl"
check "INT8_QAT=1: quantize's float figure is said to be the QAT network's, and no QAT hint" \
	sh -c "grep -q 'float 82% (the QAT network without its activation rounding), int8 91%' '$TMP/q.log' && ! grep -q 'INT8_QAT=1 fine-tunes' '$TMP/q.log'"
BIN=$TMP/qat/bin "$D" RUN="$TMP/q2" QEMU=0 INT8_QAT=yes >/dev/null 2>"$TMP/q2.log"
check_eq "INT8_QAT=yes is refused: exit 2" "$?" 2
# Without it (INT8_QAT=0), a quantize that loses more than a point says how to recover it (a stub quantize
# reports 92 % float, 85 % int8; emit-c then fails on its missing model).
mkdir -p "$TMP/lost/bin"
for p in gen-arch check-cost mini-train pareto feedback kd emit-c bytes; do ln -s "$BIN/$p" "$TMP/lost/bin/$p"; done
ln -s "$TMP/nt/bin/full-train" "$TMP/lost/bin/full-train"
printf '#!/bin/sh\nexec jq -c ".quant = {float_acc: 0.92, int8_acc: 0.85, eval_images: 10000}"\n' >"$TMP/lost/bin/quantize"
chmod +x "$TMP/lost/bin/quantize"
searched "$TMP/l"
BIN=$TMP/lost/bin "$D" RUN="$TMP/l" QEMU=0 TEACHER_WIDTH=0 INT8_QAT=0 >/dev/null 2>"$TMP/l.log"
check "an int8 model 7 points below float: the demo points to INT8_QAT=1" grep -q 'int8 lost more than a point.*INT8_QAT=1' "$TMP/l.log"

# The re-ranking (RERANK=4): the proxy's first designs are trained again (here a stub
# mini-train: 68f6 scores 90%, c4ce 85%, and the training of 212f, the proxy's first, fails) and
# the most accurate by that is chosen, though the proxy put it third; the proxy's accuracy stays in
# "mini"; the failed one ranks last and does not stop the demo.
mkdir -p "$TMP/rr/bin"
for p in gen-arch check-cost pareto feedback kd quantize emit-c bytes; do ln -s "$BIN/$p" "$TMP/rr/bin/$p"; done
ln -s "$TMP/bin/full-train" "$TMP/rr/bin/full-train"
cat >"$TMP/rr/bin/mini-train" <<'STUB'
#!/bin/sh
echo "$*" >>"${0%/*}/mini-args.txt"
exec jq -c 'if .id == "212f074e4fc2db81" then error("stub: diverged")
	else .mini = {val_acc: (if .id == "68f69a6164f96b98" then 0.9 else 0.85 end), epochs: 2} end'
STUB
chmod +x "$TMP/rr/bin/mini-train"
searched "$TMP/r"
BIN=$TMP/rr/bin "$D" RUN="$TMP/r" QEMU=0 TEACHER_WIDTH=0 RERANK=4 >/dev/null 2>"$TMP/r.log"
check_eq "RERANK: the most accurate after re-ranking is chosen" "$(jq -r .id "$TMP/r/chosen.jsonl")" 68f69a6164f96b98
check_eq "RERANK: the chosen record keeps the proxy's accuracy and adds the re-ranking's" \
	"$(jq -c '[.mini.val_acc, .rerank.val_acc]' "$TMP/r/chosen.jsonl")" "[0.7,0.9]"
check_eq "RERANK: every design was re-trained, in the proxy's order; the failed one ranks with an error" \
	"$(jq -r '"\(.id) \(.rerank.val_acc // .rerank.error)"' "$TMP/r/rerank.jsonl" | tr '\n' ';')" \
	"212f074e4fc2db81 its re-ranking training failed;c4ce65bdcd368a01 0.85;68f69a6164f96b98 0.9;"
check "RERANK: two epochs on the whole split, one thread, the proxy's recipe" sh -c "grep -c -- '--epochs 2 --seed 1 --threads 1 --no-progress --schedule cosine' '$TMP/rr/bin/mini-args.txt' | grep -qx 3 && ! grep -q -- --train-limit '$TMP/rr/bin/mini-args.txt'"
check "RERANK: the demo went on to full-train" grep -q 'full-train: stub' "$TMP/r.log"
check "RERANK: its time is in times.txt" grep -q '^rerank [0-9]' "$TMP/r/times.txt"
rm -f "$TMP/rr/bin/mini-args.txt"
searched "$TMP/r2"
BIN=$TMP/rr/bin "$D" RUN="$TMP/r2" QEMU=0 TEACHER_WIDTH=0 RERANK=2 >/dev/null 2>"$TMP/r2.log"
check_eq "RERANK=2: only the proxy's first two are re-trained" "$(jq -r .id "$TMP/r2/rerank.jsonl" | tr '\n' ' ')" \
	"212f074e4fc2db81 c4ce65bdcd368a01 "
check_eq "RERANK=2: the failed one, the proxy's first, ranks last" "$(jq -r .id "$TMP/r2/chosen.jsonl")" c4ce65bdcd368a01
BIN=$TMP/rr/bin "$D" RUN="$TMP/r3" QEMU=0 RERANK_EPOCHS=0 >/dev/null 2>"$TMP/r3.log"
check_eq "RERANK_EPOCHS=0 is refused: exit 2" "$?" 2

# The demo hands its limit to the search's pareto.
check "the demo passes --train-minutes to the search" grep -q 'PARETO_ARGS="--train-minutes' "$ROOT/pipelines/demo.mk"
check "search.sh hands PARETO_ARGS to pareto" grep -q 'pareto" $REFS $PARETO_ARGS' "$ROOT/pipelines/search.sh"
done_testing
