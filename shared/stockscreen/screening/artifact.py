"""The snapshot artifact: the screening universe as files a new container maps instead of rebuilding.

Written by the ingest pipeline's Aggregate task after it publishes a snapshot version, to
``s3://$SNAPSHOT_BUCKET/snapshots/<version>-<token>/`` (``token``: a digest of the version's
creation time, so a rebuilt database that reuses version numbers never reads a stale artifact).
An API container downloads a file the first time a screen needs it, into
``$SNAPSHOT_CACHE_DIR/<version>-<token>/``, and memory-maps it: nothing is parsed, the operating
system pages in what a screen reads.

Files (NumPy ``.npy`` or raw little-endian float64, no pickles; ``manifest.json`` last, so a half-written
artifact is never used):

| file | shape | what |
|---|---|---|
| ``bars/<j>/o.f64`` ... ``v.f64`` | ``(dates of segment j, securities)`` | the bars grid (NaN: no bar), by field |
| ``bars/<j>/a.f64`` | same | adjusted closes (NaN: none), if any bar has one (``adjusted``) |
| ``latest.npy`` | ``(fields, securities)`` float64 | each snapshot field on the latest date (the snapshot rows) |
| ``fundamentals.npy`` | ``(inputs, securities)`` float64 | the latest report's inputs of the fundamental metrics |
| ``codes.npy`` | ``(text fields, securities)`` int32 | text fields as codes into the manifest's categories |
| ``datecols.npy`` | ``(date fields, securities)`` float64 | date fields as days since 1970-01-01 |
| ``symbols.npy``, ``dates.npy`` | ``(securities,)``, ``(dates,)`` | row and column labels |
| ``keys.npy`` | ``(securities,)`` | the securities' database ids (their symbols for a universe built in memory) |

**Segments.** The bars are cut along the dates into segments of ``segment_dates`` sessions (segment ``j``:
the sessions ``j * segment_dates`` onwards; :func:`segment_dates_for`: a power of two that keeps a segment's
field within ``SEGMENT_BYTES``, 128 sessions at 10,000 securities, 4,096 at 505), listed in the manifest.
A full segment never changes again, so a later artifact does not copy it: its manifest names the folder of
the artifact that wrote it, and a daily run writes only the open (last) segment with its new sessions,
whatever the length of the history. Each segment holds the securities of the artifact that wrote it (its
``keys`` digest); when they differ from the reader's (a listing, a delisting, a renamed ticker), its
columns are placed by security key.

A container assembles one ``bar_<field>.npy`` file per field on first use, each segment's bytes written in
place (downloaded straight into the file, several at a time): a ``(dates, securities)`` C array, which
transposed is exactly the universe's production layout (column-major ``(securities, dates)``: one date's
values contiguous), so the mapped file *is* the grid, with no copy. A screen on the latest date reads
``latest.npy`` only (a few MB at 10,000 securities); the bars are fetched when a screen first needs history.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import posixpath
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

import numpy as np

from stockscreen.core.envsettings import EnvSettings, Field
from stockscreen.screening.history import F2, Frame
from stockscreen.screening.universe import Categorical, Universe

if TYPE_CHECKING:
    from numpy.typing import NDArray

FORMAT = 2
MANIFEST = "manifest.json"
BARS = ("o", "h", "lo", "c", "v")
#: the adjusted close's grid (``Frame.a``), written only when some bar has one
ADJUSTED = "a"
PREFIX = "snapshots/"
#: the most bytes of one field a segment holds: what a daily run rewrites of it, at most
SEGMENT_BYTES = 16 << 20
#: sessions per segment, at least and at most (half a year; about 16 years)
SEGMENT_MIN, SEGMENT_MAX = 128, 4096
#: segments downloaded at once when a container assembles a field
FETCHERS = 8
CELL = np.dtype("<f8")


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


def fields_of(adjusted: bool) -> tuple[str, ...]:
    return (*BARS, ADJUSTED) if adjusted else BARS


def relative(name: str, folder: str = "") -> str:
    """A file's name relative to the artifact: its own, or (``folder``) another artifact's."""
    return f"../{folder}/{name}" if folder else name


def segment_file(j: int, k: str, folder: str = "") -> str:
    """A segment's file of field ``k``, relative to the artifact (``folder``: another artifact's)."""
    return relative(f"bars/{j:04d}/{k}.f64", folder)


def keys_of(u: Universe) -> NDArray[Any]:
    """What a segment's columns are matched by: the database ids, else the symbols."""
    if u.security_ids is not None:
        return np.asarray(u.security_ids, dtype=np.int64)
    return np.asarray(u.symbols, dtype=str)


