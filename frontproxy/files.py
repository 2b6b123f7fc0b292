"""Atomic file writes for the proxy's files: a reader (HAProxy starting, an operator) sees the old
content or the new, never a partial file. Mode 0600: the maps name every workspace, `server.pem`
holds a private key."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path


def write_atomic(path: Path, chunks: Iterable[str]) -> int:
    """Write the concatenated `chunks` to `path` in one rename (0600); return the chunk count.
    Streams: a million-line map is never held in memory as one string."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8", buffering=1 << 20) as f:
            for chunk in chunks:
                f.write(chunk)
                count += 1
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return count
