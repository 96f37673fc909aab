"""The OpenAPI 3.1 description of the JSON API, served at `/api/openapi.json`.

Written by hand, next to the views it describes: it is small, and the schemathesis test in
`tests/training/test_api_schema.py` calls the running app with what this promises and fails
when an answer does not match it.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings

from training.models import Status
from training.packages import PROFESSIONAL, available_packages

ERROR_CODES = {
    "400": "The body is not a JSON object, or a field is missing or wrong.",
    "401": "No API token or session, or the token is unknown or revoked.",
    "403": "Not enough credits, the storage quota is full, or a session lacks its CSRF token.",
    "404": "Nothing of yours at this address.",
    "405": "This address does not accept this method.",
    "409": "Something was already uploaded to this upload URL.",
    "411": "The upload has no Content-Length.",
    "413": "The ZIP or the request is too large.",
    "422": "The ZIP or a photo in it cannot be used, or zipUrl is not one of our upload URLs.",
    "429": (
        "Too many requests, an order too soon after the last, too many orders at once, or five "
        "upload URLs or uploaded ZIPs that no order used yet."
    ),
    "503": "A part we depend on (storage, virus scanner) is not answering; try again later.",
}


def error_responses(*statuses: str) -> dict[str, Any]:
    return {
        status: {
            "description": ERROR_CODES[status],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for status in statuses
    }


def json_response(description: str, schema: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def parameter(name: str, schema: dict[str, Any], *, where: str = "path") -> dict[str, Any]:
    """A required parameter of the path (or the query)."""
    return {"name": name, "in": where, "required": True, "schema": schema}


def openapi_description() -> dict[str, Any]:
    """The whole description; servers[0] is SITE_URL, the address zipUrls must have."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Headshots API",
            "version": "1.0.0",
            "description": (
                "Order professional headshots from a ZIP of photos. Upload the ZIP with "
                "POST /api/uploads and a PUT to the uploadUrl, then POST its zipUrl to "
                "/api/replicate/train-model. See docs/api.md."
            ),
        },
        "servers": [{"url": settings.SITE_URL}],
        "security": [{"bearerToken": []}, {"session": []}],
        "paths": paths(),
        "components": components(),
    }


def paths() -> dict[str, Any]:
    return {
        "/api/uploads": {
            "post": {
                "operationId": "createUpload",
                "summary": "A short-lived URL to upload one ZIP to",
                "responses": {
                    "201": json_response("Where and how to PUT the ZIP", "UploadSlot"),
                    **error_responses("401", "403", "405", "429", "503"),
                },
            }
        },
        "/api/uploads/{userId}/{uploadId}.zip": {
            "put": {
                "operationId": "putUpload",
                "summary": "The signed local upload URL (only when files are stored locally)",
                "security": [],
                "parameters": [
                    parameter("userId", {"type": "integer", "minimum": 1, "maximum": 2**62}),
                    parameter("uploadId", {"type": "string", "pattern": "^[0-9a-f]{32}$"}),
                    parameter("t", {"type": "string"}, where="query"),
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/zip": {
                            "schema": {"type": "string", "contentMediaType": "application/zip"}
                        }
                    },
                },
                "responses": {
                    "201": json_response("The ZIP is stored", "StoredUpload"),
                    **error_responses("403", "404", "405", "409", "411", "413", "503"),
                },
            }
        },
        "/api/replicate/train-model": {
            "post": {
                "operationId": "trainModel",
                "summary": "Order a personal model and its headshots from an uploaded ZIP",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/TrainModelRequest"}
                        }
                    },
                },
                "responses": {
                    "201": json_response("The order is queued", "Order"),
                    **error_responses(
                        "400", "401", "403", "404", "405", "413", "422", "429", "503"
                    ),
                },
            }
        },
        "/api/models/{id}": {
            "get": {
                "operationId": "getModel",
                "summary": "One of your orders, to follow it until it is ready",
                "parameters": [parameter("id", {"type": "string", "format": "uuid"})],
                "responses": {
                    "200": json_response("The order", "Order"),
                    **error_responses("401", "403", "404", "405"),
                },
            }
        },
        "/api/openapi.json": {
            "get": {
                "operationId": "getDescription",
                "summary": "This description",
                "security": [],
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.1",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    **error_responses("405"),
                },
            }
        },
    }


