"""The one error type of :mod:`source_data`."""
from __future__ import annotations


class DataError(RuntimeError):
    """A dataset could not be fetched, verified or loaded.

    The message names the file or URL, the expected and actual value where
    there is one, and how to fix it (usually: set ``KIT_DATA_MIRROR`` and run
    ``make data`` again).
    """
