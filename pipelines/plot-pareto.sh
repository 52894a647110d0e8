#!/bin/sh
# pipelines/plot-pareto.sh RUN [OUT.png] — the paper's Figure 1 for a search run: validation
# accuracy against MACs for every evaluated design, marker size by parameters, the Pareto front
# highlighted and joined, the best-accuracy design labelled. Reads RUN/evaluated.jsonl (ranks with
# bin/pareto); writes RUN/pareto.png by default. Needs gnuplot and jq.
set -eu
RUN=${1:?usage: plot-pareto.sh RUN [OUT.png]}
OUT=${2:-$RUN/pareto.png}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/bin}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$BIN/pareto" "$RUN/evaluated.jsonl" >"$tmp/all.jsonl" 2>/dev/null || true
# columns: MACs (M), accuracy (%), params (k), id
sel='select(.mini.val_acc != null and .cost.macs != null)
     | "\(.cost.macs / 1e6) \(.mini.val_acc * 100) \(.cost.params / 1e3) \(.id)"'
jq -r "select(.pareto.front | not) | $sel" "$tmp/all.jsonl" >"$tmp/rest.dat"
jq -r "select(.pareto.front) | $sel" "$tmp/all.jsonl" | sort -g >"$tmp/front.dat"
jq -r "select(.pareto.best_acc) | $sel" "$tmp/all.jsonl" >"$tmp/best.dat"
# The accuracy-vs-MACs staircase (the 2-D front of the picture's own axes).
"$BIN/pareto" --front --objective mini.val_acc:max --objective cost.macs:min "$RUN/evaluated.jsonl" 2>/dev/null |
	jq -r "$sel" | sort -g >"$tmp/stairs.dat" || true
if [ ! -s "$tmp/front.dat" ] && [ ! -s "$tmp/rest.dat" ]; then
	echo "plot-pareto: no evaluated design in $RUN/evaluated.jsonl" >&2
	exit 1
fi
# Marker size: proportional to sqrt(params), scaled so the largest is about 4.
pmax=$(cat "$tmp/rest.dat" "$tmp/front.dat" | awk 'BEGIN{m=0} $3>m{m=$3} END{print (m>0?m:1)}')
n=$(cat "$tmp/rest.dat" "$tmp/front.dat" | grep -c '')
term=png
gnuplot -e 'set terminal pngcairo' 2>/dev/null && term=pngcairo
gnuplot <<GP
set terminal $term size 1000,700 font ",11"
set output "$OUT"
set termoption noenhanced
set title "Search $(basename "$RUN"): $n evaluated designs, marker size by parameters"
set xlabel "MACs (millions)"
set ylabel "validation accuracy (%)"
set grid
set key bottom right box opaque
sz(p) = 0.6 + 3.4 * sqrt(p / $pmax)
plot \
  "$tmp/rest.dat" using 1:2:(sz(\$3)) with points pt 6 ps variable lc rgb "#888888" title "evaluated", \
  "$tmp/stairs.dat" using 1:2 with steps lw 1.5 dt 2 lc rgb "#d62728" title "front, accuracy vs MACs", \
  "$tmp/front.dat" using 1:2:(sz(\$3)) with points pt 7 ps variable lc rgb "#d62728" title "Pareto front (accuracy, MACs, params)", \
  "$tmp/best.dat" using 1:2:(sprintf(" best %.2f%%", \$2)) with labels left offset 1,0.5 tc rgb "#1f3f9f" notitle, \
  "$tmp/best.dat" using 1:2 with points pt 8 ps 2.5 lw 2 lc rgb "#1f3f9f" title "best accuracy"
GP
echo "plot-pareto: wrote $OUT" >&2
