"""Where download counts come from: a local file, or an http(s) URL.

A URL costs a bounded wait whatever its server does: each connection attempt
and each read wait at most `timeout` seconds, and the whole download, headers
included, at most `deadline` seconds (a server that trickles a byte now and
then never hits a per-read timeout). It is saved to a spooled temporary file,
at most MAX_DOWNLOAD_BYTES, so that a bad file can be read twice (format
sniffing) and is never half-imported.
"""

from __future__ import annotations

import os
import stat
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

import requests
import urllib3

# Kept in memory up to this size, on disk beyond.
SPOOL_IN_MEMORY = 64 * 1024 * 1024
# A month of the whole index is well under 100 MB; beyond this something is wrong.
MAX_DOWNLOAD_BYTES = 1024 * 1024 * 1024
READ_SIZE = 256 * 1024


class SourceError(Exception):
    """The source could not be read (missing file, network trouble, HTTP error)."""


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


@contextmanager
def open_source(
    source: str, *, timeout: float = 30.0, deadline: float = 600.0
) -> Iterator[IO[bytes]]:
    """A binary file for a path or an http(s) URL; raises SourceError with the reason."""
    if is_url(source):
        handle = download(source, timeout=timeout, deadline=deadline)
    elif "://" in source:
        raise SourceError(f"{source}: only file paths and http(s) URLs are supported")
    else:
        handle = _open_file(source)
    try:
        yield handle
    finally:
        handle.close()


def _open_file(path: str) -> IO[bytes]:
    # A pipe or a device may never end (or block on opening): only plain files.
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise SourceError(f"cannot read {path}: not a regular file")
        return open(path, "rb")  # noqa: SIM115 - the caller closes it
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from None


def download(url: str, *, timeout: float, deadline: float) -> IO[bytes]:
    """The body of `url` in a temporary file, within `deadline` seconds in all."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
    cancelled = threading.Event()
    outcome: list[BaseException | None] = []

    def fetch() -> None:
        try:
            _fetch(url, spool, timeout, cancelled)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            outcome.append(exc)
        else:
            outcome.append(None)
        finally:
            if cancelled.is_set():
                spool.close()

    # requests has no overall deadline (its timeouts are per read): the
    # download runs in a thread that is given up on when time is out. It
    # stops at its next read, or when the server's connection ends.
    worker = threading.Thread(target=fetch, name="import-download", daemon=True)
    worker.start()
    worker.join(deadline)
    if worker.is_alive():
        cancelled.set()
        raise SourceError(f"{url}: no complete answer within {deadline:g}s, nothing imported")
    error = outcome[0] if outcome else SourceError(f"{url}: the download stopped")
    if error is not None:
        spool.close()
        raise error
    spool.seek(0)
    return spool


def _fetch(url: str, spool: IO[bytes], timeout: float, cancelled: threading.Event) -> None:
    try:
        with requests.get(url, stream=True, timeout=(timeout, timeout)) as response:
            if response.status_code >= 400:
                raise SourceError(
                    f"{url}: the server answered HTTP {response.status_code} "
                    f"{response.reason or ''}".rstrip()
                )
            size = 0
            for chunk in response.iter_content(chunk_size=READ_SIZE):
                if cancelled.is_set():
                    return
                size += len(chunk)
                if size > MAX_DOWNLOAD_BYTES:
                    raise SourceError(
                        f"{url}: the file is larger than {MAX_DOWNLOAD_BYTES:,} bytes, "
                        "nothing imported"
                    )
                spool.write(chunk)
    except requests.Timeout:
        raise SourceError(f"{url}: timed out after {timeout:g}s") from None
    except requests.RequestException as exc:
        # A read that times out in the body comes wrapped in a ConnectionError.
        if exc.args and isinstance(exc.args[0], urllib3.exceptions.ReadTimeoutError):
            raise SourceError(f"{url}: timed out after {timeout:g}s") from None
        raise SourceError(f"{url}: download failed ({exc.__class__.__name__})") from None
