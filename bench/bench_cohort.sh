#!/bin/sh
# The cohort benchmark (issue 16): a generated cohort of N studies (default 200) with 5 %
# of its CT files broken in known ways goes through ingest and `c2seg run` (predict with a
# small model + report). Prints studies per minute, the status table's counts, and checks
# that every valid study produced its outputs (a SEG that dciodvfy accepts for a sample)
# and that every broken file is reported. Never gates CI.
#
# usage: bench/bench_cohort.sh [WORKDIR]    (default build/bench-cohort)
# environment: C2SEG_BUILD_DIR (build), BENCH_STUDIES (200), BENCH_SLICES (8),
#              BENCH_SIZE (64), BENCH_BROKEN_PERCENT (5), BENCH_MODEL (a ct_hu checkpoint;
#              default: a small model trained here for a few steps: throughput, not Dice)
# Writes WORKDIR/results.json.
set -eu
cd "$(dirname "$0")/.."
BUILD="${C2SEG_BUILD_DIR:-build}"
W="${1:-$BUILD/bench-cohort}"
N="${BENCH_STUDIES:-200}"
SLICES="${BENCH_SLICES:-8}"
SIZE="${BENCH_SIZE:-64}"
PCT="${BENCH_BROKEN_PERCENT:-5}"
C2SEG="$(pwd)/$BUILD/c2seg"
rm -rf "$W" && mkdir -p "$W"
W="$(cd "$W" && pwd)"
now() { date +%s.%N; }

echo "== generate $N studies ($SLICES slices of ${SIZE}x$SIZE) into $W/gen"
t=$(now)
"$BUILD/c2seg-sample-data" -o "$W/gen" --studies "$N" --slices "$SLICES" --size "$SIZE" >/dev/null 2>"$W/gen.log"
echo "   $(awk "BEGIN { print $(now) - $t }") s"

