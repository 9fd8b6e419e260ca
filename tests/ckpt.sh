#!/bin/sh
# Checkpoints and run directories of `mnsim simulate` (issue 17): --resume refuses an edited case
# or another run's checkpoint; flipped bits never pass with different results; a second run on a
# busy directory fails at once naming the owner, a dead owner's lock is taken over; a full disk
# names the file and does not crash (a tiny tmpfs; without permission to mount, a file-size limit); missing or
# truncated snapshots are found at resume time and rebuilt by replaying the run; --days survives --resume; --resume on a finished
# run or on a plain directory says so; a case read from a pipe is saved whole.
# A checkpoint of another build is refused, and the shipped mnsim ignores the test hooks.
# usage: tests/ckpt.sh MNSIM MNSIM_HOOKS. The runs below use MNSIM_HOOKS, the test build whose
# MNSIM_TEST_* fault injection is on (a checkpoint resumes only with the build that wrote it).
set -u
release=$1 m=$2
tmp=$(mktemp -d)
mnt=""
cleanup() { [ -n "$mnt" ] && umount "$mnt" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail=0
case="$tmp/cell.yaml"
. "$(dirname "$0")/cell_case.sh"
cell_case "$case" "{mode: unit_cell, days: 6, sessions: 2, interval_day: 3, sample_hours: 12, snapshot_days: [0.5, 2, 6], checkpoint_min: 0.0005, uq_draws: 0}" \
  "{dx_um: 40, dz_epi_um: 20, dz_pd_um: 40, dz_rd_um: 80}"
sed 's/depth_mm: 1.0/depth_mm: 0.8/' "$case" >"$tmp/other.yaml"
same() { # ref dir, dir, what
  for f in timeseries.csv outcome.json fields.h5; do
    cmp -s "$1/$f" "$2/$f" || { echo "FAIL: $3: $f differs from the uninterrupted run"; fail=1; }
  done
}
expect() { # rc wanted ("nz": any non-zero below 128), rc, message file, pattern, what
  if [ "$1" = nz ]; then ok=$([ "$2" -ne 0 ] && [ "$2" -lt 128 ] && echo 1); else ok=$([ "$2" -eq "$1" ] && echo 1); fi
  [ -n "$ok" ] && grep -q -- "$4" "$3" || { echo "FAIL: $5: exit $2, message:"; cat "$3"; fail=1; }
}
# an interrupted run with its checkpoint kept; the hook stops it at day 2.5: MNSIM_TEST_POISON_DAY
# by a NaN (the last periodic checkpoint, day < 2.5, stays), MNSIM_TEST_STOP_DAY as SIGTERM does
# (the checkpoint is written at day 2.5)
interrupted() { # hook dir [case] [options]
  h=$1 d=$2 c=${3:-$case}
  shift 2
  [ $# -gt 0 ] && shift
  rm -rf "$d"
  env "$h" "$m" simulate -q -o "$d" "$@" "$c" 2>/dev/null
  [ -s "$d/.mnsim-run/checkpoint.h5" ] || { echo "FAIL: no checkpoint in $d"; fail=1; }
}
stopped() { interrupted MNSIM_TEST_POISON_DAY=2.5 "$@"; }
"$m" simulate -q -o "$tmp/ref" "$case" || { echo "FAIL: reference run"; exit 1; }

# the build: the test build's checkpoint is not the shipped build's; the shipped build ignores
# the hooks (no NaN, the same results)
stopped "$tmp/x"
"$release" simulate -q --resume "$tmp/x" 2>"$tmp/msg"
expect 2 $? "$tmp/msg" "checkpoint $tmp/x/.mnsim-run/checkpoint.h5 was written by mnsim [0-9.]* [0-9a-f]\{16\}; this is mnsim [0-9.]* [0-9a-f]\{16\}: finish the run with that build" "another build's checkpoint"
rm -rf "$tmp/x"
MNSIM_TEST_POISON_DAY=2.5 "$release" simulate -q -o "$tmp/x" "$case" || { echo "FAIL: the shipped build read MNSIM_TEST_POISON_DAY"; fail=1; }
same "$tmp/ref" "$tmp/x" "shipped build with MNSIM_TEST_POISON_DAY set"

# 2. an edited saved case, another case's checkpoint
stopped "$tmp/a"
cp "$tmp/a/.mnsim-run/checkpoint.h5" "$tmp/a.h5"
echo "# edited" >>"$tmp/a/.mnsim-run/case.yaml"
"$m" simulate -q --resume "$tmp/a" 2>"$tmp/msg"
expect 2 $? "$tmp/msg" "case.yaml does not match checkpoint $tmp/a/.mnsim-run/checkpoint.h5" "edited case"
cp "$case" "$tmp/a/.mnsim-run/case.yaml"
stopped "$tmp/b" "$tmp/other.yaml"
stopped "$tmp/a"
cp "$tmp/b/.mnsim-run/checkpoint.h5" "$tmp/a/.mnsim-run/checkpoint.h5"
"$m" simulate -q --resume "$tmp/a" 2>"$tmp/msg"
expect 2 $? "$tmp/msg" "does not match checkpoint.*the checkpoint is another run's" "another run's checkpoint"
stopped "$tmp/a"
"$m" simulate -q --resume "$tmp/a" || { echo "FAIL: resume"; fail=1; }
same "$tmp/ref" "$tmp/a" "resume"

# 3. single-bit flips: refused with a message, or harmless (identical results); never a crash
size=$(wc -c <"$tmp/a.h5")
flips=0 caught=0
for i in $(seq 1 10); do
  off=$(awk -v s="$i" -v n="$size" 'BEGIN { srand(s * 104729); printf "%d", rand() * n }')
  bit=$((i % 8))
  stopped "$tmp/f"
  cp "$tmp/a.h5" "$tmp/f/.mnsim-run/checkpoint.h5"
  byte=$(od -An -tu1 -j "$off" -N1 "$tmp/a.h5" | tr -d ' ')
  new=$((byte ^ (1 << bit)))
  printf "$(printf '\\%03o' "$new")" | dd of="$tmp/f/.mnsim-run/checkpoint.h5" bs=1 seek="$off" conv=notrunc 2>/dev/null
  "$m" simulate -q --resume "$tmp/f" 2>"$tmp/msg"
  rc=$?
  flips=$((flips + 1))
  if [ $rc -eq 0 ]; then
    same "$tmp/ref" "$tmp/f" "bit $bit of byte $off flipped, exit 0"
  elif [ $rc -ge 128 ] || ! grep -q "checkpoint" "$tmp/msg"; then
    echo "FAIL: bit $bit of byte $off flipped: exit $rc"; cat "$tmp/msg"; fail=1
  else
    caught=$((caught + 1))
  fi
done
echo "ckpt: $caught of $flips bit flips refused, the others harmless"

# 4. a second run on a busy directory fails at once naming the owner; a dead owner's lock is
# taken over
sed 's/days: 6,/days: 60,/' "$case" >"$tmp/long.yaml"
"$m" simulate -q -o "$tmp/busy" "$tmp/long.yaml" 2>/dev/null &
pid=$!
for i in $(seq 1 50); do [ -s "$tmp/busy/.mnsim-lock" ] && break; sleep 0.1; done
"$m" simulate -q -o "$tmp/busy" "$case" 2>"$tmp/msg"
expect 2 $? "$tmp/msg" "in use by another mnsim run (pid $pid" "second run"
"$m" simulate -q --resume "$tmp/busy" 2>"$tmp/msg"
expect 2 $? "$tmp/msg" "in use by another mnsim run (pid $pid" "resume of a running run"
kill -9 $pid
wait $pid 2>/dev/null
"$m" simulate -q --resume "$tmp/busy" --days 1 2>"$tmp/msg"
expect 2 $? "$tmp/msg" "takes no case file, -o, --seed or --days" "--resume with --days"
# the dead owner's run resumed (it takes the lock and steps: the poisoned first step stops it)
MNSIM_TEST_POISON_DAY=0.1 "$m" simulate -q --resume "$tmp/busy" 2>"$tmp/msg"
expect 1 $? "$tmp/msg" "= nan at voxel" "dead owner's run resumed"
[ -e "$tmp/busy/.mnsim-lock" ] && { echo "FAIL: lock file left after the run ended"; fail=1; }
[ -s "$tmp/busy/.mnsim-run/checkpoint.h5" ] || { echo "FAIL: checkpoint lost after the resumed run stopped"; fail=1; }

# a killed run's temporaries are removed by the next run, which holds the lock (lumped: no
# checkpoint, the run starts again)
mkdir "$tmp/stale"
echo x >"$tmp/stale/.outcome.json.AbC123"
echo x >"$tmp/stale/.mnsim-lock"
printf 'skin: {region: cheek}\ndevice: {model: pen-12, depth_mm: 0.8}\nsimulate: {mode: lumped, days: 30, uq_draws: 0}\n' >"$tmp/lumped.yaml"
"$m" simulate -q -o "$tmp/stale" "$tmp/lumped.yaml" || { echo "FAIL: lumped run over stale state"; fail=1; }
ls -A "$tmp/stale" | grep -q '^\.' && { echo "FAIL: stale state left:"; ls -A "$tmp/stale"; fail=1; }

# 6. a full disk while writing a checkpoint: the file named, no crash
mnt="$tmp/full"
mkdir "$mnt"
if mount -t tmpfs -o size=160k tmpfs "$mnt" 2>/dev/null; then
  "$m" simulate -q -o "$mnt/r" "$case" 2>"$tmp/msg"
  expect 1 $? "$tmp/msg" "cannot write HDF5 file $mnt/r/.mnsim-run/.*No space left on device" "full disk"
  ls -A "$mnt/r/.mnsim-run" | grep -q '^\.' && { echo "FAIL: temporaries left on the full disk"; fail=1; }
  umount "$mnt"
else
  # without permission to mount: a file-size limit fails the same writes (EFBIG, not ENOSPC)
  (trap '' XFSZ; ulimit -f 160; exec "$m" simulate -q -o "$tmp/fsz" "$case") 2>"$tmp/msg"
  expect 1 $? "$tmp/msg" "cannot write HDF5 file $tmp/fsz/.mnsim-run/.*File too large" "file size limit"
  ls -A "$tmp/fsz/.mnsim-run" | grep -q '^\.' && { echo "FAIL: temporaries left at the size limit"; fail=1; }
fi
mnt=""

# 7. missing or truncated snapshots are found when the run resumes, not at its end, and rebuilt
# by replaying the run from day 0: the same results as the uninterrupted run. The run is stopped
# as by SIGTERM at day 2.5, so its checkpoint is at day 2.5, after snapshots 0 and 1 (days 0.5 and
# 2): the periodic checkpoint of `stopped` may come before day 2 on a fast machine.
interrupted MNSIM_TEST_STOP_DAY=2.5 "$tmp/s"
rm "$tmp/s/.mnsim-run/snap_001.h5"
"$m" simulate --resume "$tmp/s" 2>"$tmp/msg"
expect 0 $? "$tmp/msg" "^mnsim: warning: $tmp/s: snapshot $tmp/s/.mnsim-run/snap_001.h5 is missing.*cannot be rebuilt from the checkpoint's later state: replaying the run from day 0" "missing snapshot"
same "$tmp/ref" "$tmp/s" "missing snapshot rebuilt"
interrupted MNSIM_TEST_STOP_DAY=2.5 "$tmp/s"
head -c 3000 "$tmp/s/.mnsim-run/snap_000.h5" >"$tmp/trunc" && cp "$tmp/trunc" "$tmp/s/.mnsim-run/snap_000.h5"
"$m" simulate --resume "$tmp/s" 2>"$tmp/msg"
expect 0 $? "$tmp/msg" "snap_000.h5 is missing, truncated.*replaying the run from day 0" "truncated snapshot"
same "$tmp/ref" "$tmp/s" "truncated snapshot rebuilt"

# 10. --days survives --resume; nothing to resume said plainly; a case from a pipe saved whole
"$m" simulate -q -o "$tmp/d4" --days 4 "$case" || fail=1
MNSIM_TEST_POISON_DAY=3.3 "$m" simulate -q -o "$tmp/d" --days 4 "$case" 2>/dev/null
"$m" simulate -q --resume "$tmp/d" || { echo "FAIL: resume of a --days run"; fail=1; }
same "$tmp/d4" "$tmp/d" "--days 4, resumed"
"$m" simulate -q --resume "$tmp/d" 2>"$tmp/msg"
expect 2 $? "$tmp/msg" "$tmp/d holds a finished run" "resume of a finished run"
mkdir "$tmp/plain"
"$m" simulate -q --resume "$tmp/plain" 2>"$tmp/msg"
expect 2 $? "$tmp/msg" "$tmp/plain is not an interrupted mnsim run" "resume of a plain directory"
"$m" simulate -q --resume "$tmp/nowhere" 2>"$tmp/msg"
expect 2 $? "$tmp/msg" "no such directory" "resume of a missing directory"
mkfifo "$tmp/pipe.yaml"
cat "$case" >"$tmp/pipe.yaml" &
MNSIM_TEST_POISON_DAY=2.5 timeout 60 "$m" simulate -q -o "$tmp/p" "$tmp/pipe.yaml" 2>/dev/null
wait
cmp -s "$case" "$tmp/p/.mnsim-run/case.yaml" || { echo "FAIL: a case from a pipe is not saved whole"; fail=1; }
"$m" simulate -q --resume "$tmp/p" || { echo "FAIL: resume of a case from a pipe"; fail=1; }
for f in timeseries.csv fields.h5; do # outcome.json names the case file
  cmp -s "$tmp/ref/$f" "$tmp/p/$f" || { echo "FAIL: case from a pipe, resumed: $f differs"; fail=1; }
done
[ $fail -eq 0 ] && echo "ckpt: all checks passed"
exit $fail
