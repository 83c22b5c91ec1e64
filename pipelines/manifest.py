"""Scene manifests: the list of scene sources a job runs over.

A manifest is a directory (every entry a loader recognises, sorted by name), a text file (one
source per line, ``#`` comments), a JSON Lines file (``{"source": ...}`` per line) or a JSON
list; a source is a path (relative paths resolve against the manifest's folder),
``demo:SEED`` / ``demo:A-B`` (a range of demo scenes) or ``scenezoo:<dataset>:<root>[@<split>]``
(every scene of a real dataset or split, one source each; see
:mod:`geoenv.scenes.scenezoo_adapter`). Entries are deduplicated and sorted, so the job never
depends on listing order.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from geoenv.errors import SceneFormatError
from geoenv.scene import natural_key
from geoenv.scenes.registry import detect_format

_DEMO_RANGE = re.compile(r"demo:(\d+)-(\d+)")
_MAX_DEMO_RANGE = 100_000


class ManifestEntry(BaseModel):
    """One scene source (a path or ``demo:SEED``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str


def _expand(src: str, base: Path) -> list[str]:
    m = _DEMO_RANGE.fullmatch(src)
    if m:
        a, b = int(m.group(1)), int(m.group(2))
        if b < a or b - a >= _MAX_DEMO_RANGE:
            raise SceneFormatError(None, "source", f"bad demo range {src!r}")
        return [f"demo:{i}" for i in range(a, b + 1)]
    if src == "demo" or src.startswith("demo:"):
        return [src]
    if src.startswith("scenezoo:"):
        from geoenv.scenes.scenezoo_adapter import list_scenes

        return list_scenes(src, base)
    p = Path(src)
    return [str(p if p.is_absolute() else (base / p))]


def _from_directory(d: Path) -> list[str]:
    out = []
    for child in sorted(d.iterdir(), key=lambda p: natural_key(p.name)):
        if child.name.startswith((".", "_")):
            continue
        try:
            detect_format(child)
        except SceneFormatError:
            continue  # sidecar files (labels JSON, frames JSON) are not scenes themselves
        out.append(str(child))
    return out


def read_manifest(spec: str | Path | list[str]) -> list[str]:
    """Scene sources from a directory, manifest file, ``demo:...`` string or list of those."""
    if isinstance(spec, list):
        out: list[str] = []
        for s in spec:
            out.extend(read_manifest(s))
        return sorted(dict.fromkeys(out), key=natural_key)
    s = str(spec)
    if s == "demo" or s.startswith(("demo:", "scenezoo:")):
        return _expand(s, Path.cwd())
    p = Path(s)
    if not p.exists():
        raise SceneFormatError(p, None, "no such manifest, directory or scene")
    if p.is_dir():
        try:
            detect_format(p)  # a directory that is itself one scene (a ScanNet scan)
            return [str(p)]
        except SceneFormatError:
            return _from_directory(p)
    suffix = p.suffix.lower()
    if suffix in (".txt", ".lst", ".jsonl", ".json") and not _is_scene_file(p):
        return sorted(dict.fromkeys(_read_manifest_file(p)), key=natural_key)
    return [str(p)]


def _is_scene_file(p: Path) -> bool:
    try:
        detect_format(p)
        return True
    except SceneFormatError:
        return False


def _read_manifest_file(p: Path) -> list[str]:
    base = p.parent
    text = p.read_text()
    out: list[str] = []
    if p.suffix.lower() == ".json":
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SceneFormatError(p, None, f"invalid JSON: {exc}") from None
        if not isinstance(items, list):
            raise SceneFormatError(p, None, "a JSON manifest is a list of sources")
        for i, it in enumerate(items):
            src = it if isinstance(it, str) else _entry(it, p, f"[{i}]").source
            out.extend(_expand(src, base))
        return out
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if p.suffix.lower() == ".jsonl":
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SceneFormatError(p, f"line {n}", f"invalid JSON: {exc}") from None
            line = _entry(obj, p, f"line {n}").source
        out.extend(_expand(line, base))
    return out


def _entry(obj: object, p: Path, where: str) -> ManifestEntry:
    try:
        return ManifestEntry.model_validate(obj)
    except ValidationError as exc:
        raise SceneFormatError(p, where, f"bad manifest entry: {exc.errors()[0]['msg']}") from None
