"""The OIDC stand-in against Authlib's client and joserfc's verification: the flow a relying party runs
works, and each bad request or tampered token is refused for the intended reason."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client  # type: ignore[import-untyped]
from cryptography.hazmat.primitives import serialization
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    InvalidClaimError,
    InvalidKeyIdError,
    UnsupportedAlgorithmError,
)
from joserfc.jwk import KeySet, RSAKey

from tests.standin.oidc import StandInOIDC

REDIRECT_URI = "http://127.0.0.1:9/auth/callback?next=%2Fdashboard"
NONCE = "n-0S6_WzA2Mj"


@pytest.fixture(scope="module")
def shared_idp() -> Iterator[StandInOIDC]:
    with StandInOIDC() as standin:
        yield standin


@pytest.fixture
def idp(shared_idp: StandInOIDC) -> Iterator[StandInOIDC]:
    shared_idp.reset()
    yield shared_idp
    assert shared_idp.errors == []


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5, follow_redirects=False) as client:
        yield client


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _authorize(http: httpx.Client, idp: StandInOIDC, **overrides: str) -> httpx.Response:
    params = {
        "response_type": "code",
        "client_id": idp.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid email profile",
        "state": "st-1",
        "nonce": NONCE,
        "code_challenge": _challenge("v" * 43),
        "code_challenge_method": "S256",
        **overrides,
    }
    return http.get(f"{idp.issuer}/authorize", params={k: v for k, v in params.items() if v})


def _callback_params(reply: httpx.Response) -> dict[str, str]:
    assert reply.status_code == 302, reply.text
    location = urlsplit(reply.headers["location"])
    return dict(parse_qsl(location.query))


def _code(http: httpx.Client, idp: StandInOIDC, verifier: str = "v" * 43) -> str:
    return _callback_params(_authorize(http, idp, code_challenge=_challenge(verifier)))["code"]


def _redeem(
    http: httpx.Client,
    idp: StandInOIDC,
    code: str,
    /,
    verifier: str = "v" * 43,
    secret: str | None = None,
    **form: str,
) -> httpx.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "code_verifier": verifier}
    auth = (idp.client_id, idp.client_secret if secret is None else secret)
    return http.post(f"{idp.issuer}/token", data={**data, **form}, auth=auth)


def _id_token(http: httpx.Client, idp: StandInOIDC) -> str:
    reply = _redeem(http, idp, _code(http, idp))
    assert reply.status_code == 200, reply.text
    token = reply.json()["id_token"]
    assert isinstance(token, str)
    return token


def _keyset(http: httpx.Client, idp: StandInOIDC) -> KeySet:
    return KeySet.import_key_set(http.get(f"{idp.issuer}/jwks").json())


def _jwks_kid(http: httpx.Client, idp: StandInOIDC) -> str:
    kid = http.get(f"{idp.issuer}/jwks").json()["keys"][0]["kid"]
    assert isinstance(kid, str)
    return kid


def _validate(idp: StandInOIDC, claims: dict[str, Any], nonce: str = NONCE) -> None:
    """A relying party's ID token claim checks (OpenID Connect Core section 3.1.3.7)."""
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": idp.issuer},
        aud={"essential": True, "value": idp.client_id},
        exp={"essential": True},
        iat={"essential": True},
        sub={"essential": True},
        nonce={"essential": True, "value": nonce},
        azp={"value": idp.client_id},  # when present
    ).validate(claims)


