"""Sign-in of providers and office staff by an e-mail link, and their sessions.

The web process is the office's sign-in service: it holds the office issuer's private key
(the services hold only the public one). Three kinds of signed tokens, each with its own
audience so that none can stand in for another:

- the **sign-in link** (``comptoir-sign-in``): who may sign in, valid
  ``sign_in_link_minutes`` and usable once (its id is claimed in Redis when used);
- the **session cookie** (``comptoir-web-session``, HttpOnly, SameSite=Lax): the person's
  e-mail and name, and the ordinary API bearer token (``provider`` or ``admin`` role,
  audience ``comptoir``) the pages send to the services on their behalf;
- **share links** and other read-only grants the office console makes
  (:meth:`Authority.sign` / :meth:`Authority.read` with an audience of their own).

Nobody learns from the sign-in form whether an address is known: the answer is the same.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, Protocol
from urllib.parse import urlsplit

import jwt
from fastapi import Depends, Request
from redis.asyncio import Redis

from comptoir_common.auth import ALGORITHM, OFFICE_ISSUER, TokenIssuer, TokenVerifier
from comptoir_common.problems import Problem
from comptoir_web.settings import WebSettings

SESSION_COOKIE = "cpt_session"
SERVICE_TOKENS_KEPT = 16
LINK_AUDIENCE = "comptoir-sign-in"
SESSION_AUDIENCE = "comptoir-web-session"

Role = Literal["provider", "admin"]


@dataclass(frozen=True)
class Identity:
    """Who a sign-in link or a session is for."""

    role: Role
    territory_id: uuid.UUID
    email: str
    name: str
    provider_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Session:
    """A signed-in provider or office staff member, as the pages see them."""

    role: Role
    #: The bearer token the pages send to catalog, booking, payments and notifications.
    token: str
    territory_id: uuid.UUID
    email: str
    name: str
    expires_at: datetime
    provider_id: uuid.UUID | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class InvalidLink(Exception):
    """A sign-in link that is forged, expired or already used."""

    def __init__(self, reason: Literal["invalid", "expired", "used"]) -> None:
        super().__init__(reason)
        self.reason = reason


class SignInRequired(Exception):
    """Answered with a redirect to the sign-in page, back to ``next_path`` afterwards."""

    def __init__(self, lang: str, next_path: str, expired: bool = False) -> None:
        super().__init__(next_path)
        self.lang = lang
        self.next_path = next_path
        #: The person had a session that ended (a form they sent was not acted on).
        self.expired = expired


class WrongRole(Exception):
    """A signed-in person on the other role's pages (office staff on the portal...)."""

    def __init__(self, lang: str, session: Session) -> None:
        super().__init__(session.role)
        self.lang = lang
        self.session = session


class ForeignForm(Exception):
    """A form posted to a signed-in page from another site: answered 403."""


class SingleUse(Protocol):
    async def claim(self, key: str, ttl_seconds: int) -> bool:
        """True the first time ``key`` is claimed within ``ttl_seconds``, False after."""
        ...

    async def seen(self, key: str) -> bool:
        """Whether ``key`` is claimed now."""
        ...

    async def count(self, key: str, window_seconds: int) -> int:
        """One more use of ``key``: how many in the window that started with the first."""
        ...

    async def aclose(self) -> None: ...


class RedisSingleUse:
    def __init__(self, url: str) -> None:
        self.redis: Redis = Redis.from_url(url)

    async def claim(self, key: str, ttl_seconds: int) -> bool:
        return bool(await self.redis.set(f"comptoir:web:{key}", "1", nx=True, ex=ttl_seconds))

    async def seen(self, key: str) -> bool:
        return bool(await self.redis.exists(f"comptoir:web:{key}"))

    async def count(self, key: str, window_seconds: int) -> int:
        name = f"comptoir:web:{key}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, window_seconds, nx=True)
            used, _ = await pipe.execute()
        return int(used)

    async def aclose(self) -> None:
        await self.redis.aclose()


class MemorySingleUse:
    """For unit tests only: claims kept in this process."""

    def __init__(self) -> None:
        self.claimed: dict[str, float] = {}
        self.counts: dict[str, tuple[int, float]] = {}

    async def claim(self, key: str, ttl_seconds: int) -> bool:
        now = time.monotonic()
        if self.claimed.get(key, 0) > now:
            return False
        self.claimed[key] = now + ttl_seconds
        return True

    async def seen(self, key: str) -> bool:
        return self.claimed.get(key, 0) > time.monotonic()

    async def count(self, key: str, window_seconds: int) -> int:
        now = time.monotonic()
        used, until = self.counts.get(key, (0, 0.0))
        if until <= now:
            used, until = 0, now + window_seconds
        self.counts[key] = (used + 1, until)
        return used + 1

    async def aclose(self) -> None:
        pass


