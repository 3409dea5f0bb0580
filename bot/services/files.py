"""Content-addressed file storage under FILES_DIR: a file's path is its sha256, never user input."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import tempfile
from collections.abc import AsyncIterable
from pathlib import Path
from typing import BinaryIO


class TooLarge(Exception):
    """A stream went over the size it was allowed (nothing was kept)."""


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a sha256 hex digest")
        return self.root / sha256[:2] / sha256

    async def put(self, data: bytes) -> str:
        """Store ``data`` once (idempotent) and return its sha256."""
        digest = hashlib.sha256(data).hexdigest()
        await asyncio.to_thread(self._write, digest, data)
        return digest

    def _write(self, digest: str, data: bytes) -> None:
        target = self.path_of(digest)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def put_stream(self, chunks: AsyncIterable[bytes], limit: int) -> tuple[str, int]:
        """Store a download chunk by chunk: written to a temp file in FILES_DIR and hashed
        while written, then renamed to its content address. At most one chunk is in memory,
        and a stream longer than ``limit`` is abandoned (TooLarge) with nothing kept.
        Returns (sha256, size)."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        path = Path(tmp)
        digest = hashlib.sha256()
        size = 0
        try:
            with os.fdopen(fd, "wb") as fh:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > limit:
                        raise TooLarge
                    digest.update(chunk)
                    await asyncio.to_thread(fh.write, chunk)
                await asyncio.to_thread(_sync, fh)
            sha = digest.hexdigest()
            await asyncio.to_thread(self._move, path, sha)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.remove(tmp)  # a small sync call: must also run when cancelled
            raise
        return sha, size

    def _move(self, tmp: Path, digest: str) -> None:
        target = self.path_of(digest)
        if target.exists():
            tmp.unlink(missing_ok=True)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, target)

    async def read(self, sha256: str) -> bytes:
        return await asyncio.to_thread(self.path_of(sha256).read_bytes)

    def exists(self, sha256: str) -> bool:
        return self.path_of(sha256).exists()


def _sync(fh: BinaryIO) -> None:
    fh.flush()
    os.fsync(fh.fileno())
