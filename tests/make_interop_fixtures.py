"""make_interop_fixtures.py — a small random GPT-2 in Hugging Face layout (Conv1D weights
stored (in, out), names h.N.attn.c_attn.weight …) and the same model as an llm.c .bin,
with float64 reference logits. Run: /usr/bin/python3 tests/make_interop_fixtures.py tests/fixtures"""
import json, math, os, struct, sys
import torch

out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures"
torch.manual_seed(20241123)
L, H, C, V, T = 2, 4, 32, 70, 16
def r(*s, std=0.3): return (torch.randn(*s, dtype=torch.float64) * std).float()
P = {"wte.weight": r(V, C), "wpe.weight": r(T, C), "ln_f.weight": 1 + r(C, std=0.1), "ln_f.bias": r(C, std=0.1)}
for l in range(L):
    h = f"h.{l}."
    P[h+"ln_1.weight"], P[h+"ln_1.bias"] = 1 + r(C, std=0.1), r(C, std=0.1)
    P[h+"attn.c_attn.weight"], P[h+"attn.c_attn.bias"] = r(C, 3*C), r(3*C, std=0.1)   # Conv1D: (in, out)
    P[h+"attn.c_proj.weight"], P[h+"attn.c_proj.bias"] = r(C, C), r(C, std=0.1)
    P[h+"ln_2.weight"], P[h+"ln_2.bias"] = 1 + r(C, std=0.1), r(C, std=0.1)
    P[h+"mlp.c_fc.weight"], P[h+"mlp.c_fc.bias"] = r(C, 4*C), r(4*C, std=0.1)
    P[h+"mlp.c_proj.weight"], P[h+"mlp.c_proj.bias"] = r(4*C, C), r(C, std=0.1)
    P[h+"attn.bias"] = torch.tril(torch.ones(1, 1, T, T))  # a non-parameter buffer real files carry: ignored

def ln(x, w, b):
    mu = x.mean(-1, keepdim=True); var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + 1e-5) * w + b
def gelu(x): return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
tokens = torch.randint(0, V, (11,))
D = {k: v.double() for k, v in P.items()}
x = D["wte.weight"][tokens] + D["wpe.weight"][: len(tokens)]
n = len(tokens); hd = C // H
for l in range(L):
    h = f"h.{l}."
    a = ln(x, D[h+"ln_1.weight"], D[h+"ln_1.bias"]) @ D[h+"attn.c_attn.weight"] + D[h+"attn.c_attn.bias"]
    q, k, v = [a[:, i*C:(i+1)*C].view(n, H, hd).transpose(0, 1) for i in range(3)]
    s = q @ k.transpose(-1, -2) / math.sqrt(hd)
    s = s.masked_fill(torch.triu(torch.ones(n, n, dtype=torch.bool), 1), float("-inf")).softmax(-1)
    x = x + (s @ v).transpose(0, 1).reshape(n, C) @ D[h+"attn.c_proj.weight"] + D[h+"attn.c_proj.bias"]
    m = gelu(ln(x, D[h+"ln_2.weight"], D[h+"ln_2.bias"]) @ D[h+"mlp.c_fc.weight"] + D[h+"mlp.c_fc.bias"])
    x = x + m @ D[h+"mlp.c_proj.weight"] + D[h+"mlp.c_proj.bias"]
logits = ln(x, D["ln_f.weight"], D["ln_f.bias"]) @ D["wte.weight"].T

def write_st(path, tensors, meta=None):
    hdr, off, blobs = {}, 0, []
    for name in sorted(tensors):
        t = tensors[name]
        b = t.contiguous().numpy().astype("<f4" if t.dtype.is_floating_point else "<i4").tobytes()
        hdr[name] = {"dtype": "F32" if t.dtype.is_floating_point else "I32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        off += len(b); blobs.append(b)
    if meta: hdr["__metadata__"] = meta
    j = json.dumps(hdr).encode(); j += b" " * ((8 - len(j) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(j))); f.write(j); [f.write(b) for b in blobs]

os.makedirs(f"{out}/hf-tiny", exist_ok=True)
# Hugging Face files often prefix names with "transformer."; do it for one layer's worth to test both.
write_st(f"{out}/hf-tiny/model.safetensors", {("transformer." + k if k.startswith("h.1.") else k): v for k, v in P.items()}, {"format": "pt"})
json.dump({"n_head": H, "n_layer": L, "n_embd": C, "vocab_size": V, "n_positions": T}, open(f"{out}/hf-tiny/config.json", "w"))
write_st(f"{out}/hf-tiny.ref.safetensors", {"tokens": tokens.int(), "logits": logits.float()})

# The same weights as llm.c's .bin: (out, in) weights, grouped by type across layers, vocab padded to 128.
Vp = (V + 127) // 128 * 128
hdr = [20240326, 3, T, V, L, H, C, Vp] + [0] * 248
wte = torch.zeros(Vp, C); wte[:V] = P["wte.weight"]
parts = [wte, P["wpe.weight"]]
for key, tr in [("ln_1.weight", 0), ("ln_1.bias", 0), ("attn.c_attn.weight", 1), ("attn.c_attn.bias", 0),
                ("attn.c_proj.weight", 1), ("attn.c_proj.bias", 0), ("ln_2.weight", 0), ("ln_2.bias", 0),
                ("mlp.c_fc.weight", 1), ("mlp.c_fc.bias", 0), ("mlp.c_proj.weight", 1), ("mlp.c_proj.bias", 0)]:
    parts += [P[f"h.{l}.{key}"].T.contiguous() if tr else P[f"h.{l}.{key}"] for l in range(L)]
parts += [P["ln_f.weight"], P["ln_f.bias"]]
with open(f"{out}/llmc-tiny.bin", "wb") as f:
    f.write(struct.pack("<256i", *hdr))
    for p_ in parts: f.write(p_.contiguous().numpy().astype("<f4").tobytes())
print("wrote hf-tiny/, hf-tiny.ref.safetensors, llmc-tiny.bin")
