#!/bin/sh
# Memcheck over the command line (good and bad cases, error paths, a short simulation) and the
# unit tests (their fault-injection loops walk every allocation failure path).
# usage: tests/valgrind.sh MNSIM BUILD_DIR [cli|plan|unit]   (one part, for ctest to run them side
# by side: the commands, the planner with its report, the unit tests; all without the third argument)
set -u
m=$1 build=$2 part=${3:-all}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
vg="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --suppressions=tests/valgrind.supp"
fail=0
run() { # run DESCRIPTION EXPECTED-STATUS command...
  what=$1 want=$2
  shift 2
  $vg "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  [ $rc -eq "$want" ] || { echo "FAIL valgrind $what: exit $rc (want $want)"; tail -30 "$tmp/err"; fail=1; }
}
n=0
if [ "$part" = all ] || [ "$part" = cli ]; then
run "device" 0 "$m" device -q -o "$tmp/d" examples/pen-cheek.yaml
run "device --json" 0 "$m" device -q --json --no-figures -o "$tmp/d2" tests/cases/good/stamp-scars.yaml
for f in tests/cases/bad/*.yaml tests/cases/bad_sim/*.yaml tests/cases/bad_plan/*.yaml; do
  case "$f" in */bad_sim/*) cmd=simulate ;; */bad_plan/*) cmd=plan ;; *) cmd=device ;; esac
  run "$f" 2 "$m" $cmd -q -o "$tmp/x" "$f"
  n=$((n + 1))
done
printf 'simulate: {days: 1.5, snapshot_days: [1], checkpoint_min: 0, uq_draws: 3}\ngrid: {dx_um: 40, dz_epi_um: 20, dz_pd_um: 40, dz_rd_um: 80}\n' >"$tmp/sim.yaml"
run "simulate" 0 "$m" simulate -q -o "$tmp/s" "$tmp/sim.yaml"
printf 'simulate: {mode: lumped, days: 60, sessions: 2, uq_draws: 4}\n' >"$tmp/lumped.yaml"
run "simulate lumped" 0 "$m" simulate -q -o "$tmp/l" "$tmp/lumped.yaml"
n=$((n + 4))
fi
if [ "$part" = all ] || [ "$part" = plan ]; then
# the planner with its calendar and report (a few draws; the report's 3D run included)
run "plan" 0 "$m" plan -q --draws 4 --max-mcse 0.1 -o "$tmp/p" examples/patient-acne-scars.yaml
n=$((n + 1))
fi
[ "$part" = unit ] || [ "$part" = all ] ||
  { [ $fail -eq 0 ] && echo "valgrind: clean over $n commands"; exit $fail; }
# Criterion runs each test in a child process, and a child's memcheck errors do not reach the
# parent's exit status: memcheck follows the children and writes one log per process, and any
# line in them (-q: errors and definite leaks only) fails the suite.
for t in unit_core unit_skin unit_device unit_io unit_lumped; do
  rm -rf "$tmp/vg" && mkdir "$tmp/vg"
  $vg --trace-children=yes --show-leak-kinds=definite --log-file="$tmp/vg/%p" \
    "$build/tests/$t" --jobs 1 >"$tmp/out" 2>&1 || { echo "FAIL valgrind $t: exit $?"; tail -30 "$tmp/out"; fail=1; }
  if cat "$tmp"/vg/* | grep -q .; then
    echo "FAIL valgrind $t: memcheck errors"
    cat "$tmp"/vg/* | head -60
    fail=1
  fi
done
[ $fail -eq 0 ] && echo "valgrind: clean over the five unit suites$([ $n -gt 0 ] && echo " and $n commands")"
exit $fail
