#!/bin/sh
# pipelines/report.sh regenerates report.md and its pictures from a run directory alone:
# tests/golden/run-mini is the record files of a real tiny `make demo` run (2 iterations of 2
# candidates, 1 epoch on a few hundred images; checkpoints and C sources left out). The tables
# must carry the figures of those records; a missing stage leaves "–"; no run directory is an error.
. "$(dirname "$0")/../lib.sh"
R=$ROOT/pipelines/report.sh
G=$ROOT/tests/golden/run-mini
cp -R "$G" "$TMP/run"
RUN=$TMP/run
# The tiny run learned nothing (10 % everywhere): give the three accuracies distinct values so a
# swapped column shows.
G=$TMP/golden
cp -R "$RUN" "$G"
jq -c '.full.test_acc = 0.9012' "$RUN/full.jsonl" >"$G/full.jsonl"
jq -c '.kd.test_acc = 0.9123' "$RUN/kd.jsonl" >"$G/kd.jsonl"
jq -c '.quant.int8_acc = 0.9101 | .quant.float_acc = 0.9111' "$RUN/quant.jsonl" >"$G/quant.jsonl"
cp "$G"/*.jsonl "$RUN/"

"$R" "$RUN" >"$TMP/o" 2>"$TMP/e"
check_eq "report.sh exits 0" "$?" 0
check "it says where the report is" grep -q "wrote $RUN/report.md" "$TMP/e"
M=$RUN/report.md
for png in pareto progress sram; do
	check "$png.png is a PNG" sh -c "head -c 8 '$RUN/$png.png' | od -An -c | grep -q 'P   N   G'"
	check "report.md shows $png.png" grep -q "($png.png)" "$M"
done

pct() { jq -r "$2 | . * 10000 | round / 100 | tostring" "$1" | awk '{ printf "%.2f %%", $1 }'; }
int8=$(pct "$G/quant.jsonl" .quant.int8_acc)
kd=$(pct "$G/kd.jsonl" .kd.test_acc)
full=$(pct "$G/full.jsonl" .full.test_acc)
arena=$(jq -r .emit.arena_bytes "$G/emit.jsonl" | awk '{ s = $1; n = length(s); o = ""; for (i = 1; i <= n; i++) { o = o substr(s, i, 1); if ((n - i) % 3 == 0 && i < n) o = o "," } print o }')
id=$(jq -r .id "$G/chosen.jsonl")
row=$(grep "^| \`$id\` |" "$M")
check "Table II has the final model's row" test -n "$row"
check_eq "Table II: float / KD / int8 accuracy and arena from the records" \
	"$(echo "$row" | awk -F' [|] ' '{ print $2 "/" $3 "/" $4 "/" $8 }')" "$full/$kd/$int8/$arena"
# The weight formats side by side: the shipped one measured, the other's flash from check-cost.
flash=$(jq -r .emit.flash_bytes "$G/emit.jsonl")
cc_flash() { "$BIN/check-cost" --weight-format "$1" <"$G/chosen.jsonl" | jq -r .cost.flash_bytes; }
wrow() { grep "^| $1 |" "$M" | sed 's/,//g'; }
check_eq "weights table, int8 run: float, int8 (measured flash), ternary (check-cost's flash)" \
	"$(wrow float)/$(wrow int8)/$(wrow 'ternary (sparsity 0.5)')" \
	"| float | 91.11 % | not deployed |/| int8 | 91.01 % | $flash |/| ternary (sparsity 0.5) | – | $(cc_flash ternary) |"
jq -c '.quant.weight_format = "ternary"' "$G/quant.jsonl" >"$RUN/quant.jsonl"
jq -c '.kd.qat = "ternary" | .kd.sparsity = 0.7 | .kd.test_acc_before = 0.9055' "$G/kd.jsonl" >"$RUN/kd.jsonl"
"$R" "$RUN" 2>/dev/null
check_eq "weights table, ternary run: float before QAT, int8 (check-cost's flash), ternary (measured)" \
	"$(wrow float)/$(wrow int8)/$(wrow 'ternary (sparsity 0.7)')" \
	"| float | 90.55 % | not deployed |/| int8 | – | $(cc_flash int8) |/| ternary (sparsity 0.7) | 91.01 % | $flash |"
cp "$G/quant.jsonl" "$G/kd.jsonl" "$RUN/"
"$R" "$RUN" 2>/dev/null
t3=$(grep -A2 '^| strategy | candidates' "$M" | tail -1)
check_eq "Table III: strategy, candidates, rejected, evaluated, front size" \
	"$(echo "$t3" | awk -F' [|] ' '{ print $1 "/" $2 "/" $3 "/" $4 "/" $5 }' | sed 's/^| //')" \
	"$(jq -r .gen.strategy "$G/chosen.jsonl")/$(grep -c '' "$G/search/candidates.jsonl")/$(grep -c '' "$G/search/rejected.jsonl")/$(jq -r .counts.evaluated "$G/search/summary.json")/$(jq -r .counts.front "$G/search/summary.json")"
macs_min=$(jq -r '.front["cost.macs"].min / 1e6 * 100 | round / 100' "$G/search/summary.json")
check "Table III: MACs [min, max] avg of the front" sh -c "echo '$t3' | grep -q '\\[$macs_min, '"
check_eq "one row per iteration" "$(grep -c '^| [0-9]* | [0-9]* | [0-9]* | ' "$M")" "$(ls "$G"/search/summary-0*.json | grep -c '')"
check "the reproduce section has the demo command" grep -q '^pipelines/demo.sh RUN=' "$M"
check "the reproduce section has make report" grep -q "^make report RUN=$RUN" "$M"
check "the Cortex-M7 result is quoted" grep -q "$(cat "$G/m7-test.txt")" "$M"
check "no explanation from evolve is said plainly" grep -q 'None: the evolve strategy gives none' "$M"

# The SRAM bars: one per op of the plan, the budget drawn (checked on the data, not the pixels).
cp "$M" "$TMP/first.md"
"$R" "$RUN" 2>/dev/null
check "regenerating gives the same report" cmp -s "$TMP/first.md" "$M"

check "no re-ranking in the run: no choice table" sh -c "! grep -q '^The choice:' '$M'"
# The choice's re-ranking (rerank.jsonl): a row per design re-trained, the chosen one marked, a
# failed one with its error.
jq -c --arg id "$id" '{id: $id, cost: {macs: 1000}, mini: {val_acc: 0.5}, rerank: {val_acc: 0.875, epochs: 2}},
	{id: "0000000000000001", cost: {macs: 2000}, mini: {val_acc: 0.6}, rerank: {error: "its re-ranking training failed"}}' \
	-n >"$RUN/rerank.jsonl"
"$R" "$RUN" 2>/dev/null
check_eq "the choice table: the chosen design re-ranked, a failed one with its error" \
	"$(grep -A3 '^| design | MACs | proxy | re-ranked' "$M" | tail -2 | tr '\n' ';')" \
	"| \`$id\` | 1000 | 50 % | 87.5 % (2 epochs) | chosen |;| \`0000000000000001\` | 2000 | 60 % | its re-ranking training failed |  |;"
rm "$RUN/rerank.jsonl"

# An explanation, where the generator gave one, is quoted.
jq -c '.gen.explanation = "Narrow early blocks keep the arena small."' "$G/chosen.jsonl" >"$RUN/chosen.jsonl"
"$R" "$RUN" 2>/dev/null
check "the generator's explanation is quoted" grep -q '^> Narrow early blocks keep the arena small.' "$M"

# Which student was deployed: the full-trained one when distillation lowered val_acc.
jq -c '.demo.deployed = "full" | .kd.val_acc_before = 0.9118 | .kd.val_acc = 0.91' "$G/quant.jsonl" >"$RUN/quant.jsonl"
cp "$RUN/quant.jsonl" "$RUN/kd.jsonl"
"$R" "$RUN" 2>/dev/null
check "it says the full-trained student was deployed, with the val_acc that decided" \
	grep -q 'Deployed: the student as full-trained.*(91.18 % → 91.00 %)' "$M"
jq -c '.demo.deployed = "kd"' "$RUN/quant.jsonl" >"$TMP/q" && mv "$TMP/q" "$RUN/quant.jsonl"
"$R" "$RUN" 2>/dev/null
check "or the distilled one" grep -q 'Deployed: the distilled student' "$M"
# No teacher (TEACHER_WIDTH=0, int8): no teacher row, no kd; the student as full-trained.
mv "$RUN/teacher.jsonl" "$TMP/teacher.keep" && mv "$RUN/kd.jsonl" "$TMP/kd.keep"
jq -c '.demo.deployed = "student"' "$RUN/quant.jsonl" >"$TMP/q" && mv "$TMP/q" "$RUN/quant.jsonl"
"$R" "$RUN" 2>/dev/null
check "no teacher: it says the student was deployed as full-trained, without a teacher" \
	grep -q 'Deployed: the student as full-trained (no teacher: TEACHER_WIDTH=0)' "$M"
check "no teacher: the training line says it trained alone, and no teacher row" \
	sh -c "grep -q '^Training: the student [0-9]* epochs alone, no teacher' '$M' && ! grep -q '^| teacher (' '$M'"
mv "$TMP/teacher.keep" "$RUN/teacher.jsonl" && mv "$TMP/kd.keep" "$RUN/kd.jsonl"

# Latency per op beside SRAM per op: check-cost's prediction for every op of the plan, and the
# QEMU count of each op when m7-count.txt is there.
nops=$(grep -c '^op [0-9]*:' "$RUN/plan.txt")
check_eq "a latency row per op of the plan" "$(grep -c '^| layers\.\|^| pool \|^| classifier ' "$M")" "$nops"
check "the predicted column is check-cost's" sh -c "grep -q \"^| classifier | [0-9]* | \$('$BIN/check-cost' --latency <'$RUN/chosen.jsonl' | jq -r 'select(.name == \"classifier\") | .m7_instructions') |\" '$M'"
"$BIN/check-cost" --latency <"$RUN/chosen.jsonl" | jq -r '"op \(.op) \(.op * 10 + 7) \(.name)"' >"$RUN/m7-count.txt"
"$R" "$RUN" 2>/dev/null
check "with m7-count.txt, the QEMU column has its counts" sh -c "grep '^| classifier |' '$M' | grep -q '| $(( (nops - 1) * 10 + 7 )) |\$'"
rm -f "$RUN/m7-count.txt"

# Missing later stages: still a report, with dashes.
rm -f "$RUN/quant.jsonl" "$RUN/emit.jsonl" "$RUN/m7-test.txt"
"$R" "$RUN" 2>"$TMP/e2"
check_eq "a run stopped before quantize still gets a report" "$?" 0
check "its int8 cell is a dash" sh -c "grep '^| \`$id\` |' '$M' | awk -F' [|] ' '{ print \$4 }' | grep -qx '–'"

# No run directory, or no search in it: status 2 and a message.
"$R" "$TMP/nothing" 2>"$TMP/e3"
check_eq "no run directory: status 2" "$?" 2
check "it says so" grep -q 'no run directory' "$TMP/e3"
mkdir "$TMP/empty"
"$R" "$TMP/empty" 2>"$TMP/e4"
check_eq "no search in it: status 2" "$?" 2
done_testing
