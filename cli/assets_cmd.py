"""Asset registry commands: `btt-chain asset register|verify|tokenize|transfer|offer|accept|cancel-offer|revalue|
freeze|thaw|retire`, and `btt-chain query assets|asset`.

Fractions are typed in token units: `--supply 1000000 --decimals 2` mints 100,000,000 base units. Everything that
can be checked without a node (classes, hashes, symbols, amounts) is checked before anything is signed; a command
that creates something prints its new id, read from the block's event.
"""

from __future__ import annotations

import re
from typing import Any

import click

from btt_chain.client.chain import ChainInfo
from btt_chain.client.rpc import DEFAULT_RPC, RpcClient
from btt_chain.primitives.amounts import format_btt, parse_btt
from btt_chain.primitives.codec import U128_MAX
from btt_chain.primitives.errors import ConfigError
from cli.accounts import resolve_account, resolve_signer
from cli.hashes import text_or_hash
from cli.output import print_fields, print_json
from cli.submit import Submitted, echo_submitted, submit_call
from runtime.assets.types import ASSET_CLASSES, MAX_DECIMALS, MAX_SYMBOL, MIN_SYMBOL

_rpc = click.option("--rpc", default=DEFAULT_RPC, show_default=True, help="Node JSON-RPC URL.")
_json = click.option("--json", "as_json", is_flag=True, help="Print JSON (amounts in base units).")
_from = click.option("--from", "sender", required=True, help="Key file, or a dev name (alice, bob...) on dev chains.")
_asset_id = click.argument("asset_id", metavar="ID", type=click.IntRange(0))
_offer_id = click.argument("offer_id", metavar="OFFER_ID", type=click.IntRange(0))
_report = click.option("--report", default=None, help="The report's text; its blake2b-256 hash goes on chain.")
_report_hash = click.option("--report-hash", default=None,
                            help="The report's 32-byte hash as hex, instead of --report.")

_AMOUNT_RE = re.compile(r"^(\d+)(?:\.(\d+))?$")
_SYMBOL_RE = re.compile(rf"^[A-Z0-9]{{{MIN_SYMBOL},{MAX_SYMBOL}}}$")


# argument checks --------------------------------------------------------------------------------------


def _class(ctx: click.Context, param: click.Parameter, value: str) -> int:
    name = value.lower().replace("-", "_")
    if name not in ASSET_CLASSES:
        raise click.BadParameter(f"{value!r} is not one of {', '.join(ASSET_CLASSES)}")
    return ASSET_CLASSES.index(name)


def _decision(ctx: click.Context, param: click.Parameter, value: str) -> bool:
    if value.lower() not in ("approve", "reject"):
        raise click.BadParameter(f"{value!r} is not one of 'approve', 'reject'")
    return value.lower() == "approve"


def _btt(text: str, what: str) -> int:
    value = parse_btt(text)
    if value == 0:
        raise ConfigError(f"{what} must be above zero")
    return value


def _check_fractions(text: str, what: str) -> None:
    if not _AMOUNT_RE.match(text.strip().replace("_", "")):
        raise ConfigError(f"{what} {text!r} is not an amount: use digits with an optional decimal point")


def _fractions(text: str, decimals: int, what: str, symbol: str = "the token", positive: bool = True) -> int:
    """Token units to base units: '2.5' with 2 decimals -> 250."""
    _check_fractions(text, what)
    m = _AMOUNT_RE.match(text.strip().replace("_", ""))
    assert m is not None
    whole, frac = m.group(1), m.group(2) or ""
    if len(frac) > decimals:
        raise ConfigError(f"{what} {text!r} has {len(frac)} decimals; {symbol} has {decimals}")
    value = int(whole) * 10**decimals + int(frac.ljust(decimals, "0") or "0")
    if value > U128_MAX:
        raise ConfigError(f"{what} {text!r} is too large")
    if positive and value == 0:
        raise ConfigError(f"{what} must be above zero")
    return value


def _show_fractions(amount: int | str, token: dict[str, Any] | None) -> str:
    if token is None:
        return str(amount)
    return f"{format_btt(int(amount), token['decimals'])} {token['symbol']}"


