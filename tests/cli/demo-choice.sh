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
# pareto --train-minutes is tested in train-time.sh): the most accurate is chosen.
jq -c 'select(.id == "c4ce65bdcd368a01" or .id == "68f69a6164f96b98" or .id == "212f074e4fc2db81")
	| {id, arch, resolution, classes, mini: {val_acc: (if .id == "212f074e4fc2db81" then 0.8 else 0.7 end)}}' \
	"$ROOT/data/train-time.jsonl" >"$TMP/front.jsonl"
demo_until_choice() { # run-dir
	mkdir -p "$1/search"
	cp "$TMP/front.jsonl" "$1/search/front-003.jsonl"
	BIN=$TMP/bin "$D" RUN="$1" QEMU=0 >/dev/null 2>"$1.log"
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
BIN=$TMP/bin "$D" RUN="$TMP/c" QEMU=0 SRAM_MAX=512kB MINI_ARGS="--lr 0.1 --batch 64" >/dev/null 2>"$TMP/c.log"
check_eq "SRAM_MAX=512kB: the budget is 512000 bytes" "$(jq .sram_max_bytes "$TMP/c/budget.json")" 512000
check "command.txt parses as a shell command" sh -n "$TMP/c/command.txt"
check "command.txt holds the settings given" sh -c "grep -q \"SRAM_MAX='512kB'\" '$TMP/c/command.txt' &&
	grep -q \"MINI_ARGS='--lr 0.1 --batch 64'\" '$TMP/c/command.txt' && grep -q \"QEMU='0'\" '$TMP/c/command.txt'"
check "and the defaults" sh -c "grep -q \"ITER='3'\" '$TMP/c/command.txt' && grep -q \"FLASH_MAX='256KiB'\" '$TMP/c/command.txt' &&
	grep -q \"KD_ARGS='--lr 0.02'\" '$TMP/c/command.txt'"

# The demo hands its limit to the search's pareto.
check "the demo passes --train-minutes to the search" grep -q 'PARETO_ARGS="--train-minutes' "$ROOT/pipelines/demo.mk"
check "search.sh hands PARETO_ARGS to pareto" grep -q 'pareto" $REFS $PARETO_ARGS' "$ROOT/pipelines/search.sh"
done_testing
