"""The compiled parts of btt-chain: the state tree's engine (storage/_tree_native.c), the ed25519 batch that verify
threads share without the GIL and a block's signature messages (btt_chain/node/_sigbatch.c), the LevelDB read-ahead
(storage/_leveldb_multiget.c), the msgpack of a block's stored records (storage/_pack_native.c), a commit's loops
over its changes (storage/_commit_native.c), the common signed extrinsics' decoding
(btt_chain/primitives/_extrinsic_native.c) and the common balance transfers (runtime/_transfer_native.c).

Optional: where they cannot be built (no C compiler), the install goes on and each has its Python twin, which computes
the same: the tree's engine (storage/tree_engine.py), the signature checker's worker processes and Python cut
(btt_chain/node/precheck.py), the plain flat-state reads (storage/read_ahead.py), msgpack's own packer
(storage/record_pack.py), the commit's Python loops (storage/chaindb.py), the Python extrinsic decoder
(btt_chain/primitives/extrinsic.py) and the executive's Python path for transfers (runtime/transfer_native.py).
Everything else is in pyproject.toml."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("storage._tree_native", ["storage/_tree_native.c"], optional=True, extra_compile_args=["-O2"],
                  depends=["storage/blake2b.h"]),
        Extension("btt_chain.node._sigbatch", ["btt_chain/node/_sigbatch.c"], optional=True,
                  extra_compile_args=["-O2"], depends=["storage/blake2b.h"]),
        Extension("storage._leveldb_multiget", ["storage/_leveldb_multiget.c"], optional=True,
                  extra_compile_args=["-O2"], depends=["storage/read_ahead_api.h"]),
        Extension("storage._pack_native", ["storage/_pack_native.c"], optional=True, extra_compile_args=["-O2"]),
        Extension("storage._commit_native", ["storage/_commit_native.c"], optional=True, extra_compile_args=["-O2"]),
        Extension("btt_chain.primitives._extrinsic_native", ["btt_chain/primitives/_extrinsic_native.c"], optional=True,
                  extra_compile_args=["-O2"], depends=["storage/native_struct.h"]),
        Extension("runtime._transfer_native", ["runtime/_transfer_native.c"], optional=True,
                  extra_compile_args=["-O2"],
                  depends=["storage/blake2b.h", "storage/native_struct.h", "storage/read_ahead_api.h"]),
    ]
)
