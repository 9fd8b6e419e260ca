#!/bin/sh
# Faults: kill -9, SIGINT and SIGTERM at random points of `mnsim simulate` (unit cell, patch,
# lumped), resumed until done, ends byte-identical to an uninterrupted run, and of `mnsim plan`
# (run again: identical files, nothing left behind); a NaN stops the run naming voxel, species and day and keeps the last
# checkpoint; an unwritable output leaves earlier results intact.
# usage: tests/faults.sh MNSIM MNSIM_HOOKS (the test build whose MNSIM_TEST_* fault injection is on)
set -u
m=$1 hooks=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
case="$tmp/cell.yaml"
. "$(dirname "$0")/cell_case.sh"
# sanitizer builds run about ten times slower: a coarser grid keeps the loop short
grid="{dx_um: 20}"
[ -n "${MNSIM_TEST_QUICK:-}" ] && grid="{dx_um: 40, dz_epi_um: 20, dz_pd_um: 40, dz_rd_um: 80}"
cell_case "$case" "{mode: unit_cell, days: 40, sessions: 2, interval_day: 20, sample_hours: 6, snapshot_days: [1, 20.5, 40], checkpoint_min: 0.0005}" "$grid"
# kill_loop NAME CASE LO HI TRIES: the run of CASE stopped at random moments between LO and
# LO + HI seconds after each start (at most TRIES times), in turn by kill -9, SIGINT and SIGTERM, resumed (a new run when no
# checkpoint was written yet, as for the lumped model) until it ends; its results must equal an
# uninterrupted run's and nothing may be left behind. A stopped run exits 137, 130 or 143 (or 0
# when the signal came too late); anything else (a refused resume) is a failure.
kill_loop() {
  name=$1 c=$2 lo=$3 hi=$4 tries=$5
  ref="$tmp/$name-ref" d="$tmp/$name"
  t0=$(date +%s%N)
  "$m" simulate -q -o "$ref" "$c" || { echo "FAIL: $name: reference run"; fail=1; return; }
  # on a faster machine the whole run may end before LO + HI: the delays shrink with the
  # reference run's wall time so that a stop still falls inside a run
  tref=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
  kills=0 ints=0 terms=0
  for i in $(seq 1 "$tries"); do
    if [ -e "$d/.mnsim-run/checkpoint.h5" ]; then
      "$m" simulate -q --resume "$d" 2>>"$tmp/$name.log" &
    else
      "$m" simulate -q -o "$d" "$c" 2>>"$tmp/$name.log" &
    fi
    pid=$!
    delay=$(awk -v s="$i" -v lo="$lo" -v hi="$hi" -v t="$tref" 'BEGIN { srand(s * 7919); k = t / (lo + hi)
      if (k > 1) k = 1; printf "%.3f", k * (lo + hi * rand()) }')
    sleep "$delay"
    sig=$(echo "KILL INT TERM" | cut -d' ' -f$(((i - 1) % 3 + 1)))
    kill -s "$sig" $pid 2>/dev/null
    wait $pid 2>/dev/null
    rc=$?
    # counted by the exit status: a signal sent to a run that had just ended stopped nothing
    case $rc in 137) kills=$((kills + 1)) ;; 130) ints=$((ints + 1)) ;; 143) terms=$((terms + 1)) ;; esac
    case $rc in 0 | 130 | 137 | 143) ;; *) echo "FAIL: $name: run $i stopped by SIG$sig exit $rc"; tail -3 "$tmp/$name.log"; fail=1 ;; esac
    # done, once at least one run was stopped (a run that ended before its signal starts over)
    [ -e "$d/outcome.json" ] && [ ! -e "$d/.mnsim-run" ] && [ $((kills + ints + terms)) -gt 0 ] && break
  done
  [ $((kills + ints + terms)) -gt 0 ] || { echo "FAIL: $name: no run was interrupted (delays too long)"; fail=1; }
  [ -e "$d/.mnsim-run/checkpoint.h5" ] && "$m" simulate -q --resume "$d"
  [ -e "$d/outcome.json" ] || "$m" simulate -q -o "$d" "$c"
  for f in timeseries.csv outcome.json fields.h5 fields.xdmf; do
    [ -e "$ref/$f" ] || continue
    cmp -s "$ref/$f" "$d/$f" || { echo "FAIL: $name: $f differs after the interruptions"; fail=1; }
  done
  ls -A "$d" | grep -q '^\.' && { echo "FAIL: $name: leftovers after the resumed run:"; ls -A "$d"; fail=1; }
  echo "faults: $name: $kills kill -9, $ints SIGINT, $terms SIGTERM during the run, resumed to identical results"
}
kill_loop cell "$case" 0.05 0.55 60
# a patch (the first session's density comes from its punctures: a resumed patch run kept density
# 0 once, issue 17) and the lumped twin with its draws (no checkpoints: a stopped run starts again)
cat >"$tmp/patch.yaml" <<'YAML'
seed: 7
skin: {region: cheek, age_y: 45, fitzpatrick: 3}
device: {model: pen-12, depth_mm: 1.0, stroke_rate_hz: 110}
treatment:
  width_mm: 1.5
  height_mm: 1.5
  passes: [{direction: horizontal, speed_mm_per_s: 100, jitter_mm: 0.3}, {direction: vertical, speed_mm_per_s: 100, jitter_mm: 0.3}]