echo "== break $PCT % of the CT files (truncated / garbage / wrong VR) and add non-image files"
python3 - "$W/gen/dicom" "$PCT" "$W/broken.tsv" <<'EOF'
import os, random, sys
root, pct, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
files = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f.endswith(".dcm") and "/CT/" in d + "/")
rng = random.Random(16)
broken = rng.sample(files, max(1, round(len(files) * pct / 100)))
kinds = ("truncated", "garbage", "wrong-vr")
with open(out, "w") as log:
    log.write("file\tkind\n")
    for i, f in enumerate(sorted(broken)):
        kind = kinds[i % 3]
        data = open(f, "rb").read()
        if kind == "truncated":       # cut inside the pixel data
            data = data[: len(data) // 2]
        elif kind == "garbage":       # same size, no DICOM preamble or tags
            data = bytes(rng.randrange(256) for _ in range(len(data)))
        else:                         # Rows (0028,0010): VR US -> a VR that does not exist
            at = data.find(b"\x28\x00\x10\x00US")
            assert at > 0, f
            data = data[: at + 4] + b"Q9" + data[at + 6 :]
        open(f, "wb").write(data)
        log.write("%s\t%s\n" % (f, kind))
# mixed content a real folder has: notes and a stray image
for d in sorted(os.listdir(root))[:10]:
    open(os.path.join(root, d, "README.txt"), "w").write("scanned at site A\n")
print("   %d of %d CT files broken" % (len(broken), len(files)))
EOF

MODEL="${BENCH_MODEL:-}"
if [ -z "$MODEL" ]; then
    echo "== a small model (preset small, 4 steps on 4 NIfTI volumes: for throughput only)"
    mkdir -p "$W/learn"
    for m in $(ls "$W/gen/nifti/"*_mask.nii.gz | head -4); do
        ln -s "${m%_mask.nii.gz}.nii.gz" "$m" "$W/learn/"
    done
    printf 'workdir = model\ntrain = learn\npreset = small\nepochs = 1\nmax_steps = 4\nbatch = 8\n' >"$W/model.conf"
    "$C2SEG" run -q "$W/model.conf" >/dev/null
    MODEL="$W/model/model.ckpt"
fi

echo "== ingest the cohort ($W/gen/dicom)"
t=$(now)
rc=0
"$C2SEG" ingest "$W/gen/dicom" -o "$W/ingest.h5" --preset small -q >"$W/ingest.json" || rc=$?
ti=$(awk "BEGIN { print $(now) - $t }")
echo "   exit $rc, $ti s"

echo "== c2seg run: predict + report with $MODEL"
printf 'workdir = run\nmodel = %s\npredict = gen/dicom\n' "$MODEL" >"$W/bench.conf"
load0=$(cut -d' ' -f1-3 /proc/loadavg)
t=$(now)
rc2=0
"$C2SEG" run "$W/bench.conf" >"$W/run.json" 2>"$W/run.log" || rc2=$?
tr=$(awk "BEGIN { print $(now) - $t }")
load1=$(cut -d' ' -f1-3 /proc/loadavg)
tail -25 "$W/run.log" | grep -v '^c2seg predict: cases'
echo "   exit $rc2, $tr s"

python3 - "$W" "$N" "$ti" "$tr" "$rc" "$rc2" "$load0" "$load1" <<'EOF'
import csv, json, os, subprocess, sys
w, n, ti, tr, rc_ingest, rc_run, load0, load1 = sys.argv[1:]
n, ti, tr = int(n), float(ti), float(tr)
broken = {r["file"]: r["kind"] for r in csv.DictReader(open(os.path.join(w, "broken.tsv")), delimiter="\t")}
rows = list(csv.DictReader(open(os.path.join(w, "run/status.tsv")), delimiter="\t"))
counts = {s: sum(r["status"] == s for r in rows) for s in ("done", "skipped", "failed")}
pred = json.load(open(os.path.join(w, "run/predict/predictions.json")))
gen = os.path.join(w, "gen", "dicom")
studies = sorted(os.listdir(gen))
bad_study = {os.path.relpath(f, gen).split(os.sep)[0] for f in broken}
ok_case = {}
for c in pred["cases"]:
    study = os.path.relpath(os.path.realpath(c["inputs"][0]), os.path.realpath(gen)).split(os.sep)[0]
    if c["status"] == "ok" and os.path.exists(os.path.join(w, "run/predict", c["outputs"]["mask"])):
        ok_case[study] = c["outputs"]["mask"]
missing = [s for s in studies if s not in bad_study and s not in ok_case]
reported = {os.path.realpath(r["item"]) for r in rows if r["status"] == "skipped"}
unreported = [f for f in broken if os.path.realpath(f) not in reported]
# dciodvfy on a sample of the SEG files (every 20th)
vfy_bad = 0
sample = sorted(ok_case.values())[::20]
for m in sample:
    p = subprocess.run(["dciodvfy", os.path.join(w, "run/predict", m)], capture_output=True, text=True)
    vfy_bad += any(l.startswith("Error") for l in p.stderr.splitlines())
res = {"studies": n, "broken_files": len(broken), "studies_with_a_broken_file": len(bad_study),
       "ingest_seconds": ti, "ingest_exit": int(rc_ingest), "run_seconds": tr, "run_exit": int(rc_run),
       "studies_per_minute_run": 60 * n / tr, "studies_per_minute_ingest": 60 * n / ti,
       "status_counts": counts, "studies_with_outputs": len(ok_case),
       "valid_studies_missing_outputs": missing, "broken_files_not_reported": unreported,
       "seg_checked_with_dciodvfy": len(sample), "seg_failing_dciodvfy": vfy_bad,
       "loadavg_before": load0, "loadavg_after": load1, "cpus": os.cpu_count()}
json.dump(res, open(os.path.join(w, "results.json"), "w"), indent=1)
print("== results (%s/results.json)" % w)
print("  studies %d, broken files %d (in %d studies)" % (n, len(broken), len(bad_study)))
print("  ingest alone       %.1f s  %.1f studies/min (exit %s)" % (ti, 60 * n / ti, rc_ingest))
print("  run (predict+report) %.1f s  %.1f studies/min (exit %s)" % (tr, 60 * n / tr, rc_run))
print("  status table       %d done, %d skipped, %d failed" % (counts["done"], counts["skipped"], counts["failed"]))
print("  studies with outputs %d; valid studies without outputs: %d %s" % (len(ok_case), len(missing), missing[:5]))
print("  broken files not reported: %d %s" % (len(unreported), unreported[:3]))
print("  SEG sample through dciodvfy: %d, with Error lines: %d" % (len(sample), vfy_bad))
print("  load average before / after: %s / %s on %d CPUs" % (load0, load1, os.cpu_count()))
sys.exit(1 if missing or unreported or vfy_bad else 0)
EOF
