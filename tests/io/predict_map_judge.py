"""predict_map_judge.py DIR: an independent resampling of a model-resolution probability
map onto the source grid, compared voxel by voxel with what predict_map_slice wrote.

DIR holds prob.f32 (S*S float32, row-major), out.u8 (the source grid as written, raw
uint8 in the grid's memory order) and map.txt: line 1 `S`, line 2 the grid `d0 d1 d2`
and strides `s0 s1 s2` (elements), lines 3-5 the 3x3 model (row, col, 1) -> source
(a0, a1, a2) map. For every source voxel of the mapped plane the model position is found by
solving the full homogeneous 3x3 system with numpy (not the 2x2 inverse of the C code),
the map is sampled bilinearly with edges clamped (torch align_corners=False
semantics) and scaled to 0..255. Voxels off the plane must be untouched (0). A difference
of more than 1 (rounding) at any voxel fails."""
import sys
import numpy as np

d = sys.argv[1]
lines = open(d + "/map.txt").read().split("\n")
S = int(lines[0])
g = [int(x) for x in lines[1].split()]
dims, strides = g[:3], g[3:]
M = np.array([[float(x) for x in lines[i].split()] for i in (2, 3, 4)])
prob = np.fromfile(d + "/prob.f32", dtype=np.float32).astype(np.float64).reshape(S, S)
out = np.fromfile(d + "/out.u8", dtype=np.uint8)

fixed = [a for a in range(3) if M[a, 0] == 0 and M[a, 1] == 0]
assert len(fixed) == 1, "map is not a plane"
fixed = fixed[0]
p, q = [a for a in range(3) if a != fixed]
sl = int(round(M[fixed, 2]))
ap, aq = np.meshgrid(np.arange(dims[p]), np.arange(dims[q]), indexing="ij")
# model (row, col) with M @ (row, col, 1) = source point: solve the 3x3 system where the
# fixed axis' equation is replaced by the homogeneous 1
A = np.array([M[p], M[q], [0.0, 0.0, 1.0]])
rhs = np.stack([ap.ravel(), aq.ravel(), np.ones(ap.size)])
rc = np.linalg.solve(A, rhs)
y = np.clip(rc[0], 0, S - 1)
x = np.clip(rc[1], 0, S - 1)
y0 = np.floor(y).astype(int)
x0 = np.floor(x).astype(int)
y1 = np.minimum(y0 + 1, S - 1)
x1 = np.minimum(x0 + 1, S - 1)
wy, wx = y - y0, x - x0
v = (prob[y0, x0] * (1 - wx) + prob[y0, x1] * wx) * (1 - wy) + (prob[y1, x0] * (1 - wx) + prob[y1, x1] * wx) * wy
want = np.rint(v * 255.0)
idx = sl * strides[fixed] + ap.ravel() * strides[p] + aq.ravel() * strides[q]
got = out[idx].astype(np.float64)
diff = np.abs(got - want)
others = np.ones(out.size, bool)
others[idx] = False
bad = int((diff > 1).sum())
if bad or out[others].any():
    k = int(np.argmax(diff))
    print("mapped plane: %d of %d voxels differ by > 1 (worst %d at source (%d, %d): got %d, numpy %d); "
          "%d voxels off the plane written" % (bad, diff.size, diff[k], ap.ravel()[k], aq.ravel()[k], got[k], want[k],
                                               int(out[others].astype(bool).sum())))
    sys.exit(1)
print("mapped plane: %d voxels equal numpy's resampling (within 1 of 255)" % diff.size)
