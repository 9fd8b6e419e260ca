#!/bin/sh
# Every example runs and writes its results: `mnsim plan` for the patient files, `mnsim device`
# for the others, `mnsim simulate` for those with a simulate section (the patch example only for its first 0.3 day here).
# usage: tests/examples.sh MNSIM
set -u
m=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
for f in examples/*.yaml; do
  name=$(basename "$f" .yaml)
  out="$tmp/$name"
  case "$name" in
    patient-*) # patient files: `mnsim plan` (fewer draws in sanitizer builds)
      draws=""
      [ -n "${MNSIM_TEST_QUICK:-}" ] && draws="--draws 20 --max-mcse 0.1"
      "$m" plan $draws -o "$out" "$f" >"$out.txt" 2>&1 || { echo "FAIL plan $f"; cat "$out.txt"; fail=1; continue; }
      grep -q "candidacy" "$out.txt" && grep -q "supports the clinician" "$out.txt" || { echo "FAIL $f: no plan summary"; fail=1; }
      for r in plan.json plan.ics; do [ -s "$out/$r" ] || { echo "FAIL $f: no $r"; fail=1; }; done
      continue ;;
  esac
  "$m" device -o "$out" "$f" >"$out.txt" 2>&1 || { echo "FAIL device $f"; cat "$out.txt"; fail=1; continue; }
  grep -q "punctures" "$out.txt" || { echo "FAIL $f: no summary"; fail=1; }
  [ -s "$out/density.png" ] || { echo "FAIL $f: no density map"; fail=1; }
  grep -q '^simulate:' "$f" || continue
  days=""
  [ -n "${MNSIM_TEST_QUICK:-}" ] && days="--days 5" # sanitizer builds: the first days only
  grep -q 'mode: patch' "$f" && days="--days 0.3"
  grep -q 'mode: patch' "$f" && [ -n "${MNSIM_TEST_QUICK:-}" ] && days="--days 0.01"
  lumped=0
  grep -q 'mode: lumped' "$f" && lumped=1 days="" # milliseconds: the whole course
  "$m" simulate $days -o "$out-sim" "$f" >"$out-sim.txt" 2>&1 || { echo "FAIL simulate $f"; cat "$out-sim.txt"; fail=1; continue; }
  grep -q "redness" "$out-sim.txt" || { echo "FAIL $f: no simulate summary"; fail=1; }
  [ -s "$out-sim/outcome.json" ] || { echo "FAIL $f: no outcome.json"; fail=1; }
  [ $lumped -eq 1 ] || [ -s "$out-sim/fields.h5" ] || { echo "FAIL $f: no fields.h5"; fail=1; }
done
exit $fail
