"""Which web pages may drive the node's RPC: `--rpc-cors`, as Substrate's.

A browser sends the page's `Origin` with every request and WebSocket handshake; any page the user visits
could otherwise call the node. Default: pages served from localhost or 127.0.0.1 (any scheme and port).
`--rpc-cors all` allows every origin; `--rpc-cors URL,URL` exactly those (e.g. https://explorer.example).
Requests without an Origin header (wallets, scripts, curl) are not pages and are always served.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from btt_chain.primitives.errors import ConfigError

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})


@dataclass(frozen=True)
class CorsPolicy:
    allow_all: bool = False
    local: bool = True
    """Allow http(s) pages on localhost and 127.0.0.1, any port."""
    origins: frozenset[str] = frozenset()

    @classmethod
    def default(cls) -> CorsPolicy:
        return cls()

    @classmethod
    def parse(cls, text: str | None) -> CorsPolicy:
        """The value of --rpc-cors: None for the default, 'all', or comma-separated origins."""
        if text is None:
            return cls.default()
        if text.strip().lower() == "all":
            return cls(allow_all=True)
        origins = set()
        for item in (i.strip() for i in text.split(",")):
            if not item:
                continue
            parts = urlsplit(item)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
                raise ConfigError(f"--rpc-cors {item!r} is not an origin like https://explorer.example:8080, nor 'all'")
            origins.add(f"{parts.scheme}://{parts.netloc}".lower())
        return cls(local=False, origins=frozenset(origins))

    def allows(self, origin: str | None) -> bool:
        if origin is None or self.allow_all:
            return True
        origin = origin.strip().lower()
        if origin in self.origins:
            return True
        if not self.local:
            return False
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and (parts.hostname or "") in {"localhost", "127.0.0.1", "::1"}

    def __str__(self) -> str:
        if self.allow_all:
            return "all"
        listed = sorted(self.origins)
        return ", ".join((["localhost and 127.0.0.1 pages"] if self.local else []) + listed) or "none"
