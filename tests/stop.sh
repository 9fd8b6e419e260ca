#!/bin/sh
# SIGINT and SIGTERM stop every long command within STOP_LIMIT seconds (2; more in sanitizer
# builds), with exit status 128 + the signal, a message, and no temporary file left in the output
# directory or in $TMPDIR (a fresh directory here). usage: tests/stop.sh MNSIM (source directory)
set -u
m=$1
limit=${STOP_LIMIT:-2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/tmpdir"
export TMPDIR="$tmp/tmpdir"
fail=0
sed 's/uq_draws: 400/uq_draws: 5000/' examples/lumped-3-sessions.yaml >"$tmp/lumped.yaml"

now() { date +%s.%N; }

# stop SIGNAL DELAY OUTDIR -- command...: start it, signal it after DELAY s, check the rest
stop() {
  sig=$1 delay=$2 out=$3
  shift 4
  "$@" >"$tmp/stdout" 2>"$tmp/stderr" &
  pid=$!
  sleep "$delay"
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "FAIL '$*': finished before the signal (make it longer)"; fail=1; wait "$pid"; return
  fi
  t0=$(now)
  kill -"$sig" "$pid"
  wait "$pid"
  rc=$?
  dt=$(echo "$(now) - $t0" | bc)
  want=130
  [ "$sig" = TERM ] && want=143
  [ "$rc" -eq "$want" ] || { echo "FAIL '$*' SIG$sig: exit $rc, expected $want"; cat "$tmp/stderr"; fail=1; }
  [ "$(echo "$dt < $limit" | bc)" -eq 1 ] || { echo "FAIL '$*' SIG$sig: stopped after $dt s"; fail=1; }
  grep -q "stopped by SIG$sig\|interrupted at day" "$tmp/stderr" ||
    { echo "FAIL '$*' SIG$sig: no message"; cat "$tmp/stderr"; fail=1; }
  od=$out # an output file's temporaries and backups sit beside it
  [ -d "$od" ] || od=$(dirname "$out")
  left=$(ls -A "$TMPDIR"; [ -d "$od" ] && find "$od" -name '.*.??????' -o -name '.*.old.*')
  [ -z "$left" ] || { echo "FAIL '$*' SIG$sig: temporaries left: $left"; fail=1; }
  rm -rf "$TMPDIR"/* "$out"
  echo "ok SIG$sig after ${delay}s, exit $rc in ${dt}s: $*"
}

stop INT 1 "$tmp/sl" -- "$m" simulate -q -o "$tmp/sl" "$tmp/lumped.yaml"
stop TERM 1 "$tmp/sl" -- "$m" simulate -q -o "$tmp/sl" "$tmp/lumped.yaml"
stop INT 1.5 "$tmp/su" -- "$m" simulate -q -o "$tmp/su" examples/unit-cell.yaml
stop TERM 1 "$tmp/pl" -- "$m" plan -q -o "$tmp/pl" examples/patient-acne-scars.yaml
stop INT 1 "$tmp/va" -- "$m" validate -q
stop TERM 1 "$tmp/ca" -- "$m" calibrate -q -o "$tmp/ca/calibration.csv"
stop INT 1 "$tmp/se" -- "$m" sensitivity -q -o "$tmp/se"
exit $fail
