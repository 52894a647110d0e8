#!/usr/bin/python3
"""check_strict_load.py CKPT - proves that a checkpoint written by lmnas loads into the reference
PyTorch model (tests/gen/refmodel.py) with strict=True, with every value unchanged.

Make one with:  LMNAS_SAVE_CKPT=/tmp/engine.safetensors build/tests/test_net_grad
then:           /usr/bin/python3 tests/gen/check_strict_load.py /tmp/engine.safetensors"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from refmodel import Net, st_load  # noqa: E402


def main():
    path = sys.argv[1]
    tensors, meta = st_load(path)
    arch = json.loads(meta["arch"])
    classes = int(meta.get("classes", tensors["classifier.bias"].shape[0]))
    m = Net(arch, classes)
    sd = {k: torch.from_numpy(np.array(v)) for k, v in tensors.items()}
    m.load_state_dict(sd, strict=True)
    for k, v in m.state_dict().items():
        assert np.array_equal(v.numpy(), tensors[k]), k
    m.eval()
    with torch.no_grad():
        y = m(torch.zeros(1, arch["input_channels"], 16, 16))
    print(f"{path}: {len(tensors)} tensors load with strict=True; logits shape {tuple(y.shape)}")


if __name__ == "__main__":
    main()
