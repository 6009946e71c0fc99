"""The snapshot artifact: the screening universe as files a new container maps instead of rebuilding.

Written by the ingest pipeline's Aggregate task after it publishes a snapshot version, to
``s3://$SNAPSHOT_BUCKET/snapshots/<version>-<token>/`` (``token``: a digest of the version's
creation time, so a rebuilt database that reuses version numbers never reads a stale artifact).
An API container downloads a file the first time a screen needs it, into
``$SNAPSHOT_CACHE_DIR/<version>-<token>/``, and memory-maps it: nothing is parsed, the operating
system pages in what a screen reads.

Files (NumPy ``.npy``, no pickles; ``manifest.json`` last, so a half-written artifact is never used):

| file | shape | what |
|---|---|---|
| ``bar_o.npy`` ... ``bar_v.npy`` | ``(dates, securities)`` float64 | the bars grid (NaN: no bar), one file per field |
| ``bar_a.npy`` | ``(dates, securities)`` float64 | adjusted closes (NaN: none), if any bar has one (``adjusted``) |
| ``latest.npy`` | ``(fields, securities)`` float64 | each snapshot field on the latest date (the snapshot rows) |
| ``fundamentals.npy`` | ``(inputs, securities)`` float64 | the latest report's inputs of the fundamental metrics |
| ``codes.npy`` | ``(text fields, securities)`` int32 | text fields as codes into the manifest's categories |
| ``datecols.npy`` | ``(date fields, securities)`` float64 | date fields as days since 1970-01-01 |
| ``symbols.npy``, ``dates.npy`` | ``(securities,)``, ``(dates,)`` | row and column labels |

A ``(dates, securities)`` C array is, transposed, exactly the universe's production layout
(column-major ``(securities, dates)``: one date's values contiguous), so a mapped bar file *is*
the grid, with no copy. A screen on the latest date reads ``latest.npy`` only (a few MB at
10,000 securities); the bar files are fetched when a screen first needs history.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from stockscreen.core.envsettings import EnvSettings
from stockscreen.screening.history import F2, Frame
from stockscreen.screening.universe import Categorical, Universe

if TYPE_CHECKING:
    from numpy.typing import NDArray

FORMAT = 1
MANIFEST = "manifest.json"
BARS = ("o", "h", "lo", "c", "v")
#: the adjusted close's grid (``Frame.a``), written only when some bar has one
ADJUSTED = "a"
PREFIX = "snapshots/"


class ArtifactSettings(EnvSettings):
    """Where artifacts live. Without a bucket there are none: the universe is loaded from PostgreSQL."""

    snapshot_bucket: str | None = Field(default=None, description="S3 bucket of snapshot artifacts")
    snapshot_cache_dir: str = Field(
        default=os.path.join(tempfile.gettempdir(), "stockscreen-snapshots"),
        description="local folder the artifact files are downloaded to and mapped from (Lambda: /tmp)",
    )


@cache
def artifact_settings() -> ArtifactSettings:
    return ArtifactSettings()


def name_of(version: int, created: str) -> str:
    """The artifact's folder name: the version and a digest of its creation time."""
    return f"{version}-{hashlib.sha256(created.encode()).hexdigest()[:12]}"


# ---------------------------------------------------------------- writing


