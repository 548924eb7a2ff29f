"""Primitives every layer may import: codec, hashing, keys, addresses, amounts, header, block, extrinsic."""
