"""Issue 10, item 5, end to end: a Gemini call with ``?key=`` and a non-LLM call with
``?access_token=`` leave no secret in anything the server stores, whether our SDK sent them or
another SDK sent them unredacted. Checked by searching every file of the store; markers sent in the
same values must be found by the same search, so a search that cannot see the data fails."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import lz4.block
import zstandard

from tests.conftest import ROOT, LiveServer
from tests.hostile.helpers import export_grpc
from tests.otlp_helpers import chat_attrs, request, span
from tests.standin.provider import StandInProvider

SECRETS = {
    "sdk gemini key": "AIzaSECRETatRestGemini0123456789abcdef",
    "sdk access token": "SECRETatRestAccessToken98765",
    "foreign gemini key": "AIzaSECRETatRestForeign0123456789abc",
    "foreign userinfo": "SECRETatRestPassw0rdInUserinfo",
}
MARKERS = ["MARKERatRestSdkGemini7f3a", "MARKERatRestSdkOther9c1d", "MARKERatRestForeign2b8e"]

APP = """
    import httpx, llmobserve
    obs = llmobserve.observe(api_key=KEY, endpoint=ENDPOINT, trace_all_http=True,
                             provider_urls={STANDIN + "/gemini": "gcp.gemini"})
    model = STANDIN + "/gemini/v1beta/models/gemini-2.5-flash"
    with httpx.Client() as client:
        client.post(model + ":generateContent?m=" + MARKERS[0] + "&key=" + SECRETS["sdk gemini key"],
                    json={"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}).raise_for_status()
        client.get(STANDIN + "/not-an-llm?m=" + MARKERS[1] + "&access_token=" + SECRETS["sdk access token"])
    assert obs.flush(30_000)
    print("done")
"""


_LZ4, _ZSTD, _NONE = 0x82, 0x90, 0x02


def _decompressed(raw: bytes) -> bytes:
    """A ClickHouse compressed file's content: blocks of checksum (16 bytes), method (1), compressed
    size (9-byte header included), uncompressed size (4), data. Anything else comes back as it is."""
    out, at = bytearray(), 0
    while at + 25 <= len(raw):
        method = raw[at + 16]
        size = int.from_bytes(raw[at + 17 : at + 21], "little")
        plain = int.from_bytes(raw[at + 21 : at + 25], "little")
        data = raw[at + 25 : at + 16 + size]
        if size < 9 or at + 16 + size > len(raw):
            return raw
        if method == _LZ4:
            out += lz4.block.decompress(data, uncompressed_size=plain)
        elif method == _ZSTD:
            out += zstandard.ZstdDecompressor().decompress(data, max_output_size=plain)
        elif method == _NONE:
            out += data
        # else a codec chain (Delta, DoubleDelta, ...): numbers, never text
        at += 16 + size
    return bytes(out) if at == len(raw) else raw


def _store_bytes(data_dir: Path) -> bytes:
    """Every file of the store, raw and, where it is ClickHouse-compressed, decompressed."""
    found = []
    for path in data_dir.rglob("*"):
        if path.is_file() and not path.is_symlink():
            raw = path.read_bytes()
            found += [raw, _decompressed(raw)]
    return b"".join(found)


def test_no_secret_reaches_the_store(tmp_path: Path) -> None:
    live = LiveServer(tmp_path / "data").start()
    try:
        key = live.create_key("secrets", "ingest", "read")
        with StandInProvider() as standin:
            preamble = (
                f"KEY = {key!r}\nENDPOINT = {live.grpc_target!r}\nSTANDIN = {standin.url!r}\n"
                f"SECRETS = {SECRETS!r}\nMARKERS = {MARKERS!r}\n"
            )
            done = subprocess.run(
                [sys.executable, "-c", preamble + textwrap.dedent(APP)],
                capture_output=True,
                text=True,
                timeout=120,
                cwd=ROOT,
                env=dict(os.environ),
            )
            assert done.returncode == 0 and "done" in done.stdout, done.stderr[-3000:]
        # Another SDK, which redacts nothing, sends the same kinds of URL.
        foreign = span(
            attrs={
                **chat_attrs("gcp.gemini", "gemini-2.5-flash", 10, 2),
                "http.url": f"https://generativelanguage.googleapis.com/v1beta/models/x:generateContent"
                f"?m={MARKERS[2]}&key={SECRETS['foreign gemini key']}",
                "url.full": f"https://bob:{SECRETS['foreign userinfo']}@api.example.com/v1?q=1",
            }
        )
        assert export_grpc(live.grpc_target, key, request(foreign).SerializeToString()).code == "OK"
    finally:
        live.stop()  # graceful: everything acknowledged is on disk
    stored = _store_bytes(tmp_path / "data")
    assert [m for m in MARKERS if m.encode() not in stored] == [], "the search cannot see stored attributes"
    assert [name for name, secret in SECRETS.items() if secret.encode() in stored] == []
