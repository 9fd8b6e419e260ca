#!/bin/sh
# `mnsim calibrate` on a short chain: another seed gives another chain; the output names the
# likelihood's targets, the acceptance checks and the diagnostics, and says when they are not met.
# (The full run that reproduces the shipped tables is `make check-full`.)
# With --checkpoint, a run on 1 thread stopped after its third step (the test binary MNSIM-HOOKS)
# and run again on 2 threads continues from the checkpoint to the bytes of the unbroken run on 1
# thread: resuming and the thread count change nothing. A damaged checkpoint and one of another
# calibration are refused.
# usage: tests/calibrate_short.sh MNSIM MNSIM-HOOKS
set -u
m=$1 hooks=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/a" "$tmp/c"
fail=0
short="--walkers 22 --steps 8 --burn 0 --thin 2 --max-evals 10" rows=88 tried=176
# sanitizer builds (MNSIM_TEST_QUICK): two of the parameters and 4 walkers, a quarter of the cost
# of a run, through the same code
[ -n "${MNSIM_TEST_QUICK:-}" ] &&
  short="--params K_V,V_vis --walkers 4 --steps 8 --burn 0 --thin 2 --max-evals 10" rows=16 tried=32
# exit 0, or 1 when the short chain's nominal values miss a target (the tables are written)
run() { "$m" calibrate $short "$@"; [ $? -le 1 ]; }
run --threads 1 -o "$tmp/a/cal.csv" >"$tmp/a.txt" 2>&1 || { echo "FAIL run 1"; cat "$tmp/a.txt"; exit 1; }
# (sanitizer builds, MNSIM_TEST_QUICK: the seed check is left out, each run costs minutes there)
if [ -z "${MNSIM_TEST_QUICK:-}" ]; then
  run --seed 2 -q -o "$tmp/c/cal.csv" 2>/dev/null || { echo "FAIL run 3"; exit 1; }
fi
cat "$tmp/a.txt"
[ -n "${MNSIM_TEST_QUICK:-}" ] || ! cmp -s "$tmp/a/posterior.csv" "$tmp/c/posterior.csv" || { echo "FAIL: seed 2 gave the same chain"; fail=1; }
for s in "likelihood: CT05a CT05b CT05c CT08a CT08b CT08c CT14 CT16 CT25 CT26" "acceptance checks (must hold): SEED1 SEED2" \
  "split R-hat" "NOT met: run longer" "posterior table: $rows draws"; do
  grep -q "$s" "$tmp/a.txt" || { echo "FAIL: output lacks '$s'"; fail=1; }
done
grep -q "^# fingerprint [0-9a-f]\{16\} tried $tried kept $rows ess" "$tmp/a/posterior.csv" || { echo "FAIL: posterior header"; head -6 "$tmp/a/posterior.csv"; fail=1; }
[ "$(grep -vc '^#' "$tmp/a/posterior.csv")" -eq $((rows + 1)) ] || { echo "FAIL: posterior rows"; fail=1; }
# the checkpoint: stopped after step 3 (exit 130, no tables), refused when damaged or another
# run's, then continued to run 1's bytes and removed
mkdir -p "$tmp/k"
ck="$tmp/k/chain.ckpt"
MNSIM_TEST_STOP_STEP=3 "$hooks" calibrate $short --threads 1 --checkpoint "$ck" --checkpoint-min 0 -o "$tmp/k/cal.csv" >"$tmp/k1.txt" 2>&1
rc=$?
[ $rc -eq 130 ] && [ -s "$ck" ] && [ ! -e "$tmp/k/cal.csv" ] || { echo "FAIL: stopped run: exit $rc"; cat "$tmp/k1.txt"; ls -A "$tmp/k"; fail=1; }
cp "$ck" "$tmp/keep.ckpt"
size=$(wc -c <"$ck")
printf 'x' | dd of="$ck" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
"$hooks" calibrate $short --threads 1 --checkpoint "$ck" -o "$tmp/k/cal.csv" >"$tmp/k2.txt" 2>&1
[ $? -ne 0 ] && grep -q "checkpoint $ck is damaged" "$tmp/k2.txt" || { echo "FAIL: a damaged checkpoint was not refused"; cat "$tmp/k2.txt"; fail=1; }
cp "$tmp/keep.ckpt" "$ck"
"$hooks" calibrate $short --seed 2 --threads 1 --checkpoint "$ck" -o "$tmp/k/cal.csv" >"$tmp/k3.txt" 2>&1
[ $? -ne 0 ] && grep -q "belongs to another calibration" "$tmp/k3.txt" || { echo "FAIL: another run's checkpoint was not refused"; cat "$tmp/k3.txt"; fail=1; }
[ ! -e "$tmp/k/cal.csv" ] || { echo "FAIL: a refused run wrote tables"; fail=1; }
"$m" calibrate $short --threads 2 --checkpoint "$ck" -o "$tmp/k/cal.csv" >"$tmp/k4.txt" 2>&1
[ $? -gt 1 ] && grep -q "belongs to another calibration" "$tmp/k4.txt" ||
  { echo "FAIL: mnsim took the checkpoint of mnsim-hooks (another build)"; cat "$tmp/k4.txt"; fail=1; }
"$hooks" calibrate $short --threads 2 --checkpoint "$ck" -o "$tmp/k/cal.csv" >"$tmp/k5.txt" 2>&1
[ $? -le 1 ] && grep -q "resumed from its checkpoint at step 3 of 8" "$tmp/k5.txt" || { echo "FAIL: resumed run"; cat "$tmp/k5.txt"; fail=1; }
cmp "$tmp/a/cal.csv" "$tmp/k/cal.csv" && cmp "$tmp/a/posterior.csv" "$tmp/k/posterior.csv" ||
  { echo "FAIL: the chain resumed on 2 threads differs from the unbroken run on 1"; fail=1; }
[ ! -e "$ck" ] || { echo "FAIL: the checkpoint was not removed"; fail=1; }
# a table whose directory does not exist is refused before the chain starts (a chain that had
# started would stop after its first step, exit 130)
MNSIM_TEST_STOP_STEP=1 "$hooks" calibrate $short --threads 1 --checkpoint "$tmp/nd.ckpt" \
  --checkpoint-min 0 -o "$tmp/none/cal.csv" >"$tmp/nd.txt" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "cannot create a temporary file in $tmp/none for $tmp/none/cal.csv" "$tmp/nd.txt" ||
  { echo "FAIL: a missing output directory was not refused at the start: exit $rc"; cat "$tmp/nd.txt"; fail=1; }
[ $fail -eq 0 ] && echo "calibrate_short: stopped at step 3, resumed to the same tables; damaged and foreign checkpoints refused"
exit $fail
