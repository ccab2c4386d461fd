"""``semconv`` redaction: credentials out of URL attributes, every other byte kept."""

from __future__ import annotations

import random
import timeit

import pytest

from llmobserve.semconv import (
    REDACTED,
    URL_ATTRIBUTES,
    is_url_attribute,
    redact_attribute,
    redact_attributes,
    redact_query,
    redact_url,
)

GEMINI = "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent"


@pytest.mark.parametrize(
    "url, expected",
    [
        (f"{GEMINI}?key=AIzaSyD-3xampleK3y_0123456789abcdefghij&alt=sse", f"{GEMINI}?key=REDACTED&alt=sse"),
        (f"{GEMINI}?alt=sse&key=AIzaSECRET", f"{GEMINI}?alt=sse&key=REDACTED"),
        (
            "https://api.example.com/v1/items?access_token=SECRET2&page=2",
            "https://api.example.com/v1/items?access_token=REDACTED&page=2",
        ),
        # case-insensitive, "-" read as "_", and the listed names
        (
            "https://h/p?API_KEY=a&Token=b&X-Goog-Api-Key=c&apikey=d&SIG=e&Signature=f",
            "https://h/p?API_KEY=REDACTED&Token=REDACTED&X-Goog-Api-Key=REDACTED&apikey=REDACTED&SIG=REDACTED"
            "&Signature=REDACTED",
        ),
        (
            "https://h/cb?code=4/0Ab&state=xyz&client_secret=s&refresh_token=r&id_token=i&password=p&secret=q&auth=u",
            "https://h/cb?code=REDACTED&state=xyz&client_secret=REDACTED&refresh_token=REDACTED&id_token=REDACTED"
            "&password=REDACTED&secret=REDACTED&auth=REDACTED",
        ),
        # suffixes: *_token, *_key, *_secret, *password, *signature (AWS SigV4, GCS signed URLs)
        (
            "https://h/p?github_token=a&private_key=b&app_secret=c&db_password=d&X-Amz-Signature=e&X-Amz-Security-Token=f",
            "https://h/p?github_token=REDACTED&private_key=REDACTED&app_secret=REDACTED&db_password=REDACTED"
            "&X-Amz-Signature=REDACTED&X-Amz-Security-Token=REDACTED",
        ),
        (
            "https://bucket.s3.amazonaws.com/o?AWSAccessKeyId=AKIA&Expires=1&Signature=abc",
            "https://bucket.s3.amazonaws.com/o?AWSAccessKeyId=REDACTED&Expires=1&Signature=REDACTED",
        ),
        # repeated parameters: every occurrence
        ("https://h/p?key=a&key=b&q=1&key=c", "https://h/p?key=REDACTED&key=REDACTED&q=1&key=REDACTED"),
        # encoded names, once or twice, and "+" for a space
        ("https://h/p?api%5Fkey=s&%6Bey=t", "https://h/p?api%5Fkey=REDACTED&%6Bey=REDACTED"),
        ("https://h/p?api%255Fkey=s&api+key=t", "https://h/p?api%255Fkey=REDACTED&api+key=REDACTED"),
        ("https://h/p?token%5B%5D=s&token[]=t", "https://h/p?token%5B%5D=REDACTED&token[]=REDACTED"),
        # separators some servers honour
        ("https://h/p?a=1;token=s", "https://h/p?a=1;token=REDACTED"),
        ("https://h/p?a=1?key=s", "https://h/p?a=1?key=REDACTED"),
        # userinfo
        ("https://user:pass@host:8443/p?x=1", "https://REDACTED@host:8443/p?x=1"),
        ("https://x-access-token:ghp_SECRET@github.com/o/r.git", "https://REDACTED@github.com/o/r.git"),
        ("https://u:p@ss@host/", "https://REDACTED@host/"),
        ("postgresql://app:pw@db:5432/app?sslpassword=x", "postgresql://REDACTED@db:5432/app?sslpassword=REDACTED"),
        ("//u:p@host/p", "//REDACTED@host/p"),
        ("u:p@host:8080/p", "REDACTED@host:8080/p"),
        # IPv6 hosts
        ("http://[::1]:8080/v1?key=s", "http://[::1]:8080/v1?key=REDACTED"),
        ("http://u:p@[2001:db8::1]:443/x", "http://REDACTED@[2001:db8::1]:443/x"),
        # fragments: the OAuth implicit flow returns the token there
        ("https://app/cb#access_token=SECRET&state=xyz", "https://app/cb#access_token=REDACTED&state=xyz"),
        ("https://h/p?a=1#token=s", "https://h/p?a=1#token=REDACTED"),
        ("https://h/p#frag?key=s", "https://h/p#frag?key=REDACTED"),
    ],
)
def test_redacts_secrets_and_keeps_every_other_byte(url: str, expected: str) -> None:
    assert redact_url(url) == expected
    assert redact_url(expected) == expected  # idempotent


@pytest.mark.parametrize(
    "url",
    [
        "https://api.openai.com/v1/chat/completions",
        f"{GEMINI}?alt=sse",
        "https://h/search?q=hello%20world&page_size=10&pageToken=abc&monkey=1&keys=2&keyword=k&sort_by=name",
        "https://h/p?b=%2F%2F&a=x+y&empty=&flag",  # nothing re-encoded, bare names kept
        "https://h/p?key=&key",  # no value: nothing to hide
        "https://api.discord.com/users/@me",  # "@" in a path is not userinfo
        "/v1/files/a@b?x=1",
        "https://docs.example.com/page#section-2",
        "https://REDACTED:REDACTED@host/",  # OpenTelemetry's own redaction is kept as is
        "https://h/p?key=REDACTED",
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
    ],
)
def test_leaves_urls_without_secrets_untouched(url: str) -> None:
    assert redact_url(url) is url


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "?",
        "@",
        "#",
        "?=",
        "=",
        "?&&&;;",
        "??key",
        "http://[::1",
        "http://",
        "://@",
        "%%%?%zz=%",
        "\x00?\x00=\x00",
        "\udcff?key\udcff=x",
        "http://h:notaport/p?a=b",
        "a" * 10_000 + "?" + "b=" * 5_000,
    ],
)
def test_garbage_never_raises(garbage: str) -> None:
    assert isinstance(redact_url(garbage), str)
    assert isinstance(redact_query(garbage), str)


