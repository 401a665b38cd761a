"""Where reports are written (`REPORTING_REPORTS_DIR`): a local directory, or an object store URL such as
`s3://bucket/prefix` through fsspec (s3fs: `pip install -e ".[s3]"`; other stores with their fsspec package).

A write is atomic: a local file is written aside then renamed; an object is one PUT (s3fs sends a file this small
in one request), so a reader gets the old report or the new one, never half. Credentials and endpoints come from
the store's own standard settings (for S3: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ENDPOINT_URL`...),
never from this project, which never logs them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from reporting_assets.redact import mask_urls

PROBE = ".paradigm-reporting-probe"


def is_remote(location: str) -> bool:
    return "://" in location and not location.startswith("file://")


def shown(location: str) -> str:
    """`location` fit to print: any user or password in it masked (the one redactor's rule)."""
    return mask_urls(location)


def _remote(location: str, name: str) -> tuple[Any, str]:
    """The fsspec file system of an object store URL, and the path of `name` in it."""
    from fsspec.core import url_to_fs  # on use: only remote stores need it

    fs, root = url_to_fs(location)
    return fs, f"{root.rstrip('/')}/{name}"


def where(location: str, name: str) -> str:
    """Where `name` under `location` is, fit to print."""
    if is_remote(location):
        return f"{shown(location).rstrip('/')}/{name}"
    return str(Path(location.removeprefix("file://")) / name)


def read_bytes(location: str) -> bytes:
    """The bytes of the file at `location`: a path, or an object store URL (a missing file raises
    FileNotFoundError either way)."""
    if is_remote(location):
        from fsspec.core import url_to_fs

        fs, path = url_to_fs(location)
        return fs.cat_file(path)
    return Path(location.removeprefix("file://")).read_bytes()


def write(location: str, name: str, text: str) -> tuple[str, int]:
    """Write `text` as `name` under `location`, atomically; returns where (printable) and the bytes written."""
    data = text.encode("utf-8")
    if is_remote(location):
        fs, path = _remote(location, name)
        fs.pipe_file(path, data)
        return where(location, name), len(data)
    path = Path(location.removeprefix("file://")) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    os.replace(partial, path)  # readers never see a half-written file
    return str(path), len(data)


@contextmanager
def open_write(location: str, name: str) -> Iterator[IO[bytes]]:
    """A binary file that becomes `name` under `location` when the block ends without error (a local file is
    renamed into place; an object is committed on close, and discarded on error)."""
    if is_remote(location):
        fs, path = _remote(location, name)
        target = fs.open(path, "wb")
        try:
            yield target
        except BaseException:
            target.discard()
            raise
        target.close()
        return
    path = Path(location.removeprefix("file://")) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("wb") as target:
            yield target
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def exists(location: str, name: str) -> bool:
    """Whether `name` is stored under `location`."""
    if is_remote(location):
        fs, path = _remote(location, name)
        return bool(fs.exists(path))
    return (Path(location.removeprefix("file://")) / name).is_file()


def remove(location: str, name: str) -> None:
    """Delete `name` under `location`."""
    if is_remote(location):
        fs, path = _remote(location, name)
        fs.rm_file(path)
    else:
        (Path(location.removeprefix("file://")) / name).unlink()


def check(location: str) -> None:
    """Raise unless a report can be written to `location` (a probe written, then removed)."""
    write(location, PROBE, "probe")
    remove(location, PROBE)
