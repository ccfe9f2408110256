"""Datasets of the course kit: registry, verified fetch, loaders and the student/hidden splits.

Everything else in the kit (notebooks, grader, tests) gets data through this package::

    import source_data as sd
    clips = sd.load_spoken_digits("student")    # 2,700 FSDD clips (takes 5-49)
    news = sd.load_ag_news("student")           # 6,840 AG News rows
    spoof = sd.load_fake_or_real("training")    # 4,200 fake-or-real clips (built by `make data`)
    voices = sd.load_class_folders("~/voices", "train")   # your own corpus: ROOT/Train/<class>/*.wav

Environment variables: ``KIT_DATA_DIR`` (data directory; default ``source_data/cache``) and
``KIT_DATA_MIRROR`` (a folder or URL prefix laid out like ``../shared/data`` to fetch from
instead of the upstream URLs).
"""
from __future__ import annotations

from source_data.ag_news import AG_NEWS_CLASSES, NewsRows, clean_field, load_ag_news
from source_data.class_folders import FolderClips, load_class_folders, read_audio
from source_data.errors import DataError
from source_data.fake_or_real import SpoofClips, load_fake_or_real
from source_data.download import FetchReport, fetch, fetch_one, is_fetched
from source_data.registry import data_dir, dataset, is_student_folder, names
from source_data.spoken_digits import SAMPLE_RATE, SPEAKERS, DigitClips, load_spoken_digits, speaker_folds

# The instructor's side of the package (building the student data folder, the corpus builder) is
# not in the students' hand-out; its names are imported on first use only.
_INSTRUCTOR = {"is_current_student_folder": "source_data.student", "materialise_student": "source_data.student"}


def __getattr__(name: str) -> object:
    if name in _INSTRUCTOR:
        import importlib

        return getattr(importlib.import_module(_INSTRUCTOR[name]), name)
    raise AttributeError(f"module 'source_data' has no attribute {name!r}")


__all__ = [
    "AG_NEWS_CLASSES", "DataError", "DigitClips", "FetchReport", "FolderClips", "NewsRows", "SAMPLE_RATE", "SPEAKERS",
    "SpoofClips",
    "clean_field", "data_dir", "dataset", "fetch", "fetch_one", "is_fetched", "is_current_student_folder", "is_student_folder",
    "load_ag_news", "load_class_folders", "load_fake_or_real", "load_spoken_digits", "materialise_student", "names",
    "read_audio", "speaker_folds",
]
