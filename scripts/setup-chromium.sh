#!/usr/bin/env bash
# Provisions headless Chromium for the browser test of the /docs page (tests/python): Debian's
# `chromium` package, and a font for readable screenshots.
set -euo pipefail
"$(dirname "$0")/apt-install.sh" chromium "chromium" chromium fonts-dejavu-core
