"""The clinic's side of private jobs on the command line (issue 51): `btt-chain job post --cases FILE.npz` and
`btt-chain job clinic` with a clinic's own or generated cases. Both set the clinic's box key, mix decoys among the
cases, post the job privately, and drive it to its end (sealing, decoy reveal, reading the sealed results), keeping
each job's order (its cases, decoys and secrets) in `--data-dir` until it ends."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from btt_chain.client.chain import ChainInfo
from btt_chain.client.rpc import RpcClient
from btt_chain.miner.audit import model_spec, parse_hash
from btt_chain.miner.private_cases import Labelled, decoys_for, generated_cases
from btt_chain.primitives.address import encode_address
from btt_chain.primitives.errors import BttError, ConfigError
from btt_chain.primitives.keys import Signer
from btt_chain.primitives.sealed_cases import BoxKeypair
from runtime.compute.model import ModelSpec

DRIVE_INTERVAL_S = 0.5


def order_dir(data_dir: Path | None, genesis: bytes, address: str) -> Path:
    """Where a clinic's private orders are kept (default ~/.btt-chain/clinic/<genesis>/<address>): created 0700 by
    the first order saved there (`PrivateOrder.save`), each order file 0600."""
    base = data_dir if data_dir is not None else Path.home() / ".btt-chain" / "clinic"
    return base / genesis.hex()[:16] / address


def clinic_box(signer: Signer) -> BoxKeypair:
    """The clinic's box key pair, derived from its account key (kept nowhere else; rotated with it)."""
    secret = getattr(signer, "secret", None)
    if not isinstance(secret, bytes):
        raise ConfigError("this key holds no secret to derive the clinic's box key from")
    return BoxKeypair.from_seed(secret)


def least_decoys(client: RpcClient, cases: int) -> int:
    """The chain's least decoys for a job of `cases` cases: `compute.sample_size` (never more than the cases)."""
    from btt_chain.miner.rpc_loop import param_value

    return max(1, min(param_value(client, "compute.sample_size"), cases))


def label_names(spec: ModelSpec) -> Callable[[int], str]:
    return lambda c: spec.labels[c] if c < len(spec.labels) else str(c)


def resolve_decoys(client: RpcClient, cases: int, decoys: int | None) -> int:
    least = least_decoys(client, cases)
    if decoys is None:
        return least
    if decoys < least:
        raise ConfigError(f"--decoys {decoys}: the chain checks a provider only on decoys and takes at least {least} "
                          f"for a job of {cases} cases (compute.sample_size)")
    return decoys


def drive(driver: Any, out: Callable[[str], None]) -> None:
    """Tick a private job's driver until the job has ended; a failed step is said and tried again."""
    while True:
        try:
            if driver.tick():
                return
        except BttError as exc:
            out(f"private job #{driver.job_id}: {exc}; trying again")
        time.sleep(DRIVE_INTERVAL_S)


def check_price(client: RpcClient, info: ChainInfo, model: bytes, items: int, decoys: int, price: int) -> None:
    """Refuse, before anything is sent, a price below what the chain takes for a private job of this size."""
    terms = client.call("btt_jobTerms", "0x" + model.hex(), items, 1, None, decoys)
    least = int(terms["minPrice"])
    if price < least:
        raise ConfigError(f"--price {info.format_amount(price)} is below the least a private job of {items} items "
                          f"({decoys} decoys) takes now: {info.format_amount(least)} (its provider's commit and the "
                          "reveal of every decoy)")


def post_private(client: RpcClient, info: ChainInfo, signer: Signer, submit: Any, model_hash: bytes, model_name: str,
                 cases_file: Path, decoys: int | None, decoy_file: Path | None, price: int, deadline_ms: int | None,
                 data_dir: Path | None, out: Callable[[str], None]) -> None:
    """`job post --cases FILE.npz`: post the file's cases privately and drive the job to its end."""
    from btt_chain.miner.clinic import default_deadline_ms
    from btt_chain.miner.private_clinic import PrivateJobDriver, ensure_clinic_key
    from btt_chain.miner.private_order import mix
    from btt_chain.miner.weights import use_node_weights
    from btt_chain.models.case_files import read_case_file

    use_node_weights(client)
    spec = model_spec(client.call("btt_model", "0x" + model_hash.hex()))
    found = read_case_file(cases_file, spec)
    labels: list[int | None] = list(found.labels) if found.labels else [None] * len(found)
    d = resolve_decoys(client, len(found), decoys)
    decoy_rows, decoy_labels = decoys_for(model_name, list(found.inputs), d, labels, decoy_file, spec,
                                          (list(found.inputs), labels))
    order = mix(model_hash, list(found.inputs), decoy_rows, labels, decoy_labels)
    items = len(order.items)
    check_price(client, info, model_hash, items, d, price)
    if deadline_ms is None:
        deadline_ms = default_deadline_ms(client, model_hash, items, 1, d)
    address = encode_address(signer.account, info.ss58_prefix)
    keypair = clinic_box(signer)
    ensure_clinic_key(client, submit, address, keypair, out)
    genesis = parse_hash(client.call("chain_getBlockHash", 0))
    folder = order_dir(data_dir, genesis, address)
    driver = PrivateJobDriver(client, submit, out, keypair, order, folder / f"pending-{order.salt.hex()[:16]}.json",
                              genesis, spec, label_names(spec))
    job_id = driver.post(price, deadline_ms)
    out(f"private job #{job_id}: its {len(found)} cases are sealed to the provider drawn and never leave this machine "
        f"in the clear; waiting for it to end (after Ctrl-C, `btt-chain job resume {driver.path}` goes on)")
    drive(driver, out)


