#!/usr/bin/env bash
# Provisions Prometheus and promtool for the monitoring tests (tests/python/test_monitoring.py):
# they check monitoring/ with promtool and run a real Prometheus against a test server.
set -euo pipefail
"$(dirname "$0")/apt-install.sh" prometheus "prometheus promtool" prometheus
# The tests start their own Prometheus; the packaged service would only hold port 9090.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
  systemctl stop prometheus || true
fi
