#!/bin/sh
# latency.sh — instructions per inference on the Cortex-M7 in QEMU (make m7-count of emit-c's
# folder: -icount, retired instructions, not cycles), against check-cost's latency model.
#
#   pipelines/latency.sh designs OUT [N] [SEED]   N random designs (gen-arch --strategy random,
#       the demo's budget at 28x28, 10 classes; weights from one tiny epoch of mini-train), as
#       model each
#   pipelines/latency.sh model OUT NAME Q.safetensors REC.json [EMIT_ARGS]   one int8 model
#       (REC.json: its check-cost record), plain and DSP kernels: prints
#       "NAME MACS PLAIN DSP RATIO MODEL ERROR" (MODEL: check-cost's cost.m7_instructions of
#       REC.json, ERROR: its error against the DSP count)
# Each model measured is a line of OUT/measured.jsonl: its record + m7 {name, instructions,
# plain_instructions, ops: [{name, instructions}]} (the DSP kernels, first test vector).
#   pipelines/latency.sh paper OUT   the three published models at 160x160 (../shared), as model
#   pipelines/latency.sh error OUT/measured.jsonl   check-cost's model now against those counts:
#       per model measured, predicted, error; then the mean and worst absolute error
#
# The per-op measurements are what src/cost/latency.c's coefficients are fitted to
# (pipelines/latency-fit.py OUT/measured.jsonl...).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/bin
mode=${1:?usage: latency.sh designs|model|paper|error OUT ...}
OUT=${2:?usage: latency.sh designs|model|paper|error OUT ...}
if [ "$mode" = error ]; then
	printf '%-18s %12s %12s %8s\n' model measured predicted error
	while read -r rec; do
		est=$(echo "$rec" | jq -c 'del(.m7, .cost, .check)' | "$BIN/check-cost" | jq .cost.m7_instructions)
		echo "$rec" | jq -r --argjson e "$est" \
			'"\(.m7.name // .id) \(.m7.instructions) \($e) \(($e - .m7.instructions) / .m7.instructions * 100)"'
	done <"$OUT" | awk '{ printf "%-18s %12d %12d %+7.2f%%\n", $1, $2, $3, $4; a = $4 < 0 ? -$4 : $4
		s += a; if (a > w) w = a; n++ }
		END { printf "%d models: mean absolute error %.2f%%, worst %.2f%%\n", n, s / n, w }'
	exit 0
fi
WITH_PLAIN=${WITH_PLAIN:-1} # 0: count the DSP build only (designs: what the model predicts)
mkdir -p "$OUT"
: >"$OUT/measured.jsonl"

# first "instructions N" of a m7-count output
first_count() { grep -m1 '^instructions ' "$1" | cut -d' ' -f2; }

# model NAME Q.safetensors REC [emit-c vector args...]: emits, counts plain and DSP, prints a row
model() {
	name=$1 q=$2 rec=$3
	shift 3
	"$BIN/emit-c" --model "$q" --name "$name" -o "$OUT/$name" --sram-max 4MiB "$@" \
		<"$rec" >"$OUT/$name.emit.json" 2>"$OUT/$name.emit.log"
	plain=null
	if [ "$WITH_PLAIN" = 1 ]; then
		make -s -C "$OUT/$name" m7-count PLAIN=1 >"$OUT/$name.plain.txt" 2>&1
		plain=$(first_count "$OUT/$name.plain.txt")
	fi
	make -s -C "$OUT/$name" m7-count >"$OUT/$name.dsp.txt" 2>&1
	dsp=$(first_count "$OUT/$name.dsp.txt")
	est=$(jq '.cost.m7_instructions // "–"' "$rec")
	err=$(jq -rn --argjson e "$est" "if (\$e | type) == \"number\" then
		\"\\((\$e - $dsp) / $dsp * 1000 | round / 10)%\" else \"–\" end")
	printf '%-14s %10s %12s %12s %6s %12s %7s\n' "$name" "$(jq .cost.macs "$rec")" "$plain" \
		"$dsp" "$( [ "$plain" = null ] && echo – || jq -n "$plain / $dsp * 100 | round / 100")" "$est" "$err"
	ops=$(grep '^op ' "$OUT/$name.dsp.txt" | jq -R -s -c 'split("\n") | map(select(length > 0)
		| split(" ") | {name: .[3], instructions: (.[2] | tonumber)})')
	jq -c --arg name "$name" --argjson ops "$ops" --argjson total "$dsp" --argjson plain "$plain" \
		'. + {m7: {name: $name, instructions: $total, plain_instructions: $plain, ops: $ops}}' \
		"$rec" >>"$OUT/measured.jsonl"
}

header() {
	printf '%-14s %10s %12s %12s %6s %12s %7s\n' model macs plain_insns dsp_insns ratio model_insns error
}

case $mode in
paper)
	PM=${LMNAS_SHARED:-$ROOT/../shared}/paper-models
	GOLD=$PM/golden-logits.safetensors
	header
	for m in lmanet-elite lmanet-core qwnet-core; do
		"$BIN/check-cost" "$PM/$m.json" >"$OUT/$m.cost.json"
		"$BIN/quantize" --weights "$PM/$m-kd.safetensors" --arch "$PM/$m.json" \
			--dataset safetensors --data "$GOLD" --calib 4 -o "$OUT/$m-int8.safetensors" \
			</dev/null >/dev/null 2>"$OUT/$m.quant.log"
		model "$m" "$OUT/$m-int8.safetensors" "$OUT/$m.cost.json" --test-vectors 1 \
			--dataset safetensors --data "$GOLD"
	done
	;;
model)
	name=${3:?NAME} q=${4:?Q.safetensors} rec=${5:?REC.json: its check-cost record}
	shift 5
	header
	model "$name" "$q" "$rec" "$@"
	;;
designs)
	n=${3:-20} seed=${4:-1}
	SET="--resolution 28 --classes 10"
	"$BIN/gen-arch" --strategy random --count "$n" --seed "$seed" --input-channels 1 $SET \
		--macs-max 30M --sram-max 64KiB --flash-max 256KiB 2>/dev/null |
		"$BIN/check-cost" $SET --macs-max 30M --sram-max 64KiB --flash-max 256KiB --drop \
			>"$OUT/accepted.jsonl"
	mkdir -p "$OUT/ck"
	"$BIN/mini-train" --epochs 1 --train-limit 16 --batch 16 --val-split 0.0005 --test-limit 8 \
		--threads 1 --no-autoaugment --quiet --out "$OUT/ck/{id}.safetensors" \
		<"$OUT/accepted.jsonl" >/dev/null 2>"$OUT/mini.log"
	header
	while read -r rec; do
		id=$(echo "$rec" | jq -r .id)
		echo "$rec" >"$OUT/$id.rec.json"
		echo "$rec" | jq -c '{arch}' >"$OUT/$id.arch.json"
		"$BIN/quantize" --weights "$OUT/ck/$id.safetensors" --arch "$OUT/$id.arch.json" \
			--dataset fashion-mnist --resolution 28 --calib 2 --eval 2 \
			-o "$OUT/$id.q.safetensors" </dev/null >/dev/null 2>"$OUT/$id.quant.log"
		model "d$id" "$OUT/$id.q.safetensors" "$OUT/$id.rec.json" --test-vectors 1 \
			--dataset fashion-mnist
	done <"$OUT/accepted.jsonl"
	;;
*)
	echo "latency.sh: unknown mode $mode (designs, model, paper)" >&2
	exit 2
	;;
esac
