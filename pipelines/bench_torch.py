#!/usr/bin/python3
"""bench_torch.py ARCH.json RES BATCH CLASSES STEPS [THREADS [LAYOUT]] - PyTorch's training
throughput on the same steps as `mini-train --benchmark` (forward, cross-entropy, backward, SGD
momentum 0.9 Nesterov wd 5e-4, random data, 3 warm-up steps). LAYOUT is nchw (PyTorch's default),
channels_last (model and input in torch.channels_last, PyTorch's faster CPU layout for
depthwise nets) or bf16 (channels_last with the forward under torch.autocast("cpu", bfloat16),
PyTorch's mixed precision on CPUs; the loss in fp32). Prints {"images_per_s": ..., "layout": ...};
a configuration this PyTorch cannot run exits with its error."""
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "gen"))
from refmodel import Net  # noqa: E402


def main():
    arch_path, res, batch, classes, steps = sys.argv[1:6]
    threads = int(sys.argv[6]) if len(sys.argv) > 6 else 2
    layout = sys.argv[7] if len(sys.argv) > 7 else "nchw"
    if layout not in ("nchw", "channels_last", "bf16"):
        sys.exit("bench_torch.py: LAYOUT is nchw, channels_last or bf16, not %r" % layout)
    torch.set_num_threads(threads)
    doc = json.load(open(arch_path))
    arch = doc.get("arch", doc)
    res, batch, classes, steps = int(res), int(batch), int(classes), int(steps)
    m = Net(arch, classes)
    m.train()
    x = torch.randn(batch, arch["input_channels"], res, res)
    if layout in ("channels_last", "bf16"):
        m = m.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4, nesterov=True)
    y = torch.randint(0, classes, (batch,))

    def step():
        opt.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=layout == "bf16"):
            out = m(x)
        loss = torch.nn.functional.cross_entropy(out.float(), y)
        loss.backward()
        opt.step()

    try:
        for _ in range(3):
            step()
    except RuntimeError as e:  # an op without a kernel for this configuration
        sys.exit("bench_torch.py: PyTorch %s cannot train this net in %s: %s"
                 % (torch.__version__, layout, str(e).splitlines()[0]))
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    secs = time.perf_counter() - t0
    print(json.dumps({"images_per_s": steps * batch / secs, "threads": threads,
                      "layout": layout, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
