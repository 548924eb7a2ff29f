"""btt_chain.client: the light client. Keys (ed25519, sr25519, ECDSA), mnemonics, addresses, amounts, signing,
JSON-RPC over HTTP and WebSocket, dry runs, submit-and-watch and typed wallet calls, with no node dependencies: its
import graph is msgpack, pynacl, py-sr25519-bindings, coincurve, mnemonic, aiohttp and `btt_chain.primitives` (no
libp2p, plyvel or numpy), so `pip install btt-chain` is enough to use it. The CLI's wallet commands are built on it.

    from btt_chain.client import Wallet, keypair_from_uri, parse_btt
    alice = Wallet(keypair_from_uri("//Alice"), "http://127.0.0.1:9944")   # keypair_from_uri(uri, "sr25519")
    done = alice.transfer(bob_address, parse_btt("1.5"))   # watched to inclusion
    print(done.status["blockNumber"], done.events)
"""

from __future__ import annotations

from btt_chain.client.calls import CallTable
from btt_chain.client.chain import ChainInfo
from btt_chain.client.fee_estimate import FeeEstimate, estimate_fee
from btt_chain.client.keys import keypair_from_uri
from btt_chain.client.rpc import DEFAULT_RPC, RpcClient, RpcError
from btt_chain.client.submit import ExtrinsicFailed, NotSent, Submitted, dry_run, readable, sign_call, submit_call
from btt_chain.client.wallet import Wallet
from btt_chain.client.watch import TransactionDropped, submit_and_watch
from btt_chain.primitives.address import DEFAULT_SS58_PREFIX, decode_address, encode_address
from btt_chain.primitives.amounts import format_btt, parse_btt
from btt_chain.primitives.ecdsa import EcdsaKeypair
from btt_chain.primitives.keys import Keypair, Signer, dev_keypair
from btt_chain.primitives.mnemonic import generate as generate_mnemonic
from btt_chain.primitives.mnemonic import is_mnemonic, keypair_from_suri
from btt_chain.primitives.sr25519 import Sr25519Keypair

__all__ = [
    "DEFAULT_RPC", "DEFAULT_SS58_PREFIX", "CallTable", "ChainInfo", "EcdsaKeypair", "ExtrinsicFailed", "FeeEstimate",
    "Keypair", "NotSent", "RpcClient", "RpcError", "Signer", "Sr25519Keypair", "Submitted", "TransactionDropped",
    "Wallet", "decode_address", "dev_keypair", "dry_run", "encode_address", "estimate_fee", "format_btt",
    "generate_mnemonic", "is_mnemonic", "keypair_from_suri", "keypair_from_uri", "parse_btt", "readable", "sign_call",
    "submit_and_watch", "submit_call",
]
