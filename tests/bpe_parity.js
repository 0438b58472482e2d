// bpe_parity.js — our GPT-2 tokenizer (core/bpe.c, through test_bpe --chunks) against
// the reference, the npm package gpt-3-encoder@1.1.4 (its own Encoder.js) under node.
//
//   node tests/bpe_parity.js PACKAGE_DIR TEST_BPE CORPUS_FILE...
//
// For every corpus file:
//   words  our pre-token words, decoded as node decodes text, are exactly the matches
//          of the package's own regex over the decoded text;
//   ids    valid UTF-8: our ids are exactly encode(text)'s.
//          Invalid UTF-8: the reference never sees the bytes: node turns each invalid
//          sequence into U+FFFD first, and encode() then spells U+FFFD as EF BF BD.
//          We keep the original bytes (decode(encode(x)) == x), so: every word without
//          invalid bytes has exactly the reference's ids; every word with them decodes
//          to its original bytes; and on the text node actually encoded (the U+FFFD
//          version of the file, bytes as node has them) our ids are exactly its ids.
// Plus one generated check: every code point up to U+3FFFF and in plane 14, in a few
// contexts, is cut into words exactly as the package's regex cuts it.
// Prints one line per check and "bpe-parity: N passed, N failed".
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

const [pkgDir, testBpe, ...files] = process.argv.slice(2);
const { encode } = require(path.resolve(pkgDir, 'index.js'));
const encoder = JSON.parse(fs.readFileSync(path.join(pkgDir, 'encoder.json'), 'utf8'));

// The package does not export its regex; take it from its source so the words are
// compared against the reference's own pattern, not a copy of ours.
const src = fs.readFileSync(path.join(pkgDir, 'Encoder.js'), 'utf8');
const m = src.match(/^const pat = \/(.*)\/([a-z]*)\s*$/m);
if (!m) {
  console.log('bpe-parity: cannot find the regex in Encoder.js');
  process.exit(1);
}
const pat = new RegExp(m[1], m[2]);

// token id -> raw bytes (GPT-2's byte <-> character map, as in Encoder.js)
const byteOf = {};
{
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const self = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae;
    byteOf[String.fromCharCode(self ? b : 256 + n++)] = b;
  }
}
const tokenBytes = [];
for (const [tok, id] of Object.entries(encoder)) tokenBytes[id] = Buffer.from([...tok].map(c => byteOf[c]));

const decoder = new TextDecoder('utf-8', { ignoreBOM: true }); // keep a leading U+FEFF, as Buffer.toString does
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bpe-parity-'));
let passed = 0, failed = 0;
function report(ok, what, detail) {
  if (ok) passed++; else failed++;
  console.log(`bpe-parity: ${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? ': ' + detail : ''}`);
}

// test_bpe --chunks: [{len, ids}] per word
function ours(file) {
  const out = execFileSync(testBpe, ['--chunks', file], { maxBuffer: 1 << 30, encoding: 'utf8' });
  return out.split('\n').filter(l => l.length).map(l => {
    const [len, rest] = l.split(':');
    return { len: Number(len), ids: rest.trim() ? rest.trim().split(' ').map(Number) : [] };
  });
}

// the reference's ids grouped by regex match (tokens never cross a match)
function refWords(str) {
  const ids = encode(str);
  const words = [];
  let k = 0;
  for (const mm of str.matchAll(pat)) {
    const want = Buffer.byteLength(mm[0]);
    const w = { text: mm[0], ids: [] };
    let got = 0;
    while (got < want && k < ids.length) {
      const t = tokenBytes[ids[k]];
      w.ids.push(ids[k++]);
      got += t ? t.length : 0;
    }
    words.push(w);
  }
  return { ids, words };
}

