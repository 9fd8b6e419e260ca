#!/bin/sh
# `make install` puts the program, headers, libraries, pkg-config file and man page in place, and
# a C and a C++ program build against them. usage: tests/install.sh BUILD_DIR
set -eu
build=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/p" >/dev/null
for f in bin/mnsim include/mnsim/mnsim.h lib/libmnsim.a lib/libmnsim.so lib/pkgconfig/mnsim.pc \
         share/man/man1/mnsim.1; do
  [ -e "$tmp/p/$f" ] || { echo "FAIL: $f not installed"; exit 1; }
done
export PKG_CONFIG_PATH="$tmp/p/lib/pkgconfig"
# a library built with the sanitizers (make test-asan) needs their runtime first in the program
san=
ldd "$tmp/p/lib/libmnsim.so" | grep -q libasan && san="-fsanitize=address,undefined"
cc -std=c11 -Wall -Werror $san tests/install/use.c -o "$tmp/use_c" $(pkg-config --cflags --libs mnsim) \
  -Wl,-rpath,"$tmp/p/lib"
c++ -x c++ -Wall -Werror $san $(pkg-config --cflags mnsim) tests/install/use.c -x none \
  -o "$tmp/use_cxx" $(pkg-config --libs mnsim) -Wl,-rpath,"$tmp/p/lib"
# each program's status and output checked on its own (set -e does not act on the left of && nor
# on the left of a pipe)
for p in use_c use_cxx; do
  "$tmp/$p" >"$tmp/$p.out" || { echo "FAIL: $p exited $?"; exit 1; }
  grep -q "devices" "$tmp/$p.out" || { echo "FAIL: $p printed no devices"; exit 1; }
done
"$tmp/p/bin/mnsim" --version >"$tmp/version" || { echo "FAIL: mnsim --version"; exit 1; }
grep -q "mnsim" "$tmp/version" || { echo "FAIL: mnsim --version printed no name"; exit 1; }
# the man page typesets without a warning (groff from groff-base)
groff -man -ww -z "$tmp/p/share/man/man1/mnsim.1" >"$tmp/man.err" 2>&1 || { echo "FAIL: groff"; exit 1; }
[ ! -s "$tmp/man.err" ] || { echo "FAIL: the man page has warnings:"; cat "$tmp/man.err"; exit 1; }
echo "install: ok"