def components() -> dict[str, Any]:
    return {
        "securitySchemes": {
            "bearerToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "A personal API token (hs_…) from your account page.",
            },
            "session": {
                "type": "apiKey",
                "in": "cookie",
                "name": "sessionid",
                "description": "A signed-in browser; send the CSRF token in X-CSRFToken.",
            },
        },
        "schemas": {
            "Error": error_schema(),
            "UploadSlot": {
                "type": "object",
                "required": ["uploadUrl", "method", "headers", "zipUrl", "expiresAt", "maxBytes"],
                "properties": {
                    "uploadUrl": {"type": "string", "format": "uri"},
                    "method": {"const": "PUT"},
                    "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                    "zipUrl": {"type": "string", "format": "uri"},
                    "expiresAt": {"type": "string", "format": "date-time"},
                    "maxBytes": {"type": "integer"},
                },
            },
            "StoredUpload": {
                "type": "object",
                "required": ["zipUrl", "size"],
                "properties": {
                    "zipUrl": {"type": "string", "format": "uri"},
                    "size": {"type": "integer"},
                },
            },
            "TrainModelRequest": {
                "type": "object",
                "required": ["zipUrl", "name", "type", "consent"],
                "properties": {
                    "zipUrl": {
                        "type": "string",
                        "pattern": zip_url_pattern(),
                        "description": "The zipUrl that POST /api/uploads returned.",
                    },
                    "name": {
                        "type": "string",
                        # Letters of any alphabet are accepted too; the pattern shows the core.
                        "pattern": "^[A-Za-z0-9][A-Za-z0-9 -]{0,49}$",
                        "description": "Up to 50 letters, digits, spaces and hyphens.",
                    },
                    "type": {"enum": ["man", "woman"]},
                    "package": {
                        "enum": [
                            package.slug for package in available_packages() if package.active
                        ],
                        "default": PROFESSIONAL.slug,
                    },
                    "consent": {
                        "const": True,
                        "description": (
                            "The person agrees that their photos are checked (faces, likeness), "
                            "sent to Replicate (outside the EU) to train a private model, and "
                            "deleted on the schedule of SITE_URL/privacy/. Without it, nothing "
                            "is analysed, stored or charged (400 invalid_request)."
                        ),
                    },
                },
            },
            "Order": order_schema(),
        },
    }


def zip_url_pattern() -> str:
    """Our upload URLs and nothing else: SITE_URL, then the upload's path."""
    return "^" + re.escape(settings.SITE_URL) + r"/api/uploads/[1-9][0-9]{0,17}/[0-9a-f]{32}\.zip$"


def error_schema() -> dict[str, Any]:
    """The spec's ReplicateError shape, plus a stable code and the refused files."""
    return {
        "type": "object",
        "required": ["error", "detail", "code", "stage", "problems"],
        "properties": {
            "error": {"type": "string", "description": "What went wrong, for a person."},
            "detail": {"type": "string"},
            "code": {"type": "string"},
            "stage": {"enum": ["upload", "training", "completion", None]},
            "problems": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["file", "message"],
                    "properties": {
                        "file": {"type": ["string", "null"]},
                        "message": {"type": "string"},
                    },
                },
            },
        },
    }


def order_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["id", "status", "url"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "status": {"enum": list(Status.values)},
            "url": {"type": "string", "format": "uri", "description": "The order's page."},
            "name": {"type": "string"},
            "type": {"enum": ["man", "woman"]},
            "package": {"type": "string"},
            "error": {"type": "string"},
            "headshots": {"type": "integer"},
            "createdAt": {"type": "string", "format": "date-time"},
            "warnings": {"type": "array", "items": {"type": "string"}},
        },
    }
