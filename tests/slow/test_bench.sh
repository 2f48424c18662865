#!/bin/sh
# scripts/bench's machinery end to end in its smallest configuration (the bench itself is never
# a test): only the shared-cores section, on the tiny preset, batch 2, one round, one iteration
# (no anchors, peers or study path). Checks, with Python's json on the results file: every
# contention figure (inference, training step, Stage I; default settings and 1 thread; alone and
# busy) is there, positive, with its load average; the summaries' busy / alone ratios and
# verdicts agree with those figures; issue 27's goals are listed, the ones this configuration
# cannot measure as NOT MEASURED.
# Then the competing busy process: every one the bench started is gone when it ends, and also
# when the bench is stopped with SIGTERM in the middle of a busy run (exit 143, no results file).
set -u
. "$C2SEG_SOURCE/tests/support/testlib.sh"
tl_begin test_bench

# dead PID...: none of these processes is alive
all_dead() {
    for p in "$@"; do
        if kill -0 "$p" 2>/dev/null; then
            kill "$p" 2>/dev/null   # the test's own clean-up of a competitor the bench left
            return 1
        fi
    done
    return 0
}
pids() { sed -n 's/^ *competing busy process: pid \([0-9][0-9]*\)$/\1/p' "$1"; }

BENCH="sh $C2SEG_SOURCE/scripts/bench --no-build --rounds 1 --iters 1 --batch 2 --no-peers --no-study"
C2SEG_BUILD_DIR="$C2SEG_BUILD" $BENCH --presets "" --contention-presets tiny -o "$T/r.json" >"$T/out" 2>"$T/err"
rc=$?
if [ $rc -eq 0 ]; then ok "scripts/bench (tiny) exits 0"; else bad "scripts/bench exit $rc: $(tail -20 "$T/err")"; fi
P=$(pids "$T/err")
[ "$(echo $P | wc -w)" -eq 2 ] && ok "two busy runs started" || bad "busy runs started: '$P' (want 2 pids)"
all_dead $P && ok "no competing process left after the bench" || bad "a competing process outlived the bench"
grep -q '^== issue 27 goals' "$T/out" && grep -q '^== shared cores, tiny' "$T/out" &&
    ok "the shared-cores table and the goals are printed" || bad "stdout lacks the tables: $(cat "$T/out")"

$PY - "$T/r.json" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
fails = []
def need(cond, what):
    if not cond:
        fails.append(what)
W, C, L = ('inference', 'training step', 'Stage I'), ('default (--threads auto)', '1 thread'), ('alone', 'busy')
cont = [r for r in rows if r['kind'] == 'contention']
need(len(cont) == 12, '12 contention rows (3 workloads x 2 configs x alone/busy), got %d' % len(cont))
fig = {}
for r in cont:
    need(r['preset'] == 'tiny' and r['round'] == 1 and r['unit'] == 'img/s', 'contention row fields: %r' % r)
    need(isinstance(r['value'], (int, float)) and r['value'] > 0, 'positive img/s: %r' % r)
    need(isinstance(r['load_average'], float) and r['load_average'] >= 0, 'load average: %r' % r)
    fig[(r['workload'], r['config'], r['load'])] = r['value']
    if r['config'] == '1 thread':
        need(r['threads'] == 1, '1-thread row runs 1 thread: %r' % r)
    else:
        need(isinstance(r['threads'], int) and r['threads'] >= 1, 'default row has its thread count: %r' % r)
need(sorted(fig) == sorted((w, c, l) for w in W for c in C for l in L), 'every figure once: %r' % sorted(fig))
summ = {r['workload']: r for r in rows if r['kind'] == 'contention_summary'}
need(sorted(summ) == sorted(W), 'one summary per workload: %r' % sorted(summ))
goals = [r for r in rows if r['kind'] == 'goal']
for w, s in summ.items():
    if not all((w, c, l) in fig for c in C for l in L):
        continue
    d = fig[(w, C[0], 'busy')] / fig[(w, C[0], 'alone')]
    o = fig[(w, C[0], 'busy')] / fig[(w, C[1], 'busy')]
    need(abs(s['default_busy_over_alone'] - d) < 1e-9 * d, '%s busy/alone %r, want %r' % (w, s['default_busy_over_alone'], d))
    need(abs(s['default_busy_over_1thread_busy'] - o) < 1e-9 * o, '%s default/1 thread %r' % (w, s))
    need(s['met_busy_over_alone'] == (d >= 0.6) and s['met_not_below_1thread'] == (o >= 1), '%s verdicts' % w)
    g = [x for x in goals if x['where'] == 'tiny, ' + w]
    need(len(g) == 2 and all(x['status'] == ('MET' if x['value'] >= x['target'] else 'NOT MET') for x in g),
         '%s goals: %r' % (w, g))
names = {(g['goal'].split(':')[0], g['where']): g['status'] for g in goals}
for where in ('small', 'full'):
    need(names.get(('anchors', where)) == 'NOT MEASURED', 'anchors at %s not measured (--no-peers): %r' % (where, names))
need(all(names.get(('study path', x)) == 'NOT MEASURED' for x in ('real 3 x 512x512', 'generated 300 x 512x512')),
     'study path not measured (--no-study)')
for f in fails:
    print('FAIL results.json: ' + f)
sys.exit(1 if fails else 0)
PY
check "results.json holds the contention figures, summaries and goals" $?

# stopped in the middle of a busy run: the competitor goes with the bench, no results file
rm -f "$T/r2.json"
C2SEG_BUILD_DIR="$C2SEG_BUILD" $BENCH --presets "" --contention-presets tiny -o "$T/r2.json" >/dev/null 2>"$T/err2" &
B=$!
i=0
while [ -z "$(pids "$T/err2")" ] && [ $i -lt 600 ] && kill -0 $B 2>/dev/null; do
    sleep 0.1
    i=$((i + 1))
done
P=$(pids "$T/err2")
kill -TERM $B 2>/dev/null
wait $B
rc=$?
[ -n "$P" ] && ok "a busy run started before SIGTERM" || bad "no busy run started: $(cat "$T/err2")"
[ $rc -eq 143 ] && ok "SIGTERM: exit 143" || bad "SIGTERM: exit $rc (want 143)"
all_dead $P && ok "SIGTERM: the competing process is gone" || bad "SIGTERM: competing process $P outlived the bench"
[ ! -e "$T/r2.json" ] && ok "SIGTERM: no results file" || bad "SIGTERM: a results file was written"
tl_end
