"""The one exception tree of btt-chain. Every error a user can meet derives from BttError."""

from __future__ import annotations


class BttError(Exception):
    """Something went wrong in btt-chain."""


class DecodeError(BttError):
    """Bytes are not a valid canonical encoding of the expected type."""


class InvalidExtrinsic(BttError):
    """The extrinsic cannot be included: bad signature, nonce, fee, mortality or call."""


class DispatchError(BttError):
    """A call failed inside a block; its fee was charged and its state changes rolled back."""

    def __init__(self, module: str, error: str, detail: str = "") -> None:
        self.module = module
        self.error = error
        self.detail = detail
        super().__init__(f"{module}.{error}" + (f": {detail}" if detail else ""))


class ExtrinsicFault(BttError):
    """The runtime failed on an extrinsic with an error no call may raise (a bug in the call, not a verdict on
    it): the block being built is abandoned, and the extrinsic is put in no block this node authors. `xt` is the
    extrinsic; the runtime's own error is the `__cause__`."""

    def __init__(self, xt: object, cause: BaseException) -> None:
        self.xt = xt
        super().__init__(f"the runtime failed applying the extrinsic: {type(cause).__name__}: {cause}")


class InvalidBlock(BttError):
    """The block breaks a consensus or runtime rule and must not be imported."""


class GenesisError(BttError):
    """The genesis file is invalid; the message lists every problem, one per line."""


class StorageError(BttError):
    """The database could not be opened, read or written."""


class ConfigError(BttError):
    """A command-line argument or configuration value is invalid."""
