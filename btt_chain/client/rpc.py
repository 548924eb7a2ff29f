"""A small synchronous JSON-RPC 2.0 client over HTTP (stdlib urllib only): what every wallet call goes through."""

from __future__ import annotations

import itertools
import json
import os
import urllib.error
import urllib.request
from typing import Any

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
        if not self.url.startswith(("http://", "https://")):
            raise RpcError(f"{option} {url!r} is not a node URL like http://127.0.0.1:9944")
        self.timeout = timeout
        self._ids = itertools.count(1)

    def call(self, method: str, *params: Any) -> Any:
        body = json.dumps({"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)})
        req = urllib.request.Request(
            self.url, data=body.encode(), headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                reply = json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            raise RpcError(f"node at {self.url} answered HTTP {exc.code} ({self.named_by()})") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RpcError(
                f"cannot reach a node at {self.url} ({reason}); is it running? ({self.named_by()})") from None
        except json.JSONDecodeError:
            raise RpcError(f"node at {self.url} sent a reply that is not JSON ({self.named_by()})") from None
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
