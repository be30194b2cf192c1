"""Who the `icl author` page answers: the person who started it, and no other page, site or host.

The page can run the model and write templates to disk, so any web page open in the same browser must
not be able to use it. As Jupyter does, each launch makes a secret token and prints it in the page's URL,
and a pure ASGI middleware (not Starlette's BaseHTTPMiddleware, which would sit between the streamed
view and its client's disconnect) refuses, before any route runs:

- a Host header that is not the page's own address (a DNS-rebinding page reaches 127.0.0.1 under its
  own name, and then counts as same-origin to the browser);
- a POST (or any other method that may change something) whose Origin, or without one whose Referer,
  is another origin's (cookies ignore ports, so a page on another port of 127.0.0.1 is "same-site");
- such a request with a body that is not `application/json` (a form or `text/plain` body is a "simple"
  request, which a browser sends cross-origin without asking);
- the page without its token (`?token=` on the first load, then an HttpOnly SameSite=Strict cookie),
  and an API call without it in the `X-ICL-Token` header (which the page's script sends; a custom header
  is never sent cross-origin without a CORS preflight, which this server never grants).

Each refusal is HTTP 403 with `{"error": "<one line>"}`, and nothing runs behind it.
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from icl.errors import ConfigError

LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
"""The names of this machine that the page answers to besides the `--host` it was started on."""

HEADER = "X-ICL-Token"
"""The request header that carries the token on API calls."""

SAFE_METHODS = frozenset({"GET", "HEAD"})
"""Methods that change nothing: every other one is checked for its origin and its body's type."""

SHIELD = (("x-frame-options", "DENY"), ("content-security-policy", "frame-ancestors 'none'"),
          ("x-content-type-options", "nosniff"))
"""Headers on every answer: no other page may frame this one (and have its buttons clicked blind)."""


@dataclass(frozen=True)
class Guard:
    """What the page accepts, fixed for one launch."""

    token: str
    """The launch's secret (`secrets.token_urlsafe`), printed in the URL `icl author` shows."""
    hosts: frozenset[str]
    """The Host headers the page answers, lower case, with the port (`127.0.0.1:8765`); its own origins
    are these behind `http://`."""
    cookie: str = "icl_author"
    """The cookie that keeps the token after the first load; named per port, since cookies ignore ports."""

    def __post_init__(self) -> None:
        if len(self.token) < 16:
            raise ConfigError("author token: expected at least 16 characters")

    @property
    def origins(self) -> frozenset[str]:
        return frozenset(f"http://{host}" for host in self.hosts)


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address, IPv6 with or without brackets) is this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def url_host(host: str) -> str:
    """`host` as a URL writes it: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def guard_for(host: str, port: int, token: str | None = None) -> Guard:
    """The guard of a page listening on `host`:`port`, with a new token unless one is given."""
    names = {*LOOPBACK, url_host(host).lower()}
    hosts = {f"{name}:{port}" for name in names} | (names if port == 80 else set())
    return Guard(token or secrets.token_urlsafe(32), frozenset(hosts), cookie=f"icl_author_{port}")


def _same(given: str, token: str) -> bool:
    return secrets.compare_digest(given.encode(), token.encode())


def _sender(request: Request) -> str | None:
    """The origin a request says it comes from: its Origin header, else its Referer's scheme and host."""
    origin = request.headers.get("origin")
    if origin is not None:
        return origin.lower()
    referer = request.headers.get("referer")
    if referer is None:
        return None
    parts = urlsplit(referer)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else referer


def _token_refusal(guard: Guard, request: Request) -> str | None:
    """Why a request lacks the token: the page takes it as `?token=` or its cookie, the API as a header."""
    if request.url.path == "/":
        given = request.query_params.get("token")
        if given is not None:
            return None if _same(given, guard.token) else "wrong token: open the URL that `icl author` printed"
        if _same(request.cookies.get(guard.cookie, ""), guard.token):
            return None
        return "no token: open the URL that `icl author` printed (http://…/?token=…)"
    given = request.headers.get(HEADER)
    if given is None:
        return f"no token: the API takes the token `icl author` printed in the {HEADER} header"
    return None if _same(given, guard.token) else f"wrong token in the {HEADER} header"


def refusal(guard: Guard, request: Request) -> str | None:
    """Why the page refuses `request`, in one line, or None when it comes from the page's owner."""
    host = request.headers.get("host", "").lower()
    if host not in guard.hosts:
        return f"Host {host!r} is not this page's address ({', '.join(sorted(guard.hosts))})"
    if request.method not in SAFE_METHODS:
        sender = _sender(request)
        if sender is not None and sender not in guard.origins:
            return f"a {request.method} from {sender} is refused: only the page itself may change anything"
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            return (f"a {request.method} with Content-Type {media or 'none'!r} is refused: "
                    "the API takes application/json")
    return _token_refusal(guard, request)


class GuardMiddleware:
    """Answers a refused request with 403 and its reason; passes the others on, setting the token's
    cookie when the page was opened with `?token=`, and the framing shield on every answer."""

    def __init__(self, app: ASGIApp, guard: Guard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":  # no websockets here
            await send({"type": "websocket.close", "code": 1008})
            return
        request = Request(scope)
        why = refusal(self.guard, request)
        if why is not None:
            await JSONResponse({"error": why}, status_code=403)(scope, receive, send)
            return
        cookie = ""
        if request.url.path == "/" and "token" in request.query_params:
            cookie = f"{self.guard.cookie}={self.guard.token}; HttpOnly; SameSite=Strict; Path=/"

        async def shielded(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SHIELD:
                    headers.append(name, value)
                if cookie:
                    headers.append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, shielded)
