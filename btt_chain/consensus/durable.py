"""Durable small files for signing safety: written to a temporary file, fsynced, renamed, directory fsynced.

With `private=True` (a clinic's order file, a miner's results: plaintext cases, outputs and sealing secrets) the file
is created mode 0600 from the start (never loosened by the umask, never chmod-ed after its content is written) and its
directory kept 0700 (`private_dir`), as the keystore keeps its key files."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path
from typing import Any

log = logging.getLogger("btt.files")

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def private_dir(directory: Path) -> Path:
    """Make `directory` (and each missing parent) mode 0700, or tighten it to 0700 where it exists with looser modes
    (said in the log): what it holds is readable by its owner only. Existing parents are left as they are."""
    directory = Path(directory)
    missing: list[Path] = []
    d = directory
    while not d.exists():
        missing.append(d)
        if d.parent == d:
            break
        d = d.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=PRIVATE_DIR_MODE)  # the umask can only take bits away from 0700
        except FileExistsError:
            pass
    mode = stat.S_IMODE(directory.stat().st_mode)
    if mode & 0o077:
        log.warning("%s was mode %o, readable by others: made 0700 (it holds private cases, outputs or secrets)",
                    directory, mode)
        os.chmod(directory, mode & ~0o077 | 0o700)
    return directory


def write_json_durably(path: Path, data: Any, private: bool = False) -> None:
    """Replace `path` with `data` as JSON so that after a crash it holds either the old or the new content; with
    `private`, the file is 0600 from its creation and its directory 0700 (`private_dir`)."""
    tmp = path.with_suffix(".tmp")
    if private:
        private_dir(path.parent)
        tmp.unlink(missing_ok=True)  # a leftover keeps its mode: O_EXCL creates the file afresh with 0600
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), PRIVATE_FILE_MODE)
        try:
            fh = os.fdopen(fd, "w")
        except BaseException:
            os.close(fd)
            raise
    else:
        fh = open(tmp, "w")
    with fh:
        json.dump(data, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