class Authority:
    """Signs and reads the web's tokens with the office issuer's key pair."""

    def __init__(self, settings: WebSettings, single_use: SingleUse) -> None:
        self.settings = settings
        self.issuer = TokenIssuer(settings.auth_office_private_key, OFFICE_ISSUER)
        self.verifier = TokenVerifier({OFFICE_ISSUER: settings.auth_office_public_key})
        self.public_key = self.verifier.keys[OFFICE_ISSUER]
        self.single_use = single_use
        #: Office tokens of the web's own calls, per territory (a few, bounded).
        self._service_tokens: dict[uuid.UUID, tuple[str, float]] = {}

    # --- generic signed grants ----------------------------------------------------------

    def sign(self, audience: str, claims: dict[str, Any], ttl: timedelta) -> str:
        now = datetime.now(UTC)
        body = {
            **claims,
            "iss": OFFICE_ISSUER,
            "aud": audience,
            "iat": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(body, self.issuer.key, algorithm=ALGORITHM)  # type: ignore[arg-type]

    def read(self, audience: str, token: str) -> dict[str, Any]:
        """The claims of a token this authority signed for ``audience``; raises
        ``jwt.ExpiredSignatureError`` or another ``jwt.PyJWTError`` otherwise."""
        claims: dict[str, Any] = jwt.decode(
            token,
            self.public_key,  # type: ignore[arg-type]
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=OFFICE_ISSUER,
            options={"require": ["exp", "iat", "iss", "aud", "jti"]},
        )
        return claims

    # --- the web's own calls ------------------------------------------------------------

    def service_token(self, territory_id: uuid.UUID) -> str:
        """An office-staff token for the web's own calls (finding who signs in, asking
        notifications to send the link, the shared observatory); short-lived, reused."""
        cached = self._service_tokens.get(territory_id)
        if cached and cached[1] > time.monotonic() + 60:
            return cached[0]
        token = self.issuer.issue(
            role="admin",
            subject="web",
            territory_id=territory_id,
            ttl=timedelta(minutes=10),
        )
        if len(self._service_tokens) >= SERVICE_TOKENS_KEPT:
            self._service_tokens.pop(next(iter(self._service_tokens)))
        self._service_tokens[territory_id] = (token, time.monotonic() + 600)
        return token

    # --- sign-in links ------------------------------------------------------------------

    def link_token(self, identity: Identity, next_path: str = "") -> tuple[str, datetime]:
        """A sign-in link's token; the page to open after signing in is signed inside it,
        so nobody can graft a parameter onto a genuine link."""
        ttl = timedelta(minutes=self.settings.sign_in_link_minutes)
        claims = _identity_claims(identity)
        if next_path:
            claims["next"] = next_path
        return self.sign(LINK_AUDIENCE, claims, ttl), datetime.now(UTC) + ttl

    def read_link(self, token: str) -> tuple[Identity, str]:
        """Who the link signs in, and the page to open then ("" for their home)."""
        try:
            claims = self.read(LINK_AUDIENCE, token)
            return _identity(claims), str(claims.get("next") or "")
        except jwt.ExpiredSignatureError as exc:
            raise InvalidLink("expired") from exc
        except (jwt.PyJWTError, KeyError, ValueError) as exc:
            raise InvalidLink("invalid") from exc

    async def use_link(self, token: str) -> tuple[Identity, str]:
        """The link's identity and next page, once: a second use is refused."""
        found = self.read_link(token)
        claims = jwt.decode(token, options={"verify_signature": False})
        ttl = max(1, int(claims["exp"]) - int(time.time()) + 60)
        if not await self.single_use.claim(f"sign-in:{claims['jti']}", ttl):
            raise InvalidLink("used")
        return found

    # --- sessions -----------------------------------------------------------------------

    def session_cookie(self, identity: Identity) -> tuple[str, int]:
        """The cookie's value and lifetime in seconds."""
        ttl = timedelta(hours=self.settings.session_hours)
        api_token = self.issuer.issue(
            role=identity.role,
            subject=(
                f"provider:{identity.provider_id}"
                if identity.role == "provider"
                else f"office:{identity.email}"
            ),
            territory_id=identity.territory_id,
            provider_id=identity.provider_id,
            ttl=ttl,
        )
        claims = {**_identity_claims(identity), "api": api_token}
        return self.sign(SESSION_AUDIENCE, claims, ttl), int(ttl.total_seconds())

    async def read_session(self, cookie: str | None) -> Session | None:
        """The session of a cookie, unless it is forged, expired or signed out."""
        if not cookie:
            return None
        try:
            claims = self.read(SESSION_AUDIENCE, cookie)
            identity = _identity(claims)
            principal = self.verifier.verify(claims["api"])
        except (jwt.PyJWTError, KeyError, ValueError, Problem):
            return None
        if principal.role != identity.role or principal.territory_id != identity.territory_id:
            return None
        if await self.single_use.seen(f"signed-out:{claims['jti']}"):
            return None
        return Session(
            role=identity.role,
            token=claims["api"],
            territory_id=identity.territory_id,
            email=identity.email,
            name=identity.name,
            provider_id=identity.provider_id,
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
        )

    async def end_session(self, cookie: str | None) -> None:
        """Sign out: the cookie stops working everywhere, not only in this browser."""
        if not cookie:
            return
        try:
            claims = self.read(SESSION_AUDIENCE, cookie)
        except jwt.PyJWTError:
            return
        ttl = max(1, int(claims["exp"]) - int(time.time()) + 60)
        await self.single_use.claim(f"signed-out:{claims['jti']}", ttl)


def _identity_claims(identity: Identity) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "sub": identity.email,
        "role": identity.role,
        "territory_id": str(identity.territory_id),
        "name": identity.name,
    }
    if identity.provider_id:
        claims["provider_id"] = str(identity.provider_id)
    return claims


