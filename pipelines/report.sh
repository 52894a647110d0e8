#!/bin/sh
# pipelines/report.sh RUN — writes RUN/report.md and its pictures from a demo run directory alone
# (`make report RUN=dir`). Needs jq and gnuplot; reads, when present:
#
#   search/evaluated.jsonl search/candidates.jsonl search/rejected.jsonl   the search (search.sh)
#   search/summary-NNN.json search/front-NNN.jsonl                          per iteration
#   rerank.jsonl (the choice's re-ranking, when it ran)
#   chosen.jsonl full.jsonl teacher.jsonl kd.jsonl deploy.jsonl quant.jsonl emit.jsonl   one record per stage
#   plan.txt (check-cost --plan of the final design)  m7-test.txt  times.txt  wall.txt
#   budget.json  command.txt
#   m7-count.txt (`make -C RUN/c m7-count`: instructions per op measured in QEMU), optional
#
# Pictures (PNG): pareto.png (validation accuracy against MACs, marker size by parameters, the
# front highlighted, the final model marked), progress.png (best validation accuracy and front
# hypervolume per iteration), sram.png (int8 arena in use per op of the final model against the
# SRAM budget). A missing stage leaves its table cells as "–" rather than failing.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUN=${1:?usage: report.sh RUN}
[ -d "$RUN" ] || { echo "report: no run directory $RUN" >&2; exit 2; }
RUN=$(cd "$RUN" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
S=$RUN/search
command -v jq >/dev/null || { echo "report: jq is missing" >&2; exit 2; }
[ -s "$S/evaluated.jsonl" ] || { echo "report: $S/evaluated.jsonl is missing or empty" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One value from a one-record file, or "–".
val() { # file jq-expression [jq options]
	[ -s "$1" ] || { echo "–"; return; }
	f=$1 e=$2
	shift 2
	v=$(jq -r "$@" "$e // empty" "$f" 2>/dev/null | head -1)
	echo "${v:-–}"
}
pct() { # fraction → "93.12 %"
	case $1 in –) echo "–" ;; *) awk -v x="$1" 'BEGIN { printf "%.2f %%", 100 * x }' ;; esac
}
num() { # 1234567 → 1,234,567
	case $1 in –) echo "–" ;; *) printf '%s' "$1" | awk '{ s = sprintf("%.0f", $1); n = length(s); o = "";
		for (i = 1; i <= n; i++) { o = o substr(s, i, 1); if ((n - i) % 3 == 0 && i < n) o = o "," } print o }' ;; esac
}
mins() { # seconds → "12 min 5 s"
	case $1 in –) echo "–" ;; *) echo "$(($1 / 60)) min $(($1 % 60)) s" ;; esac
}
stage_secs() { [ -s "$RUN/times.txt" ] && awk -v s="$1" '$1 == s { t += $2; f = 1 } END { if (f) print t; else print "–" }' "$RUN/times.txt" || echo "–"; }

last_front=$(ls "$S"/front-[0-9][0-9][0-9].jsonl 2>/dev/null | tail -1)
final_id=$(val "$RUN/chosen.jsonl" .id)
peak_ll=$(val "$RUN/chosen.jsonl" .cost.peak_sram_bytes)
# Sizes in bytes as the programs read them (bin/bytes: util.c's parser), "–" when not known.
bytes() { # size
	case $1 in –) echo "–" ;; *) "$ROOT/bin/bytes" "$1" 2>/dev/null || echo "–" ;; esac
}
sram_max=$(bytes "$(val "$RUN/budget.json" .sram_max)")
flash_max=$(bytes "$(val "$RUN/budget.json" .flash_max)")
[ "$sram_max" = – ] && sram_max=$(val "$RUN/emit.jsonl" .emit.sram_max)

# ---- data files for gnuplot
# evaluated: MACs (M), val acc (%), params (k), on last front (0/1), id
jq -r -s --slurpfile front "${last_front:-/dev/null}" '
	($front | map(.id)) as $f
	| .[] | select(.mini.val_acc != null and .cost.macs != null)
	| "\(.cost.macs / 1e6) \(.mini.val_acc * 100) \(.cost.params / 1e3) \(if (.id as $i | $f | index($i)) then 1 else 0 end) \(.id)"' \
	"$S/evaluated.jsonl" >"$tmp/all.dat"
