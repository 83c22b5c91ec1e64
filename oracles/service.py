"""The question-validation service (FastAPI): validate proposals, score responses, over HTTP.

``create_app(scenes)`` builds the app; ``serve(scenes, port=...)`` runs it with uvicorn
(``geoenv serve --scenes DIR --port P``). Endpoints (docs/service.md, OpenAPI at ``/docs``):

- ``POST /v1/validate``: one proposal (200 when valid, 422 with the same result when not) or
  ``{"proposals": [...]}`` (200, one result per proposal);
- ``POST /v1/score``: ``{"questions": [...], "responses": [...], "config": {...}}`` scored by
  :func:`geoenv.oracles.score_batch`;
- ``GET /v1/scenes``, ``GET /v1/templates``, ``GET /v1/ops``, ``GET /healthz``.

Safety: request bodies are read up to ``max_body_bytes`` and parsed by pydantic-core (nesting
depth capped by the parser); batches, programs and answers have size limits; the work of a
request runs under a time budget checked between proposals and program nodes (scene loading
excluded), inline on the event loop when its scenes are cached and on a worker thread when
one must be loaded; every failure is a JSON ``{"error": {...}}`` or a result with reasons,
never a crashed worker. With an API key (``GEOENV_API_KEY``) every ``/v1``
request needs it in ``X-API-Key`` (or ``Authorization: Bearer``); without one,
:func:`serve` binds to 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic_core import from_json
from starlette.exceptions import HTTPException as StarletteHTTPException

from geoenv.oracles.live import ALIASES
from geoenv.oracles.program import (
    NODE_MODELS,
    OPS,
    BudgetExceeded,
    ProgramLimits,
    ProgramThresholds,
)
from geoenv.oracles.proposals import (
    Budget,
    ProgramProposal,
    SpatialEvoProposal,
    TemplateProposal,
    TextProposal,
    ValidationResult,
    Validator,
    dumps,
    schema_reasons,
)
from geoenv.oracles.scene_cache import DEFAULT_MAX_BYTES, SceneCache, scene_id_of
from geoenv.oracles.score import RewardConfig, prepare, score_batch

log = logging.getLogger("geoenv.oracles.service")

#: Environment variable holding the API key.
API_KEY_ENV = "GEOENV_API_KEY"
_FROM_ENV: Any = object()


@dataclass(frozen=True)
class ServiceLimits:
    """Per-request limits; each over-limit request gets a 4xx with a sentence saying which."""

    #: Largest request body (bytes): 413.
    max_body_bytes: int = 1 << 20
    #: Most proposals in one ``/v1/validate`` batch: 413.
    max_batch: int = 256
    #: Most question/response pairs in one ``/v1/score`` request: 413.
    max_score_batch: int = 4096
    #: Most nodes and depth of a program (a proposal over them is invalid: 422).
    max_program_nodes: int = 64
    max_program_depth: int = 16
    #: Seconds of work per request (scene loading excluded), checked between proposals and
    #: program nodes: 408.
    time_budget_s: float = 5.0


class ServiceError(Exception):
    """An error answered as ``{"error": {"status", "kind", "message"}}``."""

    def __init__(self, status: int, kind: str, message: str, **extra: Any) -> None:
        self.status, self.kind, self.message, self.extra = status, kind, message, extra
        super().__init__(message)


def _error(status: int, kind: str, message: str, **extra: Any) -> JSONResponse:
    body = {"error": {"status": status, "kind": kind, "message": message, **extra}}
    return JSONResponse(body, status_code=status)


# ---------------------------------------------------------------------------- request models
_PROPOSAL = TemplateProposal | ProgramProposal | TextProposal | SpatialEvoProposal


class BatchRequest(BaseModel):
    """A batch of proposals."""

    model_config = ConfigDict(extra="forbid")

    proposals: Annotated[list[_PROPOSAL], Field(min_length=1)]


class BatchResponse(BaseModel):
    results: list[ValidationResult]
    n: int
    n_valid: int
    elapsed_ms: float


class ScoreRequest(BaseModel):
    """Question rows (``question`` of a validation result, or dataset rows) and responses."""

    model_config = ConfigDict(extra="forbid")

    questions: list[dict[str, Any]]
    responses: list[Any]
    config: RewardConfig | None = None


class ScoreItem(BaseModel):
    reward: float
    correct: bool
    parsed: Any = None
    format_ok: bool
    detail: str
    metric: str
    value: float
    exact: bool | None = None
    source: str


class ScoreResponse(BaseModel):
    scores: list[ScoreItem]
    n: int
    mean_reward: float
    n_correct: int


class ErrorBody(BaseModel):
    status: int
    kind: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


_VALIDATE_BODY = _PROPOSAL | BatchRequest
_ERRORS: dict[int | str, dict[str, Any]] = {
    c: {"model": ErrorResponse}
    for c in (400, 401, 408, 413)  # 422 carries a ValidationResult or an error
}


def _body_schema(tp: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    s = TypeAdapter(tp).json_schema(ref_template="#/components/schemas/{model}")
    return s, s.pop("$defs", {})


# ---------------------------------------------------------------------------- helpers
def parse_json(body: bytes) -> Any:
    """Strict JSON (no NaN/Infinity; nesting capped by the parser); 400 otherwise."""
    if not body.strip():
        raise ServiceError(400, "bad_json", "empty request body; send a JSON object")
    try:
        return from_json(body, allow_inf_nan=False)
    except ValueError as e:
        raise ServiceError(400, "bad_json", f"request body is not valid JSON: {e}") from None


def _template_list(overrides: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    from geoenv.tasks.registry import get, templates

    out = []
    for name, t in templates().items():
        tpl = get(name, **overrides.get(name, {}))
        params = dict(tpl.param_doc)
        for alias, target in ALIASES.get(name, {}).items():
            params[alias] = f"alias of {target!r}"
        out.append(
            {
                "name": name,
                "family": t.family,
                "answer_type": t.answer_type,
                "metric": t.metric,
                "unit": t.unit,
                "decimals": t.decimals,
                "inputs": list(t.inputs),
                "params": params,
                "thresholds": tpl.thresholds(),
                "rule": t.rule,
            }
        )
    return out


def _ops_doc(limits: ServiceLimits, th: ProgramThresholds) -> dict[str, Any]:
    ops = []
    for name, spec in OPS.items():
        props = NODE_MODELS[name].model_json_schema()["properties"]
        ops.append(
            {
                "op": name,
                "inputs": [sorted(t) for t in spec.inputs],
                "optional_inputs": spec.optional,
                "output": spec.output,
                "args": {k: v for k, v in props.items() if k not in ("op", "inputs")},
                "rule": spec.doc,
            }
        )
    return {
        "ops": ops,
        "limits": {"max_nodes": limits.max_program_nodes, "max_depth": limits.max_program_depth},
        "thresholds": asdict(th),
    }


def _error_bytes(status: int, kind: str, message: str, **extra: Any) -> bytes:
    return dumps({"error": {"status": status, "kind": kind, "message": message, **extra}})


class _Disconnected(Exception):
    """The client went away while sending its body."""


# ---------------------------------------------------------------------------- the service
class Service:
    """What the endpoints do, independent of the web framework: API-key check, body limits,
    parsing, and where the work runs.

    Work on scenes already in the cache runs inline on the event loop (sub-millisecond for
    cached geometry; bounded by the time budget); work that must first load a scene runs on
    the worker threads, so a slow load never stalls the server.
    """

    def __init__(
        self,
        validator: Validator,
        limits: ServiceLimits,
        api_key: str | None,
        threads: int = 1,
        inline: bool = True,
    ) -> None:
        self.validator = validator
        self.inline = inline
        self.cache = validator.cache
        self.limits = limits
        self.key = api_key.encode() if api_key else None
        self.pool = ThreadPoolExecutor(max(1, threads), thread_name_prefix="geoenv-validate")
        self.started = time.time()

    # ------------------------------------------------------------------ checks
    def check_key(self, x_api_key: str | None, authorization: str | None) -> None:
        """401 unless the key matches (no key configured: always passes)."""
        if self.key is None:
            return
        got = x_api_key
        if got is None and authorization and authorization[:7].lower() == "bearer ":
            got = authorization[7:]
        if got is None or not hmac.compare_digest(got.encode(), self.key):
            raise ServiceError(
                401, "unauthorized", "missing or wrong API key (send it in X-API-Key)"
            )

    def check_length(self, content_length: str | None) -> None:
        if content_length is None:
            return
        try:
            n = int(content_length)
        except ValueError:
            raise ServiceError(400, "bad_request", "Content-Length is not an integer") from None
        if n > self.limits.max_body_bytes:
            raise ServiceError(
                413,
                "body_too_large",
                f"request body of {n} bytes > max_body_bytes {self.limits.max_body_bytes}",
            )

    def too_large(self) -> ServiceError:
        return ServiceError(
            413,
            "body_too_large",
            f"request body over max_body_bytes {self.limits.max_body_bytes} bytes",
        )

    async def run(self, fn: Callable[[], Any], scene_ids: Sequence[Any]) -> Any:
        """``fn()`` inline when every scene it names is cached (or unknown) and ``inline`` is
        on, else on a worker thread."""
        if self.inline and all(
            not isinstance(s, str) or self.cache.is_cached(s) for s in scene_ids
        ):
            return fn()
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn)

    # ------------------------------------------------------------------ endpoints
    async def validate(self, body: bytes) -> tuple[int, bytes]:
        """``POST /v1/validate``: (status, JSON bytes)."""
        lim = self.limits
        data = parse_json(body)
        batch = isinstance(data, dict) and "proposals" in data
        if batch:
            extra = sorted(set(data) - {"proposals"})
            if extra:
                raise ServiceError(422, "malformed", f"unknown batch fields {extra[:5]}")
            items = data["proposals"]
            if not isinstance(items, list) or not items:
                raise ServiceError(422, "malformed", "proposals must be a non-empty list")
            if len(items) > lim.max_batch:
                raise ServiceError(
                    413,
                    "batch_too_large",
                    f"batch of {len(items)} proposals > max_batch {lim.max_batch}",
                )
        else:
            items = [data]
        validate = self.validator.validate

        def work() -> tuple[int, bytes]:
            budget = Budget(lim.time_budget_s)
            t0 = time.perf_counter()
            results = []
            for i, item in enumerate(items):
                try:
                    budget.check()
                    results.append(validate(item, budget, i if batch else None))
                except BudgetExceeded as e:
                    where = f"proposal {i}" + (f", node {e.node}" if e.node else "")
                    raise ServiceError(
                        408,
                        "time_budget",
                        f"time budget of {lim.time_budget_s:g} s exceeded at {where} after "
                        f"{i} of {len(items)} proposals; send fewer or smaller proposals",
                        completed=i,
                    ) from None
            if not batch:
                r = results[0]
                return (200 if r["valid"] else 422), dumps(r)
            out = {
                "results": results,
                "n": len(results),
                "n_valid": sum(r["valid"] for r in results),
                "elapsed_ms": round((time.perf_counter() - t0) * 1e3, 3),
            }
            return 200, dumps(out)

        ids = [it.get("scene_id") if isinstance(it, dict) else None for it in items]
        return await self.run(work, ids)

    async def score(self, body: bytes) -> tuple[int, bytes]:
        """``POST /v1/score``: (status, JSON bytes)."""
        lim = self.limits
        data = parse_json(body)
        if isinstance(data, dict):
            for k in ("questions", "responses"):
                v = data.get(k)
                if isinstance(v, list) and len(v) > lim.max_score_batch:
                    raise ServiceError(
                        413,
                        "batch_too_large",
                        f"{k}: {len(v)} items > max_score_batch {lim.max_score_batch}",
                    )
        try:
            req = ScoreRequest.model_validate(data)
        except ValidationError as e:
            msgs = "; ".join(r.message for r in schema_reasons(e, 5))
            raise ServiceError(422, "malformed", msgs) from None
        if len(req.questions) != len(req.responses):
            raise ServiceError(
                422,
                "malformed",
                f"{len(req.questions)} questions but {len(req.responses)} responses",
            )
        for i, q in enumerate(req.questions):
            try:
                prepare([q])
            except Exception as e:
                raise ServiceError(422, "bad_question", f"questions[{i}]: {e}"[:500]) from None
        sb = score_batch(req.questions, req.responses, req.config)
        scores = [s.model_dump() for s in sb.scores()]
        n = len(scores)
        out = {
            "scores": scores,
            "n": n,
            "mean_reward": float(sb.reward.mean()) if n else 0.0,
            "n_correct": int(sb.correct.sum()),
        }
        return 200, dumps(out)

    def health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "uptime_s": round(time.time() - self.started, 3),
            "auth": self.key is not None,
            **self.cache.stats(),
        }

    def scenes(self) -> dict[str, Any]:
        loaded = self.cache.loaded()
        out = []
        for src in self.cache.sources:
            item: dict[str, Any] = {
                "scene_id": scene_id_of(src),
                "source": src if src.startswith("demo") else Path(src).name,
                "loaded": src in loaded,
            }
            e = loaded.get(src)
            if e is not None:
                sc = e.scene
                item.update(
                    id=sc.id,
                    objects=len(sc.objects),
                    frames=len(sc.frames),
                    categories={k: len(v) for k, v in sc.labels.items()},
                    geo_layers={k: len(v) for k, v in sc.geo_layers.items()},
                    est_bytes=e.nbytes,
                )
            out.append(item)
        return {"scenes": out}

    # ------------------------------------------------------------------ ASGI fast path
    async def asgi(self, scope: dict, receive: Callable, send: Callable, handler: Callable) -> None:
        """Serve one POST endpoint straight on ASGI (no routing, middleware or Request
        object: the hot path); the same errors as the FastAPI routes."""
        try:
            hdr: dict[bytes, bytes] = {}
            for k, v in scope["headers"]:
                hdr[k.lower()] = v
            key, auth = hdr.get(b"x-api-key"), hdr.get(b"authorization")
            self.check_key(
                None if key is None else key.decode("latin-1"),
                None if auth is None else auth.decode("latin-1"),
            )
            cl = hdr.get(b"content-length")
            self.check_length(None if cl is None else cl.decode("latin-1"))
            chunks, size, more = [], 0, True
            while more:
                msg = await receive()
                if msg["type"] == "http.disconnect":
                    raise _Disconnected
                chunk = msg.get("body", b"")
                size += len(chunk)
                if size > self.limits.max_body_bytes:
                    raise self.too_large()
                chunks.append(chunk)
                more = msg.get("more_body", False)
            status, content = await handler(b"".join(chunks))
        except _Disconnected:
            return
        except ServiceError as e:
            status, content = e.status, _error_bytes(e.status, e.kind, e.message, **e.extra)
        except Exception as e:
            log.exception("internal error")
            status = 500
            content = _error_bytes(500, "internal_error", f"{type(e).__name__}: {e}"[:500])
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(content)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": content})


class ServiceApp(FastAPI):
    """The FastAPI app, with ``POST /v1/validate`` and ``POST /v1/score`` answered on a lean
    ASGI path (same behaviour as their routes, which stay for OpenAPI and mounted use)."""

    service: Service

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("root_path"):
            path = scope["path"]
            if path == "/v1/validate":
                return await self.service.asgi(scope, receive, send, self.service.validate)
            if path == "/v1/score":
                return await self.service.asgi(scope, receive, send, self.service.score)
        await super().__call__(scope, receive, send)


# ---------------------------------------------------------------------------- app
def create_app(
    scenes: str | Path | Sequence[str],
    *,
    api_key: str | None = _FROM_ENV,
    limits: ServiceLimits | None = None,
    cache_bytes: int = DEFAULT_MAX_BYTES,
    threads: int = 1,
    inline: bool = True,
    program_thresholds: ProgramThresholds | None = None,
    template_thresholds: dict[str, dict[str, Any]] | None = None,
    loader: Callable[[str], Any] | None = None,
) -> ServiceApp:
    """The service app over ``scenes``: a scenes directory, a manifest file, ``demo:A-B``, or a
    list of those (:func:`geoenv.pipelines.manifest.read_manifest`). ``api_key`` defaults to
    ``$GEOENV_API_KEY`` (None or empty: no key). ``threads`` worker threads load scenes (and
    do the work of requests that need a load); ``inline = False`` sends all work to them (the
    event loop then never computes, at ~0.2 ms more per request and a longer latency tail)."""
    from geoenv.pipelines.manifest import read_manifest

    lim = limits or ServiceLimits()
    if api_key is _FROM_ENV:
        api_key = os.environ.get(API_KEY_ENV) or None
    spec = [str(s) for s in scenes] if isinstance(scenes, list | tuple) else str(scenes)
    sources = read_manifest(spec)
    cache = SceneCache(sources, cache_bytes, loader=loader, thresholds=template_thresholds)
    th = program_thresholds or ProgramThresholds()
    validator = Validator(
        cache,
        ProgramLimits(lim.max_program_nodes, lim.max_program_depth),
        th,
        template_thresholds,
    )
    svc = Service(validator, lim, api_key, threads, inline)
    tpl_list = dumps({"templates": _template_list(template_thresholds or {})})
    ops_doc = dumps(_ops_doc(lim, th))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        svc.pool.shutdown(wait=False, cancel_futures=True)

    app = ServiceApp(
        title="geoenv validation service",
        version="1",
        description="Validate model-proposed spatial questions against exact scene geometry, "
        "and score answers. See docs/service.md.",
        lifespan=lifespan,
    )
    app.service = svc

    def auth(request: Request) -> None:
        h = request.headers
        svc.check_key(h.get("x-api-key"), h.get("authorization"))

    async def body_of(request: Request) -> bytes:
        svc.check_length(request.headers.get("content-length"))
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > lim.max_body_bytes:
                raise svc.too_large()
            chunks.append(chunk)
        return b"".join(chunks)

    # -------------------------------------------------------------- errors
    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        return _error(exc.status, exc.kind, exc.message, **exc.extra)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error(exc.status_code, kind, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _request_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, "malformed", str(exc.errors()[:5]))

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error")
        return _error(500, "internal_error", f"{type(exc).__name__}: {exc}"[:500])

    # -------------------------------------------------------------- endpoints
    @app.get("/healthz", summary="Liveness and cache statistics (no API key needed)")
    async def healthz() -> dict[str, Any]:
        return svc.health()

    @app.get("/v1/scenes", summary="Scenes served (loaded lazily)")
    async def list_scenes(request: Request) -> dict[str, Any]:
        auth(request)
        return svc.scenes()

    @app.get("/v1/templates", summary="Template catalogue: parameters, thresholds, rules")
    async def list_templates(request: Request) -> Response:
        auth(request)
        return Response(tpl_list, media_type="application/json")

    @app.get("/v1/ops", summary="Program language: operations, types, limits, thresholds")
    async def list_ops(request: Request) -> Response:
        auth(request)
        return Response(ops_doc, media_type="application/json")

    schema, defs = _body_schema(_VALIDATE_BODY)

    @app.post(
        "/v1/validate",
        summary="Validate one proposal or a batch",
        response_model=None,
        responses={
            200: {"model": ValidationResult | BatchResponse, "description": "results"},
            422: {"model": ValidationResult | ErrorResponse, "description": "not valid"},
            **_ERRORS,
        },
        openapi_extra={
            "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}
        },
    )
    async def validate(request: Request) -> Response:
        auth(request)
        status, content = await svc.validate(await body_of(request))
        return Response(content, status_code=status, media_type="application/json")

    score_schema, score_defs = _body_schema(ScoreRequest)

    @app.post(
        "/v1/score",
        summary="Score responses against question rows (the oracle's reward)",
        response_model=None,
        responses={200: {"model": ScoreResponse}, 422: {"model": ErrorResponse}, **_ERRORS},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": score_schema}},
            }
        },
    )
    async def score(request: Request) -> Response:
        auth(request)
        status, content = await svc.score(await body_of(request))
        return Response(content, status_code=status, media_type="application/json")

    def custom_openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        s = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        s.setdefault("components", {}).setdefault("schemas", {})
        for name, d in {**defs, **score_defs}.items():
            s["components"]["schemas"].setdefault(name, d)
        if svc.key is not None:
            s["components"]["securitySchemes"] = {
                "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}
            }
            s["security"] = [{"ApiKey": []}]
        app.openapi_schema = s
        return s

    app.openapi = custom_openapi  # type: ignore[method-assign]
    return app


# ---------------------------------------------------------------------------- running
def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address or ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind_host(host: str | None, api_key: str | None) -> str:
    """The address to bind: loopback unless an API key is set (then ``host``, default
    0.0.0.0). A non-loopback ``host`` without a key is refused."""
    if api_key:
        return host or "0.0.0.0"
    if host is not None and not is_loopback(host):
        raise ValueError(
            f"refusing to bind {host!r} without an API key: set {API_KEY_ENV} to serve beyond "
            "127.0.0.1"
        )
    return host or "127.0.0.1"


def serve(
    scenes: str | Path | Sequence[str],
    *,
    host: str | None = None,
    port: int = 8000,
    api_key: str | None = _FROM_ENV,
    log_level: str = "warning",
    **kwargs: Any,
) -> None:
    """Run the service with uvicorn (one process; ``kwargs`` go to :func:`create_app`)."""
    import uvicorn

    if api_key is _FROM_ENV:
        api_key = os.environ.get(API_KEY_ENV) or None
    bind = bind_host(host, api_key)
    app = create_app(scenes, api_key=api_key, **kwargs)
    uvicorn.run(app, host=bind, port=port, log_level=log_level, access_log=False)
