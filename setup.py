"""The one compiled part of btt-chain: the state tree's engine (storage/_tree_native.c).

Optional: where it cannot be built (no C compiler), the install goes on and storage/state_tree.py uses the Python
engine (storage/tree_engine.py), which computes the same tree. Everything else is in pyproject.toml."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("storage._tree_native", ["storage/_tree_native.c"], optional=True, extra_compile_args=["-O2"]),
    ]
)
