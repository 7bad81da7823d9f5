#!/usr/bin/env bash
# Provisions the ONNX Runtime shared library the server and trainer load at run time.
#
# The `ort` crate is built with `load-dynamic`, so nothing is linked or downloaded at build
# time; the library comes from the official `onnxruntime` wheel on PyPI, fetched with pip and
# verified by sha256. Idempotent: a library already in place with the right hash is kept.
set -euo pipefail

ORT_VERSION=1.31.1
WHEEL=onnxruntime-${ORT_VERSION}-cp311-cp311-manylinux_2_28_x86_64.whl
WHEEL_SHA256=5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f
LIB=libonnxruntime.so.${ORT_VERSION}
LIB_SHA256=fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3

root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/.onnxruntime"
target="$dest/$LIB"
cache="$dest/wheels"

sha_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

if sha_ok "$target" "$LIB_SHA256"; then
  echo "onnxruntime: $target (cached)"
  exit 0
fi

mkdir -p "$cache"
if ! sha_ok "$cache/$WHEEL" "$WHEEL_SHA256"; then
  echo "onnxruntime: downloading the onnxruntime==${ORT_VERSION} wheel with pip"
  python3 -m pip download --quiet --no-deps --only-binary=:all: \
    --python-version 3.11 --platform manylinux_2_28_x86_64 \
    -d "$cache" "onnxruntime==${ORT_VERSION}"
fi
if ! sha_ok "$cache/$WHEEL" "$WHEEL_SHA256"; then
  echo "onnxruntime: $cache/$WHEEL does not have the expected sha256 $WHEEL_SHA256" >&2
  exit 1
fi

# Extract the one member we need, atomically: a half-written library is never left in place.
tmp=$(mktemp "$dest/.lib.XXXXXX")
python3 - "$cache/$WHEEL" "onnxruntime/capi/$LIB" "$tmp" <<'PY'
import shutil, sys, zipfile
wheel, member, out = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
if ! sha_ok "$tmp" "$LIB_SHA256"; then
  rm -f "$tmp"
  echo "onnxruntime: extracted $LIB does not have the expected sha256 $LIB_SHA256" >&2
  exit 1
fi
chmod 644 "$tmp"
mv -f "$tmp" "$target"
echo "onnxruntime: wrote $target"