# submitting -------------------------------------------------------------------------------------------


def _connect(rpc: str) -> tuple[RpcClient, ChainInfo]:
    client = RpcClient(rpc)
    return client, ChainInfo.fetch(client)


def _fetch_asset(client: RpcClient, asset_id: int) -> dict[str, Any]:
    asset = client.call("btt_asset", asset_id)
    if asset is None:
        raise ConfigError(f"no asset #{asset_id} on this chain")
    return dict(asset)


def _tokenised(client: RpcClient, asset_id: int) -> dict[str, Any]:
    asset = _fetch_asset(client, asset_id)
    if asset["token"] is None or asset["status"] != "tokenised":
        raise ConfigError(f"asset #{asset_id} is {asset['status']}: it has no fractions to move")
    return asset


def _submit(client: RpcClient, info: ChainInfo, sender: str, call: str, args: tuple[Any, ...],
            event: str) -> tuple[Submitted, dict[str, Any]]:
    """Sign, submit, wait for inclusion; the call's `assets.<event>` event from the block."""
    signer = resolve_signer(sender, info.chain_type)
    sub = submit_call(client, info, signer, call, args)
    assert sub.status is not None
    found = next((e for e in client.call("btt_events", sub.status["blockHash"], sub.status["index"])
                  if e.get("module") == "assets" and e.get("event") == event and e.get("phase") == sub.status["index"]),
                 None)
    return sub, found or {}


def _fee_fields(ev: dict[str, Any]) -> dict[str, Any]:
    """The asset fee of an event for JSON output; `assetFee`, since `fee` is the extrinsic's inclusion fee."""
    names = {"fee": "assetFee", "discount": "discount", "burned": "burned"}
    return {out: ev[k] for k, out in names.items() if k in ev}


def _done(sub: Submitted, info: ChainInfo, as_json: bool, line: str, fields: dict[str, Any]) -> None:
    if as_json:
        print_json({**fields, "hash": sub.hash, **(sub.status or {})})
        return
    click.echo(line)
    echo_submitted(sub, False, info.decimals, info.symbol)


def _fee_text(ev: dict[str, Any], info: ChainInfo) -> str:
    if "fee" not in ev:
        return "fee unknown"
    discount = f", {info.format_amount(ev['discount'])} staker discount" if int(ev["discount"]) else ""
    return f"fee {info.format_amount(ev['fee'])} ({info.format_amount(ev['burned'])} burned{discount})"


# commands ---------------------------------------------------------------------------------------------


@click.group()
def asset() -> None:
    """Real-world assets: register, verify, tokenise into fractions, transfer, trade through offers, revalue,
    freeze and retire."""


@asset.command("register")
@click.option("--class", "asset_class", required=True, callback=_class,
              help=f"Asset class: {', '.join(ASSET_CLASSES)}.")
@click.option("--metadata", default=None, help="The asset's description; its blake2b-256 hash goes on chain.")
@click.option("--metadata-hash", default=None, help="The description's 32-byte hash as hex, instead of --metadata.")
@click.option("--valuation", required=True, help="Value in BTT.")
@_from
@_json
@_rpc
def asset_register(asset_class: int, metadata: str | None, metadata_hash: str | None, valuation: str, sender: str,
                   as_json: bool, rpc: str) -> None:
    """Register an asset; it waits for a verifier. Prints the new asset id."""
    digest = text_or_hash(metadata, metadata_hash, "metadata")
    value = _btt(valuation, "--valuation")
    client, info = _connect(rpc)
    sub, ev = _submit(client, info, sender, "assets.register", (asset_class, digest, value), "Registered")
    aid = ev.get("asset_id")
    _done(sub, info, as_json,
          f"registered asset #{aid} ({ASSET_CLASSES[asset_class]}, valued {info.format_amount(value)}), "
          f"metadata hash 0x{digest.hex()}; pending verification",
          {"assetId": aid, "metadataHash": "0x" + digest.hex()})


