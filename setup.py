"""The compiled parts of btt-chain: the state tree's engine (storage/_tree_native.c), the ed25519 batch that verify
threads share without the GIL and a block's signature messages (btt_chain/node/_sigbatch.c), the LevelDB read-ahead
(storage/_leveldb_multiget.c), the msgpack of a block's stored records (storage/_pack_native.c), a commit's loops
over its changes (storage/_commit_native.c), the common signed extrinsics' decoding
(btt_chain/primitives/_extrinsic_native.c), the common balance transfers (runtime/_transfer_native.c) and LevelDB 1.22
without seek compaction (storage/leveldb_src, which plyvel binds to: storage/leveldb_build.py).

Optional: where they cannot be built (no C compiler), the install goes on and each has its Python twin, which computes
the same: the tree's engine (storage/tree_engine.py), the signature checker's worker processes and Python cut
(btt_chain/node/precheck.py), the plain flat-state reads (storage/read_ahead.py), msgpack's own packer
(storage/record_pack.py), the commit's Python loops (storage/chaindb.py), the Python extrinsic decoder
(btt_chain/primitives/extrinsic.py) and the executive's Python path for transfers (runtime/transfer_native.py); plyvel
then uses the LevelDB its wheel bundles.
Everything else is in pyproject.toml."""

from pathlib import Path

from setuptools import Extension, setup

LEVELDB_SRC = Path("storage/leveldb_src")
PLYVEL_LEVELDB_SONAME = "libleveldb-e43d8649.so.1.22.0"
"""The name plyvel 1.5.1's wheel needs its LevelDB by (storage/leveldb_build.py holds the same, and checks the built
module's against it)."""


def leveldb_extension() -> Extension:
    """LevelDB 1.22 without seek compaction (storage/leveldb_src/README.md), as the module storage.libleveldb_btt:
    the library's sources as its CMake target builds them on POSIX, with LevelDB's definitions, the pre-C++11 string
    ABI plyvel's manylinux wheel was built with, and the SONAME plyvel needs."""
    sources = sorted(str(p) for p in LEVELDB_SRC.glob("*/*.cc"))
    return Extension(
        "storage.libleveldb_btt", [*sources, str(LEVELDB_SRC / "btt_module.cc")], optional=True, language="c++",
        include_dirs=[str(LEVELDB_SRC), str(LEVELDB_SRC / "include")],
        define_macros=[("LEVELDB_PLATFORM_POSIX", "1"), ("LEVELDB_COMPILE_LIBRARY", None),
                       ("LEVELDB_SHARED_LIBRARY", None), ("LEVELDB_HAS_PORT_CONFIG_H", "1"),
                       ("_GLIBCXX_USE_CXX11_ABI", "0"), ("NDEBUG", None),
                       ("BTT_LEVELDB_SONAME", f'"{PLYVEL_LEVELDB_SONAME}"')],
        extra_compile_args=["-O3", "-std=c++11"],
        extra_link_args=[f"-Wl,-soname,{PLYVEL_LEVELDB_SONAME}"],
        depends=sorted(str(p) for p in LEVELDB_SRC.glob("**/*.h")),
    )


setup(
    ext_modules=[
        leveldb_extension(),
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
