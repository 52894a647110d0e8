#!/usr/bin/python3
"""grad_golden.py - golden gradients and SGD losses for tests/unit/test_net_grad.c.

A small net with every feature (depthwise and mbconv layers, SE, residual with and without
projection, ReLU6, LeakyReLU and swish) in training mode, batch 8 at 12x12, 10 classes:
  tests/golden/grad-net-init.safetensors    the initial state_dict (+ arch metadata)
  tests/golden/grad-net-golden.safetensors  images [10,8,3,12,12], labels [10,8] (I64),
      loss0 [1], grad.<param> (after one backward on batch 0),
      losses [10] (the loss at each of ten SGD steps, lr 0.05, momentum 0.9, Nesterov, wd 5e-4),
      after.<name> (the state_dict after the ten steps: parameters and running statistics).
Run: /usr/bin/python3 tests/gen/grad_golden.py   (from the repository root)."""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from refmodel import Net, st_save, state_numpy  # noqa: E402

ARCH = {"input_channels": 3, "blocks": [
    {"output_channels": 8, "num_layers": 1, "kernel_size": 3, "stride": 2, "expansion_factor": 1,
     "use_se": True, "se_ratio": 1.0, "conv_type": "depthwise", "skip_op": "identity",
     "activation": "relu6"},
    {"output_channels": 12, "num_layers": 2, "kernel_size": 3, "stride": 1, "expansion_factor": 2,
     "use_se": True, "se_ratio": 0.25, "conv_type": "mbconv", "skip_op": "residual",
     "activation": "leakyrelu"},
    {"output_channels": 16, "num_layers": 1, "kernel_size": 5, "stride": 2, "expansion_factor": 3,
     "use_se": False, "se_ratio": 0, "conv_type": "mbconv", "skip_op": "identity",
     "activation": "swish"},
    {"output_channels": 16, "num_layers": 1, "kernel_size": 3, "stride": 1, "expansion_factor": 1,
     "use_se": True, "se_ratio": 0.5, "conv_type": "depthwise", "skip_op": "residual",
     "activation": "swish"}]}
B, RES, CLASSES, STEPS = 8, 12, 10, 10
LR, MOM, WD = 0.05, 0.9, 5e-4


def main():
    torch.manual_seed(1234)
    torch.set_num_threads(1)
    m = Net(ARCH, CLASSES, 0.0)
    with torch.no_grad():  # BN affine away from 1/0 so every gradient path is exercised
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.weight.add_(0.2 * torch.randn_like(mod.weight))
                mod.bias.add_(0.2 * torch.randn_like(mod.bias))
            if isinstance(mod, torch.nn.Conv2d) and mod.bias is not None:  # SE: keep ReLUs alive
                mod.bias.uniform_(0.2, 0.6)
        m.classifier.weight.normal_(0, 0.3)
    meta = {"arch": json.dumps(ARCH, separators=(",", ":")), "classes": str(CLASSES)}
    st_save("tests/golden/grad-net-init.safetensors", state_numpy(m), meta)
    init = {k: v.clone() for k, v in m.state_dict().items()}
    images = torch.randn(STEPS, B, 3, RES, RES) * 1.5
    labels = torch.randint(0, CLASSES, (STEPS, B))
    out = {"images": images.numpy(), "labels": labels.numpy()}
    m.train()
    loss = torch.nn.functional.cross_entropy(m(images[0]), labels[0])
    loss.backward()
    out["loss0"] = np.array([loss.item()], dtype=np.float32)
    for k, p in m.named_parameters():
        out["grad." + k] = p.grad.numpy().copy()
    m.load_state_dict(init)  # the SGD run starts again from the initial state
    opt = torch.optim.SGD(m.parameters(), lr=LR, momentum=MOM, weight_decay=WD, nesterov=True)
    losses = []
    for s in range(STEPS):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(m(images[s]), labels[s])
        loss.backward()
        opt.step()
        losses.append(loss.item())
    out["losses"] = np.array(losses, dtype=np.float32)
    for k, v in state_numpy(m).items():
        if not k.endswith("num_batches_tracked"):
            out["after." + k] = v
    st_save("tests/golden/grad-net-golden.safetensors", out, {"lr": str(LR), "momentum": str(MOM),
                                                              "weight_decay": str(WD)})
    print("loss0", out["loss0"][0], "losses", losses)


if __name__ == "__main__":
    main()
