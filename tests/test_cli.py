"""The command line: inspect, formats (demo round trip is in test_cli_demo)."""

import json

from typer.testing import CliRunner

from geoenv.cli import app

runner = CliRunner()


def test_inspect_demo_with_plot(tmp_path):
    png = tmp_path / "map.png"
    res = runner.invoke(app, ["inspect", "demo:0", "--plot", str(png)])
    assert res.exit_code == 0, res.output
    assert "objects per category" in res.output and "chair" in res.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


def test_inspect_json():
    res = runner.invoke(app, ["inspect", "demo:1", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["id"] == "demo_1" and data["frames"] == 36


def test_inspect_bad_path_is_a_clear_error(tmp_path):
    bad = tmp_path / "nothing.xyz"
    bad.write_text("hello")
    res = runner.invoke(app, ["inspect", str(bad)])
    assert res.exit_code == 2
    flat = " ".join(res.output.split())  # rich wraps long lines
    assert "nothing.xyz" in flat and "no loader recognises" in flat


def test_formats_lists_loaders():
    res = runner.invoke(app, ["formats"])
    assert res.exit_code == 0
