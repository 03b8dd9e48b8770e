#!/usr/bin/env bash
# Install Debian's Chromium for the report's browser tests (tests/test_report.py), if it is missing.
# Idempotent: does nothing when /usr/bin/chromium exists. Needs root (or sudo) and apt-get.
# Playwright drives this Chromium through executable_path, so `playwright install` is never needed.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
    echo "chromium already installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: $CHROMIUM is missing and apt-get is not available; install Chromium another way" \
         "and set SPARKIFY_CHROMIUM=/path/to/chromium" >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "error: installing chromium needs root; run this script as root or install sudo" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium
echo "installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