def test_discovery(idp: StandInOIDC, http: httpx.Client) -> None:
    reply = http.get(f"{idp.issuer}/.well-known/openid-configuration")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/json"
    config = reply.json()
    assert idp.issuer == idp.url and idp.issuer.startswith("http://127.0.0.1:") and not idp.issuer.endswith("/")
    assert config["issuer"] == idp.issuer
    assert config["authorization_endpoint"] == f"{idp.issuer}/authorize"
    assert config["token_endpoint"] == f"{idp.issuer}/token"
    assert config["jwks_uri"] == f"{idp.issuer}/jwks"
    assert config["userinfo_endpoint"] == f"{idp.issuer}/userinfo"
    assert config["response_types_supported"] == ["code"]
    assert config["id_token_signing_alg_values_supported"] == ["RS256"]
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert config["token_endpoint_auth_methods_supported"] == ["client_secret_basic", "client_secret_post"]
    assert config["grant_types_supported"] == ["authorization_code"]
    jwk = http.get(config["jwks_uri"]).json()["keys"][0]
    assert {"kty": "RSA", "use": "sig", "alg": "RS256"}.items() <= jwk.items()
    assert "d" not in jwk and len(_b64decode(jwk["n"])) * 8 == 2048


def test_authlib_flow(idp: StandInOIDC, http: httpx.Client) -> None:
    idp.set_user("user-7", "grace@example.com", name="Grace Hopper", groups=["admins"])
    with OAuth2Client(
        idp.client_id,
        idp.client_secret,
        scope="openid email profile",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
    ) as client:
        verifier = secrets.token_urlsafe(48)
        url, state = client.create_authorization_url(f"{idp.issuer}/authorize", nonce=NONCE, code_verifier=verifier)
        callback = _callback_params(http.get(url))  # the browser's part
        assert callback["state"] == state and callback["next"] == "/dashboard"
        token = client.fetch_token(f"{idp.issuer}/token", code=callback["code"], code_verifier=verifier)
        userinfo = client.get(f"{idp.issuer}/userinfo").json()

    sent = idp.authorize_url_params()[-1]
    assert sent["code_challenge"] == _challenge(verifier) and sent["nonce"] == NONCE
    assert idp.token_requests[-1].headers["authorization"].startswith("Basic ")
    assert token["token_type"] == "Bearer" and token["expires_in"] == 3600
    decoded = jwt.decode(token["id_token"], _keyset(http, idp), algorithms=["RS256"])
    _validate(idp, decoded.claims)
    assert decoded.header["kid"] == _jwks_kid(http, idp)
    claims = decoded.claims
    assert claims["sub"] == "user-7" and claims["email"] == "grace@example.com" and claims["email_verified"] is True
    assert claims["name"] == "Grace Hopper" and claims["groups"] == ["admins"]
    assert claims["exp"] - claims["iat"] == 300 and abs(claims["iat"] - time.time()) < 5
    assert userinfo == {
        "sub": "user-7",
        "email": "grace@example.com",
        "email_verified": True,
        "name": "Grace Hopper",
        "groups": ["admins"],
    }


def test_token_reply_and_client_secret_post(idp: StandInOIDC, http: httpx.Client) -> None:
    data = {
        "grant_type": "authorization_code",
        "code": _code(http, idp),
        "redirect_uri": REDIRECT_URI,
        "code_verifier": "v" * 43,
        "client_id": idp.client_id,
        "client_secret": idp.client_secret,
    }
    reply = http.post(f"{idp.issuer}/token", data=data)
    assert reply.status_code == 200, reply.text
    assert reply.headers["cache-control"] == "no-store"
    assert reply.headers["content-type"] == "application/json"
    body = reply.json()
    assert body.keys() == {"access_token", "token_type", "expires_in", "id_token", "scope"}
    assert body["scope"] == "openid email profile"
    assert "authorization" not in idp.token_requests[-1].headers


def test_default_user_and_userinfo_needs_a_token(idp: StandInOIDC, http: httpx.Client) -> None:
    access_token = _redeem(http, idp, _code(http, idp)).json()["access_token"]
    userinfo = http.get(f"{idp.issuer}/userinfo", headers={"Authorization": f"Bearer {access_token}"})
    assert userinfo.json() == {
        "sub": "user-1",
        "email": "ada@example.com",
        "email_verified": True,
        "name": "Ada Lovelace",
    }
    assert http.get(f"{idp.issuer}/userinfo").status_code == 401
    assert http.get(f"{idp.issuer}/userinfo", headers={"Authorization": "Bearer made-up"}).status_code == 401


