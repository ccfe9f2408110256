"""The instructor's secret: what makes the hidden data impossible to rebuild from the hand-out.

Hidden data drawn from a public dataset (FSDD) can be rebuilt by anyone who holds the code that
made it, unless a secret the students never see goes into it. The secret is read from

* ``KIT_HIDDEN_SECRET`` -- the secret itself (any string of at least 16 characters), or
* ``KIT_HIDDEN_SECRET_FILE`` -- a file holding it (e.g. ``~/.config/seqkit/hidden_secret``, mode 600),

and never from the kit's folders, so it is in no hand-out, submission or gradebook. Without
either, :func:`hidden_secret` returns None and the **demo** hidden data is built: documented and
reproducible (the reference figures in ``reference/`` were measured on it), and therefore
rebuildable by anyone who has the kit's source. A course whose grades count sets a secret, runs
``make data`` and ``make reference`` again (the thresholds come from the reference figures).

Only a keyed digest of the secret is ever derived (:func:`keyed_seed`); the secret itself is
written nowhere.
"""
from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from source_data.errors import DataError

__all__ = ["FILE_ENV", "MIN_LENGTH", "SECRET_ENV", "describe", "hidden_secret", "keyed_seed"]

SECRET_ENV = "KIT_HIDDEN_SECRET"
FILE_ENV = "KIT_HIDDEN_SECRET_FILE"
MIN_LENGTH = 16


def hidden_secret() -> bytes | None:
    """The instructor's secret, or None for the demo hidden data.

    Returns
    -------
    bytes or None
        ``$KIT_HIDDEN_SECRET`` (encoded as UTF-8), else the stripped content of
        ``$KIT_HIDDEN_SECRET_FILE``, else None.

    Raises
    ------
    DataError
        If the secret is shorter than :data:`MIN_LENGTH` characters, or the file cannot be read.
    """
    value = os.environ.get(SECRET_ENV)
    origin = SECRET_ENV
    if not value and os.environ.get(FILE_ENV):
        path = Path(os.environ[FILE_ENV]).expanduser()
        origin = f"{FILE_ENV}={path}"
        try:
            value = path.read_text().strip()
        except OSError as exc:
            raise DataError(f"cannot read the hidden-data secret from {path} ({exc.strerror}); fix "
                            f"{FILE_ENV} or unset it for the demo hidden data") from exc
    if not value:
        return None
    if len(value) < MIN_LENGTH:
        raise DataError(f"the hidden-data secret from {origin} has {len(value)} characters; use at least "
                        f"{MIN_LENGTH} (e.g. `python -c 'import secrets; print(secrets.token_hex(16))'`)")
    return value.encode()


def keyed_seed(secret: bytes, *labels: object) -> int:
    """A 64-bit seed derived from ``secret`` and ``labels`` (HMAC-SHA256), for keyed random streams.

    Parameters
    ----------
    secret : bytes
        The key (:func:`hidden_secret`, or a gradebook's key).
    *labels : object
        What the stream is for (their ``str`` joined by newlines), e.g. ``("fake_or_real", item_id)``.

    Returns
    -------
    int
        In ``[0, 2**64)``; the same for the same secret and labels, unrelated otherwise.

    Examples
    --------
    >>> keyed_seed(b"0123456789abcdef", "a", 1) == keyed_seed(b"0123456789abcdef", "a", 1)
    True
    """
    message = "\n".join(str(x) for x in labels).encode()
    return int.from_bytes(hmac.new(secret, message, hashlib.sha256).digest()[:8], "little")


def describe(secret: bytes | None) -> str:
    """One line for logs: which hidden data is in use (never the secret itself)."""
    if secret is None:
        return (f"demo hidden data (no {SECRET_ENV}): anyone with the kit's source can rebuild it; "
                "set a secret for a course whose grades count")
    return "hidden data keyed by the instructor's secret"