awk '$4 == 0' "$tmp/all.dat" >"$tmp/rest.dat"
awk '$4 == 1' "$tmp/all.dat" | sort -g >"$tmp/front.dat"
awk -v id="$final_id" '$5 == id' "$tmp/all.dat" >"$tmp/final.dat"
pmax=$(awk 'BEGIN { m = 1 } $3 > m { m = $3 } END { print m }' "$tmp/all.dat")
n_eval=$(grep -c '' "$tmp/all.dat" || true)

# per iteration: iteration, best val acc (%), normalised hypervolume, front size, evaluated so far
for f in "$S"/summary-[0-9][0-9][0-9].json; do
	[ -s "$f" ] || continue
	i=$(basename "$f" .json | sed 's/summary-0*//')
	jq -r --arg i "$i" '"\($i) \((.best_acc.value // 0) * 100) \(.hypervolume_normalized // 0) \(.counts.front // 0) \(.counts.evaluated // 0)"' "$f"
done >"$tmp/iter.dat"

# per op of the final design: index, arena in use, live tensors, short name
if [ -s "$RUN/plan.txt" ]; then
	awk '
	/^op [0-9]+:/ { n = $2; sub(":", "", n); name = $0; sub(/^op [0-9]+: /, "", name); sub(/ \(.*/, "", name)
		gsub(/layers\./, "", name); gsub(/ /, "_", name); next }
	/in use/ { for (i = 1; i <= NF; i++) { if ($i == "use") use = $(i + 1); if ($i == "tensors") live = $(i + 1) }
		print n, use, live, name }' "$RUN/plan.txt" >"$tmp/ops.dat"
else
	: >"$tmp/ops.dat"
fi

# per op of the final design: name, predicted Cortex-M7 instructions (check-cost --latency), and
# the measured ones when m7-count.txt is there
: >"$tmp/lat.dat"
if [ -s "$RUN/chosen.jsonl" ] && [ -x "$ROOT/bin/check-cost" ]; then
	"$ROOT/bin/check-cost" --latency <"$RUN/chosen.jsonl" 2>/dev/null |
		jq -r '"\(.op) \(.name) \(.m7_instructions)"' >"$tmp/lat.dat" || : >"$tmp/lat.dat"
fi
if [ -s "$RUN/m7-count.txt" ]; then
	awk 'NR == FNR { if ($1 == "op") m[$4] = $3; next } { print $0, ($2 in m) ? m[$2] : "–" }' \
		"$RUN/m7-count.txt" "$tmp/lat.dat" >"$tmp/lat2.dat" && mv "$tmp/lat2.dat" "$tmp/lat.dat"
fi

# ---- pictures
have_gnuplot=0
command -v gnuplot >/dev/null && have_gnuplot=1
term=png
[ $have_gnuplot = 1 ] && gnuplot -e 'set terminal pngcairo' 2>/dev/null && term=pngcairo
if [ $have_gnuplot = 1 ] && [ "$n_eval" -gt 0 ]; then
	gnuplot 2>>"$tmp/gnuplot.log" <<GP || { cat "$tmp/gnuplot.log" >&2; exit 2; }
set terminal $term size 1000,650 font ",11"
set output "$RUN/pareto.png"
set termoption noenhanced
set title "Search: $n_eval designs evaluated (validation split); marker size by parameters"
set xlabel "MACs (millions)"
set ylabel "validation accuracy after mini-training (%)"
set grid
set key bottom right box opaque
sz(p) = 0.8 + 3.2 * sqrt(p / $pmax)
plot \
  "$tmp/rest.dat" using 1:2:(sz(\$3)) with points pt 6 ps variable lc rgb "#888888" title "evaluated", \
  "$tmp/front.dat" using 1:2:(sz(\$3)) with points pt 7 ps variable lc rgb "#d62728" title "Pareto front (accuracy, MACs, params)", \
  "$tmp/final.dat" using 1:2 with points pt 3 ps 4 lw 2.5 lc rgb "#1f3f9f" title "final model", \
  "$tmp/final.dat" using 1:2:(sprintf("  final: %.1fM MACs, %.0fk params", \$1, \$3)) with labels left offset 1.5,0 tc rgb "#1f3f9f" notitle
GP
fi
if [ $have_gnuplot = 1 ] && [ -s "$tmp/iter.dat" ]; then
	gnuplot 2>>"$tmp/gnuplot.log" <<GP || { cat "$tmp/gnuplot.log" >&2; exit 2; }
set terminal $term size 1000,500 font ",11"
set output "$RUN/progress.png"
set termoption noenhanced
set title "Search progress per iteration"
set xlabel "iteration"
set ylabel "best validation accuracy (%)" tc rgb "#d62728"
set y2label "front hypervolume (fraction of the budget box)" tc rgb "#1f3f9f"
set ytics nomirror tc rgb "#d62728"
set y2tics tc rgb "#1f3f9f"
set xtics 1
set grid
set key bottom right box opaque
set offsets 0.2, 0.2, 0, 0
plot "$tmp/iter.dat" using 1:2 with linespoints pt 7 ps 1.5 lw 2 lc rgb "#d62728" title "best validation accuracy", \
     "$tmp/iter.dat" using 1:3 axes x1y2 with linespoints pt 5 ps 1.5 lw 2 dt 2 lc rgb "#1f3f9f" title "hypervolume"
GP
fi
if [ $have_gnuplot = 1 ] && [ -s "$tmp/ops.dat" ]; then
	budget_kib=0
	case $sram_max in –) ;; *) budget_kib=$(awk -v b="$sram_max" 'BEGIN { print b / 1024 }') ;; esac
	ll_kib=0
	case $peak_ll in –) ;; *) ll_kib=$(awk -v b="$peak_ll" 'BEGIN { print b / 1024 }') ;; esac
	top_kib=$(awk -v b="$budget_kib" -v l="$ll_kib" 'BEGIN { m = b > l ? b : l } { if ($2 / 1024 > m) m = $2 / 1024 } END { print m * 1.25 }' "$tmp/ops.dat")
	# column 5: 1 on the op(s) where the arena peaks
	awk 'NR == FNR { if ($2 > m) m = $2; next } { print $0, ($2 == m) }' "$tmp/ops.dat" "$tmp/ops.dat" >"$tmp/ops5.dat"
	nops=$(grep -c '' "$tmp/ops.dat")
	width=$((nops * 16 + 300))
	[ "$width" -lt 1000 ] && width=1000
	gnuplot 2>>"$tmp/gnuplot.log" <<GP || { cat "$tmp/gnuplot.log" >&2; exit 2; }
