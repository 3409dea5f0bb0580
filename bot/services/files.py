"""Content-addressed file storage under FILES_DIR: a file's path is its sha256, never user input."""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from pathlib import Path


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

    async def read(self, sha256: str) -> bytes:
        return await asyncio.to_thread(self.path_of(sha256).read_bytes)

    def exists(self, sha256: str) -> bool:
        return self.path_of(sha256).exists()
