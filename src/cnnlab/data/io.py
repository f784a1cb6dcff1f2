"""Reading raw bytes from plain or gzip files, and text in the encoding its bytes say; errors name the file."""
from __future__ import annotations

import codecs
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


BOMS = ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xef\xbb\xbf", "utf-8"),
        (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))  # longest first: UTF-32 LE starts like UTF-16 LE
FALLBACK = "cp1252"  # what Excel on Windows saves "CSV" as; a superset of Latin-1's printable characters
# byte → character of cp1252, with the five bytes it leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) as Latin-1
CP1252_TABLE = "".join(bytes([b]).decode(FALLBACK, "ignore") or chr(b) for b in range(256))


def decode_text(raw: bytes, path: Path | str) -> tuple[str, str]:
    """(text, encoding) of a text file's bytes: the encoding its BOM names (UTF-8/16/32), else UTF-8, else
    Windows-1252 (bytes cp1252 leaves undefined read as Latin-1).  Undecodable BOM'd text raises a DataError."""
    for bom, encoding in BOMS:
        if raw.startswith(bom):
            try:
                return raw[len(bom):].decode(encoding), encoding
            except UnicodeDecodeError as exc:
                raise DataError(f"{path}: starts with a {encoding.upper()} byte-order mark but byte {exc.start} "
                                f"is not {encoding.upper()}") from None
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return codecs.charmap_decode(raw, "strict", CP1252_TABLE)[0], FALLBACK



def head_text(head: bytes) -> str:
    """The first bytes of a file as text, for format detection (a cut character is replaced)."""
    for bom, encoding in BOMS:
        if head.startswith(bom):
            return head[len(bom):].decode(encoding, "replace")
    return head.decode("utf-8", "replace")