simulate: {mode: patch, days: 2, sample_hours: 6, snapshot_days: [0.5, 2], checkpoint_min: 0.0005, uq_draws: 20}
grid: {dx_um: 40, dz_epi_um: 20, dz_pd_um: 40, dz_rd_um: 80, lateral_bc: periodic}
solver: {threads: 1}
YAML
[ -n "${MNSIM_TEST_QUICK:-}" ] && sed -i 's/width_mm: 1.5/width_mm: 1.0/; s/height_mm: 1.5/height_mm: 1.0/; s/days: 2,/days: 1,/; s/\[0.5, 2\]/[0.5, 1]/' "$tmp/patch.yaml"
kill_loop patch "$tmp/patch.yaml" 0.2 0.8 40
grep -q '"density_cm2": 0[,.]' "$tmp/patch/outcome.json" && { echo "FAIL: patch: density 0 after resuming"; fail=1; }
cat >"$tmp/lumped.yaml" <<'YAML'
seed: 5
skin: {region: forehead, age_y: 50, fitzpatrick: 4}
device: {model: pen-12, depth_mm: 0.8}
treatment: {passes: [{direction: horizontal, speed_mm_per_s: 150}, {direction: vertical, speed_mm_per_s: 150}]}
simulate: {mode: lumped, days: 120, sessions: 3, interval_day: 30, uq_draws: 200}
solver: {threads: 1}
YAML
kill_loop lumped "$tmp/lumped.yaml" 0.05 0.6 12

