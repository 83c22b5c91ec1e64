#!/usr/bin/env bash
# One command for a newcomer: set up, then run the main job on the built-in demo scene.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
uv run --no-sync geoenv demo --out "${1:-demo_out}"
