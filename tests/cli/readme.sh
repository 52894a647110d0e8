#!/bin/sh
# Every ```sh block of README.md runs, in order, so the README cannot rot. What this test changes,
# plainly (everything else runs exactly as written):
#   - It runs in a copy of the repository (bin/, build/ and the sources; not runs/ or .git), so the
#     README's runs/ paths land in the copy.
#   - `make check` is not run (it is this test suite: running it here would recurse); the test
#     checks that the target exists with `make -n check` instead.
#   - `make demo` runs with tiny budgets from the environment (pipelines/demo.sh reads its settings
#     from there): 2 iterations of 2 candidates under a 4M-MAC budget, a few hundred training
#     images per stage, 1 epoch each, int8 accuracy on 50 test images, 2 test vectors in QEMU.
#     The pipeline and every stage are the real ones; only the sizes shrink (the 30-minute default
#     is measured by hand).
#   - The LLM URLs (llama.cpp's http://127.0.0.1:8080, Ollama's http://127.0.0.1:11434) point at
#     tests/mock-llm, a scripted OpenAI-compatible server on a free port of 127.0.0.1.
#   - ```text blocks are example output and are not run; the first sh blocks must be `make demo`
#     and `make check`.
# A block that needs a program not built yet (its bin/NAME is missing) is reported as skipped.
. "$(dirname "$0")/../lib.sh"
README=$ROOT/README.md

# The blocks: block-N.sh for each ```sh fence.
awk -v dir="$TMP" '
	/^```sh[ \t]*$/ { n++; f = sprintf("%s/block-%d.sh", dir, n); inb = 1; next }
	/^```/ && inb { inb = 0; close(f); next }
	inb { print > f }' "$README"
nblocks=$(ls "$TMP"/block-*.sh 2>/dev/null | grep -c '')
check "README has runnable sh blocks" test "$nblocks" -ge 6
check_eq "the first command is make demo" "$(cat "$TMP/block-1.sh")" "make demo"
check_eq "the second command is make check" "$(cat "$TMP/block-2.sh")" "make check"
check "make check is a target (not run here: this is make check)" make -n -C "$ROOT" check

# The copy.
mkdir -p "$TMP/repo"
(cd "$ROOT" && tar cf - --exclude=./runs --exclude=./.git . ) | (cd "$TMP/repo" && tar xf -)
check "the copy builds nothing new (make -q all)" make -q -C "$TMP/repo" all

# The mock LLM: two designs and their explanations, in the order gen-arch asks.
cc -std=c11 -D_GNU_SOURCE -O2 -I/usr/include/cjson -o "$TMP/mock-llm" "$ROOT/tests/mock-llm/mock-llm.c" -lcjson ||
	fail "build the mock LLM server"
