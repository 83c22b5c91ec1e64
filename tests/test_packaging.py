"""The wheel installs only the ``geoenv`` namespace (no bare ``tasks`` or ``scenes``)."""

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("uv") is None, reason="uv is needed to build the wheel")
def test_wheel_contains_only_geoenv_namespace(tmp_path):
    subprocess.run(
        ["uv", "build", "--wheel", "--out-dir", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("geoenv-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"geoenv"}
    for sub in ("scenes", "tasks", "oracles", "pipelines"):
        assert f"geoenv/{sub}/__init__.py" in names
    assert "geoenv/scenes/demo.py" in names
    assert "geoenv/scene.py" in names
