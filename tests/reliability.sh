#!/bin/sh
# Result sets all or none (also when the writer is killed midway), thread counts capped, messages
# that keep their reason.
# usage: tests/reliability.sh MNSIM MNSIM_HOOKS (from the source directory; MNSIM_HOOKS is the
# test build whose MNSIM_TEST_* fault injection is on)
set -u
m=$1 hooks=$2
tmp=$(mktemp -d)
trap 'chattr -i "$tmp"/*/* 2>/dev/null; rm -rf "$tmp"' EXIT
fail=0
sums() { (cd "$1" && ls -A | sort | xargs md5sum); }
expect() { # expect STATUS PATTERN -- command...
  want=$1 pat=$2
  shift 3
  out=$("$@" 2>&1)
  rc=$?
  [ "$rc" -eq "$want" ] || { echo "FAIL '$*': exit $rc, expected $want"; echo "$out" | tail -3; fail=1; }
  [ -z "$pat" ] || printf "%s" "$out" | grep -q -- "$pat" || { echo "FAIL '$*': output lacks '$pat':"; echo "$out" | tail -5; fail=1; }
}

# ---- a result set is replaced all or none (issue 17, defect 5) ---------------------------------
dev() { "$m" device -q --no-figures "$@" examples/pen-cheek.yaml; }
dev -o "$tmp/set" --seed 1 || fail=1
sums "$tmp/set" >"$tmp/before"
# a rename that fails midway (fault injection: the third of four): the two files renamed before
# it are put back
expect 1 "no result file was replaced" -- env MNSIM_TEST_FAIL_RENAME=3 "$hooks" device -q --no-figures \
  --seed 2 -o "$tmp/set" examples/pen-cheek.yaml
sums "$tmp/set" | cmp -s - "$tmp/before" || { echo "FAIL: a failed set changed the result files"; sums "$tmp/set"; fail=1; }
# SIGKILL after the second of four renames (fault injection): the directory is a mix, with the
# set's journal; the next run that writes there (here one whose own set then fails, so that the
# directory shows what the recovery left) rolls the killed set back: the old files, no journal,
# no backups (sums lists dot files too)
env MNSIM_TEST_KILL_AFTER_RENAME=2 "$hooks" device -q --no-figures --seed 2 -o "$tmp/set" \
  examples/pen-cheek.yaml >/dev/null 2>&1
rc=$?
[ $rc -eq 137 ] || { echo "FAIL: the SIGKILL hook: exit $rc"; fail=1; }
ls -A "$tmp/set" | grep -q '^\.mnsim-set-[0-9]*\.journal$' || { echo "FAIL: no journal after a SIGKILL midway"; ls -A "$tmp/set"; fail=1; }
sums "$tmp/set" | cmp -s - "$tmp/before" && { echo "FAIL: the killed set changed nothing (the test proves nothing)"; fail=1; }
expect 1 "a run was killed while it replaced its result files: they are back as they were before that run" -- \
  env MNSIM_TEST_FAIL_RENAME=1 "$hooks" device --no-figures --seed 3 -o "$tmp/set" examples/pen-cheek.yaml
sums "$tmp/set" | cmp -s - "$tmp/before" || { echo "FAIL: a set killed midway was not rolled back"; sums "$tmp/set"; fail=1; }
# an immutable target (chattr +i, when the file system and the privileges allow it)
if chattr +i "$tmp/set/density.csv" 2>/dev/null; then
  expect 1 "density.csv" -- "$m" device -q --no-figures --seed 2 -o "$tmp/set" examples/pen-cheek.yaml
  chattr -i "$tmp/set/density.csv"
  sums "$tmp/set" | cmp -s - "$tmp/before" || { echo "FAIL: an immutable density.csv, the others replaced"; fail=1; }
else
  echo "skip: chattr +i not available"
fi
# a directory in the way of the last file
rm "$tmp/set/density.csv" && mkdir "$tmp/set/density.csv" && sums "$tmp/set" >"$tmp/before2" 2>/dev/null
expect 1 "a directory of that name exists" -- "$m" device -q --no-figures --seed 2 -o "$tmp/set" examples/pen-cheek.yaml
sums "$tmp/set" 2>/dev/null | cmp -s - "$tmp/before2" || { echo "FAIL: a directory in the way, the others replaced"; fail=1; }
left=$(ls -A "$tmp/set" | grep '^\.')
[ -z "$left" ] || { echo "FAIL: temporaries left: $left"; fail=1; }
# a successful set leaves no backup behind
rm -rf "$tmp/set2"; dev -o "$tmp/set2" && dev -o "$tmp/set2" --seed 3 || fail=1
[ -z "$(ls -A "$tmp/set2" | grep '^\.')" ] || { echo "FAIL: backups left after a set"; ls -A "$tmp/set2"; fail=1; }

