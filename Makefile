# lmnas — build, test, benchmark.
#   make          build every program into bin/
#   make check    run every test; ends with "N passed, N failed"
#   make deps     install the Debian packages lmnas needs (idempotent)
#   make bench    training throughput against PyTorch (long)
#   make fuzz     fuzz the record/arch parser with libFuzzer
#   make search   the search loop on Fashion-MNIST (pipelines/search.sh; RUN= ITER= STRATEGY= ...)
#   make demo     the whole mission on Fashion-MNIST, ends with a report (pipelines/demo.sh; RUN= ITER= ...)
#   make report RUN=dir   the report of a demo run again, from its directory alone
#   make fidelity does the proxy rank designs as a longer training does? (pipelines/fidelity.sh; N= ...)
#   make compare  search strategies x seeds at equal budget (pipelines/compare.sh; STRATEGIES= SEEDS= ...)

CC      ?= cc
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Isrc -I/usr/include/cjson -fopenmp
LDLIBS  += -lopenblas -lcjson -lcurl -lz -lm -fopenmp

LIB_SRC  := $(wildcard src/*.c)
LIB_OBJ  := $(LIB_SRC:src/%.c=build/obj/%.o)
CMD_SRC  := $(wildcard src/cmd/*.c)
PROGRAMS := $(CMD_SRC:src/cmd/%.c=bin/%)
TEST_SRC := $(wildcard tests/unit/test_*.c)
TESTS    := $(TEST_SRC:tests/unit/%.c=build/tests/%)

DEB_PACKAGES := build-essential libopenblas-dev libcjson-dev libcurl4-openssl-dev zlib1g-dev \
	jq parallel gnuplot-nox dataset-fashion-mnist qemu-system-arm gcc-arm-none-eabi \
	libnewlib-arm-none-eabi clang libclang-rt-14-dev valgrind

.PHONY: all check deps bench fuzz clean search demo report fidelity compare
all: $(PROGRAMS) $(TESTS)

build/obj/%.o: src/%.c $(wildcard src/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

build/liblmnas.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

bin/%: src/cmd/%.c build/liblmnas.a
	@mkdir -p bin
	$(CC) $(CFLAGS) -o $@ $< build/liblmnas.a $(LDLIBS)

build/tests/%: tests/unit/%.c tests/unit/t.h build/liblmnas.a
	@mkdir -p build/tests
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< build/liblmnas.a $(LDLIBS)

check: deps all
	@tests/run.sh

deps:
	@pipelines/deps.sh $(DEB_PACKAGES)

bench: all
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

fuzz:
	@pipelines/fuzz.sh $(FUZZ_SECONDS)

clean:
	rm -rf build bin/*