def write(u: Universe, folder: Path, reference: str = "") -> list[Path]:
    """The universe's files into ``folder`` (the manifest last). Histories computed in memory are not
    written: the artifact holds what the database load reads, so both give the same universe."""
    folder.mkdir(parents=True, exist_ok=True)
    fr = u.daily
    files: list[Path] = []

    def save(name: str, arr: NDArray[Any]) -> None:
        path = folder / name
        np.save(path, arr, allow_pickle=False)
        files.append(path)

    for k in BARS:
        save(f"bar_{k}.npy", np.ascontiguousarray(getattr(fr, k).T))
    if fr.a is not None:
        save(f"bar_{ADJUSTED}.npy", np.ascontiguousarray(fr.a.T))
    save("symbols.npy", np.asarray(u.symbols, dtype=str))
    save("dates.npy", np.asarray(fr.dates, dtype="datetime64[D]"))
    latest = sorted(u.latest)
    save("latest.npy", _rows([u.latest[k] for k in latest], u.n, np.float64))
    funds = sorted(fr.fundamentals)
    save("fundamentals.npy", _rows([fr.fundamentals[k] for k in funds], u.n, np.float64))
    texts = sorted(u.strings)
    save("codes.npy", _rows([u.strings[k].codes for k in texts], u.n, np.int32))
    date_fields = sorted(u.dates)
    save("datecols.npy", _rows([u.dates[k] for k in date_fields], u.n, np.float64))
    manifest = {
        "format": FORMAT,
        "version": int(u.version),
        "as_of": u.as_of.isoformat(),
        "cache_key": u.cache_key,
        "reference": reference,
        "securities": u.n,
        "dates": len(fr.dates),
        "last_date": str(fr.dates[-1]) if len(fr.dates) else None,
        "bars": int(np.count_nonzero(~np.isnan(fr.c))),
        "adjusted": fr.a is not None,
        "latest": latest,
        "fundamentals": funds,
        "strings": {k: u.strings[k].categories for k in texts},
        "date_fields": date_fields,
        "files": {p.name: p.stat().st_size for p in files},
    }
    path = folder / MANIFEST
    path.write_text(json.dumps(manifest))
    files.append(path)
    return files


def _rows(cols: list[NDArray[Any]], n: int, dtype: type) -> NDArray[Any]:
    out: NDArray[Any] = np.empty((len(cols), n), dtype=dtype)
    for i, c in enumerate(cols):
        out[i] = c
    return out


def publish(u: Universe, bucket: str, s3: Any, created: str, reference: str = "") -> str:
    """Write the universe's artifact and upload it (the manifest last); returns its S3 prefix.
    ``reference``: :func:`~stockscreen.screening.universe.reference_fingerprint` when ``u`` was loaded."""
    prefix = PREFIX + name_of(u.version, created) + "/"
    with tempfile.TemporaryDirectory(prefix="snapshot-artifact-") as tmp:
        upload(write(u, Path(tmp), reference), bucket, s3, prefix)
    return prefix


def upload(files: list[Path], bucket: str, s3: Any, prefix: str) -> None:
    """Upload an artifact's files under ``prefix``, the manifest last (a reader never sees half of one)."""
    for path in sorted(files, key=lambda p: p.name == MANIFEST):
        s3.upload_file(str(path), bucket, prefix + path.name)


#: bytes of an old bar file re-uploaded with the new header (S3 parts but the last are at least 5 MiB)
HEAD_PART = 8 << 20
#: the largest range of an old bar file copied as one part (S3 allows 5 GiB)
COPY_PART = 1 << 30


def previous_manifest(bucket: str, s3: Any, prefix: str) -> dict[str, Any] | None:
    """The manifest of the artifact at ``prefix``, or None when there is none."""
    from botocore.exceptions import ClientError

    try:
        body = s3.get_object(Bucket=bucket, Key=prefix + MANIFEST)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NoSuchBucket"):
            return None
        raise
    manifest: dict[str, Any] = json.loads(body)
    return manifest


