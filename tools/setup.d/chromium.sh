#!/usr/bin/env bash
# Installs Debian's chromium and chromium-driver for the checkout page's browser tests (Selenium drives the real browser
# headless on 127.0.0.1; Playwright's own browser download does not work here). Idempotent: skips when both are on PATH.
set -euo pipefail

if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  echo "chromium $(chromium --version 2>/dev/null | awk '{print $2}') and chromedriver already installed"
  exit 0
fi
echo "apt: chromium chromium-driver"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
command -v chromium >/dev/null && command -v chromedriver >/dev/null || { echo "chromium or chromedriver is still missing" >&2; exit 1; }
echo "installed $(chromium --version 2>/dev/null)"
