"""The adapter uses only the official client's public API: its private members (`_request`)
may change in any release without notice. Raw JSON goes through our own httpx client."""

from __future__ import annotations

import ast
import inspect

from training.replicate import client


def test_it_calls_no_private_member_of_the_official_client() -> None:
    tree = ast.parse(inspect.getsource(client))

    private = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "_client"  # the official client, as ReplicateGateway holds it
        and node.attr.startswith("_")
    }

    assert private == set()