def append(
    new: Universe, bucket: str, s3: Any, previous: str, manifest: dict[str, Any], prefix: str, reference: str, bars: int
) -> str | None:
    """Write the artifact at ``prefix`` as the previous one (``previous``, its ``manifest``) with the sessions of
    ``new`` (a universe of the bars after the previous artifact's last date, :func:`universe.load` with
    ``after``) appended: each bar file is composed in S3 from its old bytes (a server-side copy) and the new
    rows, so a daily run uploads a few MB whatever the length of the history. False (nothing written) when
    the two do not line up: another format, other reference data, other securities, no new sessions after
    the last one, or a bar count other than ``bars`` (the database's: some older bar was added or removed).
    Returns None when appended, else why not."""
    fr = new.daily
    if manifest.get("format") != FORMAT or manifest.get("reference") != reference:
        return "another format or other reference data"
    if manifest.get("securities") != new.n:
        return "other securities"
    if manifest.get("last_date") is None or fr.dates[0] <= np.datetime64(manifest["last_date"], "D"):
        return "no session after the last one"
    if fr.a is not None and not manifest.get("adjusted"):
        return "adjusted closes appeared"
    added = int(np.count_nonzero(~np.isnan(fr.c)))
    if int(manifest.get("bars", -1)) + added != bars:
        return "older bars added or removed"
    with tempfile.TemporaryDirectory(prefix="snapshot-artifact-") as tmp:
        folder = Path(tmp)
        old_symbols = folder / "old-symbols.npy"
        s3.download_file(bucket, previous + "symbols.npy", str(old_symbols))
        if not np.array_equal(np.load(old_symbols, allow_pickle=False), np.asarray(new.symbols, dtype=str)):
            return "other securities"
        old_dates = folder / "old-dates.npy"
        s3.download_file(bucket, previous + "dates.npy", str(old_dates))
        dates = np.concatenate([np.load(old_dates, allow_pickle=False), fr.dates.astype("datetime64[D]")])
        files = [p for p in write(new, folder / "new", reference) if not p.name.startswith("bar_")]
        written = json.loads((folder / "new" / MANIFEST).read_text())
        np.save(folder / "new" / "dates.npy", dates, allow_pickle=False)
        sizes = {p.name: p.stat().st_size for p in files if p.name != MANIFEST}
        adjusted = bool(manifest.get("adjusted"))
        for k in (*BARS, ADJUSTED) if adjusted else BARS:
            name = f"bar_{k}.npy"
            new_rows = getattr(fr, k) if k != ADJUSTED or fr.a is not None else np.full(fr.c.shape, np.nan)
            rows = np.ascontiguousarray(new_rows.T)  # (new dates, securities)
            sizes[name] = _append_rows(bucket, s3, previous + name, prefix + name, rows, len(dates))
        written.update(
            dates=len(dates), last_date=str(dates[-1]), bars=bars, adjusted=adjusted, files=sizes, appended_to=previous
        )
        (folder / "new" / MANIFEST).write_text(json.dumps(written))
        upload(files, bucket, s3, prefix)  # the manifest last
    return None


def _append_rows(bucket: str, s3: Any, old_key: str, key: str, rows: NDArray[Any], dates: int) -> int:
    """``old_key`` (a ``(dates - len(rows), securities)`` .npy) with ``rows`` appended, as ``key``; its size."""
    import io

    size = int(s3.head_object(Bucket=bucket, Key=old_key)["ContentLength"])
    first = s3.get_object(Bucket=bucket, Key=old_key, Range=f"bytes=0-{min(HEAD_PART, size) - 1}")["Body"].read()
    buf = io.BytesIO(first)
    version = np.lib.format.read_magic(buf)
    read_header, write_header = (
        (np.lib.format.read_array_header_1_0, np.lib.format.write_array_header_1_0)
        if version == (1, 0)
        else (np.lib.format.read_array_header_2_0, np.lib.format.write_array_header_2_0)
    )
    shape, fortran, dtype = read_header(buf)
    header_len = buf.tell()
    if fortran or dtype != rows.dtype or shape[1:] != rows.shape[1:] or shape[0] + len(rows) != dates:
        raise ValueError(f"{old_key}: shape {shape} cannot take {rows.shape[0]} more rows")
    head = io.BytesIO()
    write_header(
        head, {"descr": np.lib.format.dtype_to_descr(rows.dtype), "fortran_order": False, "shape": (dates, *shape[1:])}
    )
    tail = rows.tobytes()
    if size <= 2 * HEAD_PART:  # a small file: rewritten whole
        old = first if size <= HEAD_PART else s3.get_object(Bucket=bucket, Key=old_key)["Body"].read()
        body = head.getvalue() + old[header_len:] + tail
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        return len(body)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    try:
        parts = [
            s3.upload_part(
                Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=head.getvalue() + first[header_len:]
            )
        ]
        for lo in range(HEAD_PART, size, COPY_PART):
            hi = min(lo + COPY_PART, size) - 1
            copied = s3.upload_part_copy(
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                PartNumber=len(parts) + 1,
                CopySource={"Bucket": bucket, "Key": old_key},
                CopySourceRange=f"bytes={lo}-{hi}",
            )
            parts.append({"ETag": copied["CopyPartResult"]["ETag"]})
        if tail:
            parts.append(
                s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=len(parts) + 1, Body=tail)
            )
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"ETag": p["ETag"], "PartNumber": i + 1} for i, p in enumerate(parts)]},
        )
    except Exception:
        s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        raise
    return len(head.getvalue()) + size - header_len + len(tail)


