#!/usr/bin/env python3
"""latency-fit.py — fits the coefficients of src/cost/latency.c to measured instruction counts.

    pipelines/latency-fit.py MEASURED.jsonl...

Each line: a check-cost record with m7.ops = [{name, instructions}] and m7.instructions (what
pipelines/latency.sh writes). The features of every op come from `bin/check-cost --latency`
(one fact in one place: latency.c computes them); per kind, least squares of the relative error of the
measured instructions on the features; the rest of an inference (total minus its ops: the input copy
and the argmax) on [1, input bytes]. Prints the C tables to paste into latency.c, then the in-sample error
of each model's total. Standard library only (no numpy)."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KINDS = ["pw", "dw", "dw_group", "gap", "scale", "add"]
NFEAT = 6


def features(rec):
    """{op name: (kind, features)} of a record, from check-cost --latency."""
    out = subprocess.run([os.path.join(ROOT, "bin", "check-cost"), "--latency"],
                         input=json.dumps(rec), capture_output=True, text=True, check=True)
    ops = {}
    for line in out.stdout.splitlines():
        o = json.loads(line)
        ops[o["name"]] = (o["kind"], o["features"])
    return ops


def solve(rows, ys, ridge=1e-9, relative=True):
    """Least squares of the relative errors (each row divided by its y: small ops count as much
    as large ones), columns scaled to max 1, a tiny ridge; all-zero columns get 0."""
    if relative:
        rows = [[x / max(abs(y), 1) for x in r] for r, y in zip(rows, ys)]
        ys = [y / max(abs(y), 1) for y in ys]
    n = len(rows[0])
    scale = [max(abs(r[j]) for r in rows) or 0.0 for j in range(n)]
    cols = [j for j in range(n) if scale[j] > 0]
    a = [[sum(r[i] / scale[i] * r[j] / scale[j] for r in rows) + (ridge if i == j else 0)
          for j in cols] for i in cols]
    b = [sum(r[i] / scale[i] * y for r, y in zip(rows, ys)) for i in cols]
    m = len(cols)
    for p in range(m):  # Gaussian elimination with partial pivoting
        q = max(range(p, m), key=lambda i: abs(a[i][p]))
        a[p], a[q], b[p], b[q] = a[q], a[p], b[q], b[p]
        for i in range(p + 1, m):
            f = a[i][p] / a[p][p]
            for j in range(p, m):
                a[i][j] -= f * a[p][j]
            b[i] -= f * b[p]
    x = [0.0] * m
    for p in reversed(range(m)):
        x[p] = (b[p] - sum(a[p][j] * x[j] for j in range(p + 1, m))) / a[p][p]
    coef = [0.0] * n
    for k, j in enumerate(cols):
        coef[j] = x[k] / scale[j]
    return coef


def main(paths):
    recs = [json.loads(line) for p in paths for line in open(p) if line.strip()]
    data = {k: ([], []) for k in KINDS}
    glue_rows, glue_ys, per_rec = [], [], []
    for rec in recs:
        feats = features({k: v for k, v in rec.items() if k != "m7"})
        ops_sum = 0
        for op in rec["m7"]["ops"]:
            kind, f = feats[op["name"]]
            data[kind][0].append(f)
            data[kind][1].append(op["instructions"])
            ops_sum += op["instructions"]
        res = rec["cost"]["resolution"]
        inp = res[0] * res[1] * rec["arch"]["input_channels"]
        glue_rows.append([1.0, inp, 0.0])  # the argmax (classes) is too small to tell apart
        glue_ys.append(rec["m7"]["instructions"] - ops_sum)
        per_rec.append((rec, feats, glue_rows[-1]))
    coef = {k: solve(*data[k]) if data[k][0] else [0.0] * NFEAT for k in KINDS}
    glue = solve(glue_rows, glue_ys, ridge=1e-6, relative=False)
    print("/* fitted by pipelines/latency-fit.py on %d models, %d ops */" %
          (len(recs), sum(len(d[0]) for d in data.values())))
    for k in KINDS:
        print("\t{%s}, /* %s: %d ops */" % (", ".join("%.6g" % c for c in coef[k]), k,
                                            len(data[k][0])))
    print("glue: {%s}" % ", ".join("%.6g" % c for c in glue))
    worst = 0
    for rec, feats, g in per_rec:
        pred = sum(c * f for c, f in zip(glue, g))
        for op in rec["m7"]["ops"]:
            kind, f = feats[op["name"]]
            pred += max(0.0, sum(c * x for c, x in zip(coef[kind], f)))
        meas = rec["m7"]["instructions"]
        err = (pred - meas) / meas
        worst = max(worst, abs(err))
        print("# %s measured %d predicted %.0f error %+.2f%%" %
              (rec.get("id", "?"), meas, pred, 100 * err))
    print("# worst in-sample error %.2f%%" % (100 * worst))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: latency-fit.py MEASURED.jsonl...")
    main(sys.argv[1:])
