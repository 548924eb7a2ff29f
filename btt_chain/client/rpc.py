"""A small synchronous JSON-RPC 2.0 client over HTTP (stdlib urllib only): what every wallet call goes through."""

from __future__ import annotations

import http.client
import itertools
import json
import os
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from btt_chain.primitives.errors import BttError

RPC_ENV = "BTT_RPC"
DEFAULT_RPC = os.environ.get(RPC_ENV) or "http://127.0.0.1:9944"
"""Every command's `--rpc` default: the BTT_RPC environment variable, else the local node."""


def normalise_url(url: str) -> str:
    """`localhost:9944` or `127.0.0.1:9944` mean http://...; ws:// and wss:// mean their HTTP twins."""
    text = url.strip()
    if text.startswith("ws://"):
        return "http://" + text[5:]
    if text.startswith("wss://"):
        return "https://" + text[6:]
    if "://" not in text:
        return "http://" + text
    return text


class RpcError(BttError):
    """The node answered a JSON-RPC call with an error, or could not be reached."""

    def __init__(self, message: str, code: int | None = None, data: Any = None) -> None:
        self.code = code
        self.data = data
        super().__init__(message)


class RpcClient:
    """`option`: the command-line option that named the node, which every error about reaching it or reading its
    answer names too (`--node-rpc` for set-keys' signing node; `--rpc`, or BTT_RPC when that gave the URL)."""

    def __init__(self, url: str = DEFAULT_RPC, timeout: float = 10.0, option: str = "--rpc") -> None:
        self.url = normalise_url(url)
        self.option = option
        not_a_url = f"{option} {url!r} is not a node URL like http://127.0.0.1:9944"
        if not self.url.startswith(("http://", "https://")):
            raise RpcError(not_a_url)
        try:
            parts = urlsplit(self.url)
            _ = parts.port  # a port that is no number, or out of range, raises here
        except ValueError as exc:  # 'http://[::1' (Invalid IPv6 URL), 'http://host:x'
            raise RpcError(f"{not_a_url} ({exc})") from None
        if not parts.hostname:
            raise RpcError(f"{not_a_url} (no host)")
        self.timeout = timeout
        self._ids = itertools.count(1)

    def call(self, method: str, *params: Any) -> Any:
        body = json.dumps({"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)})
        try:
            req = urllib.request.Request(
                self.url, data=body.encode(), headers={"Content-Type": "application/json"}, method="POST"
            )
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                reply = json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            raise RpcError(f"node at {self.url} answered HTTP {exc.code} ({self.named_by()})") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RpcError(
                f"cannot reach a node at {self.url} ({reason}); is it running? ({self.named_by()})") from None
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise RpcError(f"node at {self.url} sent a reply that is not JSON ({self.named_by()})") from None
        except (ValueError, http.client.InvalidURL) as exc:  # a space or control character the checks above let by
            raise RpcError(f"{self.option} {self.url!r} is not a node URL like http://127.0.0.1:9944 ({exc})") from None
        except http.client.HTTPException as exc:  # a reply that is not HTTP (BadStatusLine, IncompleteRead ...)
            raise RpcError(f"node at {self.url} did not answer in HTTP ({type(exc).__name__}; "
                           f"{self.named_by()})") from None
        if not isinstance(reply, dict):
            raise RpcError(f"node at {self.url} sent a reply that is not a JSON-RPC answer ({self.named_by()})")
        if "error" in reply:
            err = reply["error"]
            msg = err.get("message", "error")
            if err.get("data"):
                msg = f"{msg}: {err['data']}"
            raise RpcError(msg, err.get("code"), err.get("data"))
        return reply.get("result")

    def named_by(self) -> str:
        """Where the URL came from, for errors: `--rpc URL`, or BTT_RPC when the environment gave --rpc's default."""
        return named_by(self.option, self.url)


def named_by(option: str, url: str) -> str:
    """`OPTION URL`, the option that gave `url`; for `--rpc` left to its default from BTT_RPC, that variable too."""
    env = os.environ.get(RPC_ENV)
    if option == "--rpc" and env and normalise_url(env) == url:
        return f"--rpc URL; this one came from {RPC_ENV}"
    return f"{option} URL"
