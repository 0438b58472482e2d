"""make_gpt2_sized.py — a random GPT-2 124M in Hugging Face layout and naming, the size of
the real model.safetensors (548 MB, attn.bias buffers included), for `make bench` to time
`load`. Needs numpy only. Run: /usr/bin/python3 tests/make_gpt2_sized.py OUT.safetensors"""
import json, struct, sys, numpy as np
L,H,C,V,T=12,12,768,50257,1024
rng=np.random.default_rng(0)
P={"wte.weight":(V,C),"wpe.weight":(T,C),"ln_f.weight":(C,),"ln_f.bias":(C,)}
for l in range(L):
    h=f"h.{l}."
    for k,s in [("ln_1.weight",(C,)),("ln_1.bias",(C,)),("attn.c_attn.weight",(C,3*C)),("attn.c_attn.bias",(3*C,)),("attn.c_proj.weight",(C,C)),("attn.c_proj.bias",(C,)),("ln_2.weight",(C,)),("ln_2.bias",(C,)),("mlp.c_fc.weight",(C,4*C)),("mlp.c_fc.bias",(4*C,)),("mlp.c_proj.weight",(4*C,C)),("mlp.c_proj.bias",(C,)),("attn.bias",(1,1,T,T))]:
        P[h+k]=s
hdr,off={},0
for n in sorted(P):
    nb=4*int(np.prod(P[n])); hdr[n]={"dtype":"F32","shape":list(P[n]),"data_offsets":[off,off+nb]}; off+=nb
hdr["__metadata__"]={"format":"pt"}
j=json.dumps(hdr).encode(); j+=b" "*((8-len(j)%8)%8)
with open(sys.argv[1],"wb") as f:
    f.write(struct.pack("<Q",len(j))); f.write(j)
    for n in sorted(P):
        a=(rng.standard_normal(int(np.prod(P[n])),dtype=np.float32)*0.02)
        if n.endswith("ln_1.weight") or n.endswith("ln_2.weight") or n=="ln_f.weight": a=a+1
        f.write(a.astype("<f4").tobytes())
