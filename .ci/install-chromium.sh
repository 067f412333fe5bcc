#!/bin/sh
# Installs Debian's chromium (used headless by the browser tests through playwright-core) when
# /usr/bin/chromium is missing. Idempotent; needs root (or sudo) and network access to the apt mirror.
set -eu
if [ -x /usr/bin/chromium ]; then
  echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo present)"
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else echo "install-chromium: need root or sudo" >&2; exit 1; fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q chromium
if [ ! -x /usr/bin/chromium ]; then
  echo "install-chromium: /usr/bin/chromium is still missing after apt-get install" >&2
  exit 1
fi
echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo installed)"
