"""Blocking JSON-RPC to the testnet's nodes (the runner's and the upgrade driver's)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any


def rpc_batch(url: str, calls: list[tuple[str, list[Any]]], timeout: float = 10.0) -> list[Any]:
    """One JSON-RPC batch: the results in the order of `calls`; RuntimeError for the first error."""
    body = json.dumps([{"jsonrpc": "2.0", "id": i, "method": m, "params": ps} for i, (m, ps) in enumerate(calls)])
    req = urllib.request.Request(url, body.encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - our own nodes on the bridge
        data = json.loads(resp.read())
    if not isinstance(data, list) or len(data) != len(calls):
        raise RuntimeError(f"batch of {len(calls)}: answered {str(data)[:200]}")
    out: list[Any] = [None] * len(calls)
    for item in data:
        if "error" in item:
            raise RuntimeError(f"{calls[int(item['id'])][0]}: {item['error'].get('message')}")
        out[int(item["id"])] = item["result"]
    return out


def rpc(url: str, method: str, *params: Any, timeout: float = 2.0) -> Any:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - our own nodes on the bridge
        data = json.loads(resp.read())
    if "error" in data:
        raise RuntimeError(f"{method}: {data['error'].get('message')}")
    return data["result"]