def digest(keys: NDArray[Any]) -> str:
    return hashlib.sha256(keys.dtype.str.encode() + np.ascontiguousarray(keys).tobytes()).hexdigest()[:16]


# ---------------------------------------------------------------- writing


def write(u: Universe, folder: Path, reference: str = "", segment: int | None = None) -> list[Path]:
    """The universe's files into ``folder`` (the manifest last). Histories computed in memory are not
    written: the artifact holds what the database load reads, so both give the same universe.
    ``segment``: sessions per segment (default :func:`segment_dates_for` the universe's size)."""
    fr = u.daily
    files, manifest = _write_labels(u, folder, reference, fr.dates)
    adjusted = fr.a is not None
    rows = {k: getattr(fr, k).T for k in fields_of(adjusted)}
    size = segment or segment_dates_for(u.n)
    segments, bar_files = _write_segments(rows, folder, 0, manifest["keys"], u.n, size)
    manifest.update(
        segments=segments, segment_dates=size, bars=int(np.count_nonzero(~np.isnan(fr.c))), adjusted=adjusted
    )
    return _finish(folder, [*files, *bar_files], manifest)


def _write_labels(
    u: Universe, folder: Path, reference: str, dates: NDArray[np.datetime64]
) -> tuple[list[Path], dict[str, Any]]:
    """Every file but the bars' (``dates``: the artifact's whole date axis), and the manifest's fields."""
    folder.mkdir(parents=True, exist_ok=True)
    fr = u.daily
    files: list[Path] = []

    def save(name: str, arr: NDArray[Any]) -> None:
        path = folder / name
        np.save(path, arr, allow_pickle=False)
        files.append(path)

    keys = keys_of(u)
    save("keys.npy", keys)
    save("symbols.npy", np.asarray(u.symbols, dtype=str))
    save("dates.npy", np.asarray(dates, dtype="datetime64[D]"))
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
        "keys": digest(keys),
        "dates": len(dates),
        "last_date": str(dates[-1]) if len(dates) else None,
        "latest": latest,
        "fundamentals": funds,
        "strings": {k: u.strings[k].categories for k in texts},
        "date_fields": date_fields,
    }
    return files, manifest


def segment_dates_for(n: int) -> int:
    """Sessions per segment for ``n`` securities: the largest power of two whose field fits in
    ``SEGMENT_BYTES``, within ``SEGMENT_MIN``..``SEGMENT_MAX`` (few objects for a small universe, a small
    daily rewrite for a large one)."""
    fits = SEGMENT_BYTES // (max(n, 1) * CELL.itemsize)
    return int(min(SEGMENT_MAX, max(SEGMENT_MIN, 1 << max(fits.bit_length() - 1, 0))))


def _write_segments(
    rows: dict[str, NDArray[Any]], folder: Path, first: int, keys: str, n: int, size: int
) -> tuple[list[dict[str, Any]], list[Path]]:
    """``rows`` (each field's ``(dates, n)`` rows, starting on a segment boundary) as segments ``first``,
    ``first + 1``... of ``size`` sessions in ``folder``; their manifest entries and files."""
    count = len(next(iter(rows.values())))
    segments: list[dict[str, Any]] = []
    files: list[Path] = []
    for j, lo in enumerate(range(0, count, size), start=first):
        hi = min(lo + size, count)
        for k, grid in rows.items():
            path = folder / segment_file(j, k)
            path.parent.mkdir(parents=True, exist_ok=True)
            np.ascontiguousarray(grid[lo:hi], dtype=CELL).tofile(path)
            files.append(path)
        segments.append({"index": j, "folder": "", "dates": hi - lo, "securities": n, "keys": keys})
    return segments, files


def _finish(folder: Path, files: list[Path], manifest: dict[str, Any]) -> list[Path]:
    manifest["files"] = {p.relative_to(folder).as_posix(): p.stat().st_size for p in files}
    path = folder / MANIFEST
    path.write_text(json.dumps(manifest))
    return [*files, path]


