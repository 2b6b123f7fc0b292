"""Writing secrets to disk: atomically and never readable by anyone but the owner.

Contract
--------
* `write_private` replaces a file in one rename with mode 0600, so a reader sees the old content or
  the new, never a partial file, and the secret is never briefly world-readable. The TLS private
  keys (kcpsite.tls), the admin token and the admin kubeconfig (kcpsite.admin_access) go through it.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically with mode 0600.

    The temporary file is created 0600 by mkstemp in the same directory and renamed over the
    target, so readers never see a partial file and the secret is never briefly world-readable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
