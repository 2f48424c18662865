"""An independent numpy / scipy implementation of METHOD.md section 7 (text-mask
consistency), the judge of test_zones_qata.sh and test_report.sh: masks read with Pillow,
zones, laterality and components from a mask, and the template captions' laterality,
count and zones parsed with regular expressions. Nothing here calls c2seg."""
import re

import numpy as np
from PIL import Image
from scipy import ndimage


def load_mask(path, size=0):
    """A grey PNG mask as 0/1 uint8 (> half of the range, or > 0 for 0/1 masks), resized to
    size x size as torch.nn.functional.interpolate(mode='nearest') does when size > 0."""
    a = np.asarray(Image.open(path))
    if a.ndim == 3:                      # not in QaTa, but a judge must not guess
        raise SystemExit("%s: not a grey mask" % path)
    maxval = 65535 if a.dtype == np.uint16 else 255
    thr = 0 if a.max() <= 1 else maxval // 2
    m = (a > thr).astype(np.uint8)
    if size:
        # torch 'nearest': src = floor(dst * float32(in / out))
        h, w = m.shape
        ys = np.minimum(np.floor(np.arange(size, dtype=np.float32) * np.float32(h / size)).astype(int), h - 1)
        xs = np.minimum(np.floor(np.arange(size, dtype=np.float32) * np.float32(w / size)).astype(int), w - 1)
        m = m[ys][:, xs]
    return m


def zones(m, conv="image"):
    """The six zone flags [L-upper, L-middle, L-lower, R-upper, R-middle, R-lower] and the
    number of 8-connected components >= 0.1 % of the image."""
    H, W = m.shape
    c1, c2 = round(H / 3), round(0.4 * H)          # Python round: half to even
    right = (np.arange(W) + 0.5) >= W / 2.0         # image right half
    text_left_cols = right if conv == "patient" else ~right
    rows = [slice(0, c1), slice(c1, c2), slice(c2, H)]
    out = []
    for side_cols in (text_left_cols, ~text_left_cols):
        side_px = H * int(side_cols.sum())
        for r in rows:
            n = int(m[r][:, side_cols].sum())
            out.append(int(n > 0 and n >= 0.005 * side_px))
    lab, k = ndimage.label(m, structure=np.ones((3, 3), int))
    areas = np.bincount(lab.ravel())[1:]
    comps = int((areas >= 0.001 * H * W).sum())
    return out, comps


def laterality(z):
    """none / left / right / bilateral from the zone flags."""
    left, right = any(z[:3]), any(z[3:])
    return "bilateral" if left and right else "left" if left else "right" if right else "none"


NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}


def parse_caption(text):
    """Laterality, count and zone flags of a template caption ('bilateral pulmonary
    infection, two infected areas, upper left lung and lower right lung.')."""
    t = text.lower()
    m = re.search(r"\b(one|two|three|four|five|six|seven|eight|nine)\s+infected\s+areas?", t)
    count = NUMBERS[m.group(1)] if m else None
    z = [0] * 6
    for words, side in re.findall(r"((?:(?:upper|middle|lower|all)\s*(?:and\s+|,\s*)?)*)\s*(left|right)\s+lung", t):
        names = re.findall(r"upper|middle|lower|all", words)
        rows = [0, 1, 2] if not names or "all" in names else [["upper", "middle", "lower"].index(n) for n in names]
        for r in rows:
            z[(0 if side == "left" else 3) + r] = 1
    if "bilateral" in t:
        lat = "bilateral"
    elif "unilateral" in t or "left" in t or "right" in t:
        lat = laterality(z)
    else:
        lat = "none"
    return lat, count, z
