"""Byte-deterministic serialisation shared by ids, rows and files."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import numpy as np

#: Fixed timestamp of every zip member (np.savez stamps the current time).
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def _plain(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no spaces; numpy scalars and arrays become plain numbers."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain
    )


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An ``.npz`` (what ``np.load`` reads) with fixed member timestamps: same arrays, same
    bytes. Members are stored uncompressed, in the dict's order."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as z:
        for name, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=ZIP_DATE)
            info.external_attr = 0o644 << 16
            z.writestr(info, buf.getvalue())
    return out.getvalue()
