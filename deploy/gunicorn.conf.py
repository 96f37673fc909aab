"""gunicorn settings for the web container, in one file: the Dockerfile's CMD and compose's web
service both run `gunicorn -c deploy/gunicorn.conf.py`, and tests/headshots/test_server.py runs
that same command.

Why threads: the sync worker gives each connection a whole process until its request is read,
so three clients that announce a body and then go quiet held all three workers and `/healthz`
stopped answering. A gthread worker waits for a connection's first bytes in its main loop and
serves requests from a pool of threads, so a few slow clients take a few threads, not the
site. It still reads a body inside a thread, so a read timeout cuts a client that stalls. The
real protection in compose is the buffering proxy in front (deploy/nginx.conf.template): it
reads the whole request before gunicorn sees any of it.
"""

from __future__ import annotations

import os
from typing import Any

wsgi_app = "headshots.wsgi"
bind = "0.0.0.0:8000"
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
threads = int(os.environ.get("WEB_THREADS", "8"))
# A request (or a silent worker) taking longer than this is cut.
timeout = 120
keepalive = 5
# Seconds a client may stay silent while its request body (or our response) is under way.
READ_TIMEOUT_SECONDS = float(os.environ.get("WEB_READ_TIMEOUT", "30"))

# Access log: the path without its query string, which may carry a signature (`?t=...`,
# `X-Amz-Signature=...`); the logger class scrubs whatever else looks like a secret.
accesslog = "-"
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(f)s" "%(a)s"'
logger_class = "headshots.logs.GunicornLogger"


def pre_request(worker: Any, req: Any) -> None:
    """Give the body's socket reads a deadline: a blocking read would otherwise wait forever."""
    sock = getattr(getattr(req, "unreader", None), "sock", None)
    if sock is not None:
        sock.settimeout(READ_TIMEOUT_SECONDS)
