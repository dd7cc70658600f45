"""The request-body limit: a body over CELLX_MAX_BODY_BYTES is refused with a 413 before it is parsed.

Without it a client could make the server hold any amount of JSON in memory before the text
length limit is even checked. A declared Content-Length over the limit is refused unread; a
chunked body is read only up to the limit, then replayed to the app, whose later receive()
calls go to the client again (so a streaming route still notices a disconnect).
"""
from __future__ import annotations

import json

from fastapi import FastAPI

from app.schemas import ErrorResponse

WITH_BODY = {"POST", "PUT", "PATCH"}


def _too_large(limit: int) -> str:
    return f"request body is over the limit of {limit:,} bytes; send a shorter text (CELLX_MAX_BODY_BYTES)"


class BodySizeLimitMiddleware:
    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in WITH_BODY:
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            return await self._refuse(send)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left before sending its body
                return None
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                return await self._refuse(send)
            if not message.get("more_body", False):
                break
        pending = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replay():
            return pending.pop() if pending else await receive()

        return await self.app(scope, replay, send)

    async def _refuse(self, send) -> None:
        body = json.dumps({"detail": _too_large(self.max_bytes)}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def document_body_limit(app: FastAPI) -> None:
    """Lists the 413 on every operation that takes a body, beside the reasons the route gives itself.

    Done on the generated document, once, because the middleware applies to every route, including
    routers added later, whatever the route itself declares.
    """
    generate = app.openapi
    why = "the request body is over CELLX_MAX_BODY_BYTES"

    def openapi() -> dict:
        if app.openapi_schema is None:
            for operations in generate()["paths"].values():
                for method, operation in operations.items():
                    if method.upper() not in WITH_BODY:
                        continue
                    known = operation["responses"].get("413")
                    if known:
                        known["description"] = f"{known['description']}; or {why}"
                    else:
                        operation["responses"]["413"] = {"description": why[0].upper() + why[1:], "content": {
                            "application/json": {"schema": {"$ref": f"#/components/schemas/{ErrorResponse.__name__}"}}}}
        return app.openapi_schema

    app.openapi = openapi