def test_replayed_code_is_invalid_grant_and_revokes_its_token(idp: StandInOIDC, http: httpx.Client) -> None:
    code = _code(http, idp)
    first = _redeem(http, idp, code)
    assert first.status_code == 200
    replay = _redeem(http, idp, code)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    bearer = {"Authorization": f"Bearer {first.json()['access_token']}"}
    assert http.get(f"{idp.issuer}/userinfo", headers=bearer).status_code == 401
    assert len(idp.token_requests) == 2


def test_wrong_code_verifier_is_invalid_grant(idp: StandInOIDC, http: httpx.Client) -> None:
    code = _code(http, idp, verifier="a" * 43)
    reply = _redeem(http, idp, code, verifier="b" * 43)
    assert reply.status_code == 400
    assert reply.json()["error"] == "invalid_grant" and "code_verifier" in reply.json()["error_description"]
    assert _redeem(http, idp, code, verifier="a" * 43).json()["error"] == "invalid_grant"  # spent


def test_expired_code_is_invalid_grant(idp: StandInOIDC, http: httpx.Client) -> None:
    idp.code_lifetime = 0.0
    reply = _redeem(http, idp, _code(http, idp))
    assert reply.status_code == 400 and reply.json()["error_description"] == "authorization code expired"


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"redirect_uri": "http://127.0.0.1:9/elsewhere"}, "invalid_grant"),
        ({"code": "never-issued"}, "invalid_grant"),
        ({"code_verifier": ""}, "invalid_request"),
        ({"grant_type": "refresh_token"}, "unsupported_grant_type"),
    ],
)
def test_token_request_errors(idp: StandInOIDC, http: httpx.Client, form: dict[str, str], error: str) -> None:
    code = _code(http, idp)
    reply = _redeem(http, idp, code, **form)
    assert reply.status_code == 400 and reply.json()["error"] == error
    assert reply.headers["content-type"] == "application/json"


def test_wrong_client_secret_is_invalid_client(idp: StandInOIDC, http: httpx.Client) -> None:
    code = _code(http, idp)
    reply = _redeem(http, idp, code, secret="wrong")
    assert reply.status_code == 401 and reply.json()["error"] == "invalid_client"
    unauthenticated = http.post(f"{idp.issuer}/token", data={"grant_type": "authorization_code", "code": code})
    assert unauthenticated.status_code == 401 and unauthenticated.json()["error"] == "invalid_client"
    assert _redeem(http, idp, code).status_code == 200  # refused clients do not spend the code


def test_authorize_errors(idp: StandInOIDC, http: httpx.Client) -> None:
    assert _authorize(http, idp, client_id="stranger").status_code == 400
    for overrides in ({"code_challenge": ""}, {"code_challenge_method": "plain"}, {"scope": "email"}):
        callback = _callback_params(_authorize(http, idp, **overrides))
        assert callback.pop("error_description")
        assert callback == {"next": "/dashboard", "error": "invalid_request", "state": "st-1"}
    assert [params.get("client_id") for params in idp.authorize_url_params()] == ["stranger"] + [idp.client_id] * 3


def test_tamper_next_rejects_unknown_kinds(idp: StandInOIDC) -> None:
    with pytest.raises(ValueError, match="sideways"):
        idp.tamper_next("sideways")