def private_clinic(client: RpcClient, info: ChainInfo, signer: Signer, submit: Any, model_hash: bytes,
                   model_name: str, cases: str, items: int, decoys: int | None, decoy_file: Path | None, price: int,
                   deadline_ms: int, data_dir: Path | None, out: Callable[[str], None]) -> Any:
    """The loop `job clinic` runs for private jobs: `cases` is `generated` (fresh labelled cases the model's generator
    draws, standing in for a clinic's own) or a path to the clinic's .npz; `items` real cases per job."""
    from btt_chain.miner.private_clinic import PrivateClinicLoop, ensure_clinic_key
    from btt_chain.models.case_files import read_case_file

    spec = model_spec(client.call("btt_model", "0x" + model_hash.hex()))
    d = resolve_decoys(client, items, decoys)
    fit_on: Labelled | None = None
    if cases == "generated":
        from btt_chain.models.decoy_sources import reference_source
        from btt_chain.models.decoys import DecoyError

        try:
            reference_source(model_name)
        except DecoyError:
            raise ConfigError(f"--cases generated: no case generator ships for model {model_name}; give your own "
                              "cases (--cases FILE.npz, posted privately) or post the model's published ones "
                              "(--cases held-out, public)") from None

        def next_cases(n: int) -> Labelled:
            return generated_cases(model_name, n)
        kind = "fresh generated cases (not the model's published ones)"
    else:
        found = read_case_file(Path(cases), spec)
        fit_on = (list(found.inputs), list(found.labels) if found.labels else [None] * len(found))
        position = [0]

        def next_cases(n: int) -> Labelled:
            start = position[0] % len(found)
            rows = [found.inputs[(start + k) % len(found)] for k in range(min(n, len(found)))]
            labels: list[int | None] = [found.labels[(start + k) % len(found)] if found.labels else None
                                        for k in range(len(rows))]
            position[0] += len(rows)
            return rows, labels
        kind = f"the cases of {cases}"

    used = [0]  # decoy file rows taken by earlier jobs: each job takes fresh ones (a revealed decoy is public)

    def next_decoys(rows: list[bytes], labels: list[int | None], n: int) -> Labelled:
        drawn = decoys_for(model_name, rows, n, labels, decoy_file, spec, fit_on, used[0])
        used[0] += n if decoy_file is not None else 0
        return drawn

    check_price(client, info, model_hash, items + d, d, price)
    address = encode_address(signer.account, info.ss58_prefix)
    keypair = clinic_box(signer)
    ensure_clinic_key(client, submit, address, keypair, out)
    genesis = parse_hash(client.call("chain_getBlockHash", 0))
    out(f"clinic {address}: private jobs of {items} {kind} and {d} decoys of {model_name} for "
        f"{info.format_amount(price)}, one at a time; cases are sealed to each job's provider")
    return PrivateClinicLoop(client, submit, out, keypair, genesis, spec, model_hash, price, deadline_ms,
                             order_dir(data_dir, genesis, address), next_cases, next_decoys, items, d,
                             label_names(spec))


def cases_option(value: str | None) -> str | None:
    """`--cases` of `job clinic`: a kind, or an existing .npz file."""
    if value is None or value in ("generated", "synthetic", "held-out"):
        return value
    if not Path(value).is_file():
        raise click.BadParameter(f"{value}: give generated, synthetic, held-out or an existing .npz file")
    return value


def resume_private(client: RpcClient, info: ChainInfo, signer: Signer, submit: Any, path: Path,
                   out: Callable[[str], None]) -> None:
    """`job resume ORDER.json`: drive a private job posted earlier (its order file) to its end: seal, reveal, read."""
    from btt_chain.miner.private_clinic import PrivateJobDriver
    from btt_chain.miner.private_order import PrivateOrder
    from btt_chain.miner.weights import use_node_weights

    order = PrivateOrder.load(path)
    if order.job_id is None:
        raise ConfigError(f"{path}: this order was never posted (no job id): post the cases again")
    use_node_weights(client)
    spec = model_spec(client.call("btt_model", "0x" + order.model.hex()))
    job = client.call("btt_job", order.job_id)
    if job is None or job.get("private") is None:
        raise ConfigError(f"{path}: job {order.job_id} is not a private job on this chain")
    if job["requester"] != encode_address(signer.account, info.ss58_prefix):
        raise ConfigError(f"{path}: job {order.job_id} was posted by {job['requester']}, not by this key")
    genesis = parse_hash(client.call("chain_getBlockHash", 0))
    driver = PrivateJobDriver(client, submit, out, clinic_box(signer), order, path, genesis, spec, label_names(spec))
    out(f"private job #{order.job_id}: resumed from {path}")
    drive(driver, out)
