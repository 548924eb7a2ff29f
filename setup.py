"""The compiled parts of btt-chain: the state tree's engine (storage/_tree_native.c), the ed25519 batch that verify
threads share without the GIL (btt_chain/node/_sigbatch.c), the LevelDB read-ahead (storage/_leveldb_multiget.c), the
msgpack of a block's stored records (storage/_pack_native.c) and the common balance transfers
(runtime/_transfer_native.c).

Optional: where they cannot be built (no C compiler), the install goes on; storage/state_tree.py uses the Python
engine (storage/tree_engine.py), which computes the same tree, the signature checker its worker processes, and the
flat state reads each key when it is asked for (storage/read_ahead.py), and every transfer takes the executive's Python
path (runtime/transfer_native.py), and the records are packed by msgpack itself (storage/record_pack.py).
Everything else is in pyproject.toml."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("storage._tree_native", ["storage/_tree_native.c"], optional=True, extra_compile_args=["-O2"],
                  depends=["storage/blake2b.h"]),
        Extension("btt_chain.node._sigbatch", ["btt_chain/node/_sigbatch.c"], optional=True,
                  extra_compile_args=["-O2"]),
        Extension("storage._leveldb_multiget", ["storage/_leveldb_multiget.c"], optional=True,
                  extra_compile_args=["-O2"]),
        Extension("storage._pack_native", ["storage/_pack_native.c"], optional=True, extra_compile_args=["-O2"]),
        Extension("runtime._transfer_native", ["runtime/_transfer_native.c"], optional=True,
                  extra_compile_args=["-O2"], depends=["storage/blake2b.h"]),
    ]
)
