#!/usr/bin/env bash
# Builds ffrtmp-shim with the system C compiler into .build/<triple>/libexec/ffrtmp/,
# where the debug and release `ffrtmp` look first (../libexec/ffrtmp/ beside their binary). SwiftPM can build
# the same sources, but it links every executable through swiftc, which drags the
# Swift runtime and libstdc++ into a pure C program (8.8 MB release); this build
# links only libc, which is what hundreds of per-job supervisors should cost.
set -euo pipefail
cd "$(dirname "$0")/.."
cc=${CC:-$(command -v cc || command -v gcc || command -v clang)}
out=$(dirname "$(swift build --show-bin-path)")/libexec/ffrtmp
mkdir -p "$out"
flags=(-std=gnu11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE)
# Static where libc.a is installed: 0.2 ms less per job start (no dynamic loader), and the
# shim uses nothing (NSS, dlopen) that static glibc cannot do.
if ! "$cc" "${flags[@]}" -static -o "$out/ffrtmp-shim.tmp" Sources/ffrtmp-shim/*.c 2>/dev/null; then
  "$cc" "${flags[@]}" -o "$out/ffrtmp-shim.tmp" Sources/ffrtmp-shim/*.c
fi
mv "$out/ffrtmp-shim.tmp" "$out/ffrtmp-shim"