def _rows(cols: list[NDArray[Any]], n: int, dtype: type) -> NDArray[Any]:
    out: NDArray[Any] = np.empty((len(cols), n), dtype=dtype)
    for i, c in enumerate(cols):
        out[i] = c
    return out


def publish(u: Universe, bucket: str, s3: Any, created: str, reference: str = "", segment: int | None = None) -> str:
    """Write the universe's artifact and upload it (the manifest last); returns its S3 prefix.
    ``reference``: :func:`~stockscreen.screening.universe.reference_fingerprint` when ``u`` was loaded."""
    prefix = PREFIX + name_of(u.version, created) + "/"
    with tempfile.TemporaryDirectory(prefix="snapshot-artifact-") as tmp:
        write(u, Path(tmp), reference, segment)
        upload(Path(tmp), bucket, s3, prefix)
    return prefix


def upload(folder: Path, bucket: str, s3: Any, prefix: str) -> None:
    """Upload the artifact written in ``folder`` under ``prefix``: its files several at a time, then the
    manifest (a reader never sees half of one)."""
    files = [p for p in sorted(folder.rglob("*")) if p.is_file() and p.name != MANIFEST]

    def put(path: Path) -> None:  # one request a file (each at most a segment: tens of MB)
        with path.open("rb") as body:
            s3.put_object(Bucket=bucket, Key=prefix + path.relative_to(folder).as_posix(), Body=body)

    from concurrent.futures import ThreadPoolExecutor  # (downloads and uploads only)

    with ThreadPoolExecutor(FETCHERS) as pool:
        list(pool.map(put, files))
    put(folder / MANIFEST)


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
    ``after``) appended. The full segments stay where they are (the new manifest names their folders); the
    open segment is rewritten with the new sessions, its columns moved to the new securities when they
    changed (a listing, a delisting, a renamed ticker); so a daily run uploads a few tens of MB whatever
    the length of the history. Nothing is written when the two do not line up: another format, no new
    sessions after the last one, adjusted closes that appeared, or a bar count other than ``bars`` (the
    snapshot's: some older bar was added or removed, or a security joined with a history).
    Returns None when appended, else why not."""
    fr = new.daily
    if manifest.get("format") != FORMAT:
        return "another format"
    if manifest.get("last_date") is None or fr.dates[0] <= np.datetime64(manifest["last_date"], "D"):
        return "no session after the last one"
    adjusted = bool(manifest.get("adjusted"))
    if fr.a is not None and not adjusted:
        return "adjusted closes appeared"
    added = int(np.count_nonzero(~np.isnan(fr.c)))
    if int(manifest.get("bars", -1)) + added != bars:
        return "older bars added or removed"
    keys = keys_of(new)
    size = int(manifest["segment_dates"])
    name = previous.removeprefix(PREFIX).strip("/")
    segments = [{**s, "folder": s["folder"] or name} for s in manifest["segments"]]
    with tempfile.TemporaryDirectory(prefix="snapshot-artifact-") as tmp:
        folder = Path(tmp)

        def get(key: str) -> Path:
            path = folder / "old" / key
            path.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, PREFIX + key, str(path))
            return path

        old_dates = np.load(get(f"{name}/dates.npy"), allow_pickle=False)
        dates = np.concatenate([old_dates, fr.dates.astype("datetime64[D]")])
        files, written = _write_labels(new, folder / "new", reference, dates)
        nothing = np.full(fr.c.shape[::-1], np.nan)  # the adjusted closes of sessions that have none
        rows = {k: nothing if k == ADJUSTED and fr.a is None else getattr(fr, k).T for k in fields_of(adjusted)}
        first = 0
        if segments:
            last = segments[-1]
            first = last["index"] + 1
            if last["dates"] < size:  # the open segment: its sessions go first
                segments.pop()
                first = last["index"]
                remap = None
                if last["keys"] != written["keys"]:
                    old_keys = np.load(get(f"{last['folder']}/keys.npy"), allow_pickle=False)
                    if old_keys.dtype.kind != keys.dtype.kind:
                        return "other kind of security keys"
                    remap = _placement(old_keys, keys)
                for k in rows:
                    shape = (last["dates"], last["securities"])
                    old = np.fromfile(get(f"{last['folder']}/{segment_file(last['index'], k)}"), dtype=CELL)
                    old = _placed(old.reshape(shape), remap, new.n)
                    rows[k] = np.concatenate([old, rows[k]])
        tail, bar_files = _write_segments(rows, folder / "new", first, written["keys"], new.n, size)
        written.update(
            segments=[*segments, *tail], segment_dates=size, bars=bars, adjusted=adjusted, appended_to=previous
        )
        _finish(folder / "new", [*files, *bar_files], written)
        upload(folder / "new", bucket, s3, prefix)
    return None


def _placement(old: NDArray[Any], new: NDArray[Any]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Where the columns of securities ``old`` go among ``new``: (old columns kept, their new columns)."""
    at = {k: i for i, k in enumerate(new.tolist())}
    pairs = [(i, at[k]) for i, k in enumerate(old.tolist()) if k in at]
    src = np.array([p[0] for p in pairs], dtype=np.intp)
    dst = np.array([p[1] for p in pairs], dtype=np.intp)
    return src, dst


def _placed(rows: NDArray[Any], where: tuple[NDArray[np.intp], NDArray[np.intp]] | None, n: int) -> NDArray[Any]:
    """``rows`` with their columns placed among ``n`` securities (NaN for a security they do not have)."""
    if where is None:
        return rows
    out = np.full((len(rows), n), np.nan)
    out[:, where[1]] = rows[:, where[0]]
    return out


def kept_folders(bucket: str, s3: Any, keep: set[str]) -> set[str]:
    """``keep`` and the folders whose segments their manifests name."""
    folders = set(keep)
    for name in keep:
        manifest = previous_manifest(bucket, s3, PREFIX + name + "/")
        if manifest is not None:
            folders |= {s["folder"] for s in manifest.get("segments", []) if s.get("folder")}
    return folders


def remove_older(bucket: str, s3: Any, keep: set[str]) -> int:
    """Delete the artifacts whose folder is neither in ``keep`` (the versions still published) nor holds a
    segment a kept artifact names."""
    keep = kept_folders(bucket, s3, keep)
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


class Fetch(Protocol):
    """An artifact's files, by their names relative to it (``../<folder>/...``: another artifact's)."""

    def __call__(self, name: str) -> Path:
        """A local path of the file (downloaded the first time)."""

    def local(self, name: str) -> Path:
        """Where a file of this name lives locally (for files made here: the assembled bars)."""

    def into(self, name: str, path: Path, offset: int) -> int:
        """The file's bytes written into the local file ``path`` from ``offset``; how many."""


class Stale(Exception):
    """The artifact was written from other reference data than the database holds now, or in another
    format: the caller loads from the database."""


def read(fetch: Fetch, reference: Callable[[], str] | None = None) -> Universe:
    """The universe of an artifact; ``fetch`` gives its files. Only the manifest and the small
    per-security files are read now. With ``reference``, an artifact whose recorded fingerprint differs
    raises :class:`Stale`; so does an artifact of another format."""
    manifest = json.loads(fetch(MANIFEST).read_text())
    if manifest.get("format") != FORMAT:
        raise Stale(f"snapshot artifact format {manifest.get('format')!r}, expected {FORMAT}")
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
            path = fetch.local(f"bar_{k}.npy")
            if not path.exists():
                assemble(fetch, manifest, k, path)
            grid: F2 = np.load(path, mmap_mode="r", allow_pickle=False).T
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


def assemble(fetch: Fetch, manifest: dict[str, Any], k: str, path: Path) -> None:
    """Field ``k``'s ``(dates, securities)`` .npy at ``path``, from its segments: each written in place,
    ``FETCHERS`` at a time (a segment of other securities read, then its columns placed by key)."""
    n, total = int(manifest["securities"]), int(manifest["dates"])
    part = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.part")
    part.parent.mkdir(parents=True, exist_ok=True)
    header = np.lib.format.open_memmap(part, mode="w+", dtype=CELL, shape=(total, n))
    start = header.offset
    del header
    differ = any(s["keys"] != manifest["keys"] for s in manifest["segments"])
    own = np.load(fetch("keys.npy"), allow_pickle=False) if differ else np.empty(0)

    def one(seg: dict[str, Any], lo: int) -> None:
        name = segment_file(int(seg["index"]), k, seg["folder"])
        size = int(seg["dates"]) * int(seg["securities"]) * CELL.itemsize
        at = start + lo * n * CELL.itemsize
        if seg["keys"] == manifest["keys"] and int(seg["securities"]) == n:
            got = fetch.into(name, part, at)
        else:  # other securities: their columns placed among ours
            theirs = np.load(fetch(relative("keys.npy", seg["folder"])), allow_pickle=False)
            scratch = part.with_name(f"{part.name}.{seg['index']}")
            scratch.touch()
            try:
                got = fetch.into(name, scratch, 0)
                rows = np.fromfile(scratch, dtype=CELL)
            finally:
                scratch.unlink()
            if got == size:
                placed = _placed(rows.reshape(int(seg["dates"]), -1), _placement(theirs, own), n)
                with open(part, "r+b") as f:
                    f.seek(at)
                    f.write(np.ascontiguousarray(placed, dtype=CELL).tobytes())
        if got != size:
            raise ValueError(f"snapshot artifact {name}: {got} bytes, expected {size}")

    starts = np.concatenate([[0], np.cumsum([int(s["dates"]) for s in manifest["segments"]])])
    if int(starts[-1]) != total:
        raise ValueError(f"snapshot artifact segments hold {int(starts[-1])} dates, expected {total}")
    from concurrent.futures import ThreadPoolExecutor  # (downloads and uploads only)

    try:
        with ThreadPoolExecutor(FETCHERS) as pool:
            list(pool.map(one, manifest["segments"], (int(x) for x in starts[:-1])))
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)


