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
cc -std=c11 -Wall -Werror tests/install/use.c -o "$tmp/use_c" $(pkg-config --cflags --libs mnsim) \
  -Wl,-rpath,"$tmp/p/lib"
c++ -x c++ -Wall -Werror $(pkg-config --cflags mnsim) tests/install/use.c -x none -o "$tmp/use_cxx" \
  $(pkg-config --libs mnsim) -Wl,-rpath,"$tmp/p/lib"
"$tmp/use_c" | grep -q "devices" && "$tmp/use_cxx" | grep -q "devices"
"$tmp/p/bin/mnsim" --version | grep -q "mnsim"
man -l "$tmp/p/share/man/man1/mnsim.1" >/dev/null 2>&1 || true
echo "install: ok"
