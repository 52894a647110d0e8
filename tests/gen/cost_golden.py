#!/usr/bin/python3
"""cost_golden.py — golden cost figures for check-cost, computed with PyTorch.

Builds the reference PyTorch model (the paper authors' LLMGenModel structure, see DESIGN.md) for
random architectures of the search space at random resolutions (28..160, some not square) and
class counts, and records per arch:

  macs             forward hooks on every Conv2d and Linear (SE's 1x1 convs and the classifier
                   included): output elements x (in_channels / groups) x kh x kw, or in x out
  params           sum of numel() of every parameter
  flash_bytes      per Conv2d/Linear: weight numel + 9 bytes per output channel, plus 256 bytes
                   per executed Sigmoid, SiLU or LeakyReLU module (one lookup table per op)
  peak_sram_bytes  layer by layer: max over operations of input(s) + output + tensors held for
                   later (the layer input held for the residual add), int8 = 1 byte/element;
                   computed here from the module structure and the shapes seen in forward

The script first checks itself against DESIGN.md's figures for the paper's three models.
Run with Debian's python3-torch:  /usr/bin/python3 tests/gen/cost_golden.py
It writes tests/golden/cost-random.jsonl (deterministic: fixed seed).
"""
import json
import os
import random
import sys

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SHARED = os.environ.get("LMNAS_SHARED") or next(
    (d for d in (os.path.join(ROOT, "..", "shared"), os.path.join(ROOT, "..", "..", "shared"))
     if os.path.isdir(d)), "../shared")
PAPER = SHARED + "/paper-models"


def act_module(name):
    return {"relu6": nn.ReLU6, "leakyrelu": lambda: nn.LeakyReLU(0.01), "swish": nn.SiLU}[name]()


class SqueezeExcitation(nn.Module):
    def __init__(self, c, r):
        super().__init__()
        red = max(1, int(c * r))
        self.se = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, red, 1), nn.ReLU(),
                                nn.Conv2d(red, c, 1), nn.Sigmoid())

    def forward(self, x):
        return x * self.se(x)


class Layer(nn.Module):
    def __init__(self, cin, cout, k, stride, e, use_se, se_ratio, conv_type, skip_op, act):
        super().__init__()
        mods = []
        if conv_type == "mbconv":
            hidden = cin * e
            mods += [nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), act_module(act)]
        else:
            hidden = cin
        mods += [nn.Conv2d(hidden, hidden, k, stride, k // 2, groups=hidden, bias=False),
                 nn.BatchNorm2d(hidden), act_module(act)]
        self.has_se = bool(use_se and se_ratio > 0)
        if self.has_se:
            mods.append(SqueezeExcitation(hidden, se_ratio))
        mods += [nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*mods)
        self.use_res = skip_op == "residual" and stride == 1
        self.res_proj = None
        if self.use_res and cin != cout:
            self.res_proj = nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.conv_type, self.cin, self.cout, self.hidden = conv_type, cin, cout, hidden

    def forward(self, x):
        self.in_shape = tuple(x.shape[1:])
        y = self.conv(x)
        self.out_shape = tuple(y.shape[1:])
        if self.use_res:
            y = y + (self.res_proj(x) if self.res_proj is not None else x)
        return y


class Block(nn.Module):
    def __init__(self, cin, b):
        super().__init__()
        layers = []
        for i in range(b["num_layers"]):
            layers.append(Layer(cin if i == 0 else b["output_channels"], b["output_channels"],
                                b["kernel_size"], b["stride"] if i == 0 else 1,
                                b["expansion_factor"], b["use_se"], b["se_ratio"],
                                b["conv_type"], b["skip_op"], b["activation"]))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)


class Model(nn.Module):
    def __init__(self, arch, classes):
        super().__init__()
        blocks, c = [], arch["input_channels"]
        for b in arch["blocks"]:
            blocks.append(Block(c, b))
            c = b["output_channels"]
        self.layers = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(0.2)
        self.classifier = nn.Linear(c, classes)

    def forward(self, x):
        x = self.layers(x)
        self.feat_shape = tuple(x.shape[1:])
        return self.classifier(self.dropout(torch.flatten(self.pool(x), 1)))


def numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def layer_peak(layer):
    """Max live bytes over the ops of one layer: a list of (bytes, description)."""
    c_in, h_in, w_in = layer.in_shape
    c_out, h_out, w_out = layer.out_shape
    x = c_in * h_in * w_in
    held = x if layer.use_res else 0      # the layer input, kept for the add
    hid_in = layer.hidden * h_in * w_in   # expand output / dw input
    hid_out = layer.hidden * h_out * w_out
    y = c_out * h_out * w_out
    ops = []
    if layer.conv_type == "mbconv":
        ops.append(x + hid_in)                       # expand: x is its input (and held)
        ops.append(hid_in + hid_out + held)          # dw
    else:
        ops.append(x + hid_out)                      # dw reads x itself (held = x)
    if layer.has_se:
        se = [m for m in layer.conv if isinstance(m, SqueezeExcitation)][0]
        r = se.se[1].out_channels                    # the reduced width
        ch = layer.hidden
        ops.append(hid_out + ch + held)              # pool: h -> [C]; h held
        ops.append(ch + r + hid_out + held)          # fc1
        ops.append(r + ch + hid_out + held)          # fc2
        ops.append(hid_out + ch + hid_out + held)    # scale: h * s -> h'
    ops.append(hid_out + y + held)                   # project
    if layer.use_res:
        if layer.res_proj is not None:
            ops.append(x + y + y)                    # res_proj: x -> p, y held
            ops.append(y + y + y)                    # add: y + p -> z
        else:
            ops.append(y + x + y)                    # add: y + x -> z
    return max(ops)


def peak_sram(model, classes):
    peak = 0
    for block in model.layers:
        for layer in block.layers:
            peak = max(peak, layer_peak(layer))
    c = model.feat_shape[0]
    peak = max(peak, numel(model.feat_shape) + c, c + classes)
    return peak


def measure(arch, h, w, classes):
    torch.manual_seed(0)
    model = Model(arch, classes).eval()
    macs = [0]
    luts = [0]

    def conv_hook(m, inp, out):
        macs[0] += out.numel() // out.shape[0] * (m.in_channels // m.groups) * \
            m.kernel_size[0] * m.kernel_size[1]

    def linear_hook(m, inp, out):
        macs[0] += m.in_features * m.out_features

    def lut_hook(m, inp, out):
        luts[0] += 1

    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            m.register_forward_hook(conv_hook)
        elif isinstance(m, nn.Linear):
            m.register_forward_hook(linear_hook)
        elif isinstance(m, (nn.Sigmoid, nn.SiLU, nn.LeakyReLU)):
            m.register_forward_hook(lut_hook)
    with torch.no_grad():
        model(torch.zeros(1, arch["input_channels"], h, w))
    params = sum(p.numel() for p in model.parameters())
    flash = 256 * luts[0]
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            flash += m.weight.numel() + 9 * m.out_channels
        elif isinstance(m, nn.Linear):
            flash += m.weight.numel() + 9 * m.out_features
    return {"macs": macs[0], "params": params, "flash_bytes": flash,
            "peak_sram_bytes": peak_sram(model, classes)}


SPACE = json.load(open(os.path.join(ROOT, "data", "search-space.json")))["block_fields"]


def random_arch(rng):
    blocks = []
    for _ in range(5):
        use_se = rng.choice([True, False])
        blocks.append({
            "output_channels": rng.choice(SPACE["output_channels"]["values"]),
            "num_layers": rng.choice([1, 1, 2, 2, 3, 4]),
            "kernel_size": rng.choice(SPACE["kernel_size"]["values"]),
            "stride": rng.choice(SPACE["stride"]["values"]),
            "expansion_factor": rng.choice(SPACE["expansion_factor"]["values"]),
            "use_se": use_se,
            "se_ratio": rng.choice(SPACE["se_ratio"]["values"]) if use_se else rng.choice([0, 0.25]),
            "conv_type": rng.choice(SPACE["conv_type"]["values"]),
            "skip_op": rng.choice(SPACE["skip_op"]["values"]),
            "activation": rng.choice(SPACE["activation"]["values"]),
        })
    return {"input_channels": rng.choice([1, 3]), "blocks": blocks}


def main():
    torch.set_num_threads(2)
    expect = {"lmanet-elite": (81963264, 497997, 204800), "lmanet-core": (76432000, 453220, 307200),
              "qwnet-core": (67051008, 154749, 409600)}
    for name, want in expect.items():
        arch = json.load(open(f"{PAPER}/{name}.json"))
        got = measure(arch, 160, 160, 100)
        got3 = (got["macs"], got["params"], got["peak_sram_bytes"])
        if got3 != want:
            sys.exit(f"self-check failed for {name}: {got3} != {want}")
        print(f"{name}: {got}", file=sys.stderr)
    rng = random.Random(20261122)
    out = []
    for i in range(50):
        arch = random_arch(rng)
        h = rng.randint(28, 160)
        w = h if rng.random() < 0.7 else rng.randint(28, 160)
        classes = rng.choice([10, 100, 1000, rng.randint(2, 300)])
        rec = {"arch": arch, "resolution": [h, w], "classes": classes}
        rec["expect"] = measure(arch, h, w, classes)
        out.append(json.dumps(rec, separators=(",", ":")))
    path = os.path.join(ROOT, "tests", "golden", "cost-random.jsonl")
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(out) + "\n")
    os.replace(path + ".tmp", path)
    print(f"wrote {len(out)} records to {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
