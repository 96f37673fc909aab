"""Shared plumbing, low in the house: e-mail, storage, private files, JSON API, rate limits.

Every app may import it; it imports no app above the models (see docs/architecture.md).
"""
