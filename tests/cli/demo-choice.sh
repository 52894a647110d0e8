#!/bin/sh
# The demo's choice (stage 2) and its epochs come from the training-time estimate, not from a timing:
# the same front gives the same design, epochs and teacher epochs with the CPU idle or busy. The
# trainings are stubs that fail, so the demo stops right after choosing.
. "$(dirname "$0")/../lib.sh"
D=$ROOT/pipelines/demo.sh
mkdir -p "$TMP/bin"
for p in gen-arch check-cost mini-train pareto feedback kd quantize emit-c bytes; do ln -s "$BIN/$p" "$TMP/bin/$p"; done
printf '#!/bin/sh\necho "full-train: stub" >&2\nexit 2\n' >"$TMP/bin/full-train"
chmod +x "$TMP/bin/full-train"
# A front of three measured designs, given as the search's last front (the search's own
# pareto --train-minutes is tested in train-time.sh): the most accurate is chosen. With a teacher
# twice as wide and 16 minutes (not the defaults: given, so the figures below hold).
jq -c 'select(.id == "c4ce65bdcd368a01" or .id == "68f69a6164f96b98" or .id == "212f074e4fc2db81")
	| {id, arch, resolution, classes, mini: {val_acc: (if .id == "212f074e4fc2db81" then 0.8 else 0.7 end)}}' \
	"$ROOT/data/train-time.jsonl" >"$TMP/front.jsonl"
demo_until_choice() { # run-dir
	mkdir -p "$1/search"
	cp "$TMP/front.jsonl" "$1/search/front-003.jsonl"
	BIN=$TMP/bin "$D" RUN="$1" QEMU=0 TEACHER_WIDTH=2 TRAIN_MINUTES=16 >/dev/null 2>"$1.log"
}
demo_until_choice "$TMP/a"
check "the demo stopped at the stub full-train, after choosing" sh -c "test -s '$TMP/a/chosen.jsonl' && grep -q 'full-train' '$TMP/a.log'"
check_eq "the most accurate design on the front is chosen" "$(jq -r .id "$TMP/a/chosen.jsonl")" 212f074e4fc2db81
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
mkdir -p "$TMP/c/search"
cp "$TMP/front.jsonl" "$TMP/c/search/front-003.jsonl"
BIN=$TMP/bin "$D" RUN="$TMP/c" QEMU=0 TEACHER_WIDTH=2 SRAM_MAX=512kB MINI_ARGS="--lr 0.1 --batch 64" >/dev/null 2>"$TMP/c.log"
check_eq "SRAM_MAX=512kB: the budget is 512000 bytes" "$(jq .sram_max_bytes "$TMP/c/budget.json")" 512000
check "command.txt parses as a shell command" sh -n "$TMP/c/command.txt"
check "command.txt holds the settings given" sh -c "grep -q \"SRAM_MAX='512kB'\" '$TMP/c/command.txt' &&
	grep -q \"MINI_ARGS='--lr 0.1 --batch 64'\" '$TMP/c/command.txt' && grep -q \"QEMU='0'\" '$TMP/c/command.txt'"
check "and the defaults" sh -c "grep -q \"ITER='3'\" '$TMP/c/command.txt' && grep -q \"FLASH_MAX='256KiB'\" '$TMP/c/command.txt' &&
	grep -q \"KD_ARGS='--lr 0.02'\" '$TMP/c/command.txt'"