# plan: no checkpoint, a stopped plan is simply run again. Stopped at random moments by kill -9,
# SIGINT and SIGTERM in turn, then run to the end: its files equal an uninterrupted run's, and
# neither the output directory nor $TMPDIR keeps anything (kill -9 cannot be caught: the next
# run removes the dead run's temporaries). A fixed SOURCE_DATE_EPOCH makes the stamps equal.
plan_loop() {
  d="$tmp/plan" ref="$tmp/plan-ref" ptmp="$tmp/plan-tmp"
  mkdir -p "$ptmp"
  pd="" # sanitizer builds (MNSIM_TEST_QUICK): 20 draws, 4.7 s a plan there against 17 s
  [ -n "${MNSIM_TEST_QUICK:-}" ] && pd="--draws 20"
  pl() { SOURCE_DATE_EPOCH=1780000000 TMPDIR="$ptmp" "$m" plan -q --max-mcse 0.1 --no-histology --threads 1 $pd "$@" examples/patient-acne-scars.yaml; }
  t0=$(date +%s%N)
  pl -o "$d" || { echo "FAIL: plan: reference run"; fail=1; return; }
  mv "$d" "$ref" # run in the same directory: plan.json records the command
  tref=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
  stops=0
  for i in 1 2 3 4 5 6; do
    pl -o "$d" 2>>"$tmp/plan.log" &
    pid=$!
    sleep "$(awk -v s="$i" -v t="$tref" 'BEGIN { srand(s * 104729); printf "%.3f", t * (0.1 + 0.8 * rand()) }')"
    sig=$(echo "KILL INT TERM" | cut -d' ' -f$(((i - 1) % 3 + 1)))
    kill -s "$sig" $pid 2>/dev/null
    wait $pid 2>/dev/null
    rc=$?
    case $rc in 137 | 130 | 143) stops=$((stops + 1)) ;; 0) ;; *) echo "FAIL: plan: run $i stopped by SIG$sig exit $rc"; tail -3 "$tmp/plan.log"; fail=1 ;; esac
  done
  [ $stops -gt 0 ] || { echo "FAIL: plan: no run was interrupted"; fail=1; }
  pl -o "$d" || { echo "FAIL: plan: the run after the interruptions"; fail=1; }
  for f in plan.json plan.ics report.html; do
    cmp -s "$ref/$f" "$d/$f" || { echo "FAIL: plan: $f differs after the interruptions"; fail=1; }
  done
  left=$(ls -A "$ptmp"; ls -A "$d" | grep -v '^plan.json$\|^plan.ics$\|^report.html$')
  [ -z "$left" ] || { echo "FAIL: plan: left behind: $left"; fail=1; }
  echo "faults: plan: $stops of 6 runs stopped (kill -9, SIGINT, SIGTERM), the next run's files identical, nothing left behind"
}
plan_loop
# NaN: the run stops, names the voxel, the species and the day, keeps the checkpoint
MNSIM_TEST_POISON_DAY=3 "$hooks" simulate -q -o "$tmp/nan" "$case" 2>"$tmp/nan.txt"
rc=$?
[ $rc -eq 1 ] || { echo "FAIL: NaN run exit $rc, expected 1"; fail=1; }
grep -q "species [A-Za-z0-9]* = nan at voxel ([0-9]*, [0-9]*, [0-9]*) (x .* mm, y .* mm, depth .* um, layer [A-Z]*) at day 3" "$tmp/nan.txt" ||
  { echo "FAIL: NaN message:"; cat "$tmp/nan.txt"; fail=1; }
[ -s "$tmp/nan/.mnsim-run/checkpoint.h5" ] || { echo "FAIL: checkpoint lost after a NaN"; fail=1; }
# unwritable results: nothing replaced, earlier results intact
cp -r "$tmp/cell-ref" "$tmp/keep"
rm "$tmp/cell-ref/fields.xdmf" && mkdir "$tmp/cell-ref/fields.xdmf"
"$m" simulate -q -o "$tmp/cell-ref" "$case" 2>"$tmp/unw.txt"
[ $? -eq 1 ] && grep -q "a directory of that name exists" "$tmp/unw.txt" || { echo "FAIL: unwritable"; cat "$tmp/unw.txt"; fail=1; }
for f in timeseries.csv outcome.json fields.h5; do
  cmp -s "$tmp/keep/$f" "$tmp/cell-ref/$f" || { echo "FAIL: $f changed by a failed run"; fail=1; }
done
touch "$tmp/file"
"$m" simulate -q -o "$tmp/file/out" "$case" 2>"$tmp/unw2.txt"
[ $? -eq 1 ] && grep -q "cannot create directory $tmp/file" "$tmp/unw2.txt" || { echo "FAIL: output under a file"; cat "$tmp/unw2.txt"; fail=1; }
[ $fail -eq 0 ] && echo "faults: all checks passed"
exit $fail
