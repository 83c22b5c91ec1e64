#!/usr/bin/env bash
# Set up geoenv on a fresh Debian/Ubuntu machine: system library for open3d, uv, and the
# locked environment in .venv (Python >= 3.11 from the machine). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! ldconfig -p 2>/dev/null | grep -q libusb-1.0.so.0; then
  echo "setup: installing libusb-1.0-0 (open3d needs it)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libusb-1.0-0 >/dev/null
fi

if ! command -v uv >/dev/null 2>&1; then
  echo "setup: installing uv"
  python3 -m pip install --quiet uv
fi

export UV_PYTHON_DOWNLOADS=never
uv sync --locked --quiet
echo "setup: environment ready in .venv ($(uv run --no-sync python --version))"
