#!/bin/sh
# options: every program's option table. For each program: the options its --help lists are the
# options its man page lists (the tags of OPTIONS) and no others, so the two cannot drift;
# --name=value reaches the option's parser; an unknown option says "try --help" with exit 2.
. "$(dirname "$0")/../lib.sh"

# The long options of a --help text: the lines of its option list ("  --name", "  -o, --name").
help_options() {
	"$BIN/$1" --help | sed -n 's/^  \(-[a-zA-Z], \)\{0,1\}--\([a-z0-9][a-z0-9-]*\).*/\2/p' | sort -u
}

# The long options of a man page: the tag line after each .TP in OPTIONS (up to the next .SH).
man_options() {
	awk '/^\.SH /{in_opts = ($0 ~ /^\.SH OPTIONS/)} in_opts && tag {print} {tag = in_opts && /^\.TP/}' \
		"$ROOT/man/man1/$1.1" | sed 's/\\-/-/g' | grep -o -- '--[a-z0-9][a-z0-9-]*' | sed 's/^--//' |
		sort -u
}

# program, an option that takes a value, a bad value for it ("-": it has none)
cat >"$TMP/list" <<'LIST'
bytes - -
check-cost classes 0
emit-c test-vectors many
evaluate batch 0
feedback max-front -1
full-train epochs 0
gen-arch count lots
kd epochs 0
mini-train epochs 0
pareto train-minutes never
quantize calib 0
rank-corr - -
LIST
check_eq "every program in src/cmd is in the list" \
	"$(ls "$ROOT/src/cmd" | sed 's/\.c$//' | sort | tr '\n' ' ')" \
	"$(cut -d' ' -f1 "$TMP/list" | sort | tr '\n' ' ')"

while read -r prog opt bad; do
	[ -x "$BIN/$prog" ] || { fail "$prog is not built (run make)"; continue; }
	help_options "$prog" >"$TMP/h"
	if [ -f "$ROOT/man/man1/$prog.1" ]; then
		man_options "$prog" >"$TMP/m"
		check_eq "$prog: --help lists options missing from $prog.1" \
			"$(comm -23 "$TMP/h" "$TMP/m" | tr '\n' ' ')" ""
		check_eq "$prog: $prog.1 lists options missing from --help" \
			"$(comm -13 "$TMP/h" "$TMP/m" | tr '\n' ' ')" ""
	else
		fail "$prog has no man page man/man1/$prog.1"
	fi
	"$BIN/$prog" --no-such-option </dev/null >/dev/null 2>"$TMP/e"
	rc=$?
	check_eq "$prog: an unknown option exits 2" "$rc" 2
	check "$prog: ... and says to try --help" \
		grep -q "^$prog: unknown option --no-such-option (try --help)\$" "$TMP/e"
	if [ "$opt" = "-" ]; then # no option takes a value: a flag refuses one
		"$BIN/$prog" --help=yes </dev/null >/dev/null 2>"$TMP/e"
		rc=$?
		check_eq "$prog --help=yes: exit 2" "$rc" 2
		check "$prog --help=yes: --help takes no value" grep -q -- "--help takes no value" "$TMP/e"
		continue
	fi
	"$BIN/$prog" "--$opt=$bad" </dev/null >/dev/null 2>"$TMP/e"
	rc=$?
	check_eq "$prog --$opt=$bad: exit 2" "$rc" 2
	check "$prog --$opt=$bad: the message names the option and the value" \
		grep -q -- "--$opt: '$bad'" "$TMP/e"
done <"$TMP/list"

# --name=value and --name value give the same result.
printf '%s\n' '{"arch":{"input_channels":1,"blocks":[{"type":"conv","kernel":3,"stride":2,"output_channels":8,"activation":"relu"}]}}' >"$TMP/a.jsonl"
"$BIN/check-cost" --resolution=28 --classes=10 --macs-max=1M <"$TMP/a.jsonl" >"$TMP/eq" 2>&1
"$BIN/check-cost" --resolution 28 --classes 10 --macs-max 1M <"$TMP/a.jsonl" >"$TMP/sp" 2>&1
check "check-cost: --name=value as --name value" cmp -s "$TMP/eq" "$TMP/sp"
"$BIN/gen-arch" --count=2 --seed=5 --resolution=28 --classes=10 --input-channels=1 \
	>"$TMP/g1" 2>/dev/null
check_eq "gen-arch --count=2 writes two candidates" "$(wc -l <"$TMP/g1" | tr -d ' ')" 2
"$BIN/gen-arch" --count 2 --seed 5 --resolution 28 --classes 10 --input-channels 1 \
	>"$TMP/g2" 2>/dev/null
check "gen-arch: the same two as with --count 2" cmp -s "$TMP/g1" "$TMP/g2"

# A flag takes no value.
"$BIN/check-cost" --drop=1 </dev/null >/dev/null 2>"$TMP/e"
rc=$?
check_eq "check-cost --drop=1: exit 2" "$rc" 2
check "... it says --drop takes no value" grep -q -- "--drop takes no value (try --help)" "$TMP/e"

# quantize: --weight-format is the format; the old --weights ternary still sets it, with a note.
"$BIN/quantize" --weights ternary --dataset fashion-mnist -o "$TMP/q" </dev/null >/dev/null 2>"$TMP/e"
check "quantize --weights ternary: a deprecation note naming --weight-format" \
	grep -q -- "--weights ternary is deprecated: say --weight-format ternary" "$TMP/e"
"$BIN/quantize" --weight-format=binary </dev/null >/dev/null 2>"$TMP/e"
check "quantize --weight-format=binary is refused by name" \
	grep -q -- "--weight-format: 'binary' is not int8 or ternary" "$TMP/e"
PM="$SHARED/paper-models"
if [ -f "$PM/qwnet-core-kd.safetensors" ]; then
	for spelling in "--weight-format=ternary" "--weights ternary"; do
		# shellcheck disable=SC2086 # the spelling is two words in the old form
		"$BIN/quantize" --weights "$PM/qwnet-core-kd.safetensors" --arch "$PM/qwnet-core.json" \
			$spelling --dataset fashion-mnist --resolution 32 --calib 2 --eval 2 \
			-o "$TMP/t.safetensors" </dev/null >"$TMP/trec" 2>/dev/null
		check_eq "quantize $spelling: quant.weight_format" \
			"$(jq -r .quant.weight_format "$TMP/trec")" ternary
	done
else
	skip "no paper models in $PM (quantize --weight-format runs)"
fi
done_testing