def _identity(claims: dict[str, Any]) -> Identity:
    role = claims["role"]
    if role not in ("provider", "admin"):
        raise ValueError("unknown role")
    provider_id = uuid.UUID(claims["provider_id"]) if claims.get("provider_id") else None
    if role == "provider" and provider_id is None:
        raise ValueError("a provider without its id")
    return Identity(
        role=role,
        territory_id=uuid.UUID(claims["territory_id"]),
        email=str(claims["sub"]),
        name=str(claims.get("name") or claims["sub"]),
        provider_id=provider_id,
    )


# --- page dependencies -------------------------------------------------------------------


def authority(request: Request) -> Authority:
    value: Authority = request.app.state.authority
    return value


def _lang(request: Request) -> str:
    lang = request.path_params.get("lang")
    return lang if lang in ("fr", "en") else "fr"


def same_origin(request: Request) -> bool:
    """A form posted from another site carries its Origin: refused. (SameSite=Lax already
    keeps the session cookie off cross-site posts; this is the second lock.)"""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    own = f"{request.url.scheme}://{request.url.netloc}"
    settings: WebSettings = request.app.state.settings
    return origin in (own, settings.storefront_url)


async def current_session(request: Request) -> Session | None:
    return await authority(request).read_session(request.cookies.get(SESSION_COOKIE))


def _back_to(request: Request) -> str:
    """The page to come back to after signing in: this one (with its query), or for a
    form, the page it was sent from."""
    if request.method == "GET":
        query = request.url.query
        return request.url.path + (f"?{query}" if query else "")
    referer = urlsplit(request.headers.get("referer", ""))
    own = urlsplit(f"{request.url.scheme}://{request.url.netloc}")
    if referer.netloc == own.netloc and referer.path:
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return ""


async def _session_of(request: Request, role: Role) -> Session:
    if request.method != "GET" and not same_origin(request):
        raise ForeignForm(request.url.path)
    session = await current_session(request)
    if session is None:
        expired = SESSION_COOKIE in request.cookies
        raise SignInRequired(_lang(request), _back_to(request), expired=expired)
    if session.role != role:
        raise WrongRole(_lang(request), session)
    return session


async def provider_session(request: Request) -> Session:
    """The signed-in provider, or a redirect to the sign-in page."""
    return await _session_of(request, "provider")


async def office_session(request: Request) -> Session:
    """The signed-in office staff member, or a redirect to the sign-in page."""
    return await _session_of(request, "admin")


ProviderSession = Annotated[Session, Depends(provider_session)]
OfficeSession = Annotated[Session, Depends(office_session)]
