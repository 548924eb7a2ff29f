"""The compiled parts of btt-chain: the state tree's engine (storage/_tree_native.c), the ed25519 batch that verify
threads share without the GIL (btt_chain/node/_sigbatch.c) and the LevelDB read-ahead (storage/_leveldb_multiget.c).

Optional: where they cannot be built (no C compiler), the install goes on; storage/state_tree.py uses the Python
engine (storage/tree_engine.py), which computes the same tree, the signature checker its worker processes, and the
flat state reads each key when it is asked for (storage/read_ahead.py).
Everything else is in pyproject.toml."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("storage._tree_native", ["storage/_tree_native.c"], optional=True, extra_compile_args=["-O2"]),
        Extension("btt_chain.node._sigbatch", ["btt_chain/node/_sigbatch.c"], optional=True,
                  extra_compile_args=["-O2"]),
        Extension("storage._leveldb_multiget", ["storage/_leveldb_multiget.c"], optional=True,
                  extra_compile_args=["-O2"]),
    ]
)
