"""Errors the server answers with, each as an OpenAI-style JSON body.

Clients of an OpenAI-compatible endpoint parse ``{"error": {message, type, param, code}}``;
every refusal and every upstream failure is turned into that shape, never a raw page.
"""

from __future__ import annotations

from typing import Any

from routerbench.errors import RouterBenchError

__all__ = ["ApiError", "error_body"]

_TYPE_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    500: "server_error",
    502: "upstream_error",
    503: "service_unavailable",
    504: "upstream_timeout",
}


def error_body(
    message: str, *, status: int, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """The ``{"error": {...}}`` object OpenAI clients expect for an HTTP `status`."""
    kind = _TYPE_BY_STATUS.get(status, "invalid_request_error" if status < 500 else "server_error")
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


class ApiError(RouterBenchError):
    """A request the server answers with an error status and an OpenAI-style body.

    Parameters
    ----------
    status
        HTTP status (4xx: the client's request; 5xx: no upstream could answer).
    message
        One line saying what was wrong and what is expected; never a key or prompt text.
    param
        The request field at fault (``"messages"``, ``"model"``, ...), when there is one.
    code
        A short machine-readable code (``"invalid_api_key"``, ``"model_not_found"``).
    """

    def __init__(
        self, status: int, message: str, *, param: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code

    def body(self) -> dict[str, Any]:
        """This error as an OpenAI-style JSON object."""
        return error_body(self.message, status=self.status, param=self.param, code=self.code)
