"""Where uploaded documents live: a small file-store interface, and its directory store.

Why an interface: the applicants' portraits and CCCD photos are personal data that must never
sit under a public path, and a deployment with several gateway hosts needs them on shared
storage (a mounted volume today, an object store tomorrow) without the services changing.
The services only ever call ``put``, ``get`` and ``delete`` with opaque keys.

:class:`DirectoryFileStore` keeps each file under ``FILE_STORE_DIR`` (default
``instance/uploads``, outside ``gateway/static``): random 32-hex-digit names with the type's
suffix, spread over 256 sub-directories, written to a temporary name and renamed (a crash never
leaves half a file under a real key), mode 0600 in 0700 directories. A key that is not of the
store's own form is refused before any path is built, so no key can climb out of the root.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Protocol

SUFFIXES = {"image/jpeg": "jpg", "image/png": "png"}
_KEY_RE = re.compile(r"[0-9a-f]{32}\.(?:jpg|png)")


class FileNotFound(Exception):
    """No file under this key (never stored, or deleted)."""


class FileStore(Protocol):
    def put(self, data: bytes, content_type: str) -> str:
        """Store `data` under a new random key and return the key."""

    def get(self, key: str) -> bytes:
        """The bytes under `key`; FileNotFound if there are none."""

    def delete(self, key: str) -> None:
        """Remove the file under `key`; nothing if there is none."""


def content_type_of(key: str) -> str:
    return "image/png" if key.endswith(".png") else "image/jpeg"


class DirectoryFileStore:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not isinstance(key, str) or not _KEY_RE.fullmatch(key):
            raise FileNotFound(key)
        return self.root / key[:2] / key

    def put(self, data: bytes, content_type: str) -> str:
        key = f"{secrets.token_hex(16)}.{SUFFIXES[content_type]}"
        path = self._path(key)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = path.with_name(f".{key}.{secrets.token_hex(4)}.part")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return key

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise FileNotFound(key) from None

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except FileNotFound:
            return


def file_store_for(settings: dict) -> FileStore:
    return DirectoryFileStore(settings["FILE_STORE_DIR"])
