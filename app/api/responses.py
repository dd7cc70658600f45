"""The error statuses the routes list in the OpenAPI document, every one with the ErrorResponse body.

A route lists each status it can return, so that a client (or a fuzzer checking the contract)
finds nothing undocumented; 422 is listed wherever a route takes parameters, since FastAPI
would otherwise document it with its own body shape, which these handlers do not send.
"""
from __future__ import annotations

from app.schemas import ErrorResponse

WHY = {
    400: "The body is not UTF-8 encoded",
    404: "Unknown model; the message names the available ones",
    413: "Text longer than the limit; the message gives the limit",
    422: "A field or parameter of the wrong type, out of range, unknown or missing; the message says which",
    503: "Every slot stayed busy for the configured wait; try again shortly",
}


def errors(*codes: int | tuple[int, str]) -> dict:
    """OpenAPI `responses` for these statuses: a bare code gets its usual description, (code, text) its own."""
    responses = {}
    for code in codes:
        status, description = code if isinstance(code, tuple) else (code, WHY[code])
        responses[status] = {"model": ErrorResponse, "description": description}
    return responses


BODY = (400, 422)  # every route with a JSON body: bytes that are not UTF-8, or fields that do not validate
# the batcher's 503 (app/services/batcher.py), sent with a Retry-After header
FULL = "the server is full (max_streams computing, max_queue waiting): retry after Retry-After seconds"
