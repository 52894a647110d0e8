#!/usr/bin/python3
"""eval_golden.py - tests/golden/eval-elite32.safetensors for tests/cli/evaluate.sh: the four
golden images average-pooled to 32x32 (images F32 [4,3,32,32]), labels I64 [4] = the reference
PyTorch model's top-1 with the lmanet-elite weights, and logits F32 [4,100] (PyTorch's).
Run from the repository root: /usr/bin/python3 tests/gen/eval_golden.py [SHARED_DIR]"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from refmodel import Net, st_load, st_save  # noqa: E402

shared = sys.argv[1] if len(sys.argv) > 1 else "/work/shared"
pm = os.path.join(shared, "paper-models")
g, _ = st_load(os.path.join(pm, "golden-logits.safetensors"))
img = torch.nn.functional.avg_pool2d(torch.from_numpy(g["images"].copy()), 5)
arch = json.load(open(os.path.join(pm, "lmanet-elite.json")))
w, _ = st_load(os.path.join(pm, "lmanet-elite.safetensors"))
m = Net(arch, 100)
m.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in w.items()}, strict=False)
m.eval()
with torch.no_grad():
    logits = m(img)
st_save("tests/golden/eval-elite32.safetensors",
        {"images": img.numpy(), "labels": logits.argmax(1).numpy().astype(np.int64),
         "logits": logits.numpy()}, {"source": "tests/gen/eval_golden.py"})
print(logits.argmax(1))
