"""The web explorer: static files (HTML, JS, CSS, no build step) that the RPC server ships on its own port.

The page talks to a node over the same JSON-RPC WebSocket as any wallet; this module only finds its files.
"""

from __future__ import annotations

from importlib import resources

CONTENT_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".txt": "text/plain",
}
"""The only kinds of file served, by suffix."""


def static_file(name: str) -> tuple[bytes, str] | None:
    """(content, content type) of the explorer file `name`, or None if there is no such file (or the name
    reaches outside the static folder or is of a kind we do not serve)."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        return None
    suffix = name[name.rfind("."):] if "." in name else ""
    content_type = CONTENT_TYPES.get(suffix)
    if content_type is None:
        return None
    path = resources.files(__package__).joinpath("static", name)
    if not path.is_file():
        return None
    return path.read_bytes(), content_type
