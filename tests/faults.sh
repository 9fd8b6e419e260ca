#!/bin/sh
# Faults: kill -9 at random points of `mnsim simulate`, resumed until done, ends byte-identical to
# an uninterrupted run; a NaN stops the run naming voxel, species and day and keeps the last
# checkpoint; an unwritable output leaves earlier results intact. usage: tests/faults.sh MNSIM
set -u
m=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
case="$tmp/cell.yaml"
cat >"$case" <<'YAML'
seed: 9
skin: {region: cheek, age_y: 35, fitzpatrick: 2}
device: {model: pen-12, depth_mm: 1.0}
treatment: {passes: [{speed_mm_per_s: 120}, {direction: vertical, speed_mm_per_s: 120}]}
simulate: {mode: unit_cell, days: 40, sessions: 2, interval_day: 20, sample_hours: 6, snapshot_days: [1, 20.5, 40], checkpoint_min: 0.0005}
grid: {dx_um: 20}
solver: {threads: 1}
YAML
# sanitizer builds run about ten times slower: a coarser grid keeps the loop short
[ -n "${MNSIM_TEST_QUICK:-}" ] && sed -i 's/grid: {dx_um: 20}/grid: {dx_um: 40, dz_epi_um: 20, dz_pd_um: 40, dz_rd_um: 80}/' "$case"
"$m" simulate -q -o "$tmp/ref" "$case" || { echo "FAIL: reference run"; exit 1; }
d="$tmp/killed"
kills=0
for i in $(seq 1 60); do
  if [ -e "$d/.mnsim-run/checkpoint.h5" ]; then
    "$m" simulate -q --resume "$d" 2>>"$tmp/log" &
  else
    "$m" simulate -q -o "$d" "$case" 2>>"$tmp/log" &
  fi
  pid=$!
  # a random delay between 0.05 and 0.6 s
  delay=$(awk -v s="$i" 'BEGIN { srand(s * 7919); printf "%.2f", 0.05 + 0.55 * rand() }')
  sleep "$delay"
  if kill -9 $pid 2>/dev/null; then kills=$((kills + 1)); fi
  wait $pid 2>/dev/null
  [ -e "$d/outcome.json" ] && [ ! -e "$d/.mnsim-run" ] && break
done
[ -e "$d/.mnsim-run/checkpoint.h5" ] && "$m" simulate -q --resume "$d"
for f in timeseries.csv outcome.json fields.h5 fields.xdmf; do
  cmp -s "$tmp/ref/$f" "$d/$f" || { echo "FAIL: $f differs after $kills kill -9"; fail=1; }
done
ls -A "$d" | grep -q '^\.' && { echo "FAIL: leftovers after the resumed run:"; ls -A "$d"; fail=1; }
echo "faults: $kills kill -9 during the run, resumed to identical results"
# NaN: the run stops, names the voxel, the species and the day, keeps the checkpoint
MNSIM_TEST_POISON_DAY=3 "$m" simulate -q -o "$tmp/nan" "$case" 2>"$tmp/nan.txt"
rc=$?
[ $rc -eq 1 ] || { echo "FAIL: NaN run exit $rc, expected 1"; fail=1; }
grep -q "species [A-Za-z0-9]* = nan at voxel ([0-9]*, [0-9]*, [0-9]*) (x .* mm, y .* mm, depth .* um, layer [A-Z]*) at day 3" "$tmp/nan.txt" ||
  { echo "FAIL: NaN message:"; cat "$tmp/nan.txt"; fail=1; }
[ -s "$tmp/nan/.mnsim-run/checkpoint.h5" ] || { echo "FAIL: checkpoint lost after a NaN"; fail=1; }
# unwritable results: nothing replaced, earlier results intact
cp -r "$tmp/ref" "$tmp/keep"
rm "$tmp/ref/fields.xdmf" && mkdir "$tmp/ref/fields.xdmf"
"$m" simulate -q -o "$tmp/ref" "$case" 2>"$tmp/unw.txt"
[ $? -eq 1 ] && grep -q "a directory of that name exists" "$tmp/unw.txt" || { echo "FAIL: unwritable"; cat "$tmp/unw.txt"; fail=1; }
for f in timeseries.csv outcome.json fields.h5; do
  cmp -s "$tmp/keep/$f" "$tmp/ref/$f" || { echo "FAIL: $f changed by a failed run"; fail=1; }
done
touch "$tmp/file"
"$m" simulate -q -o "$tmp/file/out" "$case" 2>"$tmp/unw2.txt"
[ $? -eq 1 ] && grep -q "cannot create directory $tmp/file" "$tmp/unw2.txt" || { echo "FAIL: output under a file"; cat "$tmp/unw2.txt"; fail=1; }
[ $fail -eq 0 ] && echo "faults: all checks passed"
exit $fail