def remove_older(bucket: str, s3: Any, keep: set[str]) -> int:
    """Delete the artifacts whose folder is not in ``keep`` (the versions still published)."""
    removed = 0
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=PREFIX):
        stale = [{"Key": o["Key"]} for o in page.get("Contents", []) if o["Key"].split("/")[1] not in keep]
        if stale:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": stale})
            removed += len(stale)
    return removed


# ---------------------------------------------------------------- reading


class MappedFrame(Frame):
    """A :class:`Frame` whose bar grids are fetched and memory-mapped on first use."""

    _a: F2 | None

    def __init__(
        self,
        dates: NDArray[np.datetime64],
        fundamentals: dict[str, F2],
        bar: Callable[[str], F2],
        adjusted: bool = False,
    ) -> None:
        nothing = np.empty((0, 0))
        self._adjusted = False
        super().__init__(dates, nothing, nothing, nothing, nothing, nothing, fundamentals)
        for k in BARS:
            delattr(self, k)  # read through __getattr__ on first use
        self._bar = bar
        self._adjusted = adjusted

    @property
    def a(self) -> F2 | None:
        """The adjusted closes' grid, fetched and mapped on first use (None: the artifact has none)."""
        if self._adjusted and self._a is None:
            self._a = self._bar(ADJUSTED)
        return self._a

    @a.setter
    def a(self, value: F2 | None) -> None:
        self._a = value

    def __getattr__(self, name: str) -> Any:
        if name in BARS:
            arr = self._bar(name)
            setattr(self, name, arr)
            return arr
        raise AttributeError(name)


Fetch = Callable[[str], Path]


class Stale(Exception):
    """The artifact was written from other reference data than the database holds now."""


def read(fetch: Fetch, reference: Callable[[], str] | None = None) -> Universe:
    """The universe of an artifact; ``fetch(name)`` gives a local path of one of its files (downloading
    it the first time). Only the manifest and the small per-security files are read now. With
    ``reference``, an artifact whose recorded fingerprint differs raises :class:`Stale`."""
    manifest = json.loads(fetch(MANIFEST).read_text())
    if manifest.get("format") != FORMAT:
        raise ValueError(f"snapshot artifact format {manifest.get('format')!r}, expected {FORMAT}")
    if reference is not None and manifest.get("reference") != reference():
        raise Stale(f"snapshot artifact {manifest.get('version')} has other reference data than the database")
    n = int(manifest["securities"])
    symbols = np.load(fetch("symbols.npy"), allow_pickle=False)
    dates = np.load(fetch("dates.npy"), allow_pickle=False)
    latest = np.load(fetch("latest.npy"), allow_pickle=False)
    funds = np.load(fetch("fundamentals.npy"), allow_pickle=False)
    codes = np.load(fetch("codes.npy"), allow_pickle=False)
    datecols = np.load(fetch("datecols.npy"), allow_pickle=False)
    lock = threading.Lock()

    def bar(k: str) -> F2:
        with lock:
            grid: F2 = np.load(fetch(f"bar_{k}.npy"), mmap_mode="r", allow_pickle=False).T
        if grid.shape != (n, len(dates)):
            raise ValueError(f"snapshot artifact bar_{k}.npy has shape {grid.shape}")
        return grid

    funds_of = {k: funds[i] for i, k in enumerate(manifest["fundamentals"])}
    frame = MappedFrame(dates, funds_of, bar, bool(manifest.get("adjusted")))
    categories: dict[str, list[str]] = manifest["strings"]
    strings = {k: Categorical(np.ascontiguousarray(codes[i]), list(c)) for i, (k, c) in enumerate(categories.items())}
    u = Universe(
        int(manifest["version"]),
        dt.date.fromisoformat(manifest["as_of"]),
        symbols,
        frame,
        strings,
        {k: datecols[i] for i, k in enumerate(manifest["date_fields"])},
        latest={k: latest[i] for i, k in enumerate(manifest["latest"])},
    )
    u.cache_key = str(manifest["cache_key"])
    return u


