#!/bin/sh
# gen-arch, offline strategies: random and evolve, checked by the shared check, reproducible.
. "$(dirname "$0")/../lib.sh"
G="$BIN/gen-arch"
LIM="--resolution 28 --classes 10 --input-channels 1 --macs-max 30M --sram-max 64KiB --flash-max 256KiB"
# shellcheck disable=SC2086
"$G" --strategy random --count 6 --seed 7 $LIM >"$TMP/r.jsonl" 2>"$TMP/err"
check_eq "random: exit 0" "$?" 0
check_eq "random: six records" "$(wc -l <"$TMP/r.jsonl" | tr -d ' ')" 6
check_eq "random: all accepted" "$(jq -s 'all(.check.ok)' "$TMP/r.jsonl")" true
check_eq "random: ids unique" "$(jq -r .id "$TMP/r.jsonl" | sort -u | wc -l | tr -d ' ')" 6
check_eq "random: within the budgets" \
	"$(jq -s 'all(.cost.macs <= 30000000 and .cost.arena_bytes <= 65536 and .cost.flash_bytes <= 262144)' "$TMP/r.jsonl")" true
check_eq "random: gen stamp" "$(jq -c '.gen | [.strategy, .iteration]' "$TMP/r.jsonl" | sort -u)" '["random",1]'
check_eq "random: resolution and classes recorded" "$(jq -c '[.resolution, .classes]' "$TMP/r.jsonl" | sort -u)" '[[28,28],10]'
check_eq "random: 5 blocks of input 1 channel" "$(jq -c '[(.arch.blocks|length), .arch.input_channels]' "$TMP/r.jsonl" | sort -u)" '[5,1]'
# shellcheck disable=SC2086
"$BIN/check-cost" $LIM --space "$ROOT/data/search-space.json" <"$TMP/r.jsonl" >"$TMP/rc.jsonl" 2>/dev/null
check_eq "check-cost agrees with every record (space included)" "$(jq -s 'all(.check.ok)' "$TMP/rc.jsonl")" true
# shellcheck disable=SC2086
"$G" --strategy random --count 6 --seed 7 $LIM 2>/dev/null | jq -r .id >"$TMP/r2.ids"
check_eq "random: same seed, same archs" "$(jq -r .id "$TMP/r.jsonl" | tr -d '\n')" "$(tr -d '\n' <"$TMP/r2.ids")"
# shellcheck disable=SC2086
"$G" --strategy random --count 6 --seed 8 $LIM 2>/dev/null | jq -r .id >"$TMP/r3.ids"
check "random: another seed, other archs" sh -c "! cmp -s '$TMP/r2.ids' '$TMP/r3.ids'"

# A history: the random records with made-up accuracies, then feedback.
jq -c '.mini = {val_acc: (0.5 + (.cost.macs % 1000) / 4000)}' "$TMP/r.jsonl" >"$TMP/h.jsonl"
"$BIN/feedback" "$TMP/h.jsonl" >"$TMP/fb.json" 2>/dev/null
# shellcheck disable=SC2086
"$G" --strategy evolve --count 8 --seed 3 --iteration 2 --feedback "$TMP/fb.json" $LIM >"$TMP/e.jsonl" 2>"$TMP/err"
check_eq "evolve: exit 0" "$?" 0
check_eq "evolve: eight accepted" "$(jq -s '[.[] | select(.check.ok)] | length' "$TMP/e.jsonl")" 8
check_eq "evolve: none repeats a tried id" \
	"$(jq -r .id "$TMP/e.jsonl" "$TMP/r.jsonl" | sort | uniq -d | wc -l | tr -d ' ')" 0
check_eq "evolve: parents come from the feedback" \
	"$(jq -r '.gen.parent // empty' "$TMP/e.jsonl" | while read -r p; do grep -c "\"$p\"" "$TMP/h.jsonl"; done | sort -u | tr -d '\n')" 1
n_parent=$(jq -r '.gen.parent // empty' "$TMP/e.jsonl" | wc -l)
check "evolve: most children have a parent ($n_parent of 8)" test "$n_parent" -ge 5
# A child differs from its parent in one block.
one=$(jq -c '{id: .gen.parent, b: .arch.blocks}' "$TMP/e.jsonl" | while read -r line; do
	p=$(echo "$line" | jq -r .id); [ "$p" = null ] && continue
	jq -n --argjson c "$(echo "$line" | jq .b)" --argjson p "$(jq -c --arg p "$p" 'select(.id==$p) | .arch.blocks' "$TMP/h.jsonl")" \
		'[range(0;5) as $i | select($c[$i] != $p[$i])] | length'
done | sort -u | tr -d '\n')
check_eq "evolve: each child changes exactly one block" "$one" 1
check_eq "evolve: gen stamp" "$(jq -c '.gen | [.strategy, .iteration]' "$TMP/e.jsonl" | sort -u)" '["evolve",2]'
# shellcheck disable=SC2086
"$G" --strategy evolve --count 2 --seed 3 $LIM >"$TMP/e0.jsonl" 2>/dev/null
check_eq "evolve without feedback samples uniformly" "$(jq -s 'all(.check.ok) and length == 2' "$TMP/e0.jsonl")" true

"$G" --strategy random --count 1 --max-tries 20 --resolution 28 --classes 10 --input-channels 1 --macs-max 1k >"$TMP/x.jsonl" 2>"$TMP/xe"
check_eq "impossible budget: exit 1" "$?" 1
check_eq "and the record says why" "$(jq -c '[.check.ok, (.gen.error | test("no accepted arch in 20"))]' "$TMP/x.jsonl")" '[false,true]'
check "and a violation names the MAC limit" jq -e '.check.violations | any(.metric == "macs")' "$TMP/x.jsonl"
"$G" --strategy sideways >/dev/null 2>&1
check_eq "unknown strategy: exit 2" "$?" 2
"$G" --count -3 >/dev/null 2>&1
check_eq "bad count: exit 2" "$?" 2
# --latency-max: every design generated is predicted within it (cost.m7_ms at --mcu-mhz)
SET28="--resolution 28 --classes 10 --input-channels 1 --macs-max 30M --sram-max 64KiB"
# shellcheck disable=SC2086
"$G" --strategy random --count 12 --seed 5 $SET28 >"$TMP/l0.jsonl" 2>/dev/null
lim=$(jq -s 'map(.cost.m7_ms) | sort | .[length / 2 | floor]' "$TMP/l0.jsonl")
# shellcheck disable=SC2086
"$G" --strategy random --count 6 --seed 5 $SET28 --latency-max "$lim" --mcu-mhz 216 >"$TMP/l1.jsonl" 2>/dev/null
check "--latency-max $lim ms (the median unconstrained): 6 designs, all within it" \
	jq -s -e --argjson l "$lim" 'length == 6 and all(.[]; .check.ok and .cost.m7_ms <= $l)' "$TMP/l1.jsonl"
check "without it, some were over (the limit bites)" \
	jq -s -e --argjson l "$lim" 'any(.[]; .cost.m7_ms > $l)' "$TMP/l0.jsonl"
check "--help names the LLM options" sh -c "'$G' --help | grep -q -- '--llm URL'"
done_testing