class LocalFetch:
    """The files of an artifact written in a local folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def local(self, name: str) -> Path:
        return Path(os.path.normpath(self.folder / name))

    def __call__(self, name: str) -> Path:
        return self.local(name)

    def into(self, name: str, path: Path, offset: int) -> int:
        with open(self.local(name), "rb") as src, open(path, "r+b") as dst:
            dst.seek(offset)
            shutil.copyfileobj(src, dst, 1 << 20)
            return dst.tell() - offset


def local_fetch(folder: Path) -> Fetch:
    return LocalFetch(folder)


Download = Callable[[str, str, BinaryIO], None]
"""``download(bucket, key, file)``: an S3 object's bytes written to a file object from its position."""


class S3Fetch:
    """Files of the artifact at ``prefix``, each downloaded once into ``cache_dir`` (then reused by every
    later container on the same /tmp, and mapped from there)."""

    def __init__(self, bucket: str, prefix: str, download: Download, cache_dir: Path) -> None:
        self.bucket, self.prefix, self.download = bucket, prefix, download
        self.folder = cache_dir / prefix.removeprefix(PREFIX).strip("/")

    def key(self, name: str) -> str:
        return posixpath.normpath(self.prefix + name)

    def local(self, name: str) -> Path:
        return Path(os.path.normpath(self.folder / name))

    def __call__(self, name: str) -> Path:
        path = self.local(name)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            part = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.part")
            try:
                with open(part, "wb") as f:
                    self.download(self.bucket, self.key(name), f)
                os.replace(part, path)  # whole files only
            finally:
                part.unlink(missing_ok=True)
        return path

    def into(self, name: str, path: Path, offset: int) -> int:
        with open(path, "r+b") as f:
            f.seek(offset)
            self.download(self.bucket, self.key(name), f)
            return f.tell() - offset


def s3_fetch(bucket: str, prefix: str, download: Download | None = None, cache_dir: Path | None = None) -> Fetch:
    """The artifact at ``prefix`` (default: the light downloader, the configured cache folder)."""
    folder = Path(artifact_settings().snapshot_cache_dir) if cache_dir is None else cache_dir
    return S3Fetch(bucket, prefix, download or _downloader(), folder)


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
    a new container's first screen imports no boto3; README, "Cold start"), else boto3's ``get_object``
    (a client built on the first download only)."""
    from stockscreen.core import awsrequest

    credentials = awsrequest.light_credentials()
    if credentials is not None:
        creds = credentials
        return lambda bucket, key, f: awsrequest.download(bucket, key, f, creds)

    def boto(bucket: str, key: str, f: BinaryIO) -> None:
        from stockscreen.core.clients import aws_client

        body = aws_client("s3").get_object(Bucket=bucket, Key=key)["Body"]
        for chunk in body.iter_chunks(1 << 20):
            f.write(chunk)

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