set terminal $term size $width,600 font ",10"
set output "$RUN/sram.png"
set termoption noenhanced
set title "Final model: int8 arena in use per op (as emitted, in-place where possible) against the SRAM budget"
set ylabel "KiB"
set yrange [0:$top_kib]
set xrange [-1:$nops]
set style fill solid 0.85 border -1
set boxwidth 0.75
set xtics rotate by -60 font ",8" nomirror
set grid ytics
set key top right box opaque
budget = $budget_kib
ll = $ll_kib
plot "$tmp/ops5.dat" using 0:(\$2 / 1024):xtic(4) with boxes lc rgb "#1f77b4" title "arena in use during the op", \
     "" using 0:(\$5 > 0 ? \$2 / 1024 : 1/0) with boxes lc rgb "#ff7f0e" title "peak op", \
     (budget > 0 ? budget : 1/0) with lines lw 2.5 dt 2 lc rgb "#d62728" title sprintf("budget %.0f KiB", budget), \
     (ll > 0 ? ll : 1/0) with lines lw 1.5 dt 3 lc rgb "#555555" title sprintf("peak without in-place ops, layer by layer: %.1f KiB", ll)
GP
fi

# ---- tables
lines() { [ -f "$1" ] && grep -c '' "$1" || true; }
cand=$(lines "$S/candidates.jsonl")
rej=$(lines "$S/rejected.jsonl")
summary=$S/summary.json
range() { # summary-path scale unit-fmt
	jq -r --arg k "$1" --argjson s "$2" --arg f "$3" '
		.front[$k] as $x | if $x == null then "–" else
		([$x.min, $x.max, $x.avg] | map(. * $s) |
		 if $f == "pct" then map(. * 100 | . * 100 | round / 100 | tostring)
		 else map(. * 100 | round / 100 | tostring) end) as $v
		| "[\($v[0]), \($v[1])] \($v[2])" end' "$summary" 2>/dev/null || echo "–"
}
full_acc=$(val "$RUN/full.jsonl" .full.test_acc)
kd_acc=$(val "$RUN/kd.jsonl" .kd.test_acc)
float_acc=$(val "$RUN/quant.jsonl" .quant.float_acc)
# Which student was quantized: distilled, or as full-trained when distillation lowered val_acc.
kd_val="$(pct "$(val "$RUN/kd.jsonl" .kd.val_acc_before)") → $(pct "$(val "$RUN/kd.jsonl" .kd.val_acc)")"
case $(val "$RUN/quant.jsonl" .demo.deployed) in
full) deployed_line="Deployed: the student as full-trained, since distillation lowered its validation accuracy ($kd_val)." ;;
kd) deployed_line="Deployed: the distilled student (validation accuracy $kd_val)." ;;
student) deployed_line="Deployed: the student as full-trained (no teacher: TEACHER_WIDTH=0)." ;;
*) deployed_line= ;;
esac
int8_acc=$(val "$RUN/quant.jsonl" .quant.int8_acc)
macs=$(val "$RUN/chosen.jsonl" .cost.macs)
params=$(val "$RUN/chosen.jsonl" .cost.params)
flash=$(val "$RUN/emit.jsonl" '.emit.flash_bytes')
flash_formula=$(val "$RUN/emit.jsonl" '.emit.flash_formula_bytes')
arena=$(val "$RUN/emit.jsonl" .emit.arena_bytes)
arena_note=
[ "$arena" = – ] && arena=$(val "$RUN/chosen.jsonl" .cost.arena_bytes) && arena_note=" (planned by check-cost; not emitted yet)"
m7=$( [ -s "$RUN/m7-test.txt" ] && cat "$RUN/m7-test.txt" || echo "not run")
search_s=$(stage_secs search)
wall=$(val "$RUN/wall.txt" .)
# The weight formats side by side: the one shipped is measured, the other's flash is check-cost's
# formula (--weight-format) for the same design.
fmt=$(val "$RUN/quant.jsonl" .quant.weight_format)
[ "$fmt" = – ] && fmt=int8
flash_of() { # int8|ternary: measured when shipped, else check-cost's formula
	if [ "$1" = "$fmt" ] && [ "$flash" != – ]; then echo "$flash"; return; fi
	ccost=$(dirname "$0")/../bin/check-cost
	[ -x "$ccost" ] && [ -s "$RUN/chosen.jsonl" ] || { echo –; return; }
	head -1 "$RUN/chosen.jsonl" | "$ccost" --weight-format "$1" 2>/dev/null | jq -r '.cost.flash_bytes // "–"'
}
# float: the student before it was quantised (before QAT when kd trained it ternary)
if [ "$(val "$RUN/kd.jsonl" .kd.qat)" = – ]; then wfloat=$float_acc; else wfloat=$(val "$RUN/kd.jsonl" .kd.test_acc_before); fi
if [ "$fmt" = ternary ]; then w8=–; wt=$int8_acc; else w8=$int8_acc; wt=–; fi
budget_line=$(val "$RUN/budget.json" '"MACs ≤ \(.macs_max), peak SRAM ≤ \(.sram_max) (\($sb) B), flash ≤ \(.flash_max) (\($fb) B); \(.dataset) at \(.resolution)×\(.resolution), \(.classes) classes"' \
	--arg sb "$(num "$sram_max")" --arg fb "$(num "$flash_max")")

