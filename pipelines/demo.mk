# pipelines/demo.mk — the demo's stages as make rules. pipelines/demo.sh runs them in the run
# directory, a stage at a time (make -f demo.mk -C RUN TARGET...), after writing settings.mk there:
# every setting of its settings block, and what it derives from them. Nothing here has a default.
#
# A stage's target exists only when the stage succeeded: it is written through a temporary file
# and a rename (demo-stage.sh filter), and .DELETE_ON_ERROR removes a target that a failed recipe
# left. So an interrupted demo resumes by asking for the same targets again: what exists and is
# newer than what it is made from is kept, the rest is made again. The search and the three
# trainings themselves continue where they stopped (search.sh resumes mid-iteration, the trainers
# run with --resume).
include settings.mk
.DELETE_ON_ERROR:
.SUFFIXES:

STAGE  := $(ROOT)/pipelines/demo-stage.sh
EPOCHS := $(STAGE) epochs $(TRAIN_IMAGES) $(STUDENT_MINUTES) $(RESOLUTION) $(CLASSES)
TEACHER_EPOCHS_OF := $(STAGE) epochs $(TRAIN_IMAGES) $(TRAIN_MINUTES) $(RESOLUTION) $(CLASSES)
DS     := --dataset $(DATASET) $(if $(DATA),--data $(DATA))
TDS    := $(if $(TEST_DATA),--test-data $(TEST_DATA))
# --train-limit N, or nothing when N is 0 (all images)
lim     = $(if $(filter-out 0,$(1)),--train-limit $(1))
FRONT  := search/front-$(shell printf %03d $(ITER)).jsonl

# 1. The search (pipelines/search.sh), into search/.
$(FRONT):
	$(STAGE) time search $(ROOT)/pipelines/search.sh RUN="$(RUN)/search" ITER="$(ITER)" \
		CANDIDATES="$(CANDIDATES)" JOBS="$(JOBS)" SEED="$(SEED)" STRATEGY="$(STRATEGY)" \
		DATASET="$(DATASET)" DATA="$(DATA)" RESOLUTION="$(RESOLUTION)" CLASSES="$(CLASSES)" \
		INPUT_CHANNELS="$(INPUT_CHANNELS)" MACS_MAX="$(MACS_MAX)" SRAM_MAX="$(SRAM_MAX)" \
		FLASH_MAX="$(FLASH_MAX)" WEIGHTS="$(WEIGHTS)" PLOT=0 \
		MINI_ARGS="--epochs $(MINI_EPOCHS) $(call lim,$(MINI_LIMIT)) --seed $(SEED) $(MINI_ARGS) $(TDS)" \
		TRAIN_US_MAX="$(TRAIN_US_MAX)" LATENCY_MAX="$(LATENCY_MAX)" MCU_MHZ="$(MCU_MHZ)" \
		PARETO_ARGS="--train-minutes $(PARETO_MINUTES) --train-epochs $(MIN_EPOCHS_FIT) --train-images $(TRAIN_IMAGES)"
	test -s $@ || { echo "demo: error: the search left no front in $@" >&2; exit 1; }

# 2. The design to deploy. The search ranks designs after a short mini-training, but what ships
#    is trained for TRAIN_MINUTES: a design that trains too slowly for MIN_EPOCHS epochs in that
#    time ends up behind a faster one. So the search only evaluates designs whose estimated
#    training time (check-cost --train-time: one thread, computed from the op graph, nothing is
#    timed) fits MIN_EPOCHS epochs in 90% of STUDENT_MINUTES (TRAIN_MINUTES beside the teacher on
#    half the threads; alone, TEACHER_WIDTH=0, times THREAD_SPEEDUP; 10% for data loading and the
#    end-of-training evaluation). Epochs: what the estimate fits, at most FULL_EPOCHS.
#    fit.jsonl: every design evaluated that fits (TRAIN_US_MAX), most accurate first; when none
#    fits, the fastest design evaluated.
fit.jsonl: $(FRONT)
	jq -c 'select(.mini.val_acc != null) | {id, arch, gen, mini, resolution: $(RESOLUTION), classes: $(CLASSES)}' \
		search/evaluated.jsonl | $(EPOCHS) full_epochs $(FULL_EPOCHS) >$@.all
	jq -c -s 'map(select(.demo.train_us_per_image <= $(TRAIN_US_MAX))) | sort_by(-.mini.val_acc, .cost.macs, .id) | .[]' \
		$@.all >$@.tmp
	if [ ! -s $@.tmp ]; then \
		echo "demo: no design evaluated fits $(MIN_EPOCHS) epochs in $(TRAIN_MINUTES) minutes: the fastest goes forward" >&2; \
		jq -c -s 'sort_by(.demo.train_us_per_image, .id) | .[0] // empty' $@.all >$@.tmp; \
	fi
	rm -f $@.all
	jq -r '"demo:   \(.id): val_acc \(.mini.val_acc * 10000 | round / 100)%, \(.cost.macs) MACs, \(.demo.images_per_s | round) img/s (estimated): \(.demo.full_epochs) epochs"' \
		$@.tmp >&2
	mv $@.tmp $@

