#!/usr/bin/python3
# Golden values for tests/unit/test_augment.c (test_grid_golden): torchvision's geometric
# AutoAugment ops on a uint8 tensor, re-derived with torch alone (torchvision is not needed):
# the inverse affine matrix of torchvision.transforms.functional._get_inverse_affine_matrix, the
# pixel-centre grid of _functional_tensor._gen_affine_grid, grid_sample nearest with zero
# padding and align_corners=False.
import math
import torch
import torch.nn.functional as F


def inverse_matrix(center, angle, translate, shear):
    rot = math.radians(angle)
    sx, sy = math.radians(shear[0]), math.radians(shear[1])
    cx, cy = center
    tx, ty = translate
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    m = [d, -b, 0.0, -c, a, 0.0]
    m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty)
    m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty)
    m[2] += cx
    m[5] += cy
    return m


def warp(img, m):
    _, h, w = img.shape
    theta = torch.tensor(m, dtype=torch.float32).reshape(1, 2, 3)
    xs = torch.linspace(-w * 0.5 + 0.5, w * 0.5 - 0.5, w)
    ys = torch.linspace(-h * 0.5 + 0.5, h * 0.5 - 0.5, h)
    base = torch.ones(1, h, w, 3)
    base[..., 0] = xs
    base[..., 1] = ys.unsqueeze(-1)
    scaled = theta.transpose(1, 2) / torch.tensor([0.5 * w, 0.5 * h])
    grid = base.view(1, h * w, 3).bmm(scaled).view(1, h, w, 2)
    out = F.grid_sample(img.unsqueeze(0).float(), grid, mode="nearest", padding_mode="zeros",
                        align_corners=False)
    return out.round().to(torch.uint8)[0]


h, w = 5, 6
img = (torch.arange(h * w, dtype=torch.int64) * 7 % 251 + 1).to(torch.uint8).reshape(1, h, w)
cases = {
    "rotate 20": inverse_matrix([0.0, 0.0], -20.0, [0.0, 0.0], [0.0, 0.0]),
    "rotate -13.3": inverse_matrix([0.0, 0.0], 13.333333015441895, [0.0, 0.0], [0.0, 0.0]),
    "shearX 0.3": inverse_matrix([-w * 0.5, -h * 0.5], 0.0, [0.0, 0.0],
                                 [math.degrees(math.atan(0.30000001192092896)), 0.0]),
    "shearY -0.2667": inverse_matrix([-w * 0.5, -h * 0.5], 0.0, [0.0, 0.0],
                                     [0.0, math.degrees(math.atan(-0.2666666805744171))]),
}
print("input", img.flatten().tolist())
for name, m in cases.items():
    print(name, warp(img, m).flatten().tolist())
