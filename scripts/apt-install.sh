#!/usr/bin/env bash
# Installs Debian packages for the test tooling when a command they provide is missing, so
# running it again changes nothing. Needs root (or sudo) the first time.
# Usage: scripts/apt-install.sh LABEL "COMMAND..." PACKAGE...
set -euo pipefail
label=$1 commands=$2
shift 2

missing=""
for c in $commands; do
  command -v "$c" >/dev/null 2>&1 || missing="$missing $c"
done
if [ -z "$missing" ]; then
  echo "$label: present ($(command -v ${commands%% *}))"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
  else
    echo "$label:$missing missing and installing it needs root: run 'apt-get install -y $*' as root" >&2
    exit 1
  fi
fi

echo "$label:$missing missing; running apt-get update"
$sudo apt-get update -qq
echo "$label: installing the Debian packages $* with apt-get"
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
echo "$label: installed"
