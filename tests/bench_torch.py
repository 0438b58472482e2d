"""bench_torch.py — the PyTorch side of `make bench`: the same configs gptrepl measures,
random weights, 2 threads. Prints key=value lines. Run with Debian's /usr/bin/python3."""
import math, sys, time
import torch

torch.set_num_threads(2)
torch.manual_seed(0)

def gpt(L, H, C, V, T):
    class Block(torch.nn.Module):
        def __init__(s):
            super().__init__()
            s.ln1, s.ln2 = torch.nn.LayerNorm(C), torch.nn.LayerNorm(C)
            s.qkv, s.proj = torch.nn.Linear(C, 3 * C), torch.nn.Linear(C, C)
            s.fc, s.out = torch.nn.Linear(C, 4 * C), torch.nn.Linear(4 * C, C)
        def forward(s, x):
            B, T_, _ = x.shape
            q, k, v = s.qkv(s.ln1(x)).split(C, 2)
            q, k, v = [t.view(B, T_, H, C // H).transpose(1, 2) for t in (q, k, v)]
            a = (q @ k.transpose(-1, -2)) / math.sqrt(C // H)
            a = a.masked_fill(torch.triu(torch.ones(T_, T_, dtype=torch.bool), 1), float("-inf")).softmax(-1)
            x = x + s.proj((a @ v).transpose(1, 2).reshape(B, T_, C))
            return x + s.out(torch.nn.functional.gelu(s.fc(s.ln2(x)), approximate="tanh"))
    class M(torch.nn.Module):
        def __init__(s):
            super().__init__()
            s.wte, s.wpe = torch.nn.Embedding(V, C), torch.nn.Embedding(T, C)
            s.h = torch.nn.ModuleList([Block() for _ in range(L)])
            s.lnf = torch.nn.LayerNorm(C)
        def forward(s, idx, tgt=None):
            x = s.wte(idx) + s.wpe(torch.arange(idx.shape[1]))
            for b in s.h: x = b(x)
            logits = s.lnf(x) @ s.wte.weight.T
            if tgt is None: return logits
            return torch.nn.functional.cross_entropy(logits.reshape(-1, V), tgt.reshape(-1))
    return M()

def best(f, reps):
    f()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    return min(ts)

which = sys.argv[1] if len(sys.argv) > 1 else "all"
if which in ("all", "gpt2"):
    m = gpt(12, 12, 768, 50257, 1024)
    idx = torch.randint(0, 50257, (1, 64))
    with torch.no_grad():
        print("torch_gpt2_forward_ms=%.1f" % (1e3 * best(lambda: m(idx), 5)))
    opt = torch.optim.AdamW(m.parameters(), lr=1e-4)
    x = torch.randint(0, 50257, (4, 65))
    def step():
        opt.zero_grad(); m(x[:, :-1], x[:, 1:]).backward(); opt.step()
    print("torch_gpt2_train_step_ms=%.1f" % (1e3 * best(step, 3)))
if which in ("all", "tiny"):
    m = gpt(4, 4, 128, 96, 128)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3)
    x = torch.randint(0, 96, (16, 129))
    def step():
        opt.zero_grad(); m(x[:, :-1], x[:, 1:]).backward(); opt.step()
    print("torch_tiny_train_tok_s=%.0f" % (16 * 128 / best(step, 10)))
