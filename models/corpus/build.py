#!/usr/bin/env python3
"""build.py — the bilingual corpus of models/tiny-vi-en.safetensors (models/README.md).

English: Debian's fortunes (six files, '%' separators dropped, ASCII), and the prose of our
English lessons. Vietnamese: the prose of our Vietnamese lessons, the text written for the
project in models/corpus/vi-*.txt, and Debian's New Maintainers' Guide in Vietnamese
(maint-guide-vi, GPL-2+) and the prose of Debian's Vietnamese man pages (manpages-vi): the
weights derive from that GPL text, as models/README.md says.

Everything is NFC and limited to gptrepl's fixed vi vocabulary ('\\n', ASCII, the Vietnamese
letters with every tone, “ ” ‘ ’ … – —); other characters are mapped or dropped. Each
language is cut into paragraphs; the last tenth of each is held out (build/val-en.txt,
build/val-vi.txt) and the rest interleaved paragraph by paragraph into models/tiny-vi-en.txt,
which ships beside the model as `train`'s default data.
Python's standard library only; the same inputs give the same bytes."""
import glob
import html
import os
import random
import re
import sys
import unicodedata

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "build")
FORTUNES = "/usr/share/games/fortunes"
GUIDE = "/usr/share/doc/maint-guide-vi/html"


def vocab():
    base = "aăâeêioôơuưy"
    tones = ["", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"]
    letters = []
    for b in base:
        for t in tones:
            c = unicodedata.normalize("NFC", b + t)
            if c not in "aeiouy":
                letters.append(c)
    letters.append("đ")
    letters += [c.upper() for c in letters]
    return set("\n" + "".join(chr(c) for c in range(32, 127)) + "".join(letters) + "“”‘’…–—")


V = vocab()
MAP = {"\t": " ", "\u00a0": " ", "«": "“", "»": "”", "•": "-", "·": "-", "‐": "-", "−": "-", "„": "“", "′": "'",
       "\u200b": ""}


def clean(text):
    text = unicodedata.normalize("NFC", text)
    out = []
    for ch in text:
        ch = MAP.get(ch, ch)
        if ch in V or ch == "":
            out.append(ch)
        elif unicodedata.category(ch).startswith("Z"):
            out.append(" ")
    text = "".join(out)
    text = re.sub(r"[ ]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text


def paragraphs(text):
    return [p.strip("\n") for p in re.split(r"\n\s*\n", text) if p.strip()]


def lesson_prose(lang):
    paras = []
    for f in sorted(glob.glob(os.path.join(ROOT, "lessons", lang, "*.lesson"))):
        cur = []
        for line in open(f, encoding="utf-8"):
            line = line.rstrip("\n")
            if line.startswith((">", "?", "!", "//")):
                continue
            if line.startswith("# "):
                line = line[2:]
            if not line.strip():
                if cur:
                    paras.append("\n".join(cur))
                cur = []
            else:
                cur.append(line)
        if cur:
            paras.append("\n".join(cur))
    return paras


def fortunes():
    names = ["fortunes", "literature", "riddles", "wisdom", "people", "humorists"]
    paras = []
    for n in names:
        p = os.path.join(FORTUNES, n)
        if not os.path.exists(p):
            sys.exit("build.py: needs Debian's fortunes (apt-get install fortunes fortunes-min)")
        raw = open(p, encoding="utf-8", errors="replace").read()
        ascii_text = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode()
        paras += [q.strip("\n") for q in ascii_text.split("\n%\n") if q.strip()]
    return paras


def guide():
    files = sorted(glob.glob(os.path.join(GUIDE, "*.html")))
    if not files:
        sys.exit("build.py: needs Debian's maint-guide-vi (apt-get install maint-guide-vi)")
    paras = []
    for f in files:
        s = open(f, encoding="utf-8", errors="replace").read()
        s = re.sub(r"<(script|style|pre)[^>]*>.*?</\1>", "", s, flags=re.S)
        for block in re.split(r"</?(?:p|div|h\d|li|dt|dd|tr)[^>]*>", s):
            t = html.unescape(re.sub(r"<[^>]+>", "", block))
            t = " ".join(t.split())
            # prose only: enough Vietnamese letters, not a menu or a table of contents
            if len(t) >= 60 and sum(1 for c in t if ord(c) > 127) >= 5:
                paras.append(t)
    return paras


def manpages():
    """The prose of Debian's Vietnamese man pages (manpages-vi), rendered by man(1)."""
    import subprocess
    files = sorted(glob.glob("/usr/share/man/vi/man*/*.gz"))
    if not files:
        sys.exit("build.py: needs Debian's manpages-vi (apt-get install manpages-vi)")
    paras = []
    env = {"MANWIDTH": "200", "LANG": "C.UTF-8", "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    for f in files:
        r = subprocess.run(["man", "-l", f], capture_output=True, text=True, env=env)
        for block in re.split(r"\n\s*\n", r.stdout):
            t = " ".join(block.split())
            letters = [c for c in t if c.isalpha()]
            vi_letters = sum(1 for c in letters if ord(c) > 127)
            # Vietnamese prose: long enough, and its letters often accented (not an option list)
            if len(t) >= 80 and letters and vi_letters / len(letters) >= 0.12:
                paras.append(t)
    return paras


def wrap(p, width=90):
    lines, cur = [], ""
    for line in p.split("\n"):
        if len(line) <= width:
            lines.append(line)
            continue
        for w in line.split(" "):
            if cur and len(cur) + 1 + len(w) > width:
                lines.append(cur)
                cur = w
            else:
                cur = (cur + " " + w) if cur else w
        if cur:
            lines.append(cur)
            cur = ""
    return "\n".join(lines)


def main():
    en = [clean(p) for p in lesson_prose("en") + fortunes()]
    vi = [clean(p) for p in lesson_prose("vi") + guide() + manpages()]
    for f in sorted(glob.glob(os.path.join(ROOT, "models", "corpus", "vi-*.txt"))):
        vi += [clean(p) for p in paragraphs(open(f, encoding="utf-8").read())]
    en = [wrap(p) for p in en if p.strip()]
    vi = [wrap(p) for p in vi if p.strip()]
    rng = random.Random(1)
    rng.shuffle(en)
    rng.shuffle(vi)
    os.makedirs(OUT, exist_ok=True)
    cut_en, cut_vi = len(en) * 9 // 10, len(vi) * 9 // 10
    train = en[:cut_en] + vi[:cut_vi]
    rng.shuffle(train)
    # beside the model: gptrepl's train uses NAME.txt as a loaded NAME.safetensors' default data
    with open(os.path.join(ROOT, "models", "tiny-vi-en.txt"), "w", encoding="utf-8") as f:
        f.write("\n\n".join(train) + "\n")
    with open(os.path.join(OUT, "val-en.txt"), "w", encoding="utf-8") as f:
        f.write("\n\n".join(en[cut_en:]) + "\n")
    with open(os.path.join(OUT, "val-vi.txt"), "w", encoding="utf-8") as f:
        f.write("\n\n".join(vi[cut_vi:]) + "\n")
    size = lambda ps: sum(len(p.encode("utf-8")) + 2 for p in ps)
    print("English %d paragraphs, %d KB; Vietnamese %d paragraphs, %d KB; train %d KB" %
          (len(en), size(en) // 1024, len(vi), size(vi) // 1024, size(train) // 1024))


main()
