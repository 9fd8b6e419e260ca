#!/bin/sh
# Case-file tests. usage: tests/cases/run.sh MNSIM (from the source directory)
# Every tests/cases/bad*/*.yaml must exit 2 with exactly the stderr in its .err file and leave no
# output directory; every tests/cases/good/*.yaml must exit 0 and write all its result files.
set -u
mnsim=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0 nbad=0 ngood=0
for f in tests/cases/bad/*.yaml; do
  nbad=$((nbad + 1))
  want="${f%.yaml}.err"
  if [ ! -f "$want" ]; then echo "FAIL $f: no $want"; fail=1; continue; fi
  "$mnsim" device --no-figures -o "$tmp/out" "$f" >"$tmp/stdout" 2>"$tmp/stderr"
  rc=$?
  [ "$rc" -eq 2 ] || { echo "FAIL $f: exit status $rc, expected 2"; fail=1; }
  if ! cmp -s "$want" "$tmp/stderr"; then
    echo "FAIL $f: message differs (expected, then got):"
    cat "$want" "$tmp/stderr"
    fail=1
  fi
  [ -s "$tmp/stdout" ] && { echo "FAIL $f: printed a result"; fail=1; }
  [ -e "$tmp/out" ] && { echo "FAIL $f: wrote an output directory"; fail=1; rm -rf "$tmp/out"; }
done
# the simulate sections' bad cases, through `mnsim simulate`
for f in tests/cases/bad_sim/*.yaml; do
  nbad=$((nbad + 1))
  want="${f%.yaml}.err"
  "$mnsim" simulate -o "$tmp/sout" "$f" >"$tmp/stdout" 2>"$tmp/stderr"
  rc=$?
  [ "$rc" -eq 2 ] || { echo "FAIL $f: exit status $rc, expected 2"; fail=1; }
  cmp -s "$want" "$tmp/stderr" || { echo "FAIL $f: message differs (expected, then got):"; cat "$want" "$tmp/stderr"; fail=1; }
  [ -e "$tmp/sout" ] && { echo "FAIL $f: wrote an output directory"; fail=1; rm -rf "$tmp/sout"; }
done
# patient files through `mnsim plan`
for f in tests/cases/bad_plan/*.yaml; do
  nbad=$((nbad + 1))
  want="${f%.yaml}.err"
  "$mnsim" plan --draws 0 -o "$tmp/pout" "$f" >"$tmp/stdout" 2>"$tmp/stderr"
  rc=$?
  [ "$rc" -eq 2 ] || { echo "FAIL $f: exit status $rc, expected 2"; fail=1; }
  cmp -s "$want" "$tmp/stderr" || { echo "FAIL $f: message differs (expected, then got):"; cat "$want" "$tmp/stderr"; fail=1; }
  [ -s "$tmp/stdout" ] && { echo "FAIL $f: printed a result"; fail=1; }
  [ -e "$tmp/pout" ] && { echo "FAIL $f: wrote an output directory"; fail=1; rm -rf "$tmp/pout"; }
done
for f in tests/cases/good/*.yaml; do
  ngood=$((ngood + 1))
  out="$tmp/good-$ngood"
  "$mnsim" device -q -o "$out" "$f" 2>"$tmp/stderr"
  rc=$?
  [ "$rc" -eq 0 ] || { echo "FAIL $f: exit status $rc"; cat "$tmp/stderr"; fail=1; continue; }
  for r in device.json device.csv punctures.csv density.csv density.svg density.png; do
    [ -s "$out/$r" ] || { echo "FAIL $f: $r missing or empty"; fail=1; }
  done
  ls -A "$out" | grep -q '^\.' && { echo "FAIL $f: temporary file left in $out"; fail=1; }
done
echo "cases: $nbad bad and $ngood good case files checked"
exit $fail
