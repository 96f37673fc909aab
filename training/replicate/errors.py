"""The four ways a call to Replicate can fail, each saying what the caller may do next.

`ReplicateRejected` (do not retry as is), `ReplicateRateLimited` (retry after a while),
`ReplicateUnavailable` (not accepted; retry), `ReplicateAmbiguous` (a create may have been
accepted: look it up before creating again). `client.py` raises them; the stages catch them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from replicate.exceptions import ReplicateError

_THROTTLE_DETAIL = re.compile(r"available in ([0-9]{1,9}(?:\.[0-9]{1,9})?) second")
_SECONDS = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,9})?")


class ReplicateGatewayError(Exception):
    """Any failure talking to Replicate; the subclasses say whether and when to retry."""


class ReplicateRejected(ReplicateGatewayError):
    """Replicate answered 4xx: bad token (401), no credit (402), not found, conflict, invalid."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        invalid_fields: tuple[Mapping[str, Any], ...] = (),
    ) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.invalid_fields = invalid_fields


class ReplicateRateLimited(ReplicateGatewayError):
    """Replicate answered 429; `retry_after_seconds` comes from its Retry-After header."""

    def __init__(self, retry_after_seconds: float | None) -> None:
        super().__init__(f"rate limited; retry after {retry_after_seconds} s")
        self.retry_after_seconds = retry_after_seconds


class ReplicateUnavailable(ReplicateGatewayError):
    """Replicate could not be reached or answered 5xx: nothing was created."""


class ReplicateAmbiguous(ReplicateGatewayError):
    """A create timed out or lost its connection: it may exist; look it up before retrying."""


def retry_after(response: httpx.Response | None, detail: str | None) -> float | None:
    """Seconds from Retry-After (seconds or an HTTP date), else from the problem's detail."""
    header = response.headers.get("Retry-After", "").strip() if response is not None else ""
    if _SECONDS.fullmatch(header):  # not str.isdigit(): float() refuses "²", which it accepts
        return float(header)
    if header:
        try:
            when = parsedate_to_datetime(header)
            return max(0.0, (when - datetime.now(tz=when.tzinfo)).total_seconds())
        except (TypeError, ValueError):
            pass
    match = _THROTTLE_DETAIL.search(detail or "")
    return float(match[1]) if match else None


def invalid_fields(response: httpx.Response | None) -> tuple[Mapping[str, Any], ...]:
    """The `invalid_fields` of a 422 problem, which the official client does not keep."""
    if response is None:
        return ()
    try:
        body = response.json()
    except ValueError:
        return ()
    fields = body.get("invalid_fields") if isinstance(body, dict) else None
    return tuple(item for item in fields or () if isinstance(item, Mapping))


def translated(
    error: ReplicateError, response: httpx.Response | None, *, creates: bool
) -> ReplicateGatewayError:
    """The official client's error as ours; `response` is the failed one, whose headers the
    client's exception drops (Retry-After, a 422's invalid fields)."""
    status = error.status or 0
    if status == 429:
        return ReplicateRateLimited(retry_after(response, error.detail))
    if status == 504 and creates:
        return ReplicateAmbiguous(f"gateway timeout on a create: {error.detail}")
    if status >= 500:
        return ReplicateUnavailable(f"Replicate answered {status}: {error.detail}")
    return ReplicateRejected(
        status, error.title or "", error.detail or "", invalid_fields(response)
    )
