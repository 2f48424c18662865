#!/bin/sh
# The documentation is true to the code (issue 30): README.md and docs/*.md.
#  1. Every fenced block marked runnable (a ```sh runnable fence) runs, page by page in a
#     fresh folder laid out like the repository root (build/ -> the build, ../shared ->
#     the shared data, `c2seg` on PATH), blocks of a page in order, each with sh -eu, and
#     must exit 0: a command or option that no longer exists fails (exit 2).
#  2. Every `c2seg STAGE ...` or `build/c2seg STAGE ...` line of every fenced sh / console
#     block (runnable or not) names a stage of `c2seg --help`, and each --option on it is
#     one that `c2seg STAGE --help` lists, and the stages that write a file (ingest, train,
#     pretrain, predict, export, import-torch) have their -o (a line marked "# wrong on
#     purpose" is skipped).
#  3. The key table of docs/run-config.md is the one `c2seg run --help` prints.
# Blocks are budgeted to the sample data (seconds each; the whole test well under a minute).
set -u
BIN="$C2SEG_BIN"
SRC="$C2SEG_SOURCE"
mkdir -p "$C2SEG_BUILD/test-tmp"
T=$(mktemp -d "$C2SEG_BUILD/test-tmp/docs.XXXXXX") || exit 1
export C2SEG_THREADS=1
/usr/bin/python3 - "$SRC" "$BIN" "$C2SEG_BUILD" "$C2SEG_SHARED" "$T" <<'PY'
import glob, os, re, shlex, subprocess, sys, time

src, binary, build, shared, tmp = sys.argv[1:6]
pages = [os.path.join(src, "README.md")] + sorted(glob.glob(os.path.join(src, "docs", "*.md")))
fence = re.compile(r"^```(\S*)(.*)$")
fails, ran, checked = [], 0, 0

def blocks(path):
    """(info, first line number, text) of every fenced block."""
    out, cur = [], None
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        m = fence.match(line.rstrip("\n"))
        if m and cur is None:
            cur = (m.group(1), m.group(2).strip(), n, [])
        elif line.startswith("```") and cur is not None:
            out.append((cur[0], cur[1], cur[2], "".join(cur[3])))
            cur = None
        elif cur is not None:
            cur[3].append(line)
    return out

# 2. static check of stages and options. In a block without a language only lines that are
# commands count: c2seg first, after environment assignments, time, nice or mpirun -np N
prefix = re.compile(r"\s*(?:(?:[A-Z_][A-Z0-9_]*=\S*|\S*/?time|nice|mpirun\s+-np\s+\d+|\$)\s+)*(?:\S*/)?")
helps = {}
def stage_help(stage):
    if stage not in helps:
        p = subprocess.run([binary, stage, "--help"], capture_output=True, text=True)
        helps[stage] = p.stdout if p.returncode == 0 else None
    return helps[stage]
top = subprocess.run([binary, "--help"], capture_output=True, text=True).stdout
stages = set(re.findall(r"^  ([a-z][a-z-]+) ", top, re.M))
for page in pages:
    rel = os.path.relpath(page, src)
    if rel == os.path.join("docs", "stages.md"):
        continue                          # generated from --help (docs/gen-stages.sh): prose, not commands
    for lang, info, line0, text in blocks(page):
        if lang not in ("sh", "console", "bash", ""):
            continue
        joined = text.replace("\\\n", " ")
        if lang == "":                    # usage blocks continue a command on indented lines
            joined = re.sub(r"\n[ \t]+(?=\[|-)", " ", joined)
        for k, line in enumerate(joined.split("\n")):
            if "# wrong on purpose" in line:   # a documented mistake (its block checks the error)
                continue
            for m in re.finditer(r"(?:^|[\s;&|(`$])(?:\S*/)?c2seg\s+([a-z][a-z-]*)(?=\s|$)((?:[^;&|#`]*))", line):
                stage, rest = m.group(1), m.group(2)
                if lang == "":            # a usage line: "|" separates alternatives, not commands
                    rest = line[m.end(1):].split("#")[0]
                head = line[:line.index("c2seg", m.start())]   # what precedes the c2seg word
                if lang == "" and not prefix.fullmatch(head):
                    continue              # an output or usage block: only a line that is a command
                if stage in ("sample-data",):
                    continue
                checked += 1
                if stage not in stages:
                    fails.append("%s:%d: c2seg %s: no such stage" % (rel, line0 + 1 + k, stage))
                    continue
                h = stage_help(stage)
                if h is None:
                    fails.append("%s:%d: c2seg %s --help fails" % (rel, line0 + 1 + k, stage))
                    continue
                needs_o = stage in ("ingest", "train", "pretrain", "predict", "export", "import-torch")
                if needs_o and "--help" not in rest and not re.search(r"(?:^|[\s\[])(-o|--output)(?=[\s=])", rest):
                    fails.append("%s:%d: c2seg %s without -o (it is required)" % (rel, line0 + 1 + k, stage))
                for opt in re.findall(r"(?:^|[\s\[(])(--[a-z][a-z0-9-]*)", rest):
                    if opt == "--help":
                        continue
                    if not re.search(re.escape(opt) + r"(?![a-z0-9-])", h):
                        fails.append("%s:%d: c2seg %s %s: not an option of c2seg %s --help" %
                                     (rel, line0 + 1 + k, stage, opt, stage))

# 3. the key table of run-config.md is c2seg run --help's
runhelp = subprocess.run([binary, "run", "--help"], capture_output=True, text=True).stdout.split("\n")
k0 = next((i for i, l in enumerate(runhelp) if l.startswith("  key ")), None)
table = runhelp[k0:runhelp.index("", k0)] if k0 is not None else []
page = open(os.path.join(src, "docs", "run-config.md"), encoding="utf-8").read().split("\n")
p0 = next((i for i, l in enumerate(page) if l.startswith("  key ")), None)
if p0 is None or page[p0:p0 + len(table) + 1] != table + ["```"]:
    fails.append("docs/run-config.md: the key table differs from c2seg run --help (copy it from there)")

# 1. runnable blocks
for page in pages:
    rel = os.path.relpath(page, src)
    runnable = [(n, t) for lang, info, n, t in blocks(page) if lang == "sh" and info.split()[:1] == ["runnable"]]
    if not runnable:
        continue
    name = re.sub(r"[^A-Za-z0-9]", "_", rel)
    root = os.path.join(tmp, name, "repo")
    os.makedirs(root)
    os.symlink(build, os.path.join(root, "build"))
    os.symlink(shared, os.path.join(tmp, name, "shared"))
    env = dict(os.environ, PATH=build + ":" + os.environ["PATH"])
    t0 = time.time()
    for n, text in runnable:
        ran += 1
        p = subprocess.run(["sh", "-eu", "-c", text], cwd=root, env=env, capture_output=True, text=True,
                           timeout=300)
        if p.returncode != 0:
            fails.append("%s:%d: runnable block exited %d:\n    %s\n  stderr: %s" %
                         (rel, n, p.returncode, text.strip().replace("\n", "\n    "),
                          "\n    ".join(p.stderr.strip().split("\n")[-6:])))
    print("%-32s %d runnable blocks, %.1f s" % (rel, len(runnable), time.time() - t0))

for f in fails:
    print("FAIL " + f)
print("%d runnable blocks run, %d c2seg command lines checked, %d failures" % (ran, checked, len(fails)))
sys.exit(1 if fails or ran == 0 else 0)
PY
rc=$?
rm -rf "$T"
exit $rc
