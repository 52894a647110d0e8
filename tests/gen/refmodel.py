"""refmodel.py - the reference PyTorch model of an lmnas arch (the paper authors' model, as
DESIGN.md and COMMON.md describe it), plus a minimal safetensors reader/writer (no safetensors
package needed). Used by the scripts in tests/gen/ and pipelines/bench_torch.py."""
import json
import struct

import numpy as np
import torch
import torch.nn as nn

ACTS = {"relu6": lambda: nn.ReLU6(inplace=True),
        "leakyrelu": lambda: nn.LeakyReLU(0.01, inplace=True),
        "swish": lambda: nn.SiLU(inplace=True)}


class SqueezeExcitation(nn.Module):
    def __init__(self, c, r):
        super().__init__()
        s = max(1, int(c * r))
        self.se = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, s, 1), nn.ReLU(),
                                nn.Conv2d(s, c, 1), nn.Sigmoid())

    def forward(self, x):
        return x * self.se(x)


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, k, stride, e, use_se, r, conv_type, skip, act):
        super().__init__()
        mods = []
        if conv_type == "mbconv":
            h = cin * e
            mods += [nn.Conv2d(cin, h, 1, bias=False), nn.BatchNorm2d(h), ACTS[act]()]
        else:
            h = cin
        mods += [nn.Conv2d(h, h, k, stride, k // 2, groups=h, bias=False), nn.BatchNorm2d(h),
                 ACTS[act]()]
        if use_se and r > 0:
            mods.append(SqueezeExcitation(h, r))
        mods += [nn.Conv2d(h, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*mods)
        self.use_res = skip == "residual" and stride == 1
        if self.use_res and cin != cout:
            self.res_proj = nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False),
                                          nn.BatchNorm2d(cout))
        else:
            self.res_proj = None

    def forward(self, x):
        y = self.conv(x)
        if self.use_res:
            y = y + (self.res_proj(x) if self.res_proj is not None else x)
        return y


class Stage(nn.Module):
    def __init__(self, cin, b):
        super().__init__()
        ls = []
        for i in range(b["num_layers"]):
            ls.append(InvertedResidual(cin, b["output_channels"], b["kernel_size"],
                                       b["stride"] if i == 0 else 1, b["expansion_factor"],
                                       b["use_se"], b["se_ratio"], b["conv_type"],
                                       b["skip_op"], b["activation"]))
            cin = b["output_channels"]
        self.layers = nn.Sequential(*ls)

    def forward(self, x):
        return self.layers(x)


class Net(nn.Module):
    def __init__(self, arch, classes, dropout=0.0):
        super().__init__()
        c = arch["input_channels"]
        st = []
        for b in arch["blocks"]:
            st.append(Stage(c, b))
            c = b["output_channels"]
        self.layers = nn.Sequential(*st)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(c, classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.layers(x)
        x = torch.flatten(self.pool(x), 1)
        return self.classifier(self.dropout(x))


DT = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32}
TD = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64", np.dtype(np.int32): "I32",
      np.dtype(np.float64): "F64"}


def st_load(path):
    """Returns (dict name -> numpy array, metadata dict)."""
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    meta = h.pop("__metadata__", {})
    out = {}
    for k, v in h.items():
        s, e = v["data_offsets"]
        out[k] = np.frombuffer(b[8 + n + s:8 + n + e], dtype=DT[v["dtype"]]).reshape(v["shape"])
    return out, meta


def st_save(path, tensors, meta=None):
    hdr, blobs, off = {}, [], 0
    for k, a in tensors.items():
        a = np.ascontiguousarray(a)
        raw = a.tobytes()
        hdr[k] = {"dtype": TD[a.dtype], "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    if meta:
        hdr["__metadata__"] = meta
    hj = json.dumps(hdr).encode()
    hj += b" " * ((8 - len(hj) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)) + hj + b"".join(blobs))


def state_numpy(model):
    return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}