const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
function firstDiff(a, b) {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

let totalBytes = 0, totalTokens = 0;
for (const file of files) {
  const name = path.basename(file);
  const raw = fs.readFileSync(file);
  const str = decoder.decode(raw);
  const valid = Buffer.from(str, 'utf8').equals(raw);
  totalBytes += raw.length;
  let mine, ref;
  try {
    mine = ours(file);
    ref = refWords(str);
  } catch (err) {
    report(false, name, String(err.message).split('\n')[0]);
    continue;
  }
  totalTokens += ref.ids.length;

  // words
  let off = 0, bad = -1;
  const slices = mine.map(w => { const s = raw.subarray(off, off + w.len); off += w.len; return s; });
  const myTexts = slices.map(s => decoder.decode(s));
  const refTexts = ref.words.map(w => w.text);
  if (off !== raw.length) bad = -2;
  else if (!same(myTexts, refTexts)) bad = firstDiff(myTexts, refTexts);
  report(bad === -1, `${name} words (${raw.length} bytes, ${refTexts.length} words)`,
    bad === -2 ? 'our words do not cover the file' :
    bad >= 0 ? `word ${bad}: ours ${JSON.stringify(myTexts[bad])}, reference ${JSON.stringify(refTexts[bad])}` : '');
  if (bad !== -1) continue; // ids cannot be compared word by word

  const myIds = [].concat(...mine.map(w => w.ids));
  if (valid) {
    const d = firstDiff(myIds, ref.ids);
    report(same(myIds, ref.ids), `${name} ids (${ref.ids.length} tokens)`,
      d < Math.max(myIds.length, ref.ids.length) ? `token ${d}: ours ${myIds.slice(d, d + 5)}, reference ${ref.ids.slice(d, d + 5)}` : '');
    continue;
  }
  // invalid UTF-8: word by word
  let nInvalid = 0, problem = '';
  for (let i = 0; i < mine.length && !problem; i++) {
    const wordValid = Buffer.from(myTexts[i], 'utf8').equals(slices[i]);
    if (wordValid) {
      if (!same(mine[i].ids, ref.words[i].ids)) problem = `word ${i} ${JSON.stringify(myTexts[i])}: ours ${mine[i].ids}, reference ${ref.words[i].ids}`;
    } else {
      nInvalid++;
      const bytes = Buffer.concat(mine[i].ids.map(id => tokenBytes[id]));
      if (!bytes.equals(slices[i])) problem = `word ${i}: our tokens do not spell its bytes`;
    }
  }
  report(!problem, `${name} ids (${ref.ids.length} tokens; ${nInvalid} words with invalid UTF-8 compared as bytes)`, problem);
  // the text node encoded: the file with U+FFFD for each invalid sequence
  const lossy = path.join(tmp, name + '.fffd');
  fs.writeFileSync(lossy, Buffer.from(str, 'utf8'));
  const lossyIds = [].concat(...ours(lossy).map(w => w.ids));
  const d = firstDiff(lossyIds, ref.ids);
  report(same(lossyIds, ref.ids), `${name} as node decodes it (U+FFFD), ids`,
    d < Math.max(lossyIds.length, ref.ids.length) ? `token ${d}: ours ${lossyIds.slice(d, d + 5)}, reference ${ref.ids.slice(d, d + 5)}` : '');
}

// every code point, in contexts that show its class (letter, number, space, other)
{
  const parts = [];
  const add = cp => {
    const c = String.fromCodePoint(cp);
    parts.push('a' + c + '1' + c + ' ' + c + 'x' + c + '  \n'); // letter? number? space? other?
  };
  for (let cp = 0; cp <= 0x3ffff; cp++) if (cp < 0xd800 || cp > 0xdfff) add(cp);
  for (let cp = 0xe0000; cp <= 0xe01ff; cp++) add(cp);
  const text = parts.join('');
  const f = path.join(tmp, 'codepoints.txt');
  fs.writeFileSync(f, text);
  let problem = '';
  try {
    const mine = ours(f);
    const ref = Array.from(text.matchAll(pat), x => Buffer.byteLength(x[0]));
    const lens = mine.map(w => w.len);
    if (!same(lens, ref)) {
      const i = firstDiff(lens, ref);
      let at = 0;
      for (let k = 0; k < i; k++) at += ref[k];
      const ctx = Buffer.from(text, 'utf8').subarray(at, at + 24).toString('utf8');
      problem = `word ${i} at byte ${at} (${JSON.stringify(ctx)}): ours ${lens[i]} bytes, reference ${ref[i]}`;
    }
  } catch (err) {
    problem = String(err.message).split('\n')[0];
  }
  report(!problem, `every code point U+0000..U+3FFFF and plane 14 in 4 contexts (${(text.length / 1e6).toFixed(1)}M UTF-16 units): words`, problem);
}

// random mixtures of awkward pieces (seeded): words and ids. The reference's encode()
// is quadratic in the token count, so its ids come word by word (encode(word): a match
// of the regex is one match again on its own).
{
  let seed = 20240317;
  const rnd = n => { // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % n);
  };
  const words = ('the of and to in is that it for on was with as be by this are from at or an not but have ' +
    'which they you one all were had there can been their more has will would if so about what when who ' +
    'model token tokenizer transformer attention layer embedding gradient softmax tensor byte merge rank ' +
    'Hello World GPT OpenAI Python JavaScript NULL printf malloc sizeof struct typedef return void int ' +
    'người Việt tiếng Nguyễn được không cảm ơn naïve café Ωmega Δelta Москва 東京 北京 서울 😀 🚀 👍🏽 🇻🇳').split(' ');
  const bits = [' ', ' ', ' ', '  ', '\n', '\n\n', '\t', ' \n', '   ', '\u00a0', '\u3000', '\ufeff', '\u0085',
    ',', '.', '!', '?', '"', "'", '(', ')', '[', ']', '{', '}', '",', ',"', '","', '"],"', '),', '.,"', "','",
    ',,', ';', ':', '-', '--', '...', '=', '==', '->', '/*', '*/', '//', '#', '$', '%', '&&', '||',
    "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", '0', '1', '42', '2024', '3.14', '1,000', '٣', '½', '¹',
    '\u0301', '\u200b', '\u0000', '\u0007', '\u001f', '\u007f'];
  const parts = [];
  for (let i = 0; i < 60000; i++) {
    const r = rnd(10);
    if (r < 5) parts.push(words[rnd(words.length)]);
    else if (r < 9) parts.push(bits[rnd(bits.length)]);
    else parts.push(words[rnd(words.length)].toUpperCase());
  }
  const text = parts.join('');
  const f = path.join(tmp, 'random.txt');
  fs.writeFileSync(f, text);
  let problem = '', nTok = 0;
  try {
    const mine = ours(f);
    const raw = Buffer.from(text, 'utf8');
    const matches = Array.from(text.matchAll(pat), x => x[0]);
    let off = 0;
    if (mine.length !== matches.length) problem = `${mine.length} words, reference ${matches.length}`;
    for (let i = 0; i < mine.length && !problem; i++) {
      const w = decoder.decode(raw.subarray(off, off + mine[i].len));
      off += mine[i].len;
      const ids = encode(matches[i]);
      nTok += ids.length;
      if (w !== matches[i]) problem = `word ${i}: ours ${JSON.stringify(w)}, reference ${JSON.stringify(matches[i])}`;
      else if (!same(mine[i].ids, ids)) problem = `word ${i} ${JSON.stringify(w)}: ours ${mine[i].ids}, reference ${ids}`;
    }
  } catch (err) {
    problem = String(err.message).split('\n')[0];
  }
  report(!problem, `random mixtures (${Buffer.byteLength(text)} bytes, ${nTok} tokens): words and ids`, problem);
}

// random small vocabularies over the characters ! , ? . (merges in random order, so
// ranks are not in creation order, and commas inside tokens, so the reference's
// "A,B"-keyed rank lookup matters): the merge loop against the package's own Encoder.js
// running on the same two files.
{
  let seed = 777;
  const rnd = n => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % n);
  };
  const chars = ['!', ',', '?', '.'];
  let problem = '', nStrings = 0, nUndefined = 0;
  const vocabs = 40;
  for (let v = 0; v < vocabs && !problem; v++) {
    const dir = path.join(tmp, 'vocab' + v);
    fs.mkdirSync(dir);
    fs.copyFileSync(path.join(pkgDir, 'Encoder.js'), path.join(dir, 'Encoder.js'));
    const enc = {};
    for (const [tok, id] of Object.entries(encoder)) if (id < 256) enc[tok] = id;
    const toks = [...chars], merges = [], seen = new Set();
    for (let k = 0; k < 60; k++) {
      const a = toks[rnd(toks.length)], b = toks[rnd(toks.length)];
      if (a.length + b.length > 5 || seen.has(a + ' ' + b)) continue;
      seen.add(a + ' ' + b);
      merges.push([a, b]);
      if (!(a + b in enc)) { enc[a + b] = Object.keys(enc).length; toks.push(a + b); }
    }
    for (let k = merges.length - 1; k > 0; k--) { const j = rnd(k + 1); [merges[k], merges[j]] = [merges[j], merges[k]]; }
    fs.writeFileSync(path.join(dir, 'encoder.json'), JSON.stringify(enc));
    fs.writeFileSync(path.join(dir, 'vocab.bpe'), '#version: 0.2\n' + merges.map(m => m.join(' ')).join('\n') + '\n');
    const E = require(path.join(dir, 'Encoder.js'));
    const words = [];
    for (let k = 0; k < 200; k++) {
      let w = rnd(4) ? '' : ' ';
      for (let l = 1 + rnd(12); l > 0; l--) w += chars[rnd(chars.length)];
      words.push(w);
    }
    const text = words.join('x');
    fs.writeFileSync(path.join(dir, 'in.txt'), text);
    let mine;
    try {
      mine = execFileSync(testBpe, ['--chunks', path.join(dir, 'in.txt')], { encoding: 'utf8', env: { ...process.env, GPT2_DIR: dir } })
        .split('\n').filter(l => l.length).map(l => l.split(':')[1].trim().split(' ').map(Number));
    } catch (err) {
      problem = `vocabulary ${v}: ` + String(err.message).split('\n')[0];
      break;
    }
    const matches = Array.from(text.matchAll(pat), x => x[0]);
    if (mine.length !== matches.length) { problem = `vocabulary ${v}: ${mine.length} words, reference ${matches.length}`; break; }
    for (let i = 0; i < matches.length && !problem; i++) {
      const ref = E.encode(matches[i]);
      if (ref.some(x => x === undefined)) { nUndefined++; continue; } // the reference made a string that is no token
      nStrings++;
      if (!same(mine[i], ref)) problem = `vocabulary ${v} (${dir}), word ${JSON.stringify(matches[i])}: ours ${mine[i]}, reference ${ref}`;
    }
  }
  report(!problem, `${vocabs} random vocabularies with commas in tokens (${nStrings} words; ${nUndefined} where the reference emits undefined, skipped)`, problem);
}

if (failed) console.log(`bpe-parity: inputs kept in ${tmp}`);
else fs.rmSync(tmp, { recursive: true, force: true });
console.log(`bpe-parity: ${files.length} corpus files, ${totalBytes} bytes, ${totalTokens} reference tokens`);
console.log(`bpe-parity: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
