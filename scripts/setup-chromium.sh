#!/usr/bin/env bash
# Provisions headless Chromium for the browser test of the /docs page (tests/python).
#
# Debian's `chromium` package (and a font, for readable screenshots), installed with apt only
# when /usr/bin/chromium is missing, so running it again changes nothing. Needs root (or sudo)
# the first time.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  echo "chromium: $CHROMIUM is present ($("$CHROMIUM" --version 2>/dev/null || echo 'version unknown'))"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
  else
    echo "chromium: $CHROMIUM is missing and installing it needs root: run 'apt-get install -y chromium' as root" >&2
    exit 1
  fi
fi

echo "chromium: $CHROMIUM is missing; running apt-get update"
$sudo apt-get update -qq
echo "chromium: installing the Debian packages chromium and fonts-dejavu-core with apt-get"
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  chromium fonts-dejavu-core
echo "chromium: installed $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
