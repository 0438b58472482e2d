#!/usr/bin/env python3
"""measure.py MODEL — the figures models/README.md states for the bundled model:

  * the loss per language on held-out text (build/val-en.txt, build/val-vi.txt from
    build.py): the mean of `loss` over up to 60 windows of 128 characters of each;
  * samples of `generate` after an English and a Vietnamese prompt;
  * the share of the Vietnamese sample's syllables that Debian's hunspell-vi accepts
    (every run of letters counts as a syllable; `hunspell -d vi_VN -l` lists the rejected).

Run from the repository root, after build.py."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

G = "./gptrepl"
MODEL = sys.argv[1] if len(sys.argv) > 1 else "models/tiny-vi-en.safetensors"


def quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def run_script(lines):
    with tempfile.NamedTemporaryFile("w", suffix=".gpt", delete=False, encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
        path = f.name
    try:
        r = subprocess.run([G, "--empty", path], capture_output=True, text=True)
    finally:
        os.unlink(path)
    return r.stdout


def lang_loss(path, n=60, width=128):
    text = open(path, encoding="utf-8").read()
    windows = [text[i:i + width] for i in range(0, len(text) - width, max(width, (len(text) - width) // n))][:n]
    lines = ["load " + MODEL]
    for w in windows:
        lines += ["run " + quote(w), "eval loss"]
    out = run_script(lines)
    vals = [float(x) for x in re.findall(r"^([0-9]+\.[0-9]+)$", out, re.M)]
    return sum(vals) / len(vals), len(vals)


def sample(prompt, n, seed):
    out = run_script(["load " + MODEL, "seed %d" % seed, "generate %d %s --temp 0.8" % (n, quote(prompt))])
    lines = [l for l in out.split("\n") if not l.startswith(("loaded", "note"))]
    text = "\n".join(lines)
    return re.sub(r"\n\([0-9]+ tokens.*$", "", text, flags=re.S).strip()


def hunspell_share(text):
    if not shutil.which("hunspell"):
        return None, 0
    words = [w.lower() for w in re.findall(r"[^\W\d_]+", text)]
    if not words:
        return None, 0
    r = subprocess.run(["hunspell", "-d", "vi_VN", "-l"], input="\n".join(words), capture_output=True, text=True)
    bad = len([l for l in r.stdout.split("\n") if l.strip()])
    return 1 - bad / len(words), len(words)


def main():
    en, ne = lang_loss("build/val-en.txt")
    vi, nv = lang_loss("build/val-vi.txt")
    print("held-out loss: English %.3f (%d windows), Vietnamese %.3f (%d windows)" % (en, ne, vi, nv))
    s_en = sample("The ", 300, 3)
    s_vi = sample("Ngày xưa, ", 300, 3)
    print("sample after 'The ':\n" + s_en)
    print("sample after 'Ngày xưa, ':\n" + s_vi)
    long_vi = "\n".join(sample(p, 600, 10 + i) for i, p in enumerate(["Ngày xưa, ", "Hôm nay ", "Người ta ", "Bạn có thể "]))
    share, n = hunspell_share(long_vi)
    if share is None:
        print("hunspell-vi: not installed (apt-get install hunspell hunspell-vi)")
    else:
        print("hunspell-vi accepts %.1f%% of %d syllables generated after Vietnamese prompts" % (100 * share, n))


main()
