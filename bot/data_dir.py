"""The data directory's permissions: private to this user, or refused.

Kept apart from `bot.app` (which imports the whole runtime) so that commands that only
read the data directory, such as ``resync audit verify``, start in a fraction of a second.
"""

from __future__ import annotations

import stat
from pathlib import Path

from config.settings import ConfigurationError

__all__ = ["secure_data_dir"]


def secure_data_dir(path: Path, *, create: bool = True) -> list[Path]:
    """Make the data directory private to this user, or refuse it.

    It holds conversations in clear (``checkpoints.db``), the audit log, the log file and,
    by default, keys. A directory others can write is refused: whoever could write there
    may already have replaced a key or a database, which no chmod undoes. A directory (or
    file in it) others can only read is tightened to 0700 (0600 for files) and named.

    Args:
        path: The data directory (``RESYNC_DATA_DIR``).
        create: Create it (0700) when missing; else a missing directory is left alone.

    Returns:
        What was tightened.

    Raises:
        ConfigurationError: Others can write the directory, it is not a directory, or
            something in it cannot be tightened.
    """
    setting = "data_dir (RESYNC_DATA_DIR)"
    if create:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    elif not path.exists():
        return []
    if not path.is_dir():
        raise ConfigurationError([f"{setting}: {path} is not a directory"])
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o022:
        raise ConfigurationError(
            [
                f"{setting}: {path} is writable by group or others (mode {mode:04o}), who "
                f"could replace keys, conversations or the audit log. Use a private directory "
                f"(chmod 0700 {path} after checking its content), or point RESYNC_DATA_DIR "
                f"at a new one (Resync creates it 0700)."
            ]
        )
    tightened: list[Path] = []
    for item in [path, *sorted(path.rglob("*"))]:
        try:
            info = item.lstat()
            if stat.S_ISLNK(info.st_mode) or not stat.S_IMODE(info.st_mode) & 0o077:
                continue
            item.chmod(stat.S_IMODE(info.st_mode) & 0o700)
        except FileNotFoundError:
            continue  # removed meanwhile (a SQLite -shm, say): nothing to protect
        except OSError as exc:
            raise ConfigurationError(
                [f"{setting}: cannot make {item} private ({exc.strerror}); chmod it to 0600"]
            ) from None
        tightened.append(item)
    return tightened
