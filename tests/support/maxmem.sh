# tests/support/maxmem.sh: what the --max-memory tests (tests/io/test_max_memory*.sh) share.
# POSIX sh, sourced after testlib.sh and tl_begin (uses T, PY, BIN, ok, bad). Functions:
#   tree_peak COMMAND [ARG...]  runs COMMAND under tests/support/peak_memory.py: the tree's
#                               peaks in $T/mem.json, its stdout in $T/out.json, stderr $T/err
#   jget FILE KEY               KEY of a JSON file (a.b for nested keys), empty when absent
#   est_check WHAT INPUT [OPT...]
#                               `c2seg ingest INPUT OPT... --max-memory 8G` (planned, nothing
#                               lowered): the tree's measured peak under the plan's estimate,
#                               each sandbox worker's own pages under one job's estimate plus
#                               the largest NIfTI volume's reading (memory_plan.volume_bytes)
#   over_check WHAT REPORT ERR FILE...
#                               each FILE is one report row and one error line "too large to
#                               decode under --max-memory (needs N to decode WHAT ...)", nothing else

tree_peak() { $PY "$C2SEG_SOURCE/tests/support/peak_memory.py" "$T/mem.json" "$@" >"$T/out.json" 2>"$T/err"; }

jget() { $PY -c "import json,sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split('.'): v = v.get(k, '') if isinstance(v, dict) else ''
print(int(v) if isinstance(v, (int, float)) else v)" "$1" "$2" 2>/dev/null; }

est_check() {
    what=$1
    shift
    tree_peak "$BIN" ingest "$@" -o "$T/e.h5" --modality all --max-memory 8G -q || { bad "$what: $(cat "$T/err")"; return; }
    rm -f "$T/e.h5" "$T/e.h5.report.tsv"
    $PY - "$T/mem.json" "$T/out.json" "$what" >"$T/cmp" 2>&1 <<'PY' && ok "$(cat "$T/cmp")" || bad "$(cat "$T/cmp")"
import json, sys
m, o = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))["memory_plan"]
worst, job = max(m["workers"] or [0]), o["job_bytes"] + o.get("volume_bytes", 0)
print(f"{sys.argv[3]}: jobs {json.load(open(sys.argv[2]))['jobs']}, measured {m['total'] / 1048576:.1f} MiB "
      f"(c2seg {m['main'] / 1048576:.1f}, workers' own {[round(w / 1048576, 1) for w in m['workers']]}) <= estimate "
      f"{o['estimate_bytes'] / 1048576:.1f} MiB, a worker <= one job's {job / 1048576:.1f} MiB")
assert m["total"] <= o["estimate_bytes"] and worst <= job
PY
}

over_check() {
    what=$1 report=$2 err=$3
    shift 3
    $PY - "$report" "$err" "$@" >"$T/cmp" 2>&1 <<'PY' && ok "$what: $(cat "$T/cmp")" || bad "$what: $(cat "$T/cmp")"
import re, sys
report, err, files = sys.argv[1], sys.argv[2], sys.argv[3:]
rows = [l.rstrip("\n").split("\t") for l in open(report)][1:]
assert sorted(r[0].split("/")[-1] for r in rows) == sorted(files), rows
pat = (r"too large to decode under --max-memory \(needs [0-9.]+ [MG]iB to decode (its [0-9]+ x [0-9]+ compressed slice|"
       r"it and a mask of its size|its volume( and its mask)?) .*over --max-memory [0-9.]+ [MG]iB\)$")
assert all(re.match(pat, r[1]) for r in rows), rows
lines = open(err).read().splitlines()
assert len(lines) == len(files) and all("too large to decode" in l for l in lines), lines
print("; ".join(f"{r[0].split('/')[-1]}: {r[1]}" for r in rows))
PY
}
