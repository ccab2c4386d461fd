"""The served OpenAPI document is the committed one, byte for byte: moving code between modules
(issue 21) must not change the API. A deliberate API change updates ``tests/data/openapi.json``
in the same commit (``curl -s <server>/openapi.json -o tests/data/openapi.json``)."""

from __future__ import annotations

import httpx

from tests.conftest import ROOT, LiveServer


def test_the_served_openapi_document_is_the_committed_one(server: LiveServer) -> None:
    served = httpx.get(f"{server.http_url}/openapi.json", timeout=30).content
    assert served == (ROOT / "tests" / "data" / "openapi.json").read_bytes()
