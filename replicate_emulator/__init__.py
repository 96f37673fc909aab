"""Replicate's HTTP API on this machine, for development and tests (never in the Docker image).

Installed as an app only when it stands in for Replicate (no REPLICATE_API_TOKEN), for its
`manage.py replicate_emulator` command; the tests start it in-process (`server.ReplicateEmulator`).
"""
