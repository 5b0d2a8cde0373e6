"""What psbridge checks of a Connect Sync configuration export on this machine: a zip that restores."""

from __future__ import annotations

import zipfile
from pathlib import Path

from psbridge.errors import UnexpectedOutputError


def export_entries(archive: Path, *, file_count: int | None = None, target: str | None = None) -> list[str]:
    """The file entries of an export zip (`get_server_configuration(fetch_to=...)`), checked to be a backup
    that restores: a zip whose every member reads back intact (CRC), holding at least one file, each entry
    a relative path with `/` separators and no `..` (Windows PowerShell 5.1's Compress-Archive writes
    `\\`, which other systems extract as one file named `Connectors\\x.xml`); exactly `file_count` files
    when given. What the files hold is not documented publicly, so it is not checked (docs/adsync.md).

    Raises:
        UnexpectedOutputError: the archive is none of that, naming why.
    """
    try:
        with zipfile.ZipFile(archive) as opened:
            names = [info.filename for info in opened.infolist() if not info.is_dir()]
            damaged = opened.testzip()
    except (zipfile.BadZipFile, OSError) as exc:
        raise UnexpectedOutputError(
            f"the export {archive} is not a readable zip archive: {exc}", target=target
        ) from exc
    if damaged is not None:
        raise UnexpectedOutputError(f"the export {archive} is damaged: {damaged!r} does not read back", target=target)
    if not names:
        raise UnexpectedOutputError(f"the export {archive} holds no file", target=target)
    for name in names:
        parts = name.split("/")
        if "\\" in name or name.startswith("/") or ":" in parts[0] or ".." in parts:
            raise UnexpectedOutputError(
                f"the export {archive} has an entry that does not extract as a relative path: {name!r}",
                target=target,
            )
    if file_count is not None and len(names) != file_count:
        raise UnexpectedOutputError(
            f"the fetched export {archive} holds {len(names)} files, but the server exported {file_count}",
            target=target,
        )
    return names
