#!/bin/sh
# Every example's results against the checksums recorded in tests/golden/examples.sha256: a change
# that should not change behaviour (a refactor) must leave them bit-identical. `mnsim plan` for the
# patient files, `mnsim device` for the others, `mnsim simulate` for those with a simulate section
# (the patch example for its first 0.3 day; --full: the whole 180 days, for `make check-full`).
# Lines that name the moment or the command line (plan.json "command", plan.ics DTSTAMP, the
# report's date) are left out of the checksums.
# usage: tests/golden/run.sh MNSIM [--full] [--update]
# When a change is meant to move results (a model change), rerun with --update and say why in the
# commit.
set -u
m=$1
shift
full=0 update=0
for a in "$@"; do
  case "$a" in --full) full=1 ;; --update) update=1 ;; *) echo "unknown option $a" >&2; exit 2 ;; esac
done
here=$(cd "$(dirname "$0")" && pwd)
sums="$here/examples.sha256"
[ $full -eq 1 ] && sums="$here/examples-full.sha256"
tmp=$(mktemp -d)
mkdir -p "$tmp/out"
trap 'rm -rf "$tmp"' EXIT
fail=0
run() { # name, command...
  name=$1
  shift
  "$@" >"$tmp/$name.log" 2>&1 || { echo "FAIL $name: $*"; cat "$tmp/$name.log"; fail=1; }
}
for f in examples/*.yaml; do
  name=$(basename "$f" .yaml)
  case "$name" in
    patient-*)
      run "$name" "$m" plan -q -o "$tmp/out/$name" "$f"
      continue ;;
  esac
  run "$name" "$m" device -q -o "$tmp/out/$name" "$f"
  grep -q '^simulate:' "$f" || continue
  days=""
  [ $full -eq 0 ] && grep -q 'mode: patch' "$f" && days="--days 0.3"
  run "$name-sim" "$m" simulate -q $days -o "$tmp/out/$name-sim" "$f"
done
[ $fail -eq 0 ] || exit 1
cd "$tmp/out" || exit 1
# normalise what names the moment or the command line
for d in patient-*; do
  [ -d "$d" ] || continue
  sed -i '/^  "command": /d' "$d/plan.json"
  sed -i '/^DTSTAMP:/d' "$d/plan.ics"
done
find . -type f ! -name '*.log' ! -name '*.png' ! -name '*.svg' ! -name 'report.html' | LC_ALL=C sort |
  xargs sha256sum >"$tmp/now.sha256"
if [ $update -eq 1 ]; then
  cp "$tmp/now.sha256" "$sums"
  echo "golden: wrote $sums ($(wc -l <"$sums") files)"
  exit 0
fi
if ! diff -u "$sums" "$tmp/now.sha256"; then
  echo "FAIL: results differ from $sums (lines with - are the recorded checksums)"
  exit 1
fi
echo "golden: $(wc -l <"$sums") files bit-identical"
