"""A local stand-in OpenID Connect provider: the authorization code flow with PKCE, for login tests::

    with StandInOIDC() as idp:
        idp.set_user("user-7", "grace@example.com", name="Grace Hopper", groups=["admins"])
        # the app discovers {idp.issuer}/.well-known/openid-configuration and sends the browser to
        # /authorize, which logs in as that user at once (no login page, no consent) and redirects
        # back with a code; the app redeems it at /token for an ID token
        idp.tamper_next("nonce")  # the next ID token carries another nonce: the app must refuse it
        ...
        assert idp.token_requests[-1].headers["authorization"].startswith("Basic ")

Endpoints: ``GET /.well-known/openid-configuration``, ``GET /jwks``, ``GET /authorize``, ``POST /token``
and ``GET``/``POST /userinfo``. One client (``client_id``, ``client_secret``), authenticating with
``client_secret_basic`` or ``client_secret_post`` (both at once is an ``invalid_request``); any
``redirect_uri`` is accepted at /authorize, and /token must be sent the same one. PKCE (S256) is required.

A code is single use and lives ``code_lifetime`` seconds (60). A request missing a parameter is refused
(``invalid_request``) without spending the code; once an authenticated client presents a live code, the
code is spent whatever the outcome (a wrong ``code_verifier`` gets no second try), and presenting it again
is ``invalid_grant`` and revokes the access token it was redeemed for (RFC 6749 section 4.1.2).

ID tokens are RS256 with the ``kid`` of the signing key: 2048-bit RSA keys are made by ``cryptography``
when the stand-in is built and by ``rotate_key`` (nothing is committed); a key's ``kid`` is its RFC 7638
thumbprint. ``tamper_next`` queues one bad token per call, issued in order; the tampered tokens are
assembled by hand because no JOSE library signs ``alg: none`` or HS256 keyed with an RSA public key.

Standard library HTTP plumbing from ``webhooks.py``: ``hang_next`` works here too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from joserfc.jwk import RSAKey

from tests.standin._http import StandInHandler
from tests.standin.webhooks import HttpStandIn, Received, Reply
from tests.standin.webhooks import _Handler as _WebhookHandler

__all__ = ["StandInOIDC"]

DISCOVERY = "/.well-known/openid-configuration"
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")  # RFC 7636 section 4.1

# Received keeps only the path, and /authorize needs its query: the handler thread that serves a
# request also runs _record and _answer for it, so it leaves the request target here for them.
_target = threading.local()


@dataclass(frozen=True)
class _Key:
    kid: str
    private: rsa.RSAPrivateKey
    jwk: dict[str, Any]  # public


@dataclass(frozen=True)
class _Grant:
    """What /authorize decided, for /token to check and to put in the ID token."""

    redirect_uri: str
    code_challenge: str
    nonce: str | None
    user: dict[str, Any]
    expires: float  # time.monotonic()


def _new_key() -> _Key:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = RSAKey.import_key(private.public_key(), {"use": "sig", "alg": "RS256"})
    kid = jwk.thumbprint()
    return _Key(kid, private, {**jwk.as_dict(), "kid": kid})


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _compact(header: dict[str, Any], claims: dict[str, Any], sign: Callable[[bytes], bytes]) -> str:
    segments = [_b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)]
    signing_input = ".".join(segments).encode("ascii")
    return f"{signing_input.decode('ascii')}.{_b64url(sign(signing_input))}"


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, json.dumps(body).encode(), {"Content-Type": "application/json", **(headers or {})})


def _oauth_error(error: str, description: str, status: int = 400) -> Reply:
    headers = {"Cache-Control": "no-store"}
    if error == "invalid_client":
        headers["WWW-Authenticate"] = 'Basic realm="standin-oidc"'
    return _json(status, {"error": error, "error_description": description}, headers)


def _page(status: int, text: str) -> Reply:
    body = f"<!doctype html><title>Stand-in OIDC</title><p>{text}</p>".encode()
    return Reply(status, body, {"Content-Type": "text/html; charset=utf-8"})


def _redirect(uri: str, params: dict[str, str | None]) -> Reply:
    """A 302 to ``uri`` with ``params`` added to whatever query it already has."""
    split = urlsplit(uri)
    added = urlencode({name: value for name, value in params.items() if value is not None})
    query = f"{split.query}&{added}" if split.query else added
    return Reply(302, b"", {"Location": urlunsplit(split._replace(query=query)), "Cache-Control": "no-store"})


def _query() -> dict[str, str]:
    return dict(parse_qsl(urlsplit(getattr(_target, "value", "")).query, keep_blank_values=True))


class StandInOIDC(HttpStandIn):
    """Context manager running the provider on ``127.0.0.1:<free port>``; ``issuer`` is its URL."""

    thread_name = "standin-oidc"
    TAMPERS = (
        "alg_none",
        "audience",
        "azp",
        "expired",
        "hs256_public_key",
        "issuer",
        "nonce",
        "signature",
        "unknown_kid",
    )

    def __init__(self, client_id: str = "llmobserve-test", client_secret: str = "test-secret") -> None:
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.code_lifetime = 60.0  # seconds; lower it to test a late redemption
        self.token_requests: list[Received] = []  # every POST /token, answered or refused
        self._key = _new_key()
        self._user: dict[str, Any] = {}
        self.set_user("user-1", "ada@example.com", name="Ada Lovelace")
        self._tampers: list[str] = []
        self._grants: dict[str, _Grant] = {}
        self._spent: dict[str, str | None] = {}  # code -> the access token it was redeemed for
        self._access_tokens: dict[str, dict[str, Any]] = {}  # -> the user's claims
        self._authorize_params: list[dict[str, str]] = []
        self._jwks_fetches = 0

    @property
    def issuer(self) -> str:
        return self.url

    @property
    def jwks_fetches(self) -> int:
        """How many ``GET /jwks`` were answered (to see a client's key cache at work)."""
        with self._lock:
            return self._jwks_fetches

    # ------------------------------------------------------------------ knobs

    def set_user(
        self,
        sub: str,
        email: str | None = None,
        *,
        email_verified: bool = True,
        name: str | None = None,
        **claims: Any,
    ) -> None:
        """Who the next /authorize logs in as. ``claims`` go into the ID token and /userinfo after the
        standard ones, so they may also override them (``iat``, ``aud``, ...)."""
        user: dict[str, Any] = {"sub": sub}
        if email is not None:  # without an email, email_verified would describe nothing
            user["email"] = email
            user["email_verified"] = email_verified
        if name is not None:
            user["name"] = name
        user.update(claims)
        with self._lock:
            self._user = user

    def tamper_next(self, how: str) -> None:
        """Make the next ID token /token issues bad in one way, one of ``TAMPERS``; calls queue up."""
        if how not in self.TAMPERS:
            raise ValueError(f"unknown tampering {how!r}; one of {', '.join(self.TAMPERS)}")
        with self._lock:
            self._tampers.append(how)

    def rotate_key(self) -> str:
        """Sign with a new key from now on and publish only it; returns its ``kid``."""
        key = _new_key()
        with self._lock:
            self._key = key
        return key.kid

    def reset(self) -> None:
        """Forget requests, codes, tokens, counts and queued tamperings and hangs; log in as the default
        user again, with codes living 60 s. The keys stay: making them is what makes a new stand-in slow."""
        self.set_user("user-1", "ada@example.com", name="Ada Lovelace")
        with self._lock:
            self.code_lifetime = 60.0
            self.token_requests.clear()
            self._tampers.clear()
            self._grants.clear()
            self._spent.clear()
            self._access_tokens.clear()
            self._authorize_params.clear()
            self._jwks_fetches = 0
            self._clear_queues()

    def authorize_url_params(self) -> list[dict[str, str]]:
        """The query parameters of every /authorize request, in order (a repeated name: the last)."""
        with self._lock:
            return [dict(params) for params in self._authorize_params]

    # ------------------------------------------------------------------ serving

    def _handler_class(self) -> type[StandInHandler]:
        return _Handler

    def _record(self, request: Received) -> None:
        if request.path == "/authorize":
            self._authorize_params.append(_query())
        elif request.path == "/token" and request.method == "POST":
            self.token_requests.append(request)

    def _answer(self, request: Received) -> Reply:
        routes: dict[str, tuple[tuple[str, ...], Callable[[Received], Reply]]] = {
            DISCOVERY: (("GET",), self._discovery),
            "/jwks": (("GET",), self._jwks),
            "/authorize": (("GET",), self._authorize),
            "/token": (("POST",), self._token),
            "/userinfo": (("GET", "POST"), self._userinfo),
        }
        if request.path not in routes:
            return _json(404, {"error": "not_found", "error_description": f"no {request.path} here"})
        methods, serve = routes[request.path]
        if request.method not in methods:
            return _json(405, {"error": "method_not_allowed"}, {"Allow": ", ".join(methods)})
        return serve(request)

    def _discovery(self, request: Received) -> Reply:
        issuer = self.issuer
        return _json(
            200,
            {
                "issuer": issuer,
                "authorization_endpoint": f"{issuer}/authorize",
                "token_endpoint": f"{issuer}/token",
                "jwks_uri": f"{issuer}/jwks",
                "userinfo_endpoint": f"{issuer}/userinfo",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "email", "profile"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "code_challenge_methods_supported": ["S256"],
                "grant_types_supported": ["authorization_code"],
            },
        )

    def _jwks(self, request: Received) -> Reply:
        with self._lock:
            self._jwks_fetches += 1
            jwk = self._key.jwk
        return _json(200, {"keys": [jwk]})

    def _authorize(self, request: Received) -> Reply:
        params = _query()
        if params.get("client_id") != self.client_id:
            return _page(400, "Unknown client_id.")
        redirect_uri = params.get("redirect_uri", "")
        if urlsplit(redirect_uri).scheme not in ("http", "https"):
            # nowhere safe to send an error to (RFC 6749 section 4.1.2.1)
            return _page(400, "Missing or invalid redirect_uri.")
        state = params.get("state")
        if params.get("response_type") != "code":
            problem = "response_type must be code"
        elif "openid" not in params.get("scope", "").split():
            problem = "scope must include openid"
        elif not params.get("code_challenge"):
            problem = "code_challenge is required"
        elif params.get("code_challenge_method") != "S256":
            problem = "code_challenge_method must be S256"
        else:
            problem = ""
        if problem:
            return _redirect(redirect_uri, {"error": "invalid_request", "error_description": problem, "state": state})
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._grants[code] = _Grant(
                redirect_uri=redirect_uri,
                code_challenge=params["code_challenge"],
                nonce=params.get("nonce"),
                user=dict(self._user),
                expires=time.monotonic() + self.code_lifetime,
            )
        return _redirect(redirect_uri, {"code": code, "state": state})

    def _token(self, request: Received) -> Reply:
        form = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
        if refusal := self._client_refusal(request, form):
            return refusal
        grant_type = form.get("grant_type")
        if not grant_type:
            return _oauth_error("invalid_request", "grant_type is required")
        if grant_type != "authorization_code":
            return _oauth_error("unsupported_grant_type", f"grant_type {grant_type} is not supported")
        for name in ("code", "redirect_uri", "code_verifier"):
            if not form.get(name):
                return _oauth_error("invalid_request", f"{name} is required")
        code, verifier = form["code"], form["code_verifier"]
        if not _VERIFIER.fullmatch(verifier):
            return _oauth_error("invalid_request", "code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~]")
        with self._lock:
            if code in self._spent:
                if (revoked := self._spent[code]) is not None:
                    self._access_tokens.pop(revoked, None)
                return _oauth_error("invalid_grant", "authorization code already used")
            grant = self._grants.pop(code, None)
            if grant is None:
                return _oauth_error("invalid_grant", "unknown authorization code")
            self._spent[code] = None
        if time.monotonic() > grant.expires:
            return _oauth_error("invalid_grant", "authorization code expired")
        if form["redirect_uri"] != grant.redirect_uri:
            return _oauth_error("invalid_grant", "redirect_uri differs from the authorization request's")
        challenge = _b64url(hashlib.sha256(verifier.encode("ascii")).digest())
        if not hmac.compare_digest(challenge, grant.code_challenge):
            return _oauth_error("invalid_grant", "code_verifier does not match the code_challenge")
        access_token = secrets.token_urlsafe(32)
        with self._lock:
            tamper = self._tampers.pop(0) if self._tampers else None
            key = self._key
            self._spent[code] = access_token
            self._access_tokens[access_token] = dict(grant.user)
        body = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 3600,
            "id_token": self._id_token(grant, key, tamper),
            "scope": "openid email profile",
        }
        return _json(200, body, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    def _client_refusal(self, request: Received, form: dict[str, str]) -> Reply | None:
        """None when the request authenticates this client (RFC 6749 section 2.3.1), else the error."""
        authorization = request.headers.get("authorization", "")
        if authorization:
            scheme, _, credentials = authorization.partition(" ")
            if "client_secret" in form:
                return _oauth_error("invalid_request", "more than one client authentication method")
            try:
                decoded = base64.b64decode(credentials.strip(), validate=True).decode()
            except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
                decoded = ""
            raw_id, colon, raw_secret = decoded.partition(":")
            if scheme.lower() != "basic" or not colon:
                return _oauth_error("invalid_client", "malformed HTTP Basic client authentication", 401)
            # the client_id and secret are form-encoded before Basic encoding
            client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
            if form.get("client_id", client_id) != client_id:
                return _oauth_error("invalid_client", "client_id in the form differs from the Basic one", 401)
        elif "client_secret" in form:
            client_id, secret = form.get("client_id", ""), form["client_secret"]
        else:
            return _oauth_error("invalid_client", "client authentication required", 401)
        known = secrets.compare_digest(client_id.encode(), self.client_id.encode())
        if not (secrets.compare_digest(secret.encode(), self.client_secret.encode()) and known):
            return _oauth_error("invalid_client", "client authentication failed", 401)
        return None

    def _id_token(self, grant: _Grant, key: _Key, tamper: str | None) -> str:
        now = int(time.time())
        nonce = {"nonce": grant.nonce} if grant.nonce is not None else {}
        claims = {"iss": self.issuer, "aud": self.client_id, "exp": now + 300, "iat": now, **nonce, **grant.user}
        if tamper == "nonce":
            claims["nonce"] = f"not-{grant.nonce or 'sent'}-{secrets.token_hex(4)}"
        elif tamper == "expired":
            claims["iat"], claims["exp"] = now - 1200, now - 600
        elif tamper == "audience":
            claims["aud"] = "someone-else"
        elif tamper == "issuer":
            claims["iss"] = "http://evil.example"
        elif tamper == "azp":
            claims["aud"], claims["azp"] = [self.client_id, "other"], "other"
        elif tamper == "unknown_kid":
            key = _new_key()
        elif tamper == "alg_none":
            return _compact({"alg": "none", "kid": key.kid}, claims, lambda _: b"")
        elif tamper == "hs256_public_key":
            pem = key.private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            return _compact(
                {"alg": "HS256", "kid": key.kid}, claims, lambda data: hmac.new(pem, data, hashlib.sha256).digest()
            )

        def rs256(data: bytes) -> bytes:
            return key.private.sign(data, padding.PKCS1v15(), hashes.SHA256())

        token = _compact({"alg": "RS256", "kid": key.kid}, claims, rs256)
        if tamper == "signature":
            head, _, signature = token.rpartition(".")
            altered = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
            altered[len(altered) // 2] ^= 0xFF
            token = f"{head}.{_b64url(bytes(altered))}"
        return token

    def _userinfo(self, request: Received) -> Reply:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        with self._lock:
            user = self._access_tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            error = {"error": "invalid_token", "error_description": "a Bearer access token from /token is required"}
            return _json(401, error, {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return _json(200, user)


class _Handler(_WebhookHandler):
    def _serve(self) -> None:
        _target.value = self.path
        super()._serve()
