"""The one place errors become HTTP responses: a metav1.Status with the right code and reason.

Storage and library exceptions are translated into `StatusError`s here too, so no client input
ever surfaces as a 500 with a stack trace."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpResponse
from rest_framework import exceptions as drf

from kube import errors

log = logging.getLogger(__name__)


def status_response(err: errors.StatusError) -> HttpResponse:
    resp = HttpResponse(orjson.dumps(err.status()), status=err.code)
    for k, v in status_headers(err):
        resp[k] = v
    return resp


def status_headers(err: errors.StatusError) -> list[tuple[str, str]]:
    """The headers of `err`'s Status answer, whichever transport sends it (a view's response, a
    watch refused before its stream starts)."""
    headers = [("Content-Type", "application/json")]
    if err.retry_after is not None:
        headers.append(("Retry-After", str(err.retry_after)))
    headers.extend(err.headers.items())
    return headers


def translate(exc: BaseException) -> errors.StatusError:
    if isinstance(exc, errors.StatusError):
        return exc
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
        return errors.Unauthorized("Unauthorized")
    if isinstance(exc, drf.PermissionDenied):
        return errors.Forbidden(str(exc.detail))
    if isinstance(exc, drf.MethodNotAllowed):
        return errors.MethodNotAllowed("the server does not allow this method on the requested resource")
    if isinstance(exc, drf.Throttled):
        return errors.TooManyRequests(
            "Too many requests, please try again later.", retry_after=int(getattr(exc, "wait", None) or 1)
        )
    if isinstance(exc, drf.APIException):
        return errors.StatusError(str(exc.detail), code=exc.status_code, reason="BadRequest")
    if isinstance(exc, RecursionError):
        return errors.BadRequest("the request body is nested too deeply")
    if isinstance(exc, OperationalError | InterfaceError):
        # The database is down, restarting or out of connections: the request may be sent again.
        # (A write is one transaction: it happened wholly or not at all; only when the connection
        # broke during its commit can the client not tell which, as with any database.)
        log.warning("database unavailable: %s", exc)
        return errors.ServiceUnavailable("the database is unavailable; try again", retry_after=1)
    if isinstance(exc, DatabaseError):
        log.exception("storage error")
        return errors.InternalError("storage error: " + type(exc).__name__)
    log.exception("unhandled error")
    return errors.InternalError("an internal error occurred: " + type(exc).__name__)


def exception_handler(exc: Exception, context: Any) -> HttpResponse:
    """DRF's EXCEPTION_HANDLER: every error a Status."""
    return status_response(translate(exc))