@asset.command("verify")
@_asset_id
@click.argument("decision", metavar="approve|reject", callback=_decision)
@_report
@_report_hash
@_from
@_json
@_rpc
def asset_verify(asset_id: int, decision: bool, report: str | None, report_hash: str | None, sender: str,
                 as_json: bool, rpc: str) -> None:
    """As an appointed verifier, approve or reject a pending asset with a report."""
    digest = text_or_hash(report, report_hash, "report")
    client, info = _connect(rpc)
    sub, _ = _submit(client, info, sender, "assets.verify", (asset_id, decision, digest), "Verified")
    outcome = "approved" if decision else "rejected"
    _done(sub, info, as_json, f"asset #{asset_id} {outcome}, report hash 0x{digest.hex()}",
          {"assetId": asset_id, "approved": decision, "reportHash": "0x" + digest.hex()})


@asset.command("tokenize")
@_asset_id
@click.option("--symbol", required=True, help=f"Token symbol: {MIN_SYMBOL}-{MAX_SYMBOL} characters of A-Z, 0-9.")
@click.option("--supply", required=True, help="Fractions to mint, in token units (all of them to the owner).")
@click.option("--decimals", type=click.IntRange(0, MAX_DECIMALS), default=0, show_default=True,
              help="Decimals of the token.")
@click.option("--min-balance", default="0", show_default=True,
              help="Smallest holding other than zero, in token units.")
@_from
@_json
@_rpc
def asset_tokenize(asset_id: int, symbol: str, supply: str, decimals: int, min_balance: str, sender: str,
                   as_json: bool, rpc: str) -> None:
    """As the owner of a verified asset, mint its fractional token and pay the minting fee."""
    if not _SYMBOL_RE.match(symbol):
        raise ConfigError(f"--symbol {symbol!r}: use {MIN_SYMBOL} to {MAX_SYMBOL} characters of A-Z and 0-9")
    base_supply = _fractions(supply, decimals, "--supply", symbol)
    minimum = _fractions(min_balance, decimals, "--min-balance", symbol, positive=False)
    if minimum > base_supply:
        raise ConfigError(f"--min-balance {min_balance} is above the supply {supply}")
    client, info = _connect(rpc)
    sub, ev = _submit(client, info, sender, "assets.tokenize", (asset_id, symbol, base_supply, decimals, minimum),
                      "Tokenised")
    token = {"symbol": symbol, "decimals": decimals}
    _done(sub, info, as_json,
          f"tokenised asset #{asset_id} as {_show_fractions(base_supply, token)}; minting {_fee_text(ev, info)}",
          {"assetId": asset_id, "symbol": symbol, "supply": str(base_supply),
           **_fee_fields(ev)})


@asset.command("transfer")
@_asset_id
@click.option("--to", "dest", required=True, help="Recipient: address, 0x account id, key file or dev name.")
@click.option("--amount", required=True, help="Fractions, in token units.")
@_from
@_json
@_rpc
def asset_transfer(asset_id: int, dest: str, amount: str, sender: str, as_json: bool, rpc: str) -> None:
    """Send fractions of a tokenised asset."""
    _check_fractions(amount, "--amount")
    client, info = _connect(rpc)
    token = _tokenised(client, asset_id)["token"]
    value = _fractions(amount, token["decimals"], "--amount", token["symbol"])
    to = resolve_account(dest, info.chain_type, info.ss58_prefix)
    sub, _ = _submit(client, info, sender, "assets.transfer", (asset_id, to, value), "Transferred")
    _done(sub, info, as_json, f"sent {_show_fractions(value, token)} of asset #{asset_id} to {dest}",
          {"assetId": asset_id, "amount": str(value)})


@asset.command("offer")
@_asset_id
@click.option("--amount", required=True, help="Fractions to sell, in token units (held in escrow meanwhile).")
@click.option("--price", required=True, help="BTT for the whole amount.")
@_from
@_json
@_rpc
def asset_offer(asset_id: int, amount: str, price: str, sender: str, as_json: bool, rpc: str) -> None:
    """Offer fractions for a price in BTT; they wait in escrow until bought or cancelled. Prints the offer id."""
    _check_fractions(amount, "--amount")
    cost = _btt(price, "--price")
    client, info = _connect(rpc)
    token = _tokenised(client, asset_id)["token"]
    value = _fractions(amount, token["decimals"], "--amount", token["symbol"])
    sub, ev = _submit(client, info, sender, "assets.offer", (asset_id, value, cost), "OfferPosted")
    oid = ev.get("offer_id")
    _done(sub, info, as_json,
          f"posted offer #{oid}: {_show_fractions(value, token)} of asset #{asset_id} for {info.format_amount(cost)}",
          {"offerId": oid, "assetId": asset_id, "amount": str(value), "price": str(cost)})


