#!/bin/sh
# check-cost as a newcomer would use it: paper config files, pipes into jq, bad lines, options.
. "$(dirname "$0")/../lib.sh"
CC_BIN="$BIN/check-cost"
GOLD="$ROOT/tests/golden"

# The paper's config files as they are (multi-line JSON documents). Taken from the shared folder
# when present, else rebuilt (pretty-printed) from the committed golden file.
for m in lmanet-elite lmanet-core qwnet-core; do
	if [ -f "$SHARED/paper-models/$m.json" ]; then
		cp "$SHARED/paper-models/$m.json" "$TMP/$m.json"
	else
		jq --arg m "$m" 'select(.name == $m) | .arch' "$GOLD/cost-paper.jsonl" >"$TMP/$m.json"
	fi
done

check "--help exits 0" "$CC_BIN" --help
"$CC_BIN" --help | grep -q -- "--sram-max" && ok "--help lists --sram-max" || fail "--help lists --sram-max"

got=$("$CC_BIN" "$TMP/lmanet-elite.json" "$TMP/lmanet-core.json" "$TMP/qwnet-core.json" |
	jq -r '[.cost.macs, .cost.params, .cost.peak_sram_bytes] | @tsv' | tr '\t\n' ',;')
check_eq "paper files: MACs, params, peak" "$got" \
	"81963264,497997,204800;76432000,453220,307200;67051008,154749,409600;"

# stdin records | jq .cost, as the README says
jq -c '{arch}' "$GOLD/cost-paper.jsonl" >"$TMP/records"
got=$("$CC_BIN" <"$TMP/records" | jq .cost | jq -s 'length')
check_eq "check-cost < records | jq .cost" "$got" 3
got=$("$CC_BIN" <"$TMP/records" | jq -r '.cost.peak_op' | sed -n 3p)
check_eq "peak_op names the layer" "$got" "layers.2.layers.1 dw 5x5 s1 (40x40x128 -> 40x40x128)"
got=$("$CC_BIN" <"$TMP/records" | jq -r '.cost.arena_bytes' | sed -n 3p)
check_eq "qwnet-core in-place arena" "$got" 307200

# a bad line: stderr names it, the stream goes on, exit 1
{ sed -n 1p "$TMP/records"; echo 'this is not json'; sed -n 2p "$TMP/records"; } >"$TMP/mixed"
"$CC_BIN" <"$TMP/mixed" >"$TMP/out" 2>"$TMP/err"
rc=$?
check_eq "non-JSON line: exit 1" "$rc" 1
check_eq "non-JSON line: the other records come out" "$(wc -l <"$TMP/out" | tr -d ' ')" 2
grep -q "stdin:2" "$TMP/err" && ok "non-JSON line: stderr names line 2" || fail "stderr names line 2: $(cat "$TMP/err")"

# bad archs: check.ok false with a named problem, never a crash
cat >"$TMP/bad" <<'JSON'
{"arch":{"input_channels":3,"blocks":[{"output_channels":1000000000,"num_layers":1,"kernel_size":3,"stride":1,"expansion_factor":3,"use_se":false,"se_ratio":0,"conv_type":"mbconv","skip_op":"identity","activation":"relu6"}]}}
{"arch":{"input_channels":3,"blocks":[{"output_channels":16,"num_layers":1000000,"kernel_size":3,"stride":1,"expansion_factor":3,"use_se":false,"se_ratio":0,"conv_type":"mbconv","skip_op":"identity","activation":"relu6"}]}}
{"arch":{"input_channels":3,"blocks":[{"output_channels":16,"num_layers":1,"kernel_size":4,"stride":0,"expansion_factor":3,"use_se":false,"se_ratio":0,"conv_type":"mbconv","skip_op":"identity","activation":"relu6"}]}}
{"resolution":1,"arch":{"input_channels":3,"blocks":[{"output_channels":16,"num_layers":1,"kernel_size":3,"stride":2,"expansion_factor":3,"use_se":false,"se_ratio":0,"conv_type":"mbconv","skip_op":"identity","activation":"relu6"},{"output_channels":16,"num_layers":1,"kernel_size":3,"stride":2,"expansion_factor":3,"use_se":false,"se_ratio":0,"conv_type":"mbconv","skip_op":"identity","activation":"relu6"}]}}
{"arch":"none"}
JSON
"$CC_BIN" <"$TMP/bad" >"$TMP/out" 2>"$TMP/err"
check_eq "bad archs: exit 0 (rejections are results)" "$?" 0
check_eq "bad archs: all 5 written" "$(wc -l <"$TMP/out" | tr -d ' ')" 5
check_eq "bad archs: all rejected" "$(jq -r '.check.ok' "$TMP/out" | sort -u)" false
check_eq "bad archs: metric arch" "$(jq -r '.check.violations[0].metric' "$TMP/out" | sort -u)" arch
jq -r '.check.violations[0].message' "$TMP/out" >"$TMP/msgs"
grep -q "output_channels is 1000000000" "$TMP/msgs" && grep -q "num_layers is 1000000" "$TMP/msgs" &&
	grep -q "collapses" "$TMP/msgs" && ok "bad archs: messages name the problem" ||
	fail "bad archs: messages: $(cat "$TMP/msgs")"

