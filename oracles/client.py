"""Python client of the validation service (httpx): the same calls as the HTTP API.

    from geoenv.oracles import Client

    with Client("http://127.0.0.1:8765") as c:
        r = c.validate({"scene_id": "demo_0", "template": "object_distance",
                        "params": {"a": "sofa", "b": "tv"}})
        r["valid"], r["answer"], r["difficulty"]["level"]

A proposal that is not valid is a result (``valid`` False, ``reasons``), not an exception;
request-level failures (bad JSON, limits, time budget, API key, unknown route) raise
:class:`ServiceError` with the status, kind and message the service gave.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx


class ServiceError(Exception):
    """A request the service refused: HTTP ``status``, ``kind`` and ``message``."""

    def __init__(self, status: int, kind: str, message: str, body: Any = None) -> None:
        self.status, self.kind, self.message, self.body = status, kind, message, body
        super().__init__(f"{status} {kind}: {message}")


def _raise_for(r: httpx.Response) -> Any:
    try:
        body = r.json()
    except ValueError:
        body = None
    if r.status_code < 400:
        return body
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        raise ServiceError(r.status_code, str(err.get("kind")), str(err.get("message")), body)
    raise ServiceError(r.status_code, "http_error", r.text[:500], body)


class Client:
    """Client of a running service at ``base_url``; ``api_key`` is sent as ``X-API-Key``."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"X-API-Key": api_key} if api_key else {}
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ calls
    def health(self) -> dict[str, Any]:
        """``GET /healthz``."""
        return _raise_for(self._http.get("/healthz"))

    def scenes(self) -> list[dict[str, Any]]:
        """``GET /v1/scenes``: the scenes served."""
        return _raise_for(self._http.get("/v1/scenes"))["scenes"]

    def templates(self) -> list[dict[str, Any]]:
        """``GET /v1/templates``: templates with parameters, thresholds and rules."""
        return _raise_for(self._http.get("/v1/templates"))["templates"]

    def ops(self) -> dict[str, Any]:
        """``GET /v1/ops``: the program language."""
        return _raise_for(self._http.get("/v1/ops"))

    def validate(self, proposal: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /v1/validate`` with one proposal: its result, valid or not."""
        r = self._http.post("/v1/validate", json=dict(proposal))
        if r.status_code == 422:
            body = r.json()
            if isinstance(body, dict) and "valid" in body:
                return body
        return _raise_for(r)

    def validate_batch(self, proposals: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """``POST /v1/validate`` with a batch: one result per proposal, in order."""
        body = {"proposals": [dict(p) for p in proposals]}
        return _raise_for(self._http.post("/v1/validate", json=body))["results"]

    def score(
        self,
        questions: Sequence[Mapping[str, Any]],
        responses: Sequence[Any],
        config: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """``POST /v1/score``: ``{"scores": [...], "n", "mean_reward", "n_correct"}``."""
        body: dict[str, Any] = {"questions": [dict(q) for q in questions]}
        body["responses"] = list(responses)
        if config is not None:
            body["config"] = dict(config)
        return _raise_for(self._http.post("/v1/score", json=body))