@asset.command("accept")
@_offer_id
@_from
@_json
@_rpc
def asset_accept(offer_id: int, sender: str, as_json: bool, rpc: str) -> None:
    """Buy an offer whole: pay its price to the seller plus the trade fee, and receive its fractions."""
    client, info = _connect(rpc)
    sub, ev = _submit(client, info, sender, "assets.accept", (offer_id,), "OfferAccepted")
    aid = ev.get("asset_id")
    token = _fetch_asset(client, aid)["token"] if aid is not None else None
    bought = _show_fractions(ev.get("amount", "?"), token) if ev else "the fractions"
    price = info.format_amount(ev["price"]) if ev else "the price"
    _done(sub, info, as_json, f"bought {bought} of asset #{aid} (offer #{offer_id}) for {price}; trade "
          f"{_fee_text(ev, info)}",
          {"offerId": offer_id, "assetId": aid, **{k: ev[k] for k in ("amount", "price") if k in ev},
           **_fee_fields(ev)})


@asset.command("cancel-offer")
@_offer_id
@_from
@_json
@_rpc
def asset_cancel_offer(offer_id: int, sender: str, as_json: bool, rpc: str) -> None:
    """Withdraw your open offer; its fractions come back to you."""
    client, info = _connect(rpc)
    sub, ev = _submit(client, info, sender, "assets.cancel_offer", (offer_id,), "OfferCancelled")
    token = _fetch_asset(client, ev["asset_id"])["token"] if ev else None
    back = _show_fractions(ev["amount"], token) if ev else "its fractions"
    _done(sub, info, as_json, f"cancelled offer #{offer_id}; {back} back in your holding",
          {"offerId": offer_id, "assetId": ev.get("asset_id"), "amount": ev.get("amount")})


@asset.command("revalue")
@_asset_id
@click.option("--valuation", required=True, help="The new value in BTT.")
@_report
@_report_hash
@_from
@_json
@_rpc
def asset_revalue(asset_id: int, valuation: str, report: str | None, report_hash: str | None, sender: str,
                  as_json: bool, rpc: str) -> None:
    """As a verifier, set a new valuation with a report; the owner pays the revaluation fee."""
    value = _btt(valuation, "--valuation")
    digest = text_or_hash(report, report_hash, "report")
    client, info = _connect(rpc)
    sub, ev = _submit(client, info, sender, "assets.revalue", (asset_id, value, digest), "Revalued")
    old = f" from {info.format_amount(ev['old_valuation'])}" if ev else ""
    _done(sub, info, as_json,
          f"asset #{asset_id} revalued{old} to {info.format_amount(value)}; the owner paid the revaluation "
          f"{_fee_text(ev, info)}",
          {"assetId": asset_id, "valuation": str(value), "reportHash": "0x" + digest.hex(),
           **_fee_fields(ev)})


def _freeze(asset_id: int, frozen: bool, sender: str, as_json: bool, rpc: str) -> None:
    client, info = _connect(rpc)
    call, event = ("assets.freeze", "Frozen") if frozen else ("assets.thaw", "Thawed")
    sub, _ = _submit(client, info, sender, call, (asset_id,), event)
    _done(sub, info, as_json, f"asset #{asset_id} {'frozen' if frozen else 'thawed'}",
          {"assetId": asset_id, "frozen": frozen})


@asset.command("freeze")
@_asset_id
@_from
@_json
@_rpc
def asset_freeze(asset_id: int, sender: str, as_json: bool, rpc: str) -> None:
    """As a verifier, freeze an asset for compliance: no transfers, offers or sales until thawed."""
    _freeze(asset_id, True, sender, as_json, rpc)


