#!/usr/bin/python3
# Prints the golden values used by tests/unit/test_dataset.c (test_resize_golden): PyTorch's
# bilinear interpolation (align_corners=False, antialias=False) of a 3×5 ramp to 7×4.
import torch
import torch.nn.functional as F

x = torch.arange(15, dtype=torch.float32).reshape(1, 1, 3, 5) ** 1.5
y = F.interpolate(x, size=(7, 4), mode="bilinear", align_corners=False, antialias=False)
print(x.flatten().tolist())
print(y.flatten().tolist())
