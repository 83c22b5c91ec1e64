"""Typed errors. Every loader error names the file and the field that was wrong."""

from __future__ import annotations

from pathlib import Path


class GeoenvError(Exception):
    """Base class of every error geoenv raises on purpose."""


class SceneFormatError(GeoenvError, ValueError):
    """A scene file is malformed: names the file, the field and what was wrong.

    ``path`` is the offending file (or directory), ``field`` a dotted path into it
    (``"vertex.x"``, ``"segGroups[3].segments"``, ``"pose/12.txt"``), ``reason`` a sentence.
    """

    def __init__(self, path: str | Path | None, field: str | None, reason: str) -> None:
        self.path = None if path is None else str(path)
        self.field = field
        self.reason = reason
        where = self.path or "<memory>"
        if field:
            where = f"{where} [{field}]"
        super().__init__(f"{where}: {reason}")


class NonFiniteError(SceneFormatError):
    """Coordinates, poses or intrinsics contain NaN or infinity."""


class EmptyInstanceError(SceneFormatError):
    """An instance has no points (or no vertices / faces)."""


class NonRigidPoseError(SceneFormatError):
    """A camera pose is not a rigid transform (rotation not orthonormal or det != +1)."""


class UnknownLabelError(SceneFormatError):
    """A label id is not present in the label map."""


class CRSError(SceneFormatError):
    """A coordinate reference system is missing, unknown to pyproj, or unusable."""


class InvalidGeometryError(SceneFormatError):
    """A vector geometry is invalid (self-intersecting polygon, too few points, ...)."""


class UnsupportedFormatError(SceneFormatError):
    """No loader recognises the path."""


class UnknownObjectError(GeoenvError, KeyError):
    """An object id is not in the scene."""

    def __init__(self, scene_id: str, object_id: str) -> None:
        self.scene_id = scene_id
        self.object_id = object_id
        super().__init__(f"scene {scene_id!r} has no object {object_id!r}")

    def __str__(self) -> str:  # KeyError quotes its message otherwise
        return str(self.args[0])
