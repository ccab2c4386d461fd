"""Sign-in with any OpenID Connect provider: authorization code with PKCE (S256), through Authlib's
client; the ID token verified with joserfc against the provider's published keys.

What is checked (OpenID Connect Core 3.1.3.7): the signature, with the algorithm pinned to the
asymmetric ones the provider's discovery document lists (never ``none``, never an HMAC: a public
key used as an HMAC secret would let anyone sign); ``iss`` equal to the configured issuer; ``aud``
naming our client id, and ``azp`` naming it when present or when there are several audiences;
``exp`` (and ``iat``) present and unexpired; ``nonce`` equal to the one this browser's flow sent.
``state`` and the flow's browser cookie are checked by the caller (``dashboard``) before any of it.

Keys come from the discovery document's ``jwks_uri``; a token signed with a ``kid`` we do not hold
refetches them, at most once per ``refetch_s`` per provider, so random ``kid``s cannot turn the
server into a fetcher.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:  # imported when first used: Authlib's client alone takes ~0.2 s, at every start
    from authlib.integrations.httpx_client import OAuth2Client
    from joserfc.jwk import KeySet

__all__ = ["ASYMMETRIC", "OidcClient", "OidcError", "OidcProvider", "oidc_clients"]

ASYMMETRIC = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"})
_SCOPE = "openid email profile"


class OidcError(Exception):
    """A sign-in the provider or its token did not make valid; ``str()`` is safe to show."""


@dataclass(frozen=True, slots=True)
class OidcProvider:
    """One ``LLMOBSERVE_OIDC_<NAME>_*`` group."""

    name: str  # lower-case, from <NAME>: the path segment and the button's label
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    label: str = ""
    allowed_domains: tuple[str, ...] = ()  # e-mail domains allowed to sign in; empty: any

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").title()


class OidcClient:
    def __init__(
        self,
        provider: OidcProvider,
        http: httpx.Client | None = None,
        refetch_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.provider = provider
        self._http = http or httpx.Client(timeout=10.0)
        self._refetch_s = refetch_s
        self._clock = clock
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._fetched_at = float("-inf")
        self.jwks_fetches = 0

    # discovery
    def metadata(self) -> dict[str, Any]:
        with self._lock:
            if self._metadata is None:
                url = self.provider.issuer.rstrip("/") + "/.well-known/openid-configuration"
                try:
                    found = self._http.get(url).raise_for_status().json()
                except (httpx.HTTPError, ValueError) as exc:
                    raise OidcError(f"{self.provider.title} did not answer its discovery document: {exc}") from None
                if found.get("issuer") != self.provider.issuer:
                    raise OidcError(f"{self.provider.title}'s discovery document names another issuer")
                self._metadata = found
            return self._metadata

    def algorithms(self) -> list[str]:
        listed = self.metadata().get("id_token_signing_alg_values_supported") or ["RS256"]
        return sorted(ASYMMETRIC.intersection(listed)) or ["RS256"]

    # the flow
    def _client(self, redirect_uri: str) -> OAuth2Client:
        from authlib.integrations.httpx_client import OAuth2Client

        return OAuth2Client(
            client_id=self.provider.client_id,
            client_secret=self.provider.client_secret,
            scope=_SCOPE,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=10.0,
        )

    def authorize_url(self, redirect_uri: str, state: str, nonce: str, code_verifier: str) -> str:
        with self._client(redirect_uri) as client:
            url, _ = client.create_authorization_url(
                self.metadata()["authorization_endpoint"], state=state, nonce=nonce, code_verifier=code_verifier
            )
        return str(url)

    def exchange(self, code: str, redirect_uri: str, code_verifier: str) -> str:
        """The ID token the provider gives for ``code`` (a code is good once: a replay is refused there)."""
        try:
            with self._client(redirect_uri) as client:
                token = client.fetch_token(self.metadata()["token_endpoint"], code=code, code_verifier=code_verifier)
        except Exception as exc:  # noqa: BLE001 - Authlib raises OAuthError, httpx its own: all mean no
            raise OidcError(f"{self.provider.title} refused the sign-in code ({_short(exc)}). Try again.") from None
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise OidcError(f"{self.provider.title} sent no ID token")
        return id_token

    # the ID token
    def verify(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The token's claims, if every check holds; else ``OidcError``."""
        from joserfc import jwt
        from joserfc.errors import JoseError

        header = _header(id_token)
        algorithms = self.algorithms()
        if header.get("alg") not in algorithms:
            raise OidcError(f"the ID token is signed with {header.get('alg')!r}, not {', '.join(algorithms)}")
        keys = self._keys_for(str(header.get("kid", "")))
        try:
            claims = jwt.decode(id_token, keys, algorithms=algorithms).claims
            jwt.JWTClaimsRegistry(
                leeway=60,
                iss={"essential": True, "value": self.provider.issuer},
                aud={"essential": True, "value": self.provider.client_id},
                sub={"essential": True},
                exp={"essential": True},
                iat={"essential": True},
                nonce={"essential": True, "value": nonce},
            ).validate(claims)
        except (JoseError, ValueError) as exc:
            raise OidcError(f"the ID token is not valid: {_short(exc)}") from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if ("azp" in claims or len(audiences) > 1) and claims.get("azp") != self.provider.client_id:
            raise OidcError("the ID token was issued to another client (azp)")
        return dict(claims)

    def _keys_for(self, kid: str) -> KeySet:
        from joserfc.errors import JoseError
        from joserfc.jwk import KeySet

        with self._lock:
            known = self._keys is not None and any(k.kid == kid for k in self._keys.keys)
            if not known and self._clock() - self._fetched_at >= self._refetch_s:
                self._fetched_at = self._clock()
                self.jwks_fetches += 1
                try:
                    uri = (self._metadata or {}).get("jwks_uri") or ""
                    self._keys = KeySet.import_key_set(self._http.get(uri).raise_for_status().json())
                except (httpx.HTTPError, ValueError, JoseError) as exc:
                    raise OidcError(f"{self.provider.title}'s signing keys could not be read: {_short(exc)}") from None
                known = any(k.kid == kid for k in self._keys.keys)
            if not known or self._keys is None:
                raise OidcError("the ID token is signed with a key the provider does not publish")
            return self._keys

    def close(self) -> None:
        self._http.close()


def _header(token: str) -> dict[str, Any]:
    try:
        segment = token.split(".")[0]
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, IndexError):
        raise OidcError("the ID token is not a JWT") from None
    if not isinstance(header, dict):
        raise OidcError("the ID token is not a JWT")
    return header


def _short(exc: BaseException) -> str:
    return (str(exc) or type(exc).__name__)[:200]


def oidc_clients(groups: dict[str, dict[str, str]]) -> dict[str, OidcClient]:
    """A client per provider of the settings' ``oidc`` groups (``LLMOBSERVE_OIDC_<NAME>_*``)."""
    return {
        name: OidcClient(
            OidcProvider(
                name=name,
                issuer=parts["issuer"],
                client_id=parts["client_id"],
                client_secret=parts["client_secret"],
                label=parts.get("label", ""),
                allowed_domains=tuple(
                    d.strip().lower().lstrip("@") for d in parts.get("domains", "").split(",") if d.strip()
                ),
            )
        )
        for name, parts in sorted(groups.items())
    }
