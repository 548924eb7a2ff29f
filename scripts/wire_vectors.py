"""Print the test vectors of docs/wire-format.md from the code (a test keeps the document equal to this).

Run: .venv/bin/python scripts/wire_vectors.py
"""

from __future__ import annotations

from btt_chain.primitives.block import Digest, Header
from btt_chain.primitives.extrinsic import TRANSACTION_VERSION, Era, Extrinsic, signing_payload
from btt_chain.primitives.keys import Keypair
from runtime.modules import RUNTIME

SEED = bytes(range(1, 33))
DEST = bytes([0xAB]) * 32
GENESIS = bytes([0x11]) * 32
BIRTH = bytes([0x22]) * 32
SPEC_VERSION = 5
AMOUNT = 12_500_000_000_000_000_000  # 12.5 BTT
NONCE = 7
TIP = 1_000


def vectors() -> list[str]:
    pair = Keypair(SEED)
    call = RUNTIME.call("balances.transfer_allow_death", DEST, AMOUNT)
    era = Era.mortal(64, 100)
    message = signing_payload(call, NONCE, TIP, era, GENESIS, BIRTH, SPEC_VERSION)
    xt = Extrinsic(pair.public, NONCE, TIP, era, call, pair.sign(message))
    header = Header(BIRTH, 101, 150, 1_800_000_000_000, bytes(32), bytes(32), bytes(32), pair.public,
                    Digest(bytes([0x33]) * 32))
    sealed = header.sealed(pair, GENESIS)
    return [
        f"secret seed            {SEED.hex()}",
        f"public key (signer)    {pair.public.hex()}",
        f"dest                   {DEST.hex()}",
        f"genesis hash           {GENESIS.hex()}",
        f"birth block hash       {BIRTH.hex()}",
        f"spec version           {SPEC_VERSION}",
        f"transaction version    {TRANSACTION_VERSION}",
        f"call transfer_allow_death module {call.module}, function {call.function}, value {AMOUNT} (12.5 BTT)",
        f"encoded call           {call.encode().hex()}",
        f"nonce, tip, era        {NONCE}, {TIP}, period 64 phase {era.phase} (born at block 100)",
        f"encoded era            {era.encode().hex()}",
        f"signing message        {message.hex()}",
        f"signature              {xt.signature.hex()}",
        f"encoded extrinsic      {xt.encode().hex()}",
        f"extrinsic hash         {xt.hash().hex()}",
        f"header seal message    {header.signing_payload(GENESIS).hex()}",
        f"sealed header          {sealed.encode().hex()}",
        f"block hash             {sealed.hash().hex()}",
    ]


if __name__ == "__main__":
    print("\n".join(vectors()))
