#!/bin/sh
# bytes: sizes as every lmnas program reads them (util.c's parse_bytes), for the shell scripts.
# demo.sh once converted sizes with awk and took 512kB for 524288 and 1MB for 1048576.
. "$(dirname "$0")/../lib.sh"
B=$BIN/bytes
check "--help exits 0" "$B" --help
check_eq "64KiB 512kB 1MB 2MiB 512K 65536 1.5K, one a line" \
	"$("$B" 64KiB 512kB 1MB 2MiB 512K 65536 1.5K | tr '\n' ' ')" \
	"65536 512000 1000000 2097152 524288 65536 1536 "
"$B" 64KiB 12parsecs >"$TMP/o" 2>"$TMP/e"
check_eq "a SIZE that is not a size: status 2" "$?" 2
check "it is named" grep -q "'12parsecs' is not a size" "$TMP/e"
"$B" </dev/null >/dev/null 2>&1
check_eq "no SIZE: status 2" "$?" 2
# check-cost reads --sram-max the same way: 512kB is 512000 bytes to it too.
ARCH='{"input_channels":1,"blocks":[{"output_channels":8,"num_layers":1,"kernel_size":3,"stride":2,"expansion_factor":1,"use_se":false,"se_ratio":0,"conv_type":"depthwise","skip_op":"identity","activation":"relu6"}]}'
limit=$(echo "{\"arch\":$ARCH,\"resolution\":28,\"classes\":10}" |
	"$BIN/check-cost" --sram-max 1kB 2>/dev/null | jq '.check.violations[] | select(.metric | test("sram")) | .limit')
check_eq "check-cost --sram-max 1kB limits at what bytes prints" "$limit" "$("$B" 1kB)"

# The demo's report gives its budgets in bytes by the same parser.
R=$TMP/run
cp -R "$ROOT/tests/golden/run-mini" "$R"
jq -c '.sram_max = "512kB" | .flash_max = "1MB"' "$ROOT/tests/golden/run-mini/budget.json" >"$R/budget.json"
"$ROOT/pipelines/report.sh" "$R" >/dev/null 2>&1
check "the report's budget line: 512kB is 512,000 B, 1MB 1,000,000 B" \
	grep -q 'peak SRAM ≤ 512kB (512,000 B), flash ≤ 1MB (1,000,000 B)' "$R/report.md"
done_testing
