#!/usr/bin/env bash
# Provisions Prometheus and promtool for the monitoring tests (tests/python/test_monitoring.py):
# they check monitoring/ with promtool and run a real Prometheus against a test server.
#
# Debian's `prometheus` package, installed with apt only when a binary is missing, so running
# it again changes nothing. The package's own service is not needed: the tests start their own
# Prometheus on 127.0.0.1 with a temporary configuration. Needs root (or sudo) the first time.
set -euo pipefail

if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
  echo "prometheus: $(command -v prometheus) is present ($(prometheus --version 2>&1 | head -n1))"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
  else
    echo "prometheus: prometheus or promtool is missing and installing them needs root: run 'apt-get install -y prometheus' as root" >&2
    exit 1
  fi
fi

echo "prometheus: prometheus or promtool is missing; running apt-get update"
$sudo apt-get update -qq
echo "prometheus: installing the Debian package prometheus with apt-get"
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
  # The tests start their own; the packaged service would only hold port 9090.
  $sudo systemctl stop prometheus || true
fi
echo "prometheus: installed $(prometheus --version 2>&1 | head -n1)"
