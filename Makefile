# lmnas — build, test, benchmark.
#   make          build every program into bin/
#   make check    run every test; ends with "N passed, N failed"
#   make deps     install the Debian packages lmnas needs (idempotent)
#   make bench    training throughput against PyTorch at its best (installs python3-torch; long)
#   make fuzz     fuzz every parser with libFuzzer (records and archs, safetensors, model answers,
#                 datasets, image folders/CSVs): FUZZ_SECONDS (60) each, FUZZ_TARGETS to pick (pipelines/fuzz.sh)
#   make search   the search loop on Fashion-MNIST (pipelines/search.sh; RUN= ITER= STRATEGY= ...)
#   make demo     the whole mission on Fashion-MNIST, ends with a report (pipelines/demo.sh; RUN= ITER= ...)
#   make report RUN=dir   the report of a demo run again, from its directory alone
#   make fidelity does the proxy rank designs as a longer training does? (pipelines/fidelity.sh; N= ...)
#   make compare  search strategies x seeds at equal budget (pipelines/compare.sh; STRATEGIES= SEEDS= ...)
#
# CC and CFLAGS may be given on the command line; the flags lmnas needs are kept apart
# (LMNAS_CFLAGS), so these work as they are:
#   make CC=clang
#   make CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer"   (sanitised)
# (tests/cli/build-clang.sh builds both ways.)

CC      ?= cc
CFLAGS  ?= -O2 -g
LMNAS_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Isrc -I/usr/include/cjson -fopenmp
# clang does not know GCC's per-file optimisation pragmas, and warns about the branch-free
# "(a > 0) & (a < 6) ? g : 0" of the activation kernels and about a string literal split over
# two lines in an array (test_pareto), both meant. clang 14 exports a
# target_clones function only as NAME.ifunc, so calls from other files do not link: under clang
# the attribute is emptied and those kernels are built once, for the baseline x86-64.
ifneq ($(findstring clang,$(notdir $(CC))),)
LMNAS_CFLAGS += -Wno-unknown-pragmas -Wno-bitwise-conditional-parentheses \
	-Wno-string-concatenation '-Dtarget_clones(...)='
else ifneq ($(findstring -fsanitize,$(CFLAGS)),)
# GCC's -Wformat-truncation misfires under -fsanitize (it takes vsnprintf(NULL, 0, fmt, ap), the
# length query, for "a null format string").
LMNAS_CFLAGS += -Wno-format-truncation
endif
LMNAS_LDLIBS := -lopenblas -lcjson -lcurl -lz -lpng -ljpeg -lm -fopenmp

# Every program make starts (tests, bench, demo, search) lets its idle OpenMP threads sleep:
# spinning ones slow a busy 2-core machine 5-10x, and libgomp reads this only before main, so the
# programs cannot set it themselves (net_set_threads in src/engine/net.h).
OMP_WAIT_POLICY ?= passive
export OMP_WAIT_POLICY

LIB_SRC  := $(wildcard src/core/*.c src/engine/*.c src/cost/*.c src/int8/*.c src/search/*.c)
LIB_OBJ  := $(LIB_SRC:src/%.c=build/obj/%.o)
CMD_SRC  := $(wildcard src/cmd/*.c)
PROGRAMS := $(CMD_SRC:src/cmd/%.c=bin/%)
TEST_SRC := $(wildcard tests/unit/test_*.c)
TESTS    := $(TEST_SRC:tests/unit/%.c=build/tests/%)

DEB_PACKAGES := build-essential libopenblas-dev libcjson-dev libcurl4-openssl-dev zlib1g-dev libpng-dev libjpeg62-turbo-dev \
	jq parallel gnuplot-nox dataset-fashion-mnist qemu-system-arm gcc-arm-none-eabi \
	libnewlib-arm-none-eabi clang libclang-rt-14-dev valgrind openssh-server cmake

.PHONY: all check deps bench fuzz clean search demo report fidelity compare
all: $(PROGRAMS) $(TESTS)

# Each compile writes the headers it read (-MMD; -MP so a deleted header is not an error) to a .d
# file that make reads back: a header edit rebuilds only the files that include it
# (tests/cli/build-deps.sh). An object without its .d (a tree built before this rule) is rebuilt
# once; the object is touched after its .d so it is never older than it.
DEPFLAGS = -MMD -MP -MF build/dep/$(subst /,-,$@).d

build/obj/%.o: src/%.c build/obj/%.d
	@mkdir -p $(dir $@)
	$(CC) $(LMNAS_CFLAGS) $(CFLAGS) -MMD -MP -MF build/obj/$*.d -c -o $@ $<
	@touch $@

build/obj/%.d: ;
.PRECIOUS: build/obj/%.d

build/liblmnas.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

bin/%: src/cmd/%.c build/liblmnas.a
	@mkdir -p bin build/dep
	$(CC) $(LMNAS_CFLAGS) $(CFLAGS) $(DEPFLAGS) -o $@ $< build/liblmnas.a $(LMNAS_LDLIBS) $(LDLIBS)

build/tests/%: tests/unit/%.c build/liblmnas.a
	@mkdir -p build/tests build/dep
	$(CC) $(LMNAS_CFLAGS) $(CFLAGS) $(DEPFLAGS) -Itests/unit -o $@ $< build/liblmnas.a $(LMNAS_LDLIBS) $(LDLIBS)

-include $(wildcard build/dep/*.d) $(LIB_OBJ:.o=.d)

check: deps all
	@tests/run.sh

deps:
	@pipelines/deps.sh $(DEB_PACKAGES)

bench: deps all
	@pipelines/deps.sh python3-torch
	@pipelines/bench.sh

search: all
	@pipelines/search.sh

demo: deps all
	@pipelines/demo.sh

fidelity: all
	@pipelines/fidelity.sh

compare: all
	@pipelines/compare.sh

report:
	@pipelines/report.sh $(or $(RUN),runs/demo)

FUZZ_SECONDS ?= 60
fuzz:
	@pipelines/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

clean:
	rm -rf build bin/*
