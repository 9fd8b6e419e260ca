#!/bin/sh
# `mnsim calibrate` on a short chain: the same seed gives byte-identical tables on 1 and on 2
# threads, another seed another chain; the output names the likelihood's targets, the acceptance
# checks and the diagnostics, and says when they are not met. (The full run that reproduces the
# shipped tables is `make check-full`.)
# usage: tests/calibrate_short.sh MNSIM
set -u
m=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/a" "$tmp/b" "$tmp/c"
fail=0
short="--walkers 18 --steps 8 --burn 0 --thin 2 --max-evals 10"
# exit 0, or 1 when the short chain's nominal values miss a target (the tables are written)
run() { "$m" calibrate $short "$@"; [ $? -le 1 ]; }
run --threads 1 -o "$tmp/a/cal.csv" >"$tmp/a.txt" 2>&1 || { echo "FAIL run 1"; cat "$tmp/a.txt"; exit 1; }
run --threads 2 -o "$tmp/b/cal.csv" >"$tmp/b.txt" 2>&1 || { echo "FAIL run 2"; cat "$tmp/b.txt"; exit 1; }
# (sanitizer builds, MNSIM_TEST_QUICK: the seed check is left out, each run costs minutes there)
if [ -z "${MNSIM_TEST_QUICK:-}" ]; then
  run --seed 2 -q -o "$tmp/c/cal.csv" 2>/dev/null || { echo "FAIL run 3"; exit 1; }
fi
cat "$tmp/a.txt"
cmp "$tmp/a/cal.csv" "$tmp/b/cal.csv" && cmp "$tmp/a/posterior.csv" "$tmp/b/posterior.csv" ||
  { echo "FAIL: 1 and 2 threads differ"; fail=1; }
[ -n "${MNSIM_TEST_QUICK:-}" ] || ! cmp -s "$tmp/a/posterior.csv" "$tmp/c/posterior.csv" || { echo "FAIL: seed 2 gave the same chain"; fail=1; }
for s in "likelihood: CT05a CT05b CT05c CT08a CT08b CT08c CT14 CT16" "acceptance checks (must hold): SEED1 SEED2" \
  "split R-hat" "NOT met: run longer" "posterior table: 72 draws"; do
  grep -q "$s" "$tmp/a.txt" || { echo "FAIL: output lacks '$s'"; fail=1; }
done
grep -q "^# fingerprint [0-9a-f]\{16\} tried 144 kept 72 ess" "$tmp/a/posterior.csv" || { echo "FAIL: posterior header"; head -6 "$tmp/a/posterior.csv"; fail=1; }
[ "$(grep -vc '^#' "$tmp/a/posterior.csv")" -eq 73 ] || { echo "FAIL: posterior rows"; fail=1; }
exit $fail
