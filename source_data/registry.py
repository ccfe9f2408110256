"""The dataset registry (``registry.toml``) and per-file manifests."""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Mapping

from source_data.errors import DataError

PACKAGE_DIR = Path(__file__).resolve().parent
REGISTRY_FILE = PACKAGE_DIR / "registry.toml"
DEFAULT_DATA_DIR = PACKAGE_DIR / "cache"
STUDENT_MARKER = "STUDENT_ONLY.json"


@dataclass(frozen=True)
class Dataset:
    """One entry of ``registry.toml``.

    Attributes
    ----------
    name : str
        Registry key, e.g. ``"fsdd"``.
    url : str
        Upstream download URL.
    format : str
        ``"tar.gz"`` (keep members matching ``keep_glob``) or ``"csv"`` (one file).
    mirror_file : str
        Path of the file relative to a mirror (``KIT_DATA_MIRROR``).
    folder : str
        Cache folder name under the data directory.
    manifest : Mapping[str, str]
        Relative path -> expected sha256 of every file the dataset consists of (a
        :class:`ManifestFile`, read on first use).
    """

    name: str
    title: str
    licence: str
    citation: str
    url: str
    format: str
    mirror_file: str
    mirror_size: int
    folder: str
    manifest: Mapping[str, str]
    files: int
    bytes: int
    keep_glob: str = ""
    strip_to: str = ""


def _read_manifest(path: Path) -> dict[str, str]:
    entries: dict[str, str] = {}
    for line_no, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        digest, _, rel = line.partition("  ")
        if len(digest) != 64 or not rel:
            raise DataError(f"{path}:{line_no}: malformed manifest line {line!r}; expected '<sha256>  <path>'")
        entries[rel] = digest
    return entries


class ManifestFile(Mapping[str, str]):
    """A dataset's per-file manifest, read from its file on first use.

    Read lazily so that the loaders work without it: a students' hand-out holds no manifest of a
    source the hidden data is drawn from (its data folder is complete and needs no fetching).

    Parameters
    ----------
    path : Path
        The ``<sha256>  <relative path>`` file.
    name : str
        The dataset's registry name (for messages).
    files : int
        How many entries the registry announces.
    """

    def __init__(self, path: Path, name: str, files: int) -> None:
        self.path, self.name, self.files = path, name, files
        self._entries: dict[str, str] | None = None

    def _load(self) -> dict[str, str]:
        if self._entries is None:
            if not self.path.is_file():
                raise DataError(f"the manifest {self.path} of dataset {self.name!r} is missing, so it cannot be "
                                "fetched or verified here; a student hand-out has none (its data folder is "
                                "complete: set KIT_DATA_DIR to it)")
            entries = _read_manifest(self.path)
            if len(entries) != self.files:
                raise DataError(
                    f"registry entry {self.name!r} announces {self.files} files but its manifest lists "
                    f"{len(entries)}; regenerate the manifest with `python -m source_data manifest {self.name}`")
            self._entries = entries
        return self._entries

    def __getitem__(self, rel: str) -> str:
        return self._load()[rel]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


@lru_cache(maxsize=None)
def _registry() -> dict[str, Dataset]:
    raw = tomllib.loads(REGISTRY_FILE.read_text())
    datasets = {}
    for name, entry in raw.items():
        entry = dict(entry)
        manifest = ManifestFile(PACKAGE_DIR / entry.pop("manifest"), name, entry["files"])
        datasets[name] = Dataset(name=name, manifest=manifest, **entry)
    return datasets


def dataset(name: str) -> Dataset:
    """Return the registry entry ``name`` (``"fsdd"`` or ``"ag_news"``).

    Raises
    ------
    DataError
        If ``name`` is not in the registry.
    """
    reg = _registry()
    if name not in reg:
        raise DataError(f"unknown dataset {name!r}; choose one of {sorted(reg)}")
    return reg[name]


def names() -> list[str]:
    """Names of all registered datasets, in registry order."""
    return list(_registry())


def data_dir() -> Path:
    """The data directory: ``$KIT_DATA_DIR`` or ``source_data/cache`` inside the kit."""
    env = os.environ.get("KIT_DATA_DIR")
    return Path(env).expanduser().resolve() if env else DEFAULT_DATA_DIR


def is_student_folder(root: Path | None = None) -> bool:
    """True when the data directory holds the student part only (see :func:`materialise_student`)."""
    return ((root or data_dir()) / STUDENT_MARKER).is_file()
