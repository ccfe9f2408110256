"""Download (or copy from a mirror), verify and cache the datasets.

Nothing half-written ever lands in the cache: a dataset is assembled in a
temporary folder next to its final place, every file is checked against the
committed sha256 manifest, a ``.complete`` stamp is written, and only then is
the folder renamed into place (one atomic ``os.rename``). Leftovers of an
interrupted fetch (``.tmp-*`` folders) are removed by the next fetch.
"""
from __future__ import annotations

import fnmatch
import gzip
import hashlib
import json
import os
import shutil
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from source_data.errors import DataError
from source_data.registry import Dataset, data_dir, dataset, is_student_folder, names

MIRROR_ENV = "KIT_DATA_MIRROR"
STAMP = ".complete"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class FetchReport:
    """What one :func:`fetch` call did for one dataset.

    Attributes
    ----------
    name : str
        Dataset name.
    path : Path
        The verified dataset folder in the cache.
    files : int
        Number of verified files.
    bytes : int
        Their total size in bytes.
    seconds : float
        Wall time of the call.
    source : str
        Where the data came from (URL or mirror path), or ``"cache"`` when nothing was done.
    """

    name: str
    path: Path
    files: int
    bytes: int
    seconds: float
    source: str

    def __str__(self) -> str:
        what = "already cached" if self.source == "cache" else f"fetched from {self.source}"
        return (f"{self.name}: {self.files} files, {self.bytes / 1e6:.1f} MB verified, {what}, "
                f"{self.seconds:.1f} s -> {self.path}")


def _fix_hint(ds: Dataset) -> str:
    return (f"set {MIRROR_ENV} to a folder or URL prefix holding {ds.mirror_file} "
            f"(e.g. {MIRROR_ENV}=../shared/data) and re-run `make data`")


def _source_url(ds: Dataset, mirror: str | os.PathLike | None) -> tuple[str, bool]:
    """Return (location, is_local_path) of the file to fetch for ``ds``."""
    if mirror is None:
        mirror = os.environ.get(MIRROR_ENV) or None
    if mirror is None:
        return ds.url, False
    mirror = str(mirror)
    if "://" in mirror and not mirror.startswith("file://"):
        return mirror.rstrip("/") + "/" + ds.mirror_file, False
    root = Path(urllib.parse.urlparse(mirror).path if mirror.startswith("file://") else mirror).expanduser()
    return str(root.resolve() / ds.mirror_file), True


def _download(location: str, local: bool, dest: BinaryIO, ds: Dataset, verbose: bool) -> None:
    """Copy ``location`` into the open file ``dest``."""
    if local:
        src = Path(location)
        if not src.is_file():
            raise DataError(f"mirror file {src} does not exist (dataset {ds.name!r}); {_fix_hint(ds)}")
        with open(src, "rb") as fh:
            shutil.copyfileobj(fh, dest, _CHUNK)
        return
    try:
        with urllib.request.urlopen(location, timeout=60) as resp:
            total = int(resp.headers.get("Content-Length") or 0)
            done = 0
            while chunk := resp.read(_CHUNK):
                dest.write(chunk)
                done += len(chunk)
                if verbose and total:
                    print(f"\r  {ds.name}: {done / 1e6:.1f} / {total / 1e6:.1f} MB", end="", file=sys.stderr)
            if verbose and total:
                print(file=sys.stderr)
            if total and done != total:
                raise DataError(f"download of {location} stopped after {done} of {total} bytes; re-run `make data`")
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DataError(f"could not download {location} for dataset {ds.name!r} ({reason}); no network? "
                        f"{_fix_hint(ds)}") from exc


def _sha256_stream(fh: BinaryIO, out: BinaryIO | None = None) -> tuple[str, int]:
    h = hashlib.sha256()
    n = 0
    while chunk := fh.read(_CHUNK):
        h.update(chunk)
        n += len(chunk)
        if out is not None:
            out.write(chunk)
    return h.hexdigest(), n


def _check(ds: Dataset, rel: str, actual: str, origin: str) -> None:
    expected = ds.manifest.get(rel)
    if expected is None:
        return
    if actual != expected:
        raise DataError(
            f"checksum mismatch for {rel} of dataset {ds.name!r} (from {origin}): expected sha256 "
            f"{expected}, got {actual}. The download is corrupt or not the registered version; delete "
            f"the mirror copy if it is damaged, {_fix_hint(ds)}")


def _unpack_tar(ds: Dataset, archive: Path, into: Path, origin: str) -> dict[str, str]:
    seen: dict[str, str] = {}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                if not member.isfile() or not fnmatch.fnmatch(member.name, ds.keep_glob):
                    continue
                rel = ds.strip_to + member.name.rsplit("/", 1)[-1]
                if rel not in ds.manifest:
                    continue
                target = into / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                src = tar.extractfile(member)
                assert src is not None
                with open(target, "wb") as out:
                    digest, _ = _sha256_stream(src, out)
                _check(ds, rel, digest, origin)
                seen[rel] = digest
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise DataError(f"archive {origin} for dataset {ds.name!r} is truncated or corrupt ({exc}); "
                        f"{_fix_hint(ds)}") from exc
    return seen


