"""The one compiled part of btt-chain: the state tree's batch update (storage/_smt_native.c).

Optional: where it cannot be built (no C compiler), the install goes on and storage/smt.py uses its Python update,
which computes the same tree. Everything else about the package is in pyproject.toml."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("storage._smt_native", ["storage/_smt_native.c"], optional=True, extra_compile_args=["-O2"]),
    ]
)
