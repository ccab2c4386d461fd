"""Storage errors.

StorageError
 ├── StorageConfigError   a DSN or data dir that cannot work
 └── StorageLockedError   the embedded data dir is held by another process
"""

from __future__ import annotations

__all__ = ["StorageError", "StorageConfigError", "StorageLockedError"]


class StorageError(Exception):
    """Root of every storage error."""


class StorageConfigError(StorageError):
    """The storage configuration cannot work."""


class StorageLockedError(StorageError):
    """Embedded chDB's data dir is locked by another process."""
