"""Production logs: one JSON object per line, with the order's uuid, stage and duration when a
record carries them, and never a secret, a token or a signed URL."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

from gunicorn.glogging import Logger as GunicornBaseLogger  # type: ignore[import-untyped]

# Things that must never reach a log line, whatever code wrote it.
SECRET_PATTERNS = [
    (re.compile(r"whsec_[A-Za-z0-9+/=]+"), "whsec_[redacted]"),
    (re.compile(r"\br8_[A-Za-z0-9]+"), "r8_[redacted]"),
    (re.compile(r"(?i)(bearer|token)\s+[A-Za-z0-9._\-]+"), r"\1 [redacted]"),
    # Query strings of signed URLs (S3 presigned, our own file links) carry the signature.
    (re.compile(r"(https?://[^\s?\"']+)\?[^\s\"']*"), r"\1?[redacted]"),
    (re.compile(r"([?&]t=)[^\s&\"']+"), r"\1[redacted]"),
    # The request line of an access log (runserver's `"PUT /api/uploads/x?t=... HTTP/1.1"`).
    (re.compile(r"(\b[A-Z]+ /[^\s?\"']*)\?[^\s\"']*"), r"\1?[redacted]"),
]
CONTEXT_FIELDS = ("order", "stage", "duration", "status")


def redact(text: str) -> str:
    for pattern, replacement in SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    """Scrubs secrets from the rendered message of every record, for any formatter."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


class JsonLines(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the order context if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


class GunicornLogger(GunicornBaseLogger):
    """gunicorn's logger with the same scrubbing as ours, on its access and error lines."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.access_log, self.error_log):
            if not any(isinstance(each, RedactSecrets) for each in log.filters):
                log.addFilter(RedactSecrets())