@asset.command("thaw")
@_asset_id
@_from
@_json
@_rpc
def asset_thaw(asset_id: int, sender: str, as_json: bool, rpc: str) -> None:
    """As a verifier, lift a compliance freeze."""
    _freeze(asset_id, False, sender, as_json, rpc)


@asset.command("retire")
@_asset_id
@_from
@_json
@_rpc
def asset_retire(asset_id: int, sender: str, as_json: bool, rpc: str) -> None:
    """As the owner, retire an asset; a tokenised one needs its whole supply back in your hands."""
    client, info = _connect(rpc)
    sub, ev = _submit(client, info, sender, "assets.retire", (asset_id,), "Retired")
    _done(sub, info, as_json, f"asset #{asset_id} retired", {"assetId": asset_id, "supply": ev.get("supply")})


# queries ----------------------------------------------------------------------------------------------


def _summary(a: dict[str, Any], info: ChainInfo) -> str:
    token = a["token"]
    name = token["symbol"] if token else "-"
    frozen = " FROZEN" if a["frozen"] else ""
    more = "" if a.get("countsComplete", True) else "+"  # btt_assets counts up to 100 of each
    trading = (f", supply {_show_fractions(token['supply'], token)}, {a['holderCount']}{more} holders, "
               f"{a['openOffers']}{more} open offers" if token and a["status"] == "tokenised" else "")
    return (f"#{a['id']:<4} {name:<12} {a['class']:<21} {a['status']:<9}{frozen} valued "
            f"{info.format_amount(a['valuation'])}, owner {a['owner']}{trading}")


@click.command("assets")
@click.option("--owner", default=None, help="Only this owner's assets.")
@_json
@_rpc
def query_assets(owner: str | None, as_json: bool, rpc: str) -> None:
    """Registered assets: class, status, valuation, owner and token."""
    client, info = _connect(rpc)
    who = None if owner is None else "0x" + resolve_account(owner, info.chain_type, info.ss58_prefix).hex()
    rows = client.call("btt_assets", who)
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("no assets")
    for a in rows:
        click.echo(_summary(a, info))


@click.command("asset")
@_asset_id
@_json
@_rpc
def query_asset(asset_id: int, as_json: bool, rpc: str) -> None:
    """One asset: status, valuation, reports, token, holders and open offers."""
    client = RpcClient(rpc)
    a = _fetch_asset(client, asset_id)
    if as_json:
        print_json(a)
        return
    info = ChainInfo.fetch(client)
    token = a["token"]
    rows: list[tuple[str, Any]] = [
        ("asset", f"#{a['id']} ({a['status']}{', frozen' if a['frozen'] else ''})"),
        ("class", a["class"]),
        ("owner", a["owner"]),
        ("valuation", info.format_amount(a["valuation"])),
        ("metadata hash", a["metadataHash"]),
        ("report hash", a["reportHash"] or "-"),
        ("verifier", a["verifier"] or "-"),
        ("registered in block", a["registeredBlock"]),
    ]
    if token:
        rows += [
            ("token", f"{token['symbol']} ({token['decimals']} decimals)"),
            ("supply", _show_fractions(token["supply"], token)),
            ("minimum balance", _show_fractions(token["minBalance"], token)),
            ("in escrow", _show_fractions(a["escrowed"], token)),
        ]
    if a["mintFee"]:
        rows.append(("tokenising costs", f"{info.format_amount(a['mintFee']['fee'])} "
                                         f"({info.format_amount(a['mintFee']['burned'])} burned)"))
    print_fields(rows)
    if a["holdings"]:
        click.echo("holders:")
    for h in a["holdings"]:
        click.echo(f"  {h['account']}: {_show_fractions(h['amount'], token)}")
    if a["offers"]:
        click.echo("open offers:")
    for o in a["offers"]:
        click.echo(f"  #{o['id']}: {_show_fractions(o['amount'], token)} for {info.format_amount(o['price'])} "
                   f"(+ trade fee {info.format_amount(o['tradeFee']['fee'])}) by {o['seller']}")

