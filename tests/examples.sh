#!/bin/sh
# Every example runs and writes its results. usage: tests/examples.sh MNSIM
set -u
m=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
for f in examples/*.yaml; do
  out="$tmp/$(basename "$f" .yaml)"
  "$m" device -o "$out" "$f" >"$out.txt" 2>&1 || { echo "FAIL $f"; cat "$out.txt"; fail=1; continue; }
  grep -q "punctures" "$out.txt" || { echo "FAIL $f: no summary"; fail=1; }
  [ -s "$out/density.png" ] || { echo "FAIL $f: no density map"; fail=1; }
done
exit $fail
