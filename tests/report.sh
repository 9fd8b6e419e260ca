#!/bin/sh
# report.html in headless Chromium: it renders, every figure decodes (the page's own script counts
# them), nothing is broken, and a screenshot is not blank. Also: self-contained (no external
# URL), printable CSS present.
# usage: tests/report.sh MNSIM PNG_CHECK
set -u
m=$1
check=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
"$m" plan --draws 40 --max-mcse 0.05 -o "$tmp/r" examples/patient-acne-scars.yaml >"$tmp/plan.txt" 2>&1 || { echo "FAIL plan"; cat "$tmp/plan.txt"; exit 1; }
f="$tmp/r/report.html"
[ -s "$f" ] || { echo "FAIL no report.html"; exit 1; }
grep -q 'src="http\|href="http\|<link ' "$f" && { echo "FAIL report refers to external resources"; fail=1; }
grep -q '@media print' "$f" || { echo "FAIL no print style"; fail=1; }
grep -q "does not replace" "$f" || { echo "FAIL no decision-support statement"; fail=1; }
grep -q "avoid the sun until" "$f" || { echo "FAIL no sun-avoidance dates for the patient"; fail=1; }
n=$(grep -o '<img class="fig"' "$f" | wc -l)
[ "$n" -eq 6 ] || { echo "FAIL $n figures in the page, expected 6"; fail=1; }
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "FAIL: chromium is not installed (make deps installs it)"
  exit 1
fi
flags="--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars --user-data-dir=$tmp/profile"
timeout 120 "$browser" $flags --virtual-time-budget=5000 --dump-dom "file://$f" >"$tmp/dom.html" 2>"$tmp/chromium.log" || { echo "FAIL chromium --dump-dom"; tail -5 "$tmp/chromium.log"; fail=1; }
grep -q 'data-figures="6"' "$tmp/dom.html" || { echo "FAIL figures decoded in Chromium: $(grep -o 'data-figures="[0-9]*"' "$tmp/dom.html")"; fail=1; }
grep -q 'data-broken="0"' "$tmp/dom.html" || { echo "FAIL broken images: $(grep -o 'data-broken="[0-9]*"' "$tmp/dom.html")"; fail=1; }
timeout 120 "$browser" $flags --window-size=1200,2400 --screenshot="$tmp/shot.png" "file://$f" >/dev/null 2>>"$tmp/chromium.log" || { echo "FAIL chromium --screenshot"; tail -5 "$tmp/chromium.log"; fail=1; }
"$check" "$tmp/shot.png" || { echo "FAIL screenshot blank or unreadable"; fail=1; }
[ $fail -eq 0 ] && echo "report: renders in $($browser --version 2>/dev/null | head -1), 6 figures decoded, screenshot not blank"
exit $fail