# TEACHER_WIDTH=0: no teacher. The student's epochs are what the estimate fits in TRAIN_MINUTES
# times THREAD_SPEEDUP (it has every thread), it trains on all THREADS, no teacher is made, and
# with int8 weights the full-trained student is deployed without a kd stage. The stub full-train
# writes a result (its arguments in args.txt); the real quantize then fails on its fake
# checkpoint, which ends the run after deploy.jsonl.
mkdir -p "$TMP/nt/bin" "$TMP/d/search"
for p in gen-arch check-cost mini-train pareto feedback quantize emit-c bytes; do ln -s "$BIN/$p" "$TMP/nt/bin/$p"; done
# It also writes the OpenMP waits it was given (env.txt: OMP_WAIT_POLICY|GOMP_SPINCOUNT).
printf '#!/bin/sh\necho "$*" >"%s/args.txt"\necho "${OMP_WAIT_POLICY:-}|${GOMP_SPINCOUNT:-}" >"%s/env.txt"\nexec jq -c ".full = {test_acc: 0.9, val_acc: 0.9, epochs: 1}"\n' "$TMP/nt" "$TMP/nt" >"$TMP/nt/bin/full-train"
printf '#!/bin/sh\necho "kd: must not run" >&2\ntouch "%s/kd-ran"\nexit 2\n' "$TMP/nt" >"$TMP/nt/bin/kd"
chmod +x "$TMP/nt/bin/full-train" "$TMP/nt/bin/kd"
cp "$TMP/front.jsonl" "$TMP/d/search/front-003.jsonl"
BIN=$TMP/nt/bin "$D" RUN="$TMP/d" QEMU=0 TEACHER_WIDTH=0 TRAIN_MINUTES=16 THREADS=2 THREAD_SPEEDUP=1.5 >/dev/null 2>"$TMP/d.log"
check_eq "TEACHER_WIDTH=0: the same design is chosen" "$(jq -r .id "$TMP/d/chosen.jsonl")" 212f074e4fc2db81
want=$(awk -v us="$us" 'BEGIN { e = int(16 * 1.5 * 60 * 0.9 * 1e6 / (us * 54000)); print (e > 40 ? 40 : e) }')
check_eq "TEACHER_WIDTH=0: its epochs fit 16 minutes at 1.5x the one-thread estimate" \
	"$(jq -r .demo.full_epochs "$TMP/d/chosen.jsonl")" "$want"
check "TEACHER_WIDTH=0: the student trains on both threads" grep -q -- "--threads 2 " "$TMP/nt/args.txt"
check "TEACHER_WIDTH=0: no teacher is made" test ! -e "$TMP/d/teacher-arch.jsonl" -a ! -e "$TMP/d/teacher.jsonl"
check "TEACHER_WIDTH=0, int8: no kd; the full-trained student is deployed" \
	sh -c "test ! -e '$TMP/nt/kd-ran' && jq -e '.demo.deployed == \"student\" and (.demo.weights | endswith(\"student-full.safetensors\"))' '$TMP/d/deploy.jsonl' >/dev/null"
BIN=$TMP/nt/bin "$D" RUN="$TMP/e" QEMU=0 TEACHER_WIDTH=0 THREAD_SPEEDUP=0.5 >/dev/null 2>"$TMP/e.log"
check_eq "THREAD_SPEEDUP=0.5 is refused: exit 2" "$?" 2
# The trainings' idle OpenMP threads: by default they spin SPIN (10000) times before sleeping,
# whatever the caller exported (make exports OMP_WAIT_POLICY=passive); SPIN=0 sleeps at once.
check_eq "SPIN's default: GOMP_SPINCOUNT=10000, OMP_WAIT_POLICY unset" "$(cat "$TMP/nt/env.txt")" "|10000"
mkdir -p "$TMP/f/search"
cp "$TMP/front.jsonl" "$TMP/f/search/front-003.jsonl"
OMP_WAIT_POLICY=passive BIN=$TMP/nt/bin "$D" RUN="$TMP/f" QEMU=0 TEACHER_WIDTH=0 SPIN=0 >/dev/null 2>"$TMP/f.log"
check_eq "SPIN=0: OMP_WAIT_POLICY=passive, no GOMP_SPINCOUNT" "$(cat "$TMP/nt/env.txt")" "passive|"
BIN=$TMP/nt/bin "$D" RUN="$TMP/g" QEMU=0 SPIN=-1 >/dev/null 2>"$TMP/g.log"
check_eq "SPIN=-1 is refused: exit 2" "$?" 2

# The demo hands its limit to the search's pareto.
check "the demo passes --train-minutes to the search" grep -q 'PARETO_ARGS="--train-minutes' "$ROOT/pipelines/demo.mk"
check "search.sh hands PARETO_ARGS to pareto" grep -q 'pareto" $REFS $PARETO_ARGS' "$ROOT/pipelines/search.sh"
done_testing
