"""The compiled parts of btt-chain: the state tree's engine (storage/_tree_native.c) and the ed25519 batch that verify
threads share without the GIL (btt_chain/node/_sigbatch.c).

Optional: where they cannot be built (no C compiler), the install goes on; storage/state_tree.py uses the Python
engine (storage/tree_engine.py), which computes the same tree, and the signature checker its worker processes.
Everything else is in pyproject.toml."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("storage._tree_native", ["storage/_tree_native.c"], optional=True, extra_compile_args=["-O2"]),
        Extension("btt_chain.node._sigbatch", ["btt_chain/node/_sigbatch.c"], optional=True,
                  extra_compile_args=["-O2"]),
    ]
)
