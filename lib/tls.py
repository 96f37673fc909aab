"""One TLS context per process for our outgoing HTTPS calls (Replicate's API and output hosts).

httpx builds a new context, CA bundle included, for every client and transport it makes: tens of
milliseconds of CPU each, and the app made two per Replicate gateway (one per task) and one per
image download, a quarter of the CPU of a whole order in the tests (py-spy). A context is
read-only once made and safe to share between threads; it is made as httpx makes it
(certifi's bundle, or SSL_CERT_FILE / SSL_CERT_DIR when set).
"""

from __future__ import annotations

import ssl
from functools import cache

import httpx


@cache
def tls_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()