# blk C_out stride activation [expansion]: a grey image's first mbconv block expands 9, 12 or 18 times
# (data/search-space.json's first_block), the others 3.
blk() { printf '{"output_channels":%s,"num_layers":1,"kernel_size":3,"stride":%s,"expansion_factor":%s,"use_se":false,"se_ratio":0.25,"conv_type":"mbconv","skip_op":"residual","activation":"%s"}' "$1" "$2" "${4:-3}" "$3"; }
A="{\"input_channels\":1,\"blocks\":[$(blk 16 2 relu6 9),$(blk 24 1 relu6),$(blk 32 2 swish),$(blk 48 1 swish),$(blk 64 1 swish)]}"
B="{\"input_channels\":1,\"blocks\":[$(blk 16 2 relu6 9),$(blk 16 2 relu6),$(blk 24 1 swish),$(blk 32 1 swish),$(blk 48 1 swish)]}"
say() { jq -nc --arg c "$1" '{content: $c}'; }
for i in 1 2 3; do say "$A"; say "Stride 2 early keeps the arena small; swish late adds accuracy."; say "$B"; say "Narrower and shallower for fewer MACs."; done >"$TMP/script.jsonl"
"$TMP/mock-llm" --script "$TMP/script.jsonl" --port-file "$TMP/port" --log "$TMP/requests.jsonl" --lifetime 900 &
MPID=$!
trap 'kill "$MPID" 2>/dev/null; rm -rf "$TMP"' EXIT
i=0; while [ ! -s "$TMP/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
URL="http://127.0.0.1:$(cat "$TMP/port" 2>/dev/null)"

# Tiny budgets for make demo (from the environment; the README's command is unchanged).
export ITER=2 CANDIDATES=2 MACS_MAX=4M MINI_EPOCHS=1 MINI_LIMIT=300 FULL_EPOCHS=1 FULL_LIMIT=300 \
	TEACHER_EPOCHS=1 TEACHER_LIMIT=300 KD_EPOCHS=1 KD_LIMIT=300 CALIB=20 VECTORS=2 QUANT_EVAL=50 \
	MINI_ARGS="--no-autoaugment --test-limit 100 --val-split 0.005" \
	TRAIN_ARGS="--no-autoaugment --mixup 0 --test-limit 100 --val-split 0.005"
export OMP_WAIT_POLICY=passive LMNAS_SHARED="$SHARED"

n=1
while [ "$n" -le "$nblocks" ]; do
	b=$TMP/block-$n.sh
	[ "$n" -eq 2 ] && { n=3; continue; } # make check: see above
	first=$(head -1 "$b" | cut -c1-60)
	sed -e "s|http://127.0.0.1:8080|$URL|g; s|http://127.0.0.1:11434|$URL|g" "$b" >"$b.run"
	missing=
	for p in $(grep -o 'bin/[a-z-]*' "$b" | sort -u); do
		[ -x "$TMP/repo/$p" ] || missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		fail "README block $n ($first) names programs that were not built:$missing"
	elif (cd "$TMP/repo" && sh -e "$b.run") >"$TMP/out-$n" 2>&1; then
		ok "README block $n runs: $first"
	else
		fail "README block $n runs: $first"
		tail -20 "$TMP/out-$n" | sed 's/^/# /'
	fi
	n=$((n + 1))
done

# What the blocks printed, where they ran.
for n in $(seq 1 "$nblocks"); do
	f=$TMP/out-$n
	[ -f "$f" ] || continue
	case $(cat "$TMP/block-$n.sh") in
	"make demo")
		check "make demo ends by printing where the report is" grep -q 'The report: .*runs/demo/report.md' "$f"
		for png in pareto progress sram; do
			check "make demo drew $png.png" sh -c "head -c 8 '$TMP/repo/runs/demo/$png.png' | od -An -c | grep -q 'P   N   G'"
		done
		check "make demo ran the model on the Cortex-M7" grep -q '2/2 test vectors match' "$TMP/repo/runs/demo/m7-test.txt"
		check "stage banners with the elapsed time" grep -q '^==== demo \[8/9\] .*(elapsed ' "$f" ;;
	*"--strategy random --count 5"*)
		check_eq "the pipe prints feasible designs as JSON lines" \
			"$(jq -e -s 'length >= 1 and all(.id and .macs > 0 and .arena > 0)' "$f" 2>/dev/null)" true ;;
	*"--plan"*)
		check "check-cost --plan prints ops with the arena in use" grep -q 'in use' "$f" ;;
	*"--strategy llm"*)
		check "gen-arch --explain printed the mock's explanation" grep -q 'Stride 2 early' "$f" ;;
	*"RUN=runs/ollama"*)
		check "the llm search kept its transcripts" test -s "$TMP/repo/runs/ollama/transcripts/llm.jsonl" ;;
	*"RUN=runs/hosts"*)
		check_eq "the fanned-out search evaluated both candidates" "$(grep '^{' "$f" | jq -s 'map(select(.val_acc != null)) | length')" 2 ;;
	P=*)
		check "the paper model ran on the Cortex-M7 with matching vectors" grep -q '1/1 test vectors match' "$f" ;;
	esac
done
done_testing
