#!/bin/sh
# `mnsim calibrate` reproduces the shipped data/calibration.csv and data/posterior.csv byte for
# byte from the prior and the targets, and with it every computable calibration target passes (`mnsim validate` exit 0).
# Sanitizer builds skip the refit (minutes of model runs at 10x cost) and keep the validate check.
# usage: tests/calibration.sh MNSIM SOURCE_DIR
set -u
m=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
"$m" validate --role calibration >"$tmp/val.txt" 2>&1 || { echo "FAIL: a calibration target fails"; cat "$tmp/val.txt"; fail=1; }
grep -q "^calibration .* 0 fail" "$tmp/val.txt" || { echo "FAIL: summary line"; cat "$tmp/val.txt"; fail=1; }
if [ -n "${MNSIM_TEST_QUICK:-}" ]; then
  echo "quick mode: refit skipped"
  exit $fail
fi
"$m" calibrate -o "$tmp/cal.csv" >"$tmp/cal.txt" 2>&1 || { echo "FAIL calibrate"; cat "$tmp/cal.txt"; exit 1; }
cat "$tmp/cal.txt"
cmp "$tmp/cal.csv" "$src/data/calibration.csv" || { echo "FAIL: data/calibration.csv is not what mnsim calibrate writes"; diff "$tmp/cal.csv" "$src/data/calibration.csv"; fail=1; }
cmp "$tmp/posterior.csv" "$src/data/posterior.csv" || { echo "FAIL: data/posterior.csv is not what mnsim calibrate writes"; diff "$tmp/posterior.csv" "$src/data/posterior.csv" | head; fail=1; }
exit $fail