# limits, --drop, space
got=$("$CC_BIN" --macs-max 70M --sram-max 320KiB <"$TMP/records" | jq -c '.check.ok' | tr '\n' ' ')
check_eq "--macs-max 70M --sram-max 320KiB" "$got" "false false true "
got=$("$CC_BIN" --drop --macs-max 70M <"$TMP/records" | jq -r .cost.macs)
check_eq "--drop keeps only accepted" "$got" 67051008
got=$("$CC_BIN" --sram-max=300000 <"$TMP/records" | jq -r '.check.violations[] | select(.metric == "sram") | .message' | head -1)
case "$got" in *"arena needs 300.0KiB (plus 8.0KiB of stack: 308.0KiB), over the 293.0KiB SRAM limit"*"layers.1.layers.0 expand 1x1"*) ok "SRAM message names arena and peak op" ;;
	*) fail "SRAM message: $got" ;; esac
got=$("$CC_BIN" --space "$ROOT/data/search-space.json" <"$TMP/records" | jq -r '[.check.violations[].field] | join(",")' | tr '\n' ';')
check_eq "--space: fields outside the space" "$got" ";blocks[0].expansion_factor,blocks[1].expansion_factor;blocks[1].expansion_factor,blocks[3].expansion_factor;"

# resolution and classes: the record wins over the command line
got=$(jq -c '.resolution = "32x48" | .classes = 10' "$TMP/records" | head -1 | "$CC_BIN" --resolution 64 | jq -c '[.cost.resolution, .cost.classes]')
check_eq "record resolution/classes win" "$got" "[[32,48],10]"
got=$(head -1 "$TMP/records" | "$CC_BIN" --resolution 64 --classes 7 | jq -c '[.cost.resolution, .cost.classes]')
check_eq "--resolution/--classes apply otherwise" "$got" "[[64,64],7]"

# --seen: a history of the output rejects the same archs
"$CC_BIN" <"$TMP/records" >"$TMP/history"
got=$("$CC_BIN" --seen "$TMP/history" <"$TMP/records" | jq -r '.check.violations[0].metric' | sort -u)
check_eq "--seen rejects evaluated archs" "$got" seen

# --plan, usage errors
"$CC_BIN" --plan "$TMP/qwnet-core.json" >"$TMP/plan"
grep -q "^arena 307200 bytes" "$TMP/plan" && grep -q "in place of" "$TMP/plan" && grep -q "<- peak" "$TMP/plan" &&
	ok "--plan prints the arena, in-place ops and the peak" || fail "--plan output"
"$CC_BIN" --bogus </dev/null 2>/dev/null
check_eq "unknown option: exit 2" "$?" 2
"$CC_BIN" --macs-max lots </dev/null 2>/dev/null
check_eq "bad value: exit 2" "$?" 2
"$CC_BIN" "$TMP/nonexistent.json" >/dev/null 2>&1
check_eq "missing file: exit 1" "$?" 1
# --train-us-max: the deterministic training-time estimate is a limit like a budget
TT='{"input_channels":1,"blocks":[{"output_channels":16,"num_layers":1,"kernel_size":3,"stride":2,"expansion_factor":1,"use_se":false,"se_ratio":0,"conv_type":"depthwise","skip_op":"identity","activation":"relu6"}]}'
us=$(echo "{\"arch\":$TT}" | "$CC_BIN" --resolution 28 --classes 10 --train-us-max 1e9 | jq .cost.train_us_per_image)
check "--train-us-max adds cost.train_us_per_image" jq -n -e "$us > 0"
check_eq "under the limit: accepted" "$(echo "{\"arch\":$TT}" | "$CC_BIN" --resolution 28 --classes 10 --train-us-max "$(jq -n "$us + 1")" | jq .check.ok)" true
check_eq "over it: rejected, metric train_time" \
	"$(echo "{\"arch\":$TT}" | "$CC_BIN" --resolution 28 --classes 10 --train-us-max "$(jq -n "$us - 1")" | jq -c '[.check.ok, .check.violations[0].metric]')" '[false,"train_time"]'
# the latency model: cost.m7_instructions (predicted Cortex-M7 instructions, DSP kernels) and
# cost.m7_ms at --mcu-mhz; --latency-max is a limit like a budget; --latency lists the ops
rec=$(echo "{\"arch\":$TT}" | "$CC_BIN" --resolution 28 --classes 10)
ins=$(echo "$rec" | jq .cost.m7_instructions)
check "cost.m7_instructions is predicted ($ins)" jq -n -e "$ins > 10000"
check_eq "cost.m7_ms at 216 MHz is instructions / 216000" "$(echo "$rec" | jq .cost.m7_ms)" \
	"$(jq -n "$ins / 216000 * 1000 | round / 1000")"
