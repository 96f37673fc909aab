"""Production logs are JSON lines with the order's context, and never carry a secret."""

from __future__ import annotations

import json
import logging

from headshots.logs import JsonLines, RedactSecrets, redact
from tests.conftest import run_manage


def render(message: str, *args: object, **extra: object) -> dict[str, object]:
    record = logging.LogRecord("training.events", logging.INFO, __file__, 1, message, args, None)
    for name, value in extra.items():
        setattr(record, name, value)
    RedactSecrets().filter(record)
    return dict(json.loads(JsonLines().format(record)))


def test_it_writes_one_json_object_with_the_order_context() -> None:
    line = render("order %s: stage done", "abc", order="abc", stage="training", duration=12.5)

    assert line["message"] == "order abc: stage done"
    assert (line["order"], line["stage"], line["duration"], line["level"]) == (
        "abc", "training", 12.5, "INFO",
    )  # fmt: skip


def test_it_never_logs_secrets_tokens_or_signed_urls() -> None:
    text = redact(
        "secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw token r8_AbCdEf123 "
        "Authorization: Bearer abc.def-ghi "
        "url https://b.s3.amazonaws.com/sets/x.zip?X-Amz-Signature=deadbeef&X-Amz-Expires=1 "
        "link /studio/models/1/headshots/2/image/?t=2:1abc:sig"
    )

    assert "MfKQ9r8" not in text
    assert "AbCdEf123" not in text
    assert "abc.def-ghi" not in text
    assert "deadbeef" not in text
    assert "https://b.s3.amazonaws.com/sets/x.zip?[redacted]" in text
    assert "1abc:sig" not in text


def test_it_logs_json_lines_in_production() -> None:
    code = "import logging; logging.getLogger('x').warning('hi %s', 'whsec_abc')"
    env = {"DEBUG": "false", "SECRET_KEY": "x" * 60, "DATABASE_URL": "sqlite:////tmp/hs-logs.db"}

    result = run_manage("shell", "-c", code, env=env)

    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert line["level"] == "WARNING"
    assert line["message"] == "hi whsec_[redacted]"
