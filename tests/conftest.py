"""Test-session settings."""

import os
import sys
from pathlib import Path

# Ray reads this when it is first imported: under `uv run`, Ray would otherwise ship the working
# directory to its workers and re-launch them through uv; the tests' workers use this venv.
os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("RAY_DEDUP_LOGS", "0")
# Shared test helpers (task_scenes, test_pipeline) import by module name.
sys.path.insert(0, str(Path(__file__).parent))