# ---- thread counts are capped (defect 9): OMP_NUM_THREADS=100000 once crashed -----------------
sed 's/uq_draws: 400/uq_draws: 8/' examples/lumped-3-sessions.yaml >"$tmp/lumped8.yaml"
export OMP_NUM_THREADS=100000
expect 0 "" -- "$m" simulate -q -o "$tmp/t1" "$tmp/lumped8.yaml"
expect 0 "" -- "$m" plan -q --draws 8 --max-mcse 0 --no-report -o "$tmp/t2" examples/patient-acne-scars.yaml
expect 0 "" -- "$m" validate -q --draws 4 --role acceptance
# the long ones: started with 100000 threads asked for, then stopped (a crash exits 139 first)
for cmd in "sensitivity -q" "calibrate -q --walkers 22 --steps 8 --burn 0"; do
  $m $cmd >/dev/null 2>&1 &
  pid=$!
  sleep 1
  kill -INT $pid 2>/dev/null
  wait $pid
  rc=$?
  [ "$rc" -eq 130 ] || { echo "FAIL $cmd with OMP_NUM_THREADS=100000: exit $rc, expected 130"; fail=1; }
done
unset OMP_NUM_THREADS

# ---- inputs (defect 11) and messages (defect 12) -----------------------------------------------
# a FIFO nobody writes to is refused after a few seconds instead of blocking for ever
mkfifo "$tmp/fifo.yaml"
expect 2 "no data from the case file for 5 s" -- timeout 20 "$m" device -q --no-figures -o "$tmp/ff" "$tmp/fifo.yaml"
expect 0 "" -- "$m" device -q --no-figures -o "$tmp/pp" /dev/stdin <examples/pen-cheek.yaml
expect 2 "is a device, not a regular file" -- "$m" device -q --no-figures -o "$tmp/zz" /dev/zero
expect 2 "cannot read case file: Is a directory" -- "$m" device -q -o "$tmp/dd" examples
# an invalid SOURCE_DATE_EPOCH is refused before any work, not written as a broken DTSTAMP
expect 2 "SOURCE_DATE_EPOCH='12x' must be whole seconds" -- env SOURCE_DATE_EPOCH=12x "$m" plan -q \
  --draws 0 -o "$tmp/sde" examples/patient-acne-scars.yaml
[ -e "$tmp/sde" ] && { echo "FAIL: SOURCE_DATE_EPOCH refused but $tmp/sde created"; fail=1; }
expect 0 "" -- env SOURCE_DATE_EPOCH=1700000000 "$m" plan -q --draws 0 --no-report -o "$tmp/sde" examples/patient-acne-scars.yaml
grep -q "DTSTAMP:20231114T221320Z" "$tmp/sde/plan.ics" || { echo "FAIL: DTSTAMP from SOURCE_DATE_EPOCH"; fail=1; }
# a long path keeps the reason of the failure at the end of the message (the 640-byte cap)
long="$tmp/$(printf 'x%.0s' $(seq 1 240))"
for i in 1 2 3 4 5 6 7 8 9 10 11; do long="$long/$(printf 'y%.0s' $(seq 1 240))"; done
mkdir -p "$long"
if chattr +i "$long" 2>/dev/null; then
  expect 1 "Operation not permitted" -- "$m" device -q --no-figures -o "$long" examples/pen-cheek.yaml
  chattr -i "$long"
else
  echo "skip: chattr +i not available"
fi
# a -o path that is too long, or a name longer than 255, is refused whole: nothing is created
expect 2 "the path has [0-9]* characters; at most 3800" -- "$m" simulate -o "$long/$(printf 'z%.0s' $(seq 1 900))" examples/unit-cell.yaml
[ -z "$(ls -A "$long")" ] || { echo "FAIL: a refused -o created directories"; fail=1; }
expect 2 "a directory name has 300 characters; at most 255" -- "$m" device -q --no-figures -o "$tmp/new/$(printf 'n%.0s' $(seq 1 300))/x" examples/pen-cheek.yaml
[ -e "$tmp/new" ] && { echo "FAIL: a refused -o created $tmp/new"; fail=1; }
# plan's flags: errors name the flag (no generated YAML, no "(flags):3:16")
expect 2 "^mnsim plan: --region: regions\[0\].severity = '\"x' is not known" -- "$m" plan --draws 0 -o "$tmp/pf" --region 'cheek:acne_scars:"x'
expect 2 "^mnsim: --start: constraints.earliest_start = '2027-+1-01' is not a date" -- "$m" plan --draws 0 -o "$tmp/pf" --region cheek:wrinkles --start 2027-+1-01
expect 2 "--age: patient.age_y = 'x: \[1' is not a number" -- "$m" plan --draws 0 -o "$tmp/pf" --region cheek:wrinkles --age 'x: [1'
# a value option given twice is refused at once; lists repeat
expect 2 "--params is given twice; give it once" -- "$m" calibrate --params K_V --params q_F
expect 2 "--draws is given twice" -- "$m" plan --draws 1 --draws 2 examples/patient-acne-scars.yaml
expect 0 "" -- "$m" plan -q --draws 0 --no-report -o "$tmp/pf2" --region cheek:wrinkles --region forehead:fine_lines --condition herpes_history --condition diabetes
# calibrate: every option --help lists is accepted by the parser, and -o takes a FILE
for o in $("$m" calibrate --help | sed -n 's/^  *\(-[a-z], \)\{0,1\}--\([a-z-]*\).*/\2/p'); do
  out=$("$m" calibrate --$o 1 --zz-not-an-option 2>&1 </dev/null) # never runs: the last is unknown
  echo "$out" | grep -q "unknown option '--$o'" && { echo "FAIL: calibrate --help lists --$o, the parser rejects it"; fail=1; }
done
"$m" calibrate --help | grep -q -- "--output FILE" || { echo "FAIL: calibrate --help: -o FILE"; fail=1; }
exit $fail