{
	echo "# lmnas run report"
	echo
	echo "Run directory: \`$RUN\`. Budget: $budget_line."
	echo
	echo "Final design \`$final_id\`: int8 test accuracy **$(pct "$int8_acc")**, measured arena" \
		"**$(num "$arena") B**$arena_note, flash **$(num "$flash") B**; on the Cortex-M7 (QEMU mps2-an500): $m7."
	echo
	echo "## Search"
	echo
	echo "![Pareto plot](pareto.png)"
	echo
	echo "![Search progress](progress.png)"
	echo
	echo "Like the paper's Table III (the front after the last iteration; [min, max] average):"
	echo
	echo "| strategy | candidates | rejected by check-cost | evaluated | front size | accuracy (val, %) | MACs (M) | params (k) |"
	echo "|---|---|---|---|---|---|---|---|"
	echo "| $(val "$RUN/chosen.jsonl" .gen.strategy) | $cand | $rej | $(val "$summary" .counts.evaluated) |" \
		"$(val "$summary" .counts.front) | $(range mini.val_acc 1 pct) | $(range cost.macs 1e-6 n) | $(range cost.params 1e-3 n) |"
	echo
	echo "Per iteration:"
	echo
	echo "| iteration | evaluated so far | front size | best val accuracy | hypervolume (fraction of budget box) |"
	echo "|---|---|---|---|---|"
	awk '{ printf "| %s | %s | %s | %.2f %% | %.4f |\n", $1, $5, $4, $2, $3 }' "$tmp/iter.dat"
	echo
	if [ -s "$RUN/rerank.jsonl" ]; then
		echo "The choice: the proxy's first $(grep -c '' "$RUN/rerank.jsonl") designs trained again on the whole" \
			"training split, and the most accurate by that (validation; \`RERANK\`, \`RERANK_EPOCHS\`):"
		echo
		echo "| design | MACs | proxy | re-ranked | |"
		echo "|---|---|---|---|---|"
		jq -r --arg chosen "$final_id" 'def p: (. * 10000 | round / 100 | tostring) + " %";
			"| `\(.id)` | \(.cost.macs) | \(.mini.val_acc | p) |" +
			" \(if .rerank.val_acc then (.rerank.val_acc | p) + " (\(.rerank.epochs) epochs)" else .rerank.error end) |" +
			" \(if .id == $chosen then "chosen" else "" end) |"' "$RUN/rerank.jsonl"
		echo
	fi
	echo "## Final model"
	echo
	echo "Like the paper's Table II (test split; float = after full training, KD = after distillation" \
		"from the wider teacher, int8 = the quantized model's reference inference, bit-identical to the" \
		"emitted C):"
	echo
	echo "| model | acc. float | acc. after KD | acc. int8 | MACs | params | flash (B) | arena, measured (B) | peak SRAM layer by layer (B) | search time |"
	echo "|---|---|---|---|---|---|---|---|---|---|"
	echo "| \`$final_id\` | $(pct "$full_acc") | $(pct "$kd_acc") | $(pct "$int8_acc") | $(num "$macs") | $(num "$params") |" \
		"$(num "$flash") | $(num "$arena")$arena_note | $(num "$peak_ll") | $(mins "$search_s") |"
	[ -s "$RUN/teacher.jsonl" ] &&
		echo "| teacher (×$(val "$RUN/budget.json" .teacher_width) channels, not deployed) | $(pct "$(val "$RUN/teacher.jsonl" .full.test_acc)") | | |" \
			"$(num "$(val "$RUN/teacher.jsonl" .cost.macs)") | $(num "$(val "$RUN/teacher.jsonl" .cost.params)") | | | | |"
	echo
	echo "Float and KD accuracy are on the test split (all 10,000 images unless TRAIN_ARGS limits it);" \
		"int8 on the first $(val "$RUN/quant.jsonl" .quant.eval_images) test images, where the same" \
		"checkpoint in float scores $(pct "$float_acc"). Flash is \`arm-none-eabi-size\` of the" \
		"Cortex-M7 build (text + data) when it was built (check-cost's formula: $(num "$flash_formula") B)."
	echo
	echo "Weights, side by side (test accuracy of the float network before quantisation and of the" \
		"quantised model's reference inference; flash measured for the format shipped, \`WEIGHTS=$fmt\`," \
		"check-cost's formula for the other; \`make demo WEIGHTS=ternary\` ships sparse ternary" \
		"pointwise weights trained quantisation-aware in the distillation stage):"
	echo
	echo "| weights | test accuracy | flash (B) |"
	echo "|---|---|---|"
	echo "| float | $(pct "$wfloat") | not deployed |"
	echo "| int8 | $(pct "$w8") | $(num "$(flash_of int8)") |"
	echo "| ternary (sparsity $(val "$RUN/kd.jsonl" '.kd.sparsity // 0.5')) | $(pct "$wt") | $(num "$(flash_of ternary)") |"
	echo
	if [ -s "$RUN/teacher.jsonl" ]; then
		echo "Training: the student $(val "$RUN/full.jsonl" .full.epochs) epochs, the teacher" \
			"$(val "$RUN/teacher.jsonl" .full.epochs) epochs side by side with it, then" \
			"$(val "$RUN/kd.jsonl" .kd.epochs) epochs of distillation. $deployed_line"
	elif [ -s "$RUN/kd.jsonl" ]; then
		echo "Training: the student $(val "$RUN/full.jsonl" .full.epochs) epochs alone (no teacher), then" \
			"$(val "$RUN/kd.jsonl" .kd.epochs) epochs of distillation from its full-trained self. $deployed_line"
	else
		echo "Training: the student $(val "$RUN/full.jsonl" .full.epochs) epochs alone, no teacher. $deployed_line"
	fi
	echo
	echo "![Peak SRAM per op](sram.png)"
	echo
	if [ -s "$tmp/lat.dat" ]; then
		echo "SRAM and latency per op on the Cortex-M7: the arena in use (as in sram.png) and the" \
			"instructions check-cost's latency model predicts (cost.m7_instructions; DSP kernels;" \
			"instructions, not cycles: ms at 216 MHz assume one per cycle)$( [ -s "$RUN/m7-count.txt" ] &&
			echo ", beside those counted in QEMU (\`make -C c m7-count\`, m7-count.txt)"):"
		echo
		echo "| op | arena in use (B) | instructions, predicted | ms at 216 MHz | instructions, QEMU |"
		echo "|---|---|---|---|---|"
		awk 'NR == FNR { use[$1] = $2; next }
			{ printf "| %s | %s | %d | %.3f | %s |\n", $2, ($1 in use) ? use[$1] : "–", $3,
			  $3 / 216000, (NF > 3 ? $4 : "–") }' "$tmp/ops.dat" "$tmp/lat.dat"
		awk '{ s += $3 } END { printf "| **all ops** | | %d | %.3f | |\n", s, s / 216000 }' "$tmp/lat.dat"
		echo
	fi
	echo "Design (the paper's JSON):"
	echo
	echo '```json'
	val "$RUN/chosen.jsonl" '.arch | tojson'
	echo '```'
	expl=$(val "$RUN/chosen.jsonl" .gen.explanation)
	echo
	echo "### The generator's explanation"
	echo
	if [ "$expl" = – ]; then
		echo "None: the $(val "$RUN/chosen.jsonl" .gen.strategy) strategy gives none (\`STRATEGY=llm GEN_ARGS=--explain\` asks the model why)."
	else
		echo "$expl" | sed 's/^/> /'
	fi
	echo
	echo "## Time"
	echo
	echo "| stage | seconds (summed over restarts) |"
	echo "|---|---|"
	[ -s "$RUN/times.txt" ] && awk '{ t[$1] += $2; if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } }
		END { for (i = 1; i <= n; i++) printf "| %s | %d |\n", order[i], t[order[i]] }' "$RUN/times.txt"
	echo "| wall time of the last \`make demo\` invocation | $wall |"
	echo
	echo "## Reproduce"
	echo
	echo '```sh'
	[ -s "$RUN/command.txt" ] && cat "$RUN/command.txt"
	echo "make report RUN=$RUN   # this report again, from the run directory alone"
	echo '```'
	echo
	echo "Every record is in the run directory (\`search/*.jsonl\`, \`chosen.jsonl\` … \`emit.jsonl\`):" \
		"\`jq . $RUN/emit.jsonl\` shows the final one with its whole history."
} >"$tmp/report.md"
mv "$tmp/report.md" "$RUN/report.md"
echo "report: wrote $RUN/report.md" >&2