ms100=$(echo "{\"arch\":$TT}" | "$CC_BIN" --resolution 28 --classes 10 --mcu-mhz 100 | jq .cost.m7_ms)
check_eq "--mcu-mhz 100: cost.m7_ms is instructions / 100000" "$ms100" "$(jq -n "$ins / 100000 * 1000 | round / 1000")"
check_eq "under --latency-max: accepted" "$(echo "{\"arch\":$TT}" | "$CC_BIN" --resolution 28 --classes 10 --latency-max "$(jq -n "$ms100 + 0.01")" --mcu-mhz 100 | jq .check.ok)" true
check_eq "over --latency-max: rejected, metric latency" \
	"$(echo "{\"arch\":$TT}" | "$CC_BIN" --resolution 28 --classes 10 --latency-max "$(jq -n "$ms100 - 0.01")" --mcu-mhz 100 | jq -c '[.check.ok, .check.violations[0].metric]')" '[false,"latency"]'
"$CC_BIN" --mcu-mhz 0 </dev/null 2>/dev/null
check_eq "--mcu-mhz 0: exit 2" "$?" 2
"$CC_BIN" --latency-max fast </dev/null 2>/dev/null
check_eq "--latency-max fast: exit 2" "$?" 2
"$CC_BIN" --resolution 28 --classes 10 --latency "$TMP/qwnet-core.json" >"$TMP/lat"
check_eq "--latency: one line per op" "$(grep -c '"op"' "$TMP/lat")" "$("$CC_BIN" --resolution 28 --classes 10 --plan "$TMP/qwnet-core.json" | grep -c '^op [0-9]*:')"
check "--latency: every op predicted, kinds pw dw dw_group gap scale add" \
	jq -s -e 'all(.[]; .m7_instructions > 0) and (map(.kind) | unique | . - ["pw","dw","dw_group","gap","scale","add"] | length == 0)' "$TMP/lat"
total=$("$CC_BIN" --resolution 28 --classes 10 "$TMP/qwnet-core.json" | jq .cost.m7_instructions)
check "the ops sum to cost.m7_instructions but for the input copy and argmax (within 2%)" \
	jq -s -e --argjson t "$total" '(map(.m7_instructions) | add) as $s | $s <= $t and ($t - $s) / $t < 0.02' "$TMP/lat"
# --weight-format ternary: the flash of sparse ternary convs (1.6 bits a weight), also for --flash-max
WT='{"input_channels":1,"blocks":[{"output_channels":64,"num_layers":2,"kernel_size":3,"stride":2,"expansion_factor":4,"use_se":false,"se_ratio":0,"conv_type":"mbconv","skip_op":"residual","activation":"relu6"}]}'
f8=$(echo "{\"arch\":$WT}" | "$CC_BIN" --resolution 28 --classes 10 | jq .cost.flash_bytes)
ft=$(echo "{\"arch\":$WT}" | "$CC_BIN" --resolution 28 --classes 10 --weight-format ternary | jq .cost.flash_bytes)
check "--weight-format ternary: less flash than int8 ($ft < $f8)" test "$ft" -lt "$f8"
check_eq "--flash-max at the ternary flash: accepted" \
	"$(echo "{\"arch\":$WT}" | "$CC_BIN" --resolution 28 --classes 10 --weight-format ternary --flash-max "$ft" | jq .check.ok)" true
# the demo's design (README): ternary depthwise and SE weights and 16-bit per-channel parameters
# bring its flash to at most a third of int8's (pointwise-only 2-bit ternary left 56 percent)
DEMO='{"input_channels":1,"blocks":[{"output_channels":24,"num_layers":1,"kernel_size":7,"stride":2,"expansion_factor":1,"use_se":false,"se_ratio":0,"conv_type":"depthwise","skip_op":"identity","activation":"relu6"},{"output_channels":32,"num_layers":1,"kernel_size":5,"stride":2,"expansion_factor":6,"use_se":false,"se_ratio":0,"conv_type":"mbconv","skip_op":"identity","activation":"relu6"},{"output_channels":96,"num_layers":2,"kernel_size":7,"stride":2,"expansion_factor":1,"use_se":false,"se_ratio":0,"conv_type":"depthwise","skip_op":"residual","activation":"relu6"},{"output_channels":64,"num_layers":2,"kernel_size":7,"stride":2,"expansion_factor":1,"use_se":true,"se_ratio":0.25,"conv_type":"depthwise","skip_op":"residual","activation":"swish"},{"output_channels":160,"num_layers":3,"kernel_size":5,"stride":1,"expansion_factor":1,"use_se":false,"se_ratio":0,"conv_type":"depthwise","skip_op":"identity","activation":"leakyrelu"}]}'
f8=$(echo "{\"arch\":$DEMO}" | "$CC_BIN" --resolution 28 --classes 10 | jq .cost.flash_bytes)
ft=$(echo "{\"arch\":$DEMO}" | "$CC_BIN" --resolution 28 --classes 10 --weight-format ternary | jq .cost.flash_bytes)
check "the demo's design: ternary flash at most a third of int8's ($ft * 3 <= $f8)" test $((ft * 3)) -le "$f8"
"$CC_BIN" --weight-format int4 </dev/null 2>/dev/null
check_eq "--weight-format int4: exit 2" "$?" 2
done_testing