@pytest.mark.parametrize("value", [None, 42, 1.5, True, b"https://h/?key=s", ["https://h/?key=s"]])
def test_non_strings_are_returned_as_they_are(value: object) -> None:
    assert redact_url(value) is value  # type: ignore[arg-type]


def test_a_secret_after_any_prefix_never_survives() -> None:
    rng = random.Random(1234)
    alphabet = "ab:/?#@&;=%+[]. -_0"
    for _ in range(3_000):
        prefix = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        for secret_part in ("?key=S3CRETVALUE", "#access_token=S3CRETVALUE", "&api_key=S3CRETVALUE"):
            url = prefix + secret_part
            if secret_part.startswith("&") and "?" not in prefix and "#" not in prefix:
                continue  # no query or fragment: "&" is path data
            assert "S3CRETVALUE" not in redact_url(url), url


def test_userinfo_never_survives_any_host() -> None:
    rng = random.Random(99)
    for _ in range(1_000):
        host = "".join(rng.choice("abc.:[]0123456789") for _ in range(rng.randint(1, 20)))
        url = f"https://alice:S3CRETPASS@{host}/p?x=1"
        assert "S3CRETPASS" not in redact_url(url) and "alice" not in redact_url(url), url


def test_query_alone() -> None:
    assert redact_query("key=s&alt=sse") == "key=REDACTED&alt=sse"
    assert redact_query("?key=s&alt=sse") == "?key=REDACTED&alt=sse"
    kept = "q=1&alt=sse"
    assert redact_query(kept) is kept


def test_url_attributes_cover_the_conventions() -> None:
    assert {
        "http.url",
        "url.full",
        "url.query",
        "url.fragment",
        "http.target",
        "url.original",
        "db.connection_string",
        "messaging.url",
        "gen_ai.openai.api_base",
        "openai.api_base",
        "llm.url",
        "vcs.repository.url.full",
    } <= URL_ATTRIBUTES
    assert "server.address" not in URL_ATTRIBUTES  # a host only, never userinfo or a query
    # OpenInference puts URLs under indexed prefixes
    assert is_url_attribute("llm.input_messages.0.message.contents.1.message_content.image.image.url")
    assert is_url_attribute("cicd.pipeline.run.url.full")
    assert not is_url_attribute("gen_ai.input.messages")
    assert not is_url_attribute("http.response.status_code")


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("url.full", f"{GEMINI}?key=AIza&alt=sse", f"{GEMINI}?key=REDACTED&alt=sse"),
        ("http.url", "https://u:p@h/", "https://REDACTED@h/"),
        ("url.query", "key=AIza&alt=sse", "key=REDACTED&alt=sse"),  # a bare query string
        ("url.fragment", "access_token=t&state=s", "access_token=REDACTED&state=s"),
        ("http.target", "/v1beta/models/m:generateContent?key=AIza", "/v1beta/models/m:generateContent?key=REDACTED"),
        ("db.connection_string", "Server=db;User Id=app;Password=pw", "Server=db;User Id=app;Password=REDACTED"),
        ("db.connection_string", "mongodb://app:pw@db/x", "mongodb://REDACTED@db/x"),
        (
            "llm.input_messages.0.message.contents.0.message_content.image.image.url",
            "https://b.s3.amazonaws.com/i.png?X-Amz-Signature=abc",
            "https://b.s3.amazonaws.com/i.png?X-Amz-Signature=REDACTED",
        ),
        ("url.full", ("https://h/?key=a", "https://h/?q=1", 3), ("https://h/?key=REDACTED", "https://h/?q=1", 3)),
        # not URL attributes: unchanged even when they look like one (prompts are capture_content's business)
        ("gen_ai.input.messages", "see https://h/?key=AIza", "see https://h/?key=AIza"),
        ("server.address", "u:p@h", "u:p@h"),
        ("url.full", 12, 12),
    ],
)
def test_redact_attribute(key: str, value: object, expected: object) -> None:
    assert redact_attribute(key, value) == expected


def test_redact_attributes_returns_only_what_changed() -> None:
    attributes = {
        "http.method": "GET",
        "url.full": "https://h/p?access_token=t&a=1",
        "url.query": "a=1",
        "http.url": "https://api.openai.com/v1/chat/completions",
        "gen_ai.usage.input_tokens": 5,
    }
    assert redact_attributes(attributes) == {"url.full": "https://h/p?access_token=REDACTED&a=1"}
    assert redact_attributes({"http.url": "https://api.openai.com/v1/chat/completions", "x": 1}) == {}
    assert redact_attributes(None) == {}
    assert REDACTED == "REDACTED"


def test_a_url_without_query_costs_well_under_a_microsecond() -> None:
    url = "https://api.openai.com/v1/chat/completions"
    per_call = min(timeit.repeat(lambda: redact_url(url), number=20_000, repeat=5)) / 20_000
    assert per_call < 3e-6  # measured ~0.07 µs; a generous bound for a loaded machine