@pytest.mark.parametrize(
    ("how", "error", "claim"),
    [
        ("nonce", InvalidClaimError, "nonce"),
        ("expired", ExpiredTokenError, "exp"),
        ("audience", InvalidClaimError, "aud"),
        ("issuer", InvalidClaimError, "iss"),
        ("azp", InvalidClaimError, "azp"),
    ],
)
def test_tampered_claims_are_signed_but_refused(
    idp: StandInOIDC, http: httpx.Client, how: str, error: type[ClaimError], claim: str
) -> None:
    idp.tamper_next(how)
    decoded = jwt.decode(_id_token(http, idp), _keyset(http, idp), algorithms=["RS256"])  # a good signature
    with pytest.raises(error) as refused:
        _validate(idp, decoded.claims)
    assert refused.value.claim == claim
    if how == "expired":
        now = time.time()
        assert abs(decoded.claims["exp"] - (now - 600)) < 5 and abs(decoded.claims["iat"] - (now - 1200)) < 5
    if how == "azp":
        assert decoded.claims["aud"] == [idp.client_id, "other"] and decoded.claims["azp"] == "other"
    _validate(idp, jwt.decode(_id_token(http, idp), _keyset(http, idp), algorithms=["RS256"]).claims)  # one-shot


def test_unknown_kid(idp: StandInOIDC, http: httpx.Client) -> None:
    idp.tamper_next("unknown_kid")
    token = _id_token(http, idp)
    header = json.loads(_b64decode(token.split(".")[0]))
    assert header["alg"] == "RS256" and header["kid"] != _jwks_kid(http, idp)
    with pytest.raises(InvalidKeyIdError):
        jwt.decode(token, _keyset(http, idp), algorithms=["RS256"])


def test_altered_signature(idp: StandInOIDC, http: httpx.Client) -> None:
    idp.tamper_next("signature")
    token = _id_token(http, idp)
    assert json.loads(_b64decode(token.split(".")[0]))["kid"] == _jwks_kid(http, idp)
    with pytest.raises(BadSignatureError):
        jwt.decode(token, _keyset(http, idp), algorithms=["RS256"])


def test_alg_none(idp: StandInOIDC, http: httpx.Client) -> None:
    idp.tamper_next("alg_none")
    token = _id_token(http, idp)
    header, claims, signature = token.split(".")
    assert json.loads(_b64decode(header)) == {"alg": "none", "kid": _jwks_kid(http, idp)} and signature == ""
    _validate(idp, json.loads(_b64decode(claims)))  # only the algorithm gives it away
    with pytest.raises(UnsupportedAlgorithmError):
        jwt.decode(token, _keyset(http, idp), algorithms=["RS256"])


def test_hs256_keyed_with_the_public_key(idp: StandInOIDC, http: httpx.Client) -> None:
    idp.tamper_next("hs256_public_key")
    token = _id_token(http, idp)
    header, claims, signature = token.split(".")
    jwk = http.get(f"{idp.issuer}/jwks").json()["keys"][0]
    assert json.loads(_b64decode(header)) == {"alg": "HS256", "kid": jwk["kid"]}
    public = RSAKey.import_key(jwk).public_key
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    # what a verifier that takes the key material as an HMAC secret would accept
    assert hmac.compare_digest(hmac.new(pem, f"{header}.{claims}".encode(), "sha256").digest(), _b64decode(signature))
    with pytest.raises(UnsupportedAlgorithmError):
        jwt.decode(token, _keyset(http, idp), algorithms=["RS256"])


def test_jwks_fetches_and_rotate_key(idp: StandInOIDC, http: httpx.Client) -> None:
    assert idp.jwks_fetches == 0
    old_kid = _jwks_kid(http, idp)
    new_kid = idp.rotate_key()
    keys = http.get(f"{idp.issuer}/jwks").json()["keys"]
    assert [key["kid"] for key in keys] == [new_kid] and new_kid != old_kid
    assert idp.jwks_fetches == 2
    token = _id_token(http, idp)
    decoded = jwt.decode(token, KeySet.import_key_set({"keys": keys}), algorithms=["RS256"])
    assert decoded.header["kid"] == new_kid
    assert idp.jwks_fetches == 2  # /token does not count
