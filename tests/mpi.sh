#!/bin/sh
# `mnsim calibrate`, `mnsim sensitivity` and `mnsim validate` over MPI ranks: a short chain, a small
# Sobol design and a small posterior ensemble under `mpirun -np 3` (ranks on one machine,
# oversubscribed) write the same bytes as one process; rank 0 alone prints; a command that does
# not run over ranks is refused with exit 2. Skipped (exit 77) without mpirun or in a build
# without MPI.
# usage: tests/mpi.sh MNSIM
set -u
m=$1
command -v mpirun >/dev/null 2>&1 || { echo "skip: no mpirun"; exit 77; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/a" "$tmp/b"
fail=0
short="--params K_V,V_vis --walkers 4 --steps 8 --burn 0 --thin 2 --max-evals 10 --seed 5 --threads 1"
"$m" calibrate $short -o "$tmp/a/cal.csv" >"$tmp/a.txt" 2>&1
rc_a=$?
mpirun -np 3 "$m" calibrate $short -o "$tmp/b/cal.csv" >"$tmp/b.txt" 2>&1
rc_b=$?
if grep -q "built without MPI" "$tmp/b.txt"; then echo "skip: mnsim built without MPI"; exit 77; fi
[ $rc_a -le 1 ] && [ $rc_a -eq $rc_b ] || { echo "FAIL: exit $rc_a alone, $rc_b under mpirun"; cat "$tmp/b.txt"; fail=1; }
for f in cal.csv posterior.csv; do
  cmp "$tmp/a/$f" "$tmp/b/$f" || { echo "FAIL: $f differs between 1 process and 3 ranks"; fail=1; }
done
# one copy of the report (rank 0), not three
[ "$(grep -c 'posterior of 2 parameters' "$tmp/b.txt")" -eq 1 ] ||
  { echo "FAIL: the report printed other than once"; cat "$tmp/b.txt"; fail=1; }
# the Sobol design over 3 ranks: the same table
sens="sensitivity -N 8 --boot 10 --sessions 1 --days 30 --threads 1 -q"
"$m" $sens -o "$tmp/sa" >/dev/null 2>&1
mpirun -np 3 "$m" $sens -o "$tmp/sb" >"$tmp/s.txt" 2>&1 || { echo "FAIL: sensitivity under mpirun"; cat "$tmp/s.txt"; fail=1; }
for f in sobol.csv sobol.svg; do
  cmp "$tmp/sa/$f" "$tmp/sb/$f" || { echo "FAIL: $f differs between 1 process and 3 ranks"; fail=1; }
done
# the posterior ensemble of validate over 3 ranks: the same table
val="validate --role calibration --draws 12 --threads 1 --json"
"$m" $val >"$tmp/va.json" 2>/dev/null
rc_a=$?
mpirun -np 3 "$m" $val >"$tmp/vb.json" 2>"$tmp/v.txt"
rc_b=$?
[ $rc_a -eq $rc_b ] && [ -s "$tmp/va.json" ] && cmp "$tmp/va.json" "$tmp/vb.json" ||
  { echo "FAIL: validate: exit $rc_a alone, $rc_b under mpirun, or the tables differ"; cat "$tmp/v.txt"; fail=1; }
mpirun -np 2 "$m" device -q -o "$tmp/d" examples/pen-cheek.yaml >"$tmp/d.txt" 2>&1
rc=$?
[ $rc -eq 2 ] && grep -q "does not run over MPI ranks" "$tmp/d.txt" ||
  { echo "FAIL: device under mpirun: exit $rc"; cat "$tmp/d.txt"; fail=1; }
[ ! -e "$tmp/d" ] || { echo "FAIL: device under mpirun wrote output"; fail=1; }
# a table whose directory is missing: rank 0 says so and every rank stops before the chain
# (rank 1 left in the chain's collectives would wait for ever: the timeout ends it, exit 124)
timeout 120 mpirun -np 2 "$m" calibrate --params K_V,V_vis --walkers 4 --steps 100000 --burn 0 \
  --threads 1 -o "$tmp/none/cal.csv" >"$tmp/nd.txt" 2>&1
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q "cannot create a temporary file in $tmp/none" "$tmp/nd.txt" ||
  { echo "FAIL: missing output directory under mpirun: exit $rc"; cat "$tmp/nd.txt"; fail=1; }
# a signal that reaches one rank only stops every rank at the next shared batch (a rank that
# left alone would leave the others waiting in the collective for ever): exit 130, no output
mkdir -p "$tmp/st"
mpirun -np 2 "$m" calibrate --params K_V,V_vis --walkers 4 --steps 100000 --burn 0 --threads 1 \
  -o "$tmp/st/cal.csv" >"$tmp/st.txt" 2>&1 &
mp=$!
r1=""
for i in $(seq 1 100); do
  r1=$(pgrep -f "mnsim calibrate --params K_V,V_vis --walkers 4 --steps 100000" | grep -v "^$mp\$" | tail -1)
  [ -n "$r1" ] && break
  sleep 0.1
done
sleep 2
[ -n "$r1" ] && kill -INT "$r1"
t=0
while kill -0 $mp 2>/dev/null && [ $t -lt 300 ]; do sleep 0.1; t=$((t + 1)); done
if kill -0 $mp 2>/dev/null; then
  echo "FAIL: SIGINT to one rank: the job still runs after 30 s"; kill -9 $mp; fail=1
fi
wait $mp
rc=$?
[ $rc -ne 0 ] && grep -q "stopped by SIGINT" "$tmp/st.txt" && [ ! -e "$tmp/st/cal.csv" ] ||
  { echo "FAIL: SIGINT to one rank: exit $rc"; cat "$tmp/st.txt"; fail=1; }
[ $fail -eq 0 ] && echo "mpi: 3 ranks give the same bytes as 1 process; a signal to one rank stops all"
exit $fail
