"""The Open311 GeoReport v2 server: FastAPI routes over :class:`~geo.open311.endpoints.GeoReport`.

The only module of the project that imports FastAPI. Every route ends in ``.json`` or
``.xml`` and answers in that format, errors included (the spec's ``errors`` list with
the HTTP status). The client address is counted against its rate on every route, the
API key on POSTs; a POST body is read up to ``GEO_SERVE_MAX_BODY_BYTES`` and refused
beyond. CORS headers are sent only for the origins of ``GEO_SERVE_ALLOWED_ORIGINS``.

Run it with ``python -m geo serve``; it reads and writes the store of
``GEO_DATABASE_URL``, the same one the Streamlit app uses.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from geo import settings
from geo.errors import GeoError, Open311Error
from geo.open311 import documents
from geo.open311.endpoints import GeoReport
from geo.open311.limits import RateLimits
from geo.open311.render import render
from geo.store import Store, open_store

FORMATS = ("json", "xml")


def _format_of(path: str) -> str:
    """The format a path asks for (JSON unless it ends in ``.xml``)."""
    return "xml" if path.endswith(".xml") else "json"


def _answer(doc: documents.Document, fmt: str, status: int = 200) -> Response:
    content, media_type = render(fmt, *doc)
    return Response(
        content, status_code=status, media_type=media_type,
        headers={"X-Content-Type-Options": "nosniff"},
    )


def _error(exc: GeoError, fmt: str, status: int) -> Response:
    response = _answer(documents.errors(exc, status), fmt, status)
    if isinstance(exc, Open311Error) and exc.retry_after is not None:
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise Open311Error(
            404, f"Không có định dạng {fmt!r}; dùng .json hoặc .xml.",
            f"There is no format {fmt!r}; use .json or .xml.",
        )
    return fmt


async def _body(request: Request, fmt: str) -> bytes:
    """The POST body, refused (413) past the limit before it is all read."""
    limit = settings.serve_max_body_bytes()
    too_big = Open311Error(
        413, f"Nội dung gửi lớn quá {limit:,} byte.", f"The body is larger than {limit:,} bytes."
    )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_big
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise Open311Error(
            400, "Nội dung gửi phải là application/x-www-form-urlencoded.",
            "The body must be application/x-www-form-urlencoded.",
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


class _PerAddress:
    """Count every HTTP request against its client address's rate (a plain ASGI
    middleware: Starlette's ``BaseHTTPMiddleware`` costs a task and a queue per request)."""

    def __init__(self, app: ASGIApp, limits: RateLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            client = scope.get("client")
            try:
                self.limits.address(client[0] if client else "unknown")
            except Open311Error as exc:
                await _error(exc, _format_of(scope["path"]), exc.status)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(store: Store | None = None) -> FastAPI:
    """The server on ``store`` (default: ``GEO_DATABASE_URL``).

    Parameters
    ----------
    store
        The store served (default: ``GEO_DATABASE_URL``).

    Returns
    -------
    fastapi.FastAPI
        The ASGI application uvicorn runs.
    """
    geo = GeoReport(store if store is not None else open_store())
    app = FastAPI(
        title="Hanoi urban-order monitor: Open311 GeoReport v2",
        docs_url=None, redoc_url=None, openapi_url=None,
    )
    app.state.geo = geo
    origins = settings.serve_allowed_origins()
    if origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=list(origins), allow_methods=["GET", "POST"],
            allow_headers=["Content-Type"],
        )

    app.add_middleware(_PerAddress, limits=geo.limits)

    @app.exception_handler(GeoError)
    async def geo_error(request: Request, exc: GeoError) -> Response:
        status = exc.status if isinstance(exc, Open311Error) else 500
        return _error(exc, _format_of(request.url.path), status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        error = Open311Error(exc.status_code, "Không có tài nguyên này.", "There is no such resource.")
        return _error(error, _format_of(request.url.path), exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        error = Open311Error(400, "Yêu cầu không hợp lệ.", "The request is invalid.")
        return _error(error, _format_of(request.url.path), 400)

    @app.get("/discovery.{fmt}")
    def discovery(request: Request, fmt: str) -> Response:
        return _answer(geo.discovery(str(request.base_url)), _check_format(fmt))

    @app.get("/services.{fmt}")
    def service_list(fmt: str) -> Response:
        return _answer(geo.services(), _check_format(fmt))

    @app.get("/services/{code}.{fmt}")
    def definition(code: str, fmt: str) -> Response:
        return _answer(geo.definition(code), _check_format(fmt))

    @app.post("/requests.{fmt}")
    async def post_request(request: Request, fmt: str) -> Response:
        _check_format(fmt)
        body = await _body(request, fmt)
        doc = await run_in_threadpool(geo.post, body)
        response = _answer(doc, fmt)
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/requests.{fmt}")
    def requests(request: Request, fmt: str) -> Response:
        _check_format(fmt)
        return _answer(geo.requests(dict(request.query_params)), fmt)

    @app.get("/requests/{request_id}.{fmt}")
    def one_request(request: Request, request_id: str, fmt: str) -> Response:
        _check_format(fmt)
        return _answer(geo.request(request_id, dict(request.query_params)), fmt)

    @app.get("/tokens/{token}.{fmt}")
    def token(request: Request, token: str, fmt: str) -> Response:
        _check_format(fmt)
        return _answer(geo.token(token, dict(request.query_params)), fmt)

    return app
