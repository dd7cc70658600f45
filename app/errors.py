"""Client errors with a status code, and the handlers that turn every bad request into JSON."""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

log = logging.getLogger("cellx.errors")
BODY_PARSE_ERROR = "There was an error parsing the body"
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")


class InputError(Exception):
    """A request the server understood but cannot serve; the message says what is allowed."""

    def __init__(self, status_code: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.headers = headers  # e.g. a 503's Retry-After


def _describe(error: dict) -> str:
    location = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
    if error.get("type") == "json_invalid":
        return f"request body is not valid JSON ({error.get('ctx', {}).get('error', 'decode error')})"
    if error.get("type") == "missing":
        return f"{location}: field required"
    if error.get("type") == "extra_forbidden":
        return f"{location}: unknown field"
    return f"{location}: {error.get('msg')}" if location else str(error.get("msg"))


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path. Starlette answers a 405 with the methods of the
    first route whose path matched, which misses the others (GET and POST .../cells are two routes)."""
    def serves(route, method: str) -> bool:
        return route.matches({**request.scope, "method": method})[0] == Match.FULL

    routes = [route for route in request.app.routes if not serves(route, "")]  # a mount takes any method
    return [method for method in METHODS if any(serves(route, method) for route in routes)]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(InputError)
    async def input_error(_: Request, exc: InputError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in exc.errors()]
        detail = "; ".join(_describe(e) for e in exc.errors())
        return JSONResponse({"detail": detail, "errors": errors}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail, headers = str(exc.detail), dict(exc.headers or {})
        if exc.status_code == 400 and detail == BODY_PARSE_ERROR:
            # FastAPI's wording for a body it could not decode, e.g. bytes that are not UTF-8
            detail = "request body could not be decoded: send UTF-8 encoded JSON"
        elif exc.status_code == 404 and detail == "Not Found":
            detail = f"no such path: {request.url.path}; the API is listed at /docs"
        elif exc.status_code == 405 and (methods := allowed_methods(request)):
            headers["Allow"] = ", ".join(methods)
            detail = f"method {request.method} is not allowed on {request.url.path}; allowed: {headers['Allow']}"
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=headers)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": f"internal error: {type(exc).__name__}"}, status_code=500)
