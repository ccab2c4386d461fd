"""Credentials out of URL-valued attributes: query parameter values, fragments and userinfo.

Used by the SDK on every span it exports and by the receiver on every span it stores, so the
common case (a URL with no query, fragment or userinfo) returns at once. The rest of a URL is
kept byte for byte: nothing is parsed into parts and re-encoded, only the secret values are cut.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import unquote_plus

__all__ = [
    "REDACTED",
    "URL_ATTRIBUTES",
    "is_url_attribute",
    "redact_attribute",
    "redact_attributes",
    "redact_query",
    "redact_url",
]

REDACTED = "REDACTED"

# Attribute names whose values are URLs, URL parts or connection strings. Sources:
# - OTel semantic conventions, url/http/db/messaging/cicd/vcs/browser/aws/mcp registries
#   (opentelemetry-semantic-conventions 0.66b2; docs/registry/attributes/url.md). OTel asks to
#   keep ``url.original`` unredacted; we redact it anyway: secrets never leave the app.
# - OpenLLMetry (opentelemetry-semantic-conventions-ai: ``SpanAttributes.LLM_OPENAI_API_BASE``),
#   older OpenAI tracers (``openai.api_base``) and ddtrace (``openai.base_url``).
# - OpenInference: ``prompt.url``, ``image.url``, ``audio.url``, ``video.url``, ``document.url``,
#   which appear under indexed prefixes (``llm.input_messages.0....image.url``): matched by suffix.
# Not ``server.address`` / ``http.host`` / ``net.peer.name``: a host (and port), read from a parsed
# URL by the instrumentations, so neither userinfo nor a query can reach them.
URL_ATTRIBUTES = frozenset(
    {
        "url.full",
        "url.original",
        "http.url",
        "http.target",
        "url.query",
        "url.fragment",
        "db.connection_string",
        "messaging.url",
        "aws.sqs.queue.url",
        "mcp.resource.uri",
        "browser.document.url.full",
        "cicd.pipeline.run.url.full",
        "cicd.pipeline.task.run.url.full",
        "cicd.worker.url.full",
        "vcs.repository.url.full",
        "gen_ai.openai.api_base",
        "openai.api_base",
        "openai.base_url",
        "llm.url",
    }
)
_URL_SUFFIXES = (".url", ".uri", "_url", ".api_base", ".url.full", ".url.original")
# Values that are a query string or fragment alone, not a URL.
_BARE_QUERIES = frozenset({"url.query", "url.fragment"})

# Parameter names, lower-cased, with "-" and " " read as "_". Sources: the OTel url.query list
# (AWSAccessKeyId, Signature, sig, X-Goog-Signature), OAuth 2.0 (RFC 6749: code, access_token,
# refresh_token, id_token, client_secret), Google API keys (key, x-goog-api-key), AWS SigV4 and
# Azure SAS query authentication.
_SENSITIVE_NAMES = frozenset(
    {
        "key",
        "api_key",
        "apikey",
        "access_token",
        "token",
        "sig",
        "signature",
        "password",
        "passwd",
        "pwd",
        "secret",
        "client_secret",
        "refresh_token",
        "id_token",
        "auth",
        "authorization",
        "code",
        "jwt",
        "awsaccesskeyid",
        "x_amz_credential",
        "x_goog_credential",
        "session_id",
        "sessionid",
    }
)
_SENSITIVE_SUFFIXES = ("_token", "_key", "_secret", "password", "signature")
# ";" too: some servers split on it. "?" and "#" too: a second "?" in a query (or "?" and "#" in a
# fragment) is data, but "a=1?key=s" would otherwise hide "key" behind the name "a".
_SEPARATORS = re.compile(r"([&;?#])")
_MAX_DECODES = 3  # "api%255Fkey" is double-encoded "api_key"


@lru_cache(maxsize=4096)
def _is_sensitive(name: str) -> bool:
    for _ in range(_MAX_DECODES):
        if "%" not in name and "+" not in name:
            break
        name = unquote_plus(name)
    name = name.strip().lower().replace("-", "_").replace(" ", "_").removesuffix("[]")
    return name in _SENSITIVE_NAMES or name.endswith(_SENSITIVE_SUFFIXES)


def redact_query(query: str) -> str:
    """``query`` (``a=1&key=s``, with or without its leading ``?``) with sensitive values replaced
    by ``REDACTED``; names, order, separators and every other byte are kept."""
    if not isinstance(query, str) or "=" not in query:
        return query
    try:
        parts = _SEPARATORS.split(query)
        changed = False
        for i in range(0, len(parts), 2):  # odd indexes are the separators
            name, eq, value = parts[i].partition("=")
            if eq and value and value != REDACTED and name and _is_sensitive(name):
                parts[i] = name + "=" + REDACTED
                changed = True
        return "".join(parts) if changed else query
    except Exception:  # never let telemetry raise; never let a secret through either
        return REDACTED


def _strip_userinfo(base: str) -> str:
    """``base`` (a URL up to its query) with any ``user:password@`` replaced by ``REDACTED@``."""
    scheme_end = base.find("://")
    if scheme_end >= 0 and "/" not in base[:scheme_end]:
        start = scheme_end + 3
    elif base.startswith("//"):
        start = 2
    elif base.startswith("/"):
        return base  # a path: an "@" there is not userinfo
    else:
        start = 0  # "user:pass@host/..." with no scheme: treat the head as an authority
    end = base.find("/", start)
    authority = base[start:] if end < 0 else base[start:end]
    at = authority.rfind("@")
    if at < 0 or authority[:at].replace(":", "").replace(REDACTED, "") == "":
        return base  # no userinfo, or already REDACTED (OTel writes REDACTED:REDACTED)
    return base[:start] + REDACTED + base[start + at :]


def redact_url(url: str) -> str:
    """``url`` with userinfo replaced by ``REDACTED@`` and the values of credential-like query
    (and fragment) parameters by ``REDACTED``. Never raises; a non-string is returned unchanged."""
    if not isinstance(url, str) or ("?" not in url and "@" not in url and "#" not in url):
        return url  # also every base64 data: URL, whose alphabet has none of the three
    try:
        head, hash_, fragment = url.partition("#")
        base, question, query = head.partition("?")
        if "@" in base:
            base = _strip_userinfo(base)
        if query:
            query = redact_query(query)
        if "=" in fragment:  # OAuth implicit flow returns "#access_token=..."
            fragment = redact_query(fragment)
        redacted = base + question + query + hash_ + fragment
        return url if redacted == url else redacted
    except Exception:
        return REDACTED


_url_keys: dict[str, bool] = {}  # every span's every key is tested: a dict hit beats six endswith
_MAX_KNOWN_KEYS = 65_536  # indexed names (llm.input_messages.N...) must not grow it without bound


def is_url_attribute(key: str) -> bool:
    """Whether attribute ``key`` holds a URL, a URL part or a connection string."""
    known = _url_keys.get(key)
    if known is None:
        known = key in URL_ATTRIBUTES or key.endswith(_URL_SUFFIXES)
        if len(_url_keys) < _MAX_KNOWN_KEYS:
            _url_keys[key] = known
    return known


def _redact_value(key: str, value: str) -> str:
    if key in _BARE_QUERIES:
        return redact_query(value)
    if key == "db.connection_string" and "://" not in value:
        return redact_query(value)  # "Server=db;User Id=u;Password=p"
    return redact_url(value)


def redact_attribute(key: str, value: Any) -> Any:
    """``value`` redacted when ``key`` is a URL attribute (see ``is_url_attribute``), else unchanged.

    Strings and sequences of strings are redacted; the same object comes back when nothing changed.
    """
    if not is_url_attribute(key):
        return value
    if isinstance(value, str):
        return _redact_value(key, value)
    if isinstance(value, (list, tuple)) and any(isinstance(v, str) for v in value):
        redacted = tuple(_redact_value(key, v) if isinstance(v, str) else v for v in value)
        return value if redacted == tuple(value) else redacted
    return value


def redact_attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    """The entries of ``attributes`` that redaction changes, with their redacted values; empty
    when there is nothing to redact (the common case, and a cheap one)."""
    changed: dict[str, Any] = {}
    if not attributes:
        return changed
    known = _url_keys.get
    for key in attributes:
        if known(key) is False:
            continue
        if is_url_attribute(key):
            value = attributes[key]
            redacted = redact_attribute(key, value)
            if redacted is not value:
                changed[key] = redacted
    return changed