#    rerank.jsonl: the proxy's one epoch on a part of the training split cannot tell near
#    neighbours apart (on the demo's own twelve designs its ranking agreed with two epochs on the
#    whole split at Kendall tau -0.08), so its first RERANK designs are trained again, RERANK_EPOCHS
#    epochs on the whole training split with the same recipe (MINI_ARGS), one thread each, JOBS at
#    a time, and ranked by that (a successive-halving step): the result is each record's "rerank"
#    (mini-train's "mini"; the proxy's stays in "mini"). A training that fails ranks last.
rerank.jsonl: fit.jsonl
	head -n $(RERANK) $< >$@.top
	$(STAGE) rerank $@.top $@ $(JOBS) $(BIN)/mini-train --all $(DS) $(TDS) --epochs $(RERANK_EPOCHS) \
		--seed $(SEED) --threads 1 --no-progress $(MINI_ARGS)
	rm -f $@.top
	jq -r '"demo:   \(.id): val_acc \(.mini.val_acc * 10000 | round / 100)% by the proxy, \(if .rerank.val_acc then "\(.rerank.val_acc * 10000 | round / 100)% after \(.rerank.epochs) epochs on \(.rerank.train_images // "all") images" else .rerank.error end)"' \
		$@ >&2

#    chosen.jsonl: the most accurate of fit.jsonl, by the re-ranking when there is one (RERANK > 1),
#    else by the proxy. Deterministic: the same SEED gives the same design and epochs.
CHOSEN_KEYS := {id, arch, gen, resolution, classes, cost, check, mini, rerank, demo} | if .rerank == null then del(.rerank) else . end
CHOOSE_FROM := $(if $(filter-out 0 1,$(RERANK)),rerank.jsonl,fit.jsonl)
chosen.jsonl: $(CHOOSE_FROM)
	jq -c -s 'sort_by(-(.rerank.val_acc // -1), -.mini.val_acc, .cost.macs, .id) | .[0] | $(CHOSEN_KEYS)' $< >$@.tmp
	jq -e .id $@.tmp >/dev/null 2>&1 || { rm -f $@.tmp; echo "demo: error: no design to choose from in $<" >&2; exit 1; }
	mv $@.tmp $@

plan.txt: chosen.jsonl
	$(BIN)/check-cost --plan --resolution $(RESOLUTION) --classes $(CLASSES) $< >$@.tmp
	mv $@.tmp $@

# The teacher: every block TEACHER_WIDTH times as many channels (SE ratios and everything else
# unchanged). It is not deployed, so it may exceed the budgets.
teacher-arch.jsonl: chosen.jsonl
	jq -c --argjson w $(TEACHER_WIDTH) '{id: (.id + "-teacher"), arch: (.arch | .blocks |= map(.output_channels *= $$w)), resolution, classes}' \
		$< | $(TEACHER_EPOCHS_OF) teacher_epochs $(TEACHER_EPOCHS) >$@.tmp
	jq -e .demo.teacher_epochs $@.tmp >/dev/null 2>&1 || { rm -f $@.tmp; echo "demo: error: the teacher could not be costed" >&2; exit 1; }
	mv $@.tmp $@

# 3 and 4. Full training of the chosen design (the student) and of the teacher, same recipe;
#    demo.sh makes the two side by side (make -j2) with half the threads each: a small net keeps
#    two cores busier as two processes than as one process on two threads.
full.jsonl: chosen.jsonl
	$(STAGE) filter -l student full-train $< $@ $(BIN)/full-train $(DS) $(TDS) \
		--resolution $(RESOLUTION) --epochs $$(jq -r .demo.full_epochs $<) $(call lim,$(FULL_LIMIT)) \
		--seed $(SEED) --threads $(TRAIN_THREADS) --no-progress $(TRAIN_ARGS) $(FULL_ARGS) --resume \
		--out $(RUN)/student-full.safetensors