def local_fetch(folder: Path) -> Fetch:
    def fetch(name: str) -> Path:
        return folder / name

    return fetch


Download = Callable[[str, str, str], None]
"""``download(bucket, key, path)``: an S3 object into a local file."""


def s3_fetch(bucket: str, prefix: str, download: Download, cache_dir: Path) -> Fetch:
    """Files of the artifact at ``prefix``, each downloaded once into ``cache_dir`` (then reused by
    every later container on the same /tmp, and mapped from there)."""
    folder = cache_dir / prefix.removeprefix(PREFIX).strip("/")

    def fetch(name: str) -> Path:
        path = folder / name
        if not path.exists():
            folder.mkdir(parents=True, exist_ok=True)
            part = path.with_suffix(path.suffix + f".{os.getpid()}.part")
            download(bucket, prefix + name, str(part))
            os.replace(part, path)  # whole files only: a crashed download leaves a .part behind
        return path

    return fetch


def open_current(version: int, created: str, reference: Callable[[], str] | None = None) -> Universe | None:
    """The artifact of a snapshot version from the configured bucket, or None when there is no bucket,
    no artifact for it, or (with ``reference``) one written from other reference data (the caller loads
    from the database)."""
    settings = artifact_settings()
    if not settings.snapshot_bucket:
        return None
    prefix = PREFIX + name_of(version, created) + "/"
    cache_dir = Path(settings.snapshot_cache_dir)
    forget_stale(cache_dir, keep=name_of(version, created))
    try:
        return read(s3_fetch(settings.snapshot_bucket, prefix, _downloader(), cache_dir), reference)
    except Stale:
        return None
    except Exception as exc:
        if _not_found(exc):
            return None
        raise


def _downloader() -> Download:
    """S3 downloads signed with the standard library when the credentials are in the environment (Lambda:
    a new container's first screen imports no boto3; README, "Cold start"), else boto3's ``download_file``
    (a client built on the first download only)."""
    from stockscreen.core import awsrequest

    credentials = awsrequest.light_credentials()
    if credentials is not None:
        creds = credentials
        return lambda bucket, key, path: awsrequest.download(bucket, key, path, creds)

    def boto(bucket: str, key: str, path: str) -> None:
        from stockscreen.core.clients import aws_client

        aws_client("s3").download_file(bucket, key, path)

    return boto


_MISSING = ("404", "NoSuchKey", "NoSuchBucket")


def _not_found(exc: Exception) -> bool:
    """An S3 answer that the artifact (or the bucket) is not there."""
    from stockscreen.core.awsrequest import AwsError

    if isinstance(exc, AwsError):
        return exc.code in _MISSING or exc.status == 404
    botocore = sys.modules.get("botocore.exceptions")  # a boto3 download imported it; else none was made
    return (
        botocore is not None
        and isinstance(exc, botocore.ClientError)
        and exc.response.get("Error", {}).get("Code") in _MISSING
    )


#: a downloaded artifact of another version untouched this long is removed (Lambda's /tmp is bounded;
#: an older universe still mapped by this process keeps its pages: unlinking a mapped file is safe)
STALE_AFTER_S = 15 * 60


def forget_stale(cache_dir: Path, keep: str) -> None:
    if not cache_dir.is_dir():
        return
    now = time.time()
    for folder in cache_dir.iterdir():
        if folder.name != keep and folder.is_dir() and now - folder.stat().st_mtime > STALE_AFTER_S:
            shutil.rmtree(folder, ignore_errors=True)


def clear_cache_dir() -> None:
    """Remove the downloaded files (tests)."""
    shutil.rmtree(artifact_settings().snapshot_cache_dir, ignore_errors=True)
