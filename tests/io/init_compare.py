"""Compares c2seg's initial weights with the PyTorch reference's, tensor by tensor (used by
test_init_distribution): argv = OURS_DIR N_SEEDS REF_DIR... OURS_DIR holds NAME.f32 (our
init of NAME for seeds 0..N_SEEDS-1, concatenated); each REF_DIR is a `c2seg_ref.py dump`
(manifest.json + tensors.bin, the param.* tensors). Every reference parameter must exist in
ours with the same size, and ours has no other. A tensor that is constant in the reference (biases, norm affines,
running statistics, knots) must be equal value for value in every seed of ours. Any other
tensor (a random draw) is compared pooled over the seeds: two-sample Kolmogorov-Smirnov
statistic D against the critical value at alpha = 1e-5, c * sqrt((n + m) / (n m)) with
c = sqrt(-ln(alpha / 2) / 2); the mean, standard deviation and range are printed beside it.
Prints one row per tensor, then "ok N" or "bad: ..."."""
import json, math, os, sys
import numpy as np

ours_dir, n_seeds, refs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
ref = {}
for d in refs:
    m = json.load(open(os.path.join(d, "manifest.json")))
    raw = np.fromfile(os.path.join(d, "tensors.bin"), dtype=np.uint8)
    for e in m["tensors"]:
        if e["name"].startswith("param.") and e["dtype"] == "float32":
            a = np.frombuffer(raw[e["offset"]:e["offset"] + e["nbytes"]].tobytes(), "<f4").astype(np.float64)
            ref.setdefault(e["name"][6:], []).append(a)


def ks(a, b):
    a, b = np.sort(a), np.sort(b)
    x = np.concatenate([a, b])
    return float(np.max(np.abs(np.searchsorted(a, x, "right") / len(a) - np.searchsorted(b, x, "right") / len(b))))


c_alpha = math.sqrt(-math.log(1e-5 / 2) / 2)
errs, n = [], 0
print("%-34s %-6s %6s %6s %10s %10s %9s %9s %9s %9s %6s %6s" % (
    "tensor", "kind", "n_ours", "n_ref", "mean_ours", "mean_ref", "std_ours", "std_ref", "absmax_o", "absmax_r",
    "KS D", "crit"))
for name, arrs in ref.items():
    p = os.path.join(ours_dir, name + ".f32")
    if not os.path.exists(p):
        errs.append("%s: not in ours" % name)
        continue
    o = np.fromfile(p, "<f4").astype(np.float64)
    k = arrs[0].size
    if o.size != k * n_seeds:
        errs.append("%s: %d values for %d seeds of %d" % (name, o.size, n_seeds, k))
        continue
    r = np.concatenate(arrs)
    n += 1
    const = all(np.array_equal(a, arrs[0]) for a in arrs) and (len(arrs) > 1 or r.std() == 0 or name.endswith("grid"))
    if const:
        same = all(np.array_equal(o[s * k:(s + 1) * k], arrs[0].astype(np.float32).astype(np.float64))
                   for s in range(n_seeds))
        print("%-34s %-6s %6d %6d %10.4g %10.4g %9s %9s %9.4g %9.4g %6s %6s" % (
            name, "const", o.size, r.size, o.mean(), r.mean(), "-", "-", np.abs(o).max(), np.abs(r).max(),
            "-" if same else "DIFF", "-"))
        if not same:
            errs.append("%s: constant %s in the reference, ours differs" % (name, arrs[0][:3]))
        continue
    d = ks(o, r)
    crit = c_alpha * math.sqrt((o.size + r.size) / (o.size * r.size))
    print("%-34s %-6s %6d %6d %10.4g %10.4g %9.4g %9.4g %9.4g %9.4g %6.3f %6.3f%s" % (
        name, "random", o.size, r.size, o.mean(), r.mean(), o.std(), r.std(), np.abs(o).max(), np.abs(r).max(), d,
        crit, "  <-- differs" if d > crit else ""))
    if d > crit:
        errs.append("%s: KS D %.3f > %.3f (std ours %.4g, ref %.4g)" % (name, d, crit, o.std(), r.std()))
extra = sorted(f[:-4] for f in os.listdir(ours_dir) if f.endswith(".f32") and f[:-4] not in ref)
if extra:
    errs.append("ours only: %s" % extra)
print("ok %d" % n if not errs else "bad: " + "; ".join(errs))