teacher.jsonl: teacher-arch.jsonl
	$(STAGE) filter -l teacher teacher $< $@ $(BIN)/full-train $(DS) $(TDS) \
		--resolution $(RESOLUTION) --epochs $$(jq -r .demo.teacher_epochs $<) $(call lim,$(TEACHER_LIMIT)) \
		--seed $(SEED) --threads $(TRAIN_THREADS) --no-progress $(TRAIN_ARGS) $(FULL_ARGS) --resume \
		--out $(RUN)/teacher.safetensors

# 5. Distillation of the student from the teacher; what goes forward: the distilled student if
#    distillation did not lower its validation accuracy, else the student as full-trained (a
#    teacher trained in the same minutes may not be stronger). Chosen on the validation split;
#    the test split is only reported. With WEIGHTS=ternary the distilled student always goes
#    forward: only it was trained through its ternary weights (QAT_ARGS).
#    TEACHER_WIDTH=0: no teacher; with WEIGHTS=ternary (or INT8_QAT=1) kd trains the student
#    through its quantised weights from its full-trained self (the float network as the
#    teacher); with int8 and no QAT there is no kd stage.
ifeq ($(TEACHER_WIDTH),0)
TEACHER_CKPT := $(RUN)/student-full.safetensors
TEACHER_REC  :=
else
TEACHER_CKPT := $(RUN)/teacher.safetensors
TEACHER_REC  := teacher.jsonl
endif
kd.jsonl: full.jsonl $(TEACHER_REC)
	$(STAGE) filter kd full.jsonl $@ $(BIN)/kd $(DS) $(TDS) --resolution $(RESOLUTION) \
		--epochs $(KD_EPOCHS) $(call lim,$(KD_LIMIT)) --seed $(SEED) --threads $(THREADS) \
		--no-progress $(TRAIN_ARGS) $(KD_ARGS) $(QAT_ARGS) --teacher $(TEACHER_CKPT) --resume \
		--out $(RUN)/student-kd.safetensors

ifeq ($(TEACHER_WIDTH)$(QAT_ARGS),0)
deploy.jsonl: full.jsonl
	jq -c --arg full $(RUN)/student-full.safetensors '.demo += {deployed: "student", weights: $$full}' \
		$< >$@.tmp
	mv $@.tmp $@
else
deploy.jsonl: kd.jsonl
	jq -c --arg kd $(RUN)/student-kd.safetensors --arg full $(RUN)/student-full.safetensors \
		'.demo += (if .kd.val_acc >= .kd.val_acc_before or .kd.qat then {deployed: "kd", weights: $$kd} else {deployed: "full", weights: $$full} end)' \
		$< >$@.tmp
	mv $@.tmp $@
endif

# 6. int8.
quant.jsonl: deploy.jsonl
	$(STAGE) filter quantize $< $@ $(BIN)/quantize --weights "$$(jq -r .demo.weights $<)" $(DS) \
		$(TDS) --resolution $(RESOLUTION) --calib $(CALIB) \
		$(if $(filter-out 0,$(QUANT_EVAL)),--eval $(QUANT_EVAL)) $(QUANT_ARGS) \
		$(if $(filter ternary,$(WEIGHTS)),--weight-format ternary --sparsity $(SPARSITY)) \
		-o $(RUN)/$(NAME)-int8.safetensors

# 7. C sources.
emit.jsonl: quant.jsonl
	$(STAGE) filter emit-c $< $@ $(BIN)/emit-c --model $(RUN)/$(NAME)-int8.safetensors \
		--name $(NAME) -o $(RUN)/c --sram-max $(SRAM_MAX) --test-vectors $(VECTORS) $(DS)

# 8. The Cortex-M7 in QEMU: the match count of the emitted program's own test (a make of its
#    own: not $(MAKE), which make -q, asking demo.mk what is made, would run).
m7-test.txt: emit.jsonl
	$(STAGE) time m7-test sh -c 'MAKEFLAGS= make -s -C c m7-test >m7-test.log 2>&1' || \
		{ cat m7-test.log >&2; echo "demo: error: m7-test failed" >&2; exit 1; }
	grep 'test vectors match' m7-test.log | tail -1 >$@.tmp
	test -s $@.tmp || { rm -f $@.tmp; cat m7-test.log >&2; echo "demo: error: m7-test printed no match count" >&2; exit 1; }
	mv $@.tmp $@
