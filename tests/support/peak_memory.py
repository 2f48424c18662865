#!/usr/bin/python3
"""tests/support/peak_memory.py: the peak memory of a command (c2seg) and of the processes it
starts (its sandbox workers), read from /proc every millisecond until the command ends.

    peak_memory.py OUT.json COMMAND [ARG...]

runs COMMAND (its stdout and stderr are this script's), writes OUT.json and exits with the
command's status:
    {"main": the command's peak resident bytes (VmHWM: the kernel's high-water mark, exact),
     "workers": per descendant, the most memory of its own it held: the larger of its peak
                private pages (Private_Clean + Private_Dirty of smaps_rollup, sampled) and its
                resident growth after it was first seen (VmHWM - first VmRSS, exact); the
                pages a worker still shares with c2seg since its fork are c2seg's, not its own,
     "workers_resident": per descendant, its peak resident bytes (VmHWM, shared pages included),
     "total": main + the sum of workers: what the tree held at most (every worker's peak is
              counted, as if all peaked at once, also workers that ended before others began)}
A descendant that lives less than a millisecond may be missed; c2seg's workers live as long
as their pool. A private peak shorter than a millisecond that adds no resident pages (pages
shared since the fork, written) may be missed too."""
import json
import os
import subprocess
import sys
import time


def status(pid):
    """VmHWM and VmRSS in bytes of pid, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            text = f.read()
    except OSError:
        return None
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            out[key] = int(value.split()[0]) * 1024
    return out if len(out) == 2 else None


def private(pid):
    """Private_Clean + Private_Dirty in bytes of pid (0 when gone)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            text = f.read()
    except OSError:
        return 0
    return sum(int(line.split()[1]) * 1024 for line in text.splitlines()
               if line.startswith(("Private_Clean:", "Private_Dirty:")))


def children(pid):
    """The child pids of every thread of pid."""
    kids = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    kids += [int(k) for k in f.read().split()]
            except OSError:
                pass
    except OSError:
        pass
    return kids


def main():
    out_path, cmd = sys.argv[1], sys.argv[2:]
    proc = subprocess.Popen(cmd)
    main_peak, hwm, first, own, growth = 0, {}, {}, {}, {}
    while True:
        s = status(proc.pid)
        if s:
            main_peak = max(main_peak, s["VmHWM"])
        todo = children(proc.pid)
        while todo:
            pid = todo.pop()
            ws = status(pid)
            if ws:
                first.setdefault(pid, ws["VmRSS"])
                hwm[pid] = max(hwm.get(pid, 0), ws["VmHWM"])
                own[pid] = max(own.get(pid, 0), private(pid))
                growth[pid] = hwm[pid] - first[pid]
            todo += children(pid)
        if proc.poll() is not None:
            break
        time.sleep(0.001)
    pids = sorted(hwm)
    workers = [own[p] for p in pids]
    with open(out_path, "w") as f:
        json.dump({"main": main_peak, "workers": workers, "workers_resident": [hwm[p] for p in pids], "growth": [growth[p] for p in pids],
                   "total": main_peak + sum(workers)}, f)
    sys.exit(proc.returncode)


main()