def _unpack_file(ds: Dataset, download: Path, into: Path, origin: str) -> dict[str, str]:
    (rel,) = ds.manifest
    with open(download, "rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
    try:
        with (gzip.open(download, "rb") if gzipped else open(download, "rb")) as src, \
                open(into / rel, "wb") as out:
            digest, _ = _sha256_stream(src, out)
    except (EOFError, OSError, zlib.error) as exc:
        raise DataError(f"file {origin} for dataset {ds.name!r} is truncated or corrupt ({exc}); "
                        f"{_fix_hint(ds)}") from exc
    _check(ds, rel, digest, origin)
    return {rel: digest}


def is_fetched(name: str, root: Path | None = None) -> bool:
    """True when dataset ``name`` is verified and complete in the cache."""
    ds = dataset(name)
    return (((root or data_dir()) / ds.folder / STAMP)).is_file()


def _remove_leftovers(root: Path, ds: Dataset) -> None:
    for stale in root.glob(f".tmp-{ds.folder}-*"):
        shutil.rmtree(stale, ignore_errors=True)


def fetch_one(name: str, *, mirror: str | os.PathLike | None = None, root: Path | None = None,
              verbose: bool = False) -> FetchReport:
    """Fetch, verify and cache one dataset; a no-op when it is already cached.

    Parameters
    ----------
    name : str
        Registry name (``"fsdd"`` or ``"ag_news"``).
    mirror : str or path-like, optional, keyword-only
        A directory or URL prefix laid out like ``../shared/data``. Default:
        ``$KIT_DATA_MIRROR``, else the upstream URL.
    root : Path, optional, keyword-only
        Data directory. Default: :func:`source_data.data_dir`.
    verbose : bool, keyword-only
        Print download progress to stderr.

    Returns
    -------
    FetchReport

    Raises
    ------
    DataError
        Missing mirror file, no network, truncated archive, checksum mismatch
        or missing files. The cache is left without the dataset in every case.
    """
    t0 = time.perf_counter()
    ds = dataset(name)
    root = root or data_dir()
    final = root / ds.folder
    if (final / STAMP).is_file():
        return FetchReport(name, final, ds.files, ds.bytes, time.perf_counter() - t0, "cache")
    if is_student_folder(root):
        raise DataError(f"the data folder {root} holds the student part only and dataset {name!r} is not "
                        "there; ask your instructor for the student data folder or unset KIT_DATA_DIR")
    root.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(root, ds)
    location, local = _source_url(ds, mirror)
    work = Path(tempfile.mkdtemp(prefix=f".tmp-{ds.folder}-", dir=root))
    try:
        download = work / "download"
        with open(download, "wb") as fh:
            _download(location, local, fh, ds, verbose)
        content = work / ds.folder
        content.mkdir()
        unpack = _unpack_tar if ds.format == "tar.gz" else _unpack_file
        seen = unpack(ds, download, content, location)
        missing = sorted(set(ds.manifest) - set(seen))
        if missing:
            raise DataError(f"{len(missing)} of {ds.files} files of dataset {ds.name!r} are missing from "
                            f"{location} (first: {missing[0]}); {_fix_hint(ds)}")
        (content / STAMP).write_text(json.dumps({"dataset": name, "files": len(seen), "source": location}))
        if final.exists():  # an incomplete folder from an older kit: never trusted
            shutil.rmtree(final)
        try:
            os.rename(content, final)
        except OSError:
            if not (final / STAMP).is_file():  # not a concurrent fetch that won the race
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return FetchReport(name, final, ds.files, ds.bytes, time.perf_counter() - t0, location)


def fetch(name: str | None = None, *, mirror: str | os.PathLike | None = None,
          verbose: bool = False) -> Path:
    """Make dataset ``name`` (or every dataset) available and verified; return its folder.

    Parameters
    ----------
    name : str, optional
        ``"fsdd"``, ``"ag_news"`` or None for every dataset (then the data directory is returned).
    mirror : str or path-like, optional, keyword-only
        See :func:`fetch_one`.
    verbose : bool, keyword-only
        Print download progress.

    Returns
    -------
    Path
        The dataset's verified folder (or the data directory when ``name`` is None).

    Examples
    --------
    >>> import source_data as sd
    >>> sd.fetch("fsdd")                                  # doctest: +SKIP
    PosixPath('.../source_data/cache/fsdd-v1.0.10')
    """
    if name is None:
        for each in names():
            fetch_one(each, mirror=mirror, verbose=verbose)
        return data_dir()
    return fetch_one(name, mirror=mirror, verbose=verbose).path


def dataset_path(name: str) -> Path:
    """The verified folder of dataset ``name``, fetching it first when needed."""
    root = data_dir()
    if is_fetched(name, root):
        return root / dataset(name).folder
    return fetch(name)
