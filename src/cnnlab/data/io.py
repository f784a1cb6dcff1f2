"""Reading raw bytes from plain or gzip files, with errors that name the file."""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path

from cnnlab.data.base import DataError

GZIP_MAGIC = b"\x1f\x8b"


def read_bytes(path: str | Path) -> bytes:
    """The file's contents, decompressed when it is gzip (detected from its first bytes, not its name)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, expected a file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None
    if raw[:2] == GZIP_MAGIC:
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{path}: corrupt or truncated gzip data ({exc})") from None
    return raw


def head_bytes(path: str | Path, n: int = 4096) -> bytes:
    """The first `n` bytes of the (decompressed) file, for format detection."""
    path = Path(path)
    with open(path, "rb") as fh:
        start = fh.read(2)
    try:
        if start == GZIP_MAGIC:
            with gzip.open(path, "rb") as fh:
                return fh.read(n)
        with open(path, "rb") as fh:
            return fh.read(n)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None
