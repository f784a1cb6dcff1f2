"""Downloads with checksum verification: a file is kept only when its MD5 (data sets) or SHA-256 (weights) matches."""
from __future__ import annotations

import gzip
import hashlib
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from cnnlab.data.dataset import DataError
from cnnlab.data.io import GZIP_MAGIC

Progress = Callable[[str, int, int | None], None]  # (file name, bytes so far, total bytes or None)
CHUNK = 1 << 16


@dataclass(frozen=True)
class RemoteFile:
    """A public file and the checksum that identifies it: an MD5 (data sets) and/or a SHA-256 (weights)."""

    name: str
    md5: str = ""
    md5_of: str = "file"  # "file": the bytes as served; "content": after gunzip (survives re-compression)
    sha256: str = ""  # of the bytes as served; checked when given

    def describe(self, path: Path) -> str:
        """What `path` hashes to, against what is expected (for an error message)."""
        if self.sha256:
            return f"SHA-256 {file_sha256(path)}, expected {self.sha256}"
        return f"MD5 {file_md5(path, content=self.md5_of == 'content')}, expected {self.md5}"


def file_md5(path: Path, content: bool = False) -> str:
    """MD5 of the file's bytes, or of its decompressed bytes when `content` and the file is gzip."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        gz = content and fh.read(2) == GZIP_MAGIC
    opener = gzip.open if gz else open
    with opener(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """SHA-256 of the file's bytes (hex), read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path: Path, remote: RemoteFile) -> bool:
    """True when `path` has the expected checksum(s)."""
    try:
        if remote.sha256 and file_sha256(path) != remote.sha256.lower():
            return False
        return not remote.md5 or file_md5(path, content=remote.md5_of == "content") == remote.md5
    except (OSError, EOFError):
        return False


def download_url(url: str, dest: Path, progress: Progress | None = None, timeout: float = 60) -> None:
    """Stream `url` into `dest` via a temporary `.part` file, renamed only when complete."""
    part = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as out:
            total = response.headers.get("Content-Length")
            total = int(total) if total and total.isdigit() else None
            done = 0
            while chunk := response.read(CHUNK):
                out.write(chunk)
                done += len(chunk)
                if progress:
                    progress(dest.name, done, total)
        if total is not None and done != total:
            raise OSError(f"connection closed after {done} of {total} bytes")
        os.replace(part, dest)
    finally:
        part.unlink(missing_ok=True)


def fetch(files: tuple[RemoteFile, ...], mirrors: list[str], folder: Path,
          progress: Progress | None = None) -> Path:
    """Make sure every file is in `folder` with its checksum, downloading from the first mirror that works."""
    folder.mkdir(parents=True, exist_ok=True)
    for remote in files:
        dest = folder / remote.name
        if dest.is_file() and verify(dest, remote):
            continue
        errors = []
        for mirror in mirrors:
            url = mirror.rstrip("/") + "/" + remote.name
            try:
                download_url(url, dest, progress)
            except (urllib.error.URLError, OSError, ValueError) as exc:
                errors.append(f"{url}: {getattr(exc, 'reason', exc)}")
                continue
            if verify(dest, remote):
                break
            got = remote.describe(dest)
            dest.unlink(missing_ok=True)
            errors.append(f"{url}: checksum mismatch ({got}); file rejected")
        else:
            if len(errors) == 1:  # one source: one line
                raise DataError(f"could not download {remote.name}: {errors[0]}")
            raise DataError(f"could not download {remote.name}:\n  " + "\n  ".join(errors or ["no mirror"]))
    return folder


def extract_tar(archive: Path, into: Path) -> None:
    """Unpack a (gzip) tar archive, refusing members that would land outside `into`."""
    import tarfile

    into.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive) as tar:
            root = into.resolve()
            for member in tar.getmembers():
                target = (into / member.name).resolve()
                if root not in target.parents and target != root or member.issym() or member.islnk():
                    raise DataError(f"{archive}: unsafe member {member.name!r}")
            tar.extractall(into)  # members checked above
    except tarfile.TarError as exc:
        raise DataError(f"{archive}: corrupt archive ({exc})") from None

