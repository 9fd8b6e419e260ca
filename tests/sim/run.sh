#!/bin/sh
# `mnsim simulate` end to end: outputs valid (XDMF rules, HDF5 shapes), reruns bit-identical,
# 1 and 2 threads identical, SIGINT writes a checkpoint and --resume ends identical, bad case.
# usage: tests/sim/run.sh MNSIM CHECK_OUTPUTS
set -u
m=$1 check=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
case="$tmp/cell.yaml"
cat >"$case" <<'YAML'
seed: 3
skin: {region: forehead, age_y: 50, fitzpatrick: 4}
device: {model: pen-12, depth_mm: 0.8}
treatment:
  passes: [{direction: horizontal, speed_mm_per_s: 150}, {direction: vertical, speed_mm_per_s: 150}]
simulate: {mode: unit_cell, days: 20, sessions: 2, interval_day: 9, sample_hours: 4, snapshot_days: [0.5, 2, 9.5, 20], checkpoint_min: 0}
grid: {dx_um: 40, dz_epi_um: 20, dz_pd_um: 40, dz_rd_um: 80}
YAML
same() { for f in timeseries.csv outcome.json fields.h5 fields.xdmf; do
  cmp -s "$1/$f" "$2/$f" || { echo "FAIL: $f differs between $1 and $2"; fail=1; }; done; }
"$m" simulate -q --threads 1 -o "$tmp/a" "$case" || { echo "FAIL: simulate exit $?"; exit 1; }
"$check" "$tmp/a" || fail=1
[ -e "$tmp/a/.mnsim-run" ] && { echo "FAIL: run state left behind"; fail=1; }
"$m" simulate -q --threads 1 -o "$tmp/b" "$case" || fail=1
same "$tmp/a" "$tmp/b"
"$m" simulate -q --threads 2 -o "$tmp/c" "$case" || fail=1
same "$tmp/a" "$tmp/c"
# interrupt with SIGINT, then resume; repeat with a shorter delay until the signal lands in the
# 3D run (one that lands in the uncertainty draws after it, or always after the end, would skip
# the whole check: that fails too)
hit=
for delay in 0.4 0.2 0.1 0.05 0.025; do
  rm -rf "$tmp/d"
  "$m" simulate -q --threads 1 -o "$tmp/d" "$case" 2>"$tmp/int.txt" &
  pid=$!
  sleep $delay
  kill -INT $pid 2>/dev/null
  wait $pid
  rc=$?
  [ $rc -eq 0 ] && continue
  [ $rc -eq 130 ] || { echo "FAIL: interrupted run exit $rc, expected 130"; fail=1; }
  if grep -q "while running the uncertainty draws" "$tmp/int.txt"; then
    grep -q "checkpoint written" "$tmp/int.txt" && { echo "FAIL: a checkpoint after the 3D run"; fail=1; }
    continue
  fi
  grep -q "checkpoint written" "$tmp/int.txt" || { echo "FAIL: no checkpoint message"; cat "$tmp/int.txt"; fail=1; }
  ls "$tmp/d" | grep -q . && { echo "FAIL: result files written by an interrupted run"; ls -a "$tmp/d"; fail=1; }
  # a new run into the same directory is refused while the interrupted one is there
  "$m" simulate -q -o "$tmp/d" "$case" 2>"$tmp/refuse.txt"
  [ $? -eq 2 ] && grep -q -- "--resume" "$tmp/refuse.txt" || { echo "FAIL: restart not refused"; fail=1; }
  "$m" simulate -q --resume "$tmp/d" || { echo "FAIL: resume exit $?"; fail=1; }
  same "$tmp/a" "$tmp/d"
  echo "sim: interrupted after ${delay}s and resumed"
  hit=1
  break
done
[ -n "$hit" ] || { echo "FAIL: SIGINT landed after the 3D run at every delay (0.025-0.4 s)"; fail=1; }
# the lumped twin: outputs, bands ordered, reruns and thread counts identical
cat >"$tmp/lumped.yaml" <<'YAML'
seed: 5
skin: {region: cheek, age_y: 45, fitzpatrick: 3}
device: {model: pen-12, depth_mm: 1.0}
treatment:
  passes: [{direction: horizontal, speed_mm_per_s: 120}, {direction: vertical, speed_mm_per_s: 120}]
simulate: {mode: lumped, days: 200, sessions: 3, interval_day: 42, uq_draws: 40}
YAML
"$m" simulate -q --threads 1 -o "$tmp/l1" "$tmp/lumped.yaml" || { echo "FAIL: lumped exit $?"; fail=1; }
"$m" simulate -q --threads 2 -o "$tmp/l2" "$tmp/lumped.yaml" || fail=1
for f in timeseries.csv outcome.json; do
  cmp -s "$tmp/l1/$f" "$tmp/l2/$f" || { echo "FAIL: lumped $f differs between 1 and 2 threads"; fail=1; }
done
[ -e "$tmp/l1/fields.h5" ] && { echo "FAIL: lumped wrote fields"; fail=1; }
"$check" --lumped "$tmp/l1" || fail=1
"$m" simulate --threads 1 -o "$tmp/l3" "$tmp/lumped.yaml" >"$tmp/l3.txt" || fail=1
grep -q "lumped twin, 3 sessions" "$tmp/l3.txt" && grep -q "median \[5th to 95th percentile\] of the lumped twin" "$tmp/l3.txt" ||
  { echo "FAIL: lumped summary"; cat "$tmp/l3.txt"; fail=1; }
# bad input in the simulate sections
printf 'simulate: {mode: patchy}\n' >"$tmp/bad.yaml"
"$m" simulate -q -o "$tmp/e" "$tmp/bad.yaml" 2>"$tmp/bad.txt"
[ $? -eq 2 ] && grep -q "did you mean 'patch'" "$tmp/bad.txt" || { echo "FAIL: bad mode"; cat "$tmp/bad.txt"; fail=1; }
printf 'model: {k_PP: 3}\n' >"$tmp/bad2.yaml"
"$m" simulate -q -o "$tmp/e" "$tmp/bad2.yaml" 2>"$tmp/bad.txt"
[ $? -eq 2 ] && grep -q "bad2.yaml:1:9: model.k_PP is not a model parameter; did you mean 'k_P'" "$tmp/bad.txt" || { echo "FAIL: bad model key"; cat "$tmp/bad.txt"; fail=1; }
printf 'model: {a_N: 7}\n' >"$tmp/bad3.yaml"
"$m" simulate -q -o "$tmp/e" "$tmp/bad3.yaml" 2>"$tmp/bad.txt"
[ $? -eq 2 ] && grep -q "loop gain G" "$tmp/bad.txt" || { echo "FAIL: unstable set accepted"; cat "$tmp/bad.txt"; fail=1; }
printf 'simulate: {days: 30, sessions: 3, interval_day: 20}\n' >"$tmp/bad4.yaml"
"$m" simulate -q -o "$tmp/e" "$tmp/bad4.yaml" 2>"$tmp/bad.txt"
[ $? -eq 2 ] && grep -q "ends before session 3" "$tmp/bad.txt" || { echo "FAIL: schedule"; cat "$tmp/bad.txt"; fail=1; }
[ $fail -eq 0 ] && echo "sim: all checks passed"
exit $fail
