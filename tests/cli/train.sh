#!/bin/sh
# tests/cli/train.sh — mini-train, full-train and kd on tiny slices of Fashion-MNIST: records in and
# out, pass-through, divergence, malformed lines, reproducibility, SIGTERM + --resume, kd.
. "$(dirname "$0")/../lib.sh"

if [ ! -r /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
	skip "Fashion-MNIST is not installed"
	done_testing
fi
ARCH='{"input_channels":1,"blocks":[{"output_channels":8,"num_layers":1,"kernel_size":3,"stride":2,"expansion_factor":1,"use_se":false,"se_ratio":0,"conv_type":"depthwise","skip_op":"identity","activation":"relu6"},{"output_channels":16,"num_layers":2,"kernel_size":3,"stride":2,"expansion_factor":2,"use_se":true,"se_ratio":0.25,"conv_type":"mbconv","skip_op":"residual","activation":"swish"}]}'
WIDE='{"input_channels":1,"blocks":[{"output_channels":16,"num_layers":1,"kernel_size":3,"stride":2,"expansion_factor":1,"use_se":false,"se_ratio":0,"conv_type":"depthwise","skip_op":"identity","activation":"relu6"},{"output_channels":32,"num_layers":2,"kernel_size":3,"stride":2,"expansion_factor":2,"use_se":false,"se_ratio":0,"conv_type":"mbconv","skip_op":"residual","activation":"relu6"}]}'
SMALL="--train-limit 256 --val-split 0.005 --test-limit 200 --batch 64 --threads 1 --no-progress"

# Records: a checked arch, an unchecked one (passes untouched), a malformed line, a diverging arch.
{
	echo "{\"id\":\"a\",\"arch\":$ARCH,\"check\":{\"ok\":true}}"
	echo "{\"id\":\"b\",\"arch\":$ARCH,\"check\":{\"ok\":false}}"
	echo '{"id": broken'
	echo "{\"id\":\"c\",\"arch\":$ARCH,\"check\":{\"ok\":true}}"
} >"$TMP/in.jsonl"
"$BIN/mini-train" $SMALL --epochs 1 <"$TMP/in.jsonl" >"$TMP/out.jsonl" 2>"$TMP/err"
check_eq "mini-train: exit 1 when a line was malformed" "$?" 1
check "the malformed line is reported with its line number" grep -q "stdin:3" "$TMP/err"
check_eq "three records out" "$(wc -l <"$TMP/out.jsonl")" 3
check "checked records get mini.val_acc, test_acc, epochs, seconds, images_per_s" \
	jq -e -s '[.[] | select(.check.ok)] | length == 2 and all(.mini | (.val_acc >= 0 and .test_acc >= 0 and .epochs == 1 and .seconds > 0 and .images_per_s > 0))' "$TMP/out.jsonl"
check "an unchecked record passes untouched" jq -e -s '.[1] | (.mini | not) and .id == "b"' "$TMP/out.jsonl"
check "other keys are copied through" jq -e -s 'all(.arch.blocks | length == 2)' "$TMP/out.jsonl"

# Without a validation split (--val-split 0, training on every image) there is no val_acc, and
# the log says "n/a" rather than a 0 % that reads like a measurement.
echo "{\"id\":\"noval\",\"arch\":$ARCH}" |
	"$BIN/mini-train" --all --train-limit 256 --val-split 0 --test-limit 100 --batch 64 --threads 1 \
		--no-progress --epochs 1 >"$TMP/noval.out" 2>"$TMP/noval.err"
check_eq "--val-split 0: exit 0" "$?" 0
check "--val-split 0: no val_acc, a test_acc" jq -e '(.mini | has("val_acc") | not) and .mini.test_acc >= 0' "$TMP/noval.out"
check "--val-split 0: the log says val n/a" grep -q "record noval: val n/a test " "$TMP/noval.err"

# A design too large for memory fails its own record (checked before allocating); the next one
# trains. The address space is limited so that the old behaviour (calloc fails: the program dies)
# cannot take the machine's memory.
HUGE='{"input_channels":1,"blocks":[{"output_channels":512,"num_layers":2,"kernel_size":3,"stride":1,"expansion_factor":6,"use_se":false,"se_ratio":0,"conv_type":"mbconv","skip_op":"identity","activation":"relu6"}]}'
{ echo "{\"id\":\"huge\",\"arch\":$HUGE}"; echo "{\"id\":\"small\",\"arch\":$ARCH}"; } >"$TMP/mem.jsonl"
(ulimit -v 4000000 && exec "$BIN/mini-train" --all $SMALL --epochs 1 <"$TMP/mem.jsonl" >"$TMP/mem.out" 2>"$TMP/mem.err")
check_eq "a design too large for memory: exit 1, not a dead stream" "$?" 1
check "its record says how much it needs and what limits it" \
	jq -e -s '.[0].id == "huge" and (.[0].mini.error | test("needs .*GiB for batch 64 at 28x28.* more than the .* of the address-space limit"))' "$TMP/mem.out"
check "the next record still trains" jq -e -s '.[1].id == "small" and .[1].mini.val_acc >= 0' "$TMP/mem.out"

# Reproducibility: the same seed gives the same numbers.
"$BIN/mini-train" $SMALL --epochs 1 --seed 7 <"$TMP/in.jsonl" 2>/dev/null | jq -c -s '[.[].mini | select(.) | [.val_acc, .test_acc, .train_loss]]' >"$TMP/r1"
"$BIN/mini-train" $SMALL --epochs 1 --seed 7 <"$TMP/in.jsonl" 2>/dev/null | jq -c -s '[.[].mini | select(.) | [.val_acc, .test_acc, .train_loss]]' >"$TMP/r2"
check "--seed reproduces a run exactly" cmp -s "$TMP/r1" "$TMP/r2"
"$BIN/mini-train" $SMALL --epochs 1 --seed 8 <"$TMP/in.jsonl" 2>/dev/null | jq -c -s '[.[].mini | select(.) | [.val_acc, .test_acc, .train_loss]]' >"$TMP/r3"
check "another seed, another run" sh -c "! cmp -s '$TMP/r1' '$TMP/r3'"

# Divergence: lr 50 ends that record with mini.error naming the epoch; the next record trains.
{
	echo "{\"id\":\"hot\",\"arch\":$ARCH,\"check\":{\"ok\":true}}"
} >"$TMP/hot.jsonl"
"$BIN/mini-train" $SMALL --epochs 3 --lr 50 --warmup-epochs 0 <"$TMP/hot.jsonl" >"$TMP/hot.out" 2>"$TMP/hot.err"
check_eq "diverging run: exit 1" "$?" 1
check "mini.error names the epoch" jq -e '.mini.error | test("diverged at epoch [0-9]+")' "$TMP/hot.out"
{ cat "$TMP/hot.jsonl"; echo "{\"id\":\"next\",\"arch\":$ARCH,\"check\":{\"ok\":true}}"; } >"$TMP/hot2.jsonl"
"$BIN/mini-train" $SMALL --epochs 3 --lr 50 --warmup-epochs 0 <"$TMP/hot2.jsonl" 2>/dev/null | jq -c -s . >"$TMP/hot2.out"
check "after a diverged record the next one is still trained (and, at lr 50, diverges on its own)" jq -e 'length == 2 and (.[1].id == "next") and (.[1].mini.error | test("diverged at epoch"))' "$TMP/hot2.out"

# full-train: checkpoint, SIGTERM keeps the last completed epoch, --resume gives the same result.
echo "{\"id\":\"f\",\"arch\":$ARCH}" >"$TMP/f.jsonl"
FULL="$SMALL --train-limit 1024 --epochs 3 --seed 3"
"$BIN/full-train" $FULL --out "$TMP/ref.safetensors" <"$TMP/f.jsonl" >"$TMP/ref.out" 2>/dev/null
check_eq "full-train: exit 0" "$?" 0
check "full adds test_acc, val_acc, checkpoint" jq -e '.full | (.test_acc >= 0 and .val_acc >= 0 and (.checkpoint | endswith("ref.safetensors")))' "$TMP/ref.out"
check "the checkpoint and its resume state exist" test -s "$TMP/ref.safetensors" -a -s "$TMP/ref.safetensors.state"
check "the checkpoint's metadata names the resolution it was trained at" \
	sh -c "head -c 4096 '$TMP/ref.safetensors' | grep -a -q '\"resolution\":\"28x28\"'"
"$BIN/quantize" --weights "$TMP/ref.safetensors" --dataset fashion-mnist --calib 8 --eval 50 \
	-o "$TMP/ref-int8.safetensors" </dev/null >"$TMP/ref-q.out" 2>/dev/null
arena28=$("$BIN/check-cost" --resolution 28 --classes 10 <"$TMP/f.jsonl" | jq .cost.arena_bytes)
check_eq "quantize without --resolution plans at the trained 28x28 (check-cost's arena)" \
	"$(jq .quant.arena_bytes "$TMP/ref-q.out")" "$arena28"
term_when_written "$TMP/int.safetensors.state" "$TMP/f.jsonl" "$TMP/int.out" \
	"$BIN/full-train" $FULL --out "$TMP/int.safetensors"
check_eq "SIGTERM: exit 1" "$?" 1
check "the interrupted record says which epoch the checkpoint holds" jq -e '.full.error | test("holds epoch [0-9]")' "$TMP/int.out"
check "the checkpoint of the last completed epoch is intact" test -s "$TMP/int.safetensors"
cp "$TMP/int.safetensors.state" "$TMP/old.state"
"$BIN/full-train" $FULL --out "$TMP/int.safetensors" --resume <"$TMP/f.jsonl" >"$TMP/res.out" 2>"$TMP/res.err"
check_eq "--resume: exit 0" "$?" 0
check "--resume says where it continues" grep -q "resuming" "$TMP/res.err"
check_eq "resumed run = uninterrupted run (test_acc)" "$(jq .full.test_acc "$TMP/res.out")" "$(jq .full.test_acc "$TMP/ref.out")"
check_eq "resumed run = uninterrupted run (train_loss)" "$(jq .full.train_loss "$TMP/res.out")" "$(jq .full.train_loss "$TMP/ref.out")"

# A kill between the two renames: an older PATH.state next to a newer checkpoint. --resume says
# so and continues from the state's epoch, giving the uninterrupted result.
cp "$TMP/old.state" "$TMP/int.safetensors.state"
"$BIN/full-train" $FULL --out "$TMP/int.safetensors" --resume <"$TMP/f.jsonl" >"$TMP/mix.out" 2>"$TMP/mix.err"
check_eq "old state + newer checkpoint: exit 0" "$?" 0
check "--resume notices the checkpoint and the state hold different epochs" \
	grep -q "int.safetensors holds epoch 3 but .*int.safetensors.state epoch [12].*rewrote" "$TMP/mix.err"
check_eq "old state + newer checkpoint = uninterrupted run (train_loss)" "$(jq .full.train_loss "$TMP/mix.out")" "$(jq .full.train_loss "$TMP/ref.out")"
check_eq "old state + newer checkpoint = uninterrupted run (test_acc)" "$(jq .full.test_acc "$TMP/mix.out")" "$(jq .full.test_acc "$TMP/ref.out")"
# The same with a finished state: the stale checkpoint is rewritten at once from the state.
cp "$TMP/int.safetensors.state" "$TMP/done.state"
cp "$TMP/old.state" "$TMP/int.safetensors"
cp "$TMP/done.state" "$TMP/int.safetensors.state"
"$BIN/full-train" $FULL --out "$TMP/int.safetensors" --resume <"$TMP/f.jsonl" >/dev/null 2>"$TMP/done.err"
check "a finished state next to an older checkpoint: the checkpoint is rewritten" \
	sh -c "grep -q 'rewrote' '$TMP/done.err' && head -c 16384 '$TMP/int.safetensors' | grep -a -q '\"epochs_done\":\"3\"'"

# --resume refuses options that change the result, naming the option and both values.
for opt in "--lr 0.1:--lr.*0.5.*0.1" "--weight-decay 0.001:--weight-decay.*0.0001.*0.001" \
	"--mixup 0.5:--mixup.*0.2.*0.5" "--resolution 24:--resolution.*28x28.*24x24" \
	"--no-autoaugment:--autoaugment.*on.*off" \
	"--label-smoothing 0.1:--label-smoothing is 0.1 in this run but was not given" \
	"--random-erasing 0.25:--random-erasing is 0.25 in this run but was not given" \
	"--ema 0.9:--ema is 0.9 in this run but was not given"; do
	args=${opt%%:*} want=${opt#*:}
	"$BIN/full-train" $FULL $args --out "$TMP/int.safetensors" --resume <"$TMP/f.jsonl" >/dev/null 2>"$TMP/chg.err"
	check_eq "--resume with $args: exit 2" "$?" 2
	check "--resume with $args names the option and both values" grep -q -- "$want" "$TMP/chg.err"
done

# --ema: SGD's path is untouched (the same training loss), the checkpoint holds the average (other
# logits than the plain run's), and a run killed and resumed ships the same average.
"$BIN/full-train" $FULL --ema 0.9 --out "$TMP/ema.safetensors" <"$TMP/f.jsonl" >"$TMP/ema.out" 2>/dev/null
check_eq "--ema: exit 0" "$?" 0
check "--ema: the record says so" jq -e '.full.ema == 0.9' "$TMP/ema.out"
check_eq "--ema: the same training loss as without (SGD's weights are not the average)" \
	"$(jq .full.train_loss "$TMP/ema.out")" "$(jq .full.train_loss "$TMP/ref.out")"
for w in ref ema; do
	"$BIN/evaluate" --weights "$TMP/$w.safetensors" --dataset fashion-mnist --threads 1 \
		--dump-logits "$TMP/$w.logits" </dev/null >/dev/null 2>&1
done
check "--ema: the checkpoint holds other weights than the plain run's" \
	sh -c "test -s '$TMP/ema.logits' && ! cmp -s '$TMP/ema.logits' '$TMP/ref.logits'"
term_when_written "$TMP/emai.safetensors.state" "$TMP/f.jsonl" /dev/null \
	"$BIN/full-train" $FULL --ema 0.9 --out "$TMP/emai.safetensors"
check_eq "--ema, SIGTERM: exit 1" "$?" 1
"$BIN/full-train" $FULL --ema 0.9 --out "$TMP/emai.safetensors" --resume <"$TMP/f.jsonl" >"$TMP/emai.out" 2>/dev/null
check_eq "--ema --resume: exit 0" "$?" 0
check_eq "--ema: resumed run = uninterrupted run (test_acc)" "$(jq .full.test_acc "$TMP/emai.out")" "$(jq .full.test_acc "$TMP/ema.out")"
check "--ema: resumed run's checkpoint = uninterrupted run's, byte for byte" \
	cmp -s "$TMP/emai.safetensors" "$TMP/ema.safetensors"

# Stale temporary files: a dead writer's are removed, a live one's are kept.
sh -c 'exit 0' &
dead=$!
wait $dead
touch -d '1 hour ago' "$TMP/int.safetensors.tmp.$dead" "$TMP/int.safetensors.state.tmp.$dead" \
	"$TMP/int.safetensors.tmp.$$"
: >"$TMP/int.safetensors.tmp.1$dead"
"$BIN/full-train" $FULL --out "$TMP/int.safetensors" --resume <"$TMP/f.jsonl" >/dev/null 2>"$TMP/tmp.err"
check "a dead process's old PATH.tmp.PID and PATH.state.tmp.PID are removed" \
	test ! -e "$TMP/int.safetensors.tmp.$dead" -a ! -e "$TMP/int.safetensors.state.tmp.$dead"
check "a live process's PATH.tmp.PID is kept" test -e "$TMP/int.safetensors.tmp.$$"
check "a fresh PATH.tmp.PID is kept (its writer may be on another host)" test -e "$TMP/int.safetensors.tmp.1$dead"
"$BIN/mini-train" --all $FULL --out "$TMP/int.safetensors" --resume <"$TMP/f.jsonl" >/dev/null 2>"$TMP/rec.err"
check_eq "--resume of another recipe's state: exit 2" "$?" 2
check "it names both recipes" grep -q "saved by full, not mini" "$TMP/rec.err"
rm -f "$TMP/int.safetensors.state"
"$BIN/full-train" $FULL --out "$TMP/int.safetensors" --resume <"$TMP/f.jsonl" >"$TMP/nost.out" 2>/dev/null
check "a checkpoint without its state: the record says it cannot resume" \
	jq -e '.full.error | test("does not: cannot resume")' "$TMP/nost.out"

# A record's own resolution, classes and dropout replace the options (lmnas-record(5)); classes
# that do not cover the dataset's labels and a bad resolution fail that record only.
{
	echo "{\"id\":\"own\",\"arch\":$ARCH,\"resolution\":\"20x24\",\"classes\":12,\"dropout\":0}"
	echo "{\"id\":\"few\",\"arch\":$ARCH,\"classes\":5}"
	echo "{\"id\":\"badres\",\"arch\":$ARCH,\"resolution\":\"big\"}"
	echo "{\"id\":\"plain\",\"arch\":$ARCH}"
} >"$TMP/own.jsonl"
"$BIN/full-train" $SMALL --epochs 1 --resolution 16 --out "$TMP/own-{id}.safetensors" <"$TMP/own.jsonl" >"$TMP/own.out" 2>"$TMP/own.err"
check_eq "records with bad classes or resolution: exit 1" "$?" 1
check "the record's resolution, classes and dropout are used" \
	jq -e -s '.[0].full | .resolution == "20x24" and .classes == 12 and .dropout == 0' "$TMP/own.out"
check "the checkpoint is saved at the record's resolution and classes" \
	sh -c "head -c 8192 '$TMP/own-own.safetensors' | grep -a -q '\"resolution\":\"20x24\"' && head -c 8192 '$TMP/own-own.safetensors' | grep -a -q '\"classes\":\"12\"'"
check "classes below the dataset's labels fail that record" \
	jq -e -s '.[1].full.error | test("5 classes \\(the record.s\\), but the dataset.s labels go up to 9")' "$TMP/own.out"
check "a bad record resolution fails that record" \
	jq -e -s '.[2].full.error | test("resolution must be")' "$TMP/own.out"
check "without record settings the options apply (--resolution 16, 10 classes, dropout 0.2)" \
	jq -e -s '.[3].full | .resolution == "16x16" and .classes == 10 and (.dropout * 100 | round) == 20' "$TMP/own.out"

# kd: a wider teacher, the student from full-train; accuracy before and after.
echo "{\"id\":\"t\",\"arch\":$WIDE}" | "$BIN/full-train" $SMALL --epochs 1 --out "$TMP/teacher.safetensors" >/dev/null 2>&1
"$BIN/kd" $SMALL --epochs 1 --teacher "$TMP/teacher.safetensors" --out "$TMP/kd.safetensors" <"$TMP/ref.out" >"$TMP/kd.out" 2>"$TMP/kd.err"
check_eq "kd: exit 0" "$?" 0
check "kd adds accuracies before and after" jq -e '.kd | (.test_acc_before >= 0 and .test_acc >= 0 and .val_acc_before >= 0 and (.checkpoint | endswith("kd.safetensors")))' "$TMP/kd.out"
check "kd keeps the full key" jq -e '.full.test_acc' "$TMP/kd.out"
check "kd logs alpha per epoch" grep -q "alpha 0.4" "$TMP/kd.err"
# An ensemble of teachers: their logits are averaged, so the same teacher twice is that teacher
# (loss and accuracies to the last digit); a different second teacher changes the run.
"$BIN/kd" $SMALL --epochs 1 --teacher "$TMP/teacher.safetensors" --teacher "$TMP/teacher.safetensors" \
	<"$TMP/ref.out" >"$TMP/kd-twice.out" 2>/dev/null
check_eq "kd --teacher T --teacher T: exit 0" "$?" 0
check_eq "the same teacher twice is that teacher (train loss, val and test accuracy)" \
	"$(jq -c '.kd | [.train_loss, .val_acc, .test_acc]' "$TMP/kd-twice.out")" \
	"$(jq -c '.kd | [.train_loss, .val_acc, .test_acc]' "$TMP/kd.out")"
"$BIN/kd" $SMALL --epochs 1 --teacher "$TMP/teacher.safetensors" --teacher "$TMP/ref.safetensors" \
	<"$TMP/ref.out" >"$TMP/kd-ens.out" 2>/dev/null
check "a second, different teacher changes the training loss" \
	test "$(jq .kd.train_loss "$TMP/kd-ens.out")" != "$(jq .kd.train_loss "$TMP/kd.out")"
"$BIN/kd" $SMALL --epochs 1 $(for i in 1 2 3 4 5 6 7 8 9; do printf -- '--teacher %s ' "$TMP/teacher.safetensors"; done) \
	<"$TMP/ref.out" >/dev/null 2>"$TMP/kd9.err"
check_eq "nine teachers: exit 2" "$?" 2
check "nine teachers: the message says the limit" grep -q "at most 8 teachers" "$TMP/kd9.err"
"$BIN/kd" $SMALL --epochs 1 <"$TMP/ref.out" >/dev/null 2>&1
check_eq "kd without a teacher: exit 2" "$?" 2
"$BIN/kd" $SMALL --epochs 1 --teacher "$TMP/missing.safetensors" <"$TMP/ref.out" >"$TMP/kd2.out" 2>/dev/null
check "a missing teacher is a kd.error" jq -e '.kd.error | test("missing.safetensors")' "$TMP/kd2.out"

# Usage errors.
"$BIN/mini-train" --epochs zero </dev/null >/dev/null 2>&1
check_eq "bad --epochs: exit 2" "$?" 2
"$BIN/mini-train" --frobnicate </dev/null >/dev/null 2>&1
check_eq "unknown option: exit 2" "$?" 2
for p in mini-train full-train kd; do
	"$BIN/$p" --help | grep -q -- "--val-split"
	check_eq "$p --help documents the options" "$?" 0
done
# A record's id names its --out file only when it is a plain name: "../x" would escape the folder.
mkdir -p "$TMP/outs"
printf '{"id":"../escaped","arch":%s}\n{"id":"fine-1","arch":%s}\n' "$ARCH" "$ARCH" |
	"$BIN/mini-train" --all $SMALL --epochs 1 --out "$TMP/outs/{id}.safetensors" >"$TMP/ids.out" 2>"$TMP/ids.err"
check_eq "an id with '../' fails its record (exit 1), the next one trains" "$?" 1
check_eq "and names the id in mini.error; the plain id trained" \
	"$(jq -c '[.id, (.mini.error // "" | test("not a plain name")), (.mini.val_acc != null)]' "$TMP/ids.out" | tr '\n' ' ')" \
	'["../escaped",true,false] ["fine-1",false,true] '
check "nothing was written outside the --out folder" test ! -e "$TMP/escaped.safetensors"
done_testing
