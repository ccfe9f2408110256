"""The fixtures of the hidden checks (re-exported by ``grader/checks/conftest.py``).

A folder of checks gets them with a ``conftest.py`` holding::

    from grader.fixtures import *  # noqa: F401,F403

See ``grader/checks/conftest.py`` for what each fixture is.
"""
from __future__ import annotations

import contextlib
import random
import sys
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

from grader.api import CheckTimeout, spec_of
from grader.context import CheckContext
from grader.limits import time_limit

__all__ = ["_seed_and_time_limit", "artifacts", "context", "pytest_unconfigure", "reference", "rng", "runs", "student"]

_KEY = pytest.StashKey[CheckContext]()


def context(config: pytest.Config) -> CheckContext:
    """The :class:`grader.context.CheckContext` of this pytest run (made on first use).

    Parameters
    ----------
    config : pytest.Config

    Returns
    -------
    CheckContext
    """
    if _KEY not in config.stash:
        ctx = CheckContext()
        factory = getattr(config, "_tmp_path_factory", None)  # pytest's tmp_path base: the checks' files
        if factory is not None:
            ctx.readable.append(str(factory.getbasetemp()))  # that they pass to student functions
        config.stash[_KEY] = ctx
    return config.stash[_KEY]


def pytest_unconfigure(config: pytest.Config) -> None:
    if _KEY in config.stash:
        config.stash[_KEY].close()


def _assignment(request: pytest.FixtureRequest) -> str:
    return context(request.config).assignment_of(Path(request.node.path))


@pytest.fixture
def reference(request: pytest.FixtureRequest) -> Any:
    """The master's answers module."""
    return context(request.config).reference(_assignment(request)).module


@pytest.fixture
def student(request: pytest.FixtureRequest) -> Any:
    """The submission's answers module (the reference in the fallback)."""
    return context(request.config).student(_assignment(request)).module


def _run_folder(request: pytest.FixtureRequest, kind: str) -> Path:
    spec = spec_of(request.node)
    if spec is not None and not spec.run:
        raise RuntimeError(f"check {request.node.name} uses the '{kind}' fixture but is not declared "
                           "run=True; write @check(..., run=True)")
    ctx = context(request.config)
    folder = ctx.run_folder(_assignment(request), kind)
    if folder is None:
        if ctx.engine:
            pytest.skip("not run: no executed notebook (answers-only grading)")
        pytest.skip("no executed master: run solutions/<assignment>.ipynb (in solutions/ or the repository "
                    "root) or set GRADER_WORKDIR to the folder where it ran")
    return folder


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """``artifacts/<short>/`` of the executed notebook (may not exist if nothing was saved)."""
    return _run_folder(request, "artifacts")


@pytest.fixture
def runs(request: pytest.FixtureRequest) -> Path:
    """``runs/<short>/`` (TensorBoard logs) of the executed notebook."""
    return _run_folder(request, "runs")


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> np.random.Generator:
    """A generator seeded per check: the same inputs for every student and every run."""
    return np.random.default_rng(context(request.config).seed_for(request.node.nodeid))


@pytest.fixture(autouse=True)
def _seed_and_time_limit(request: pytest.FixtureRequest) -> Iterator[None]:
    ctx = context(request.config)
    # import the modules first, outside the check's time limit (they have their own)
    if "student" in request.fixturenames or "reference" in request.fixturenames:
        a = _assignment(request)
        ctx.reference(a)
        if "student" in request.fixturenames:
            ctx.student(a)
    seed = ctx.seed_for(request.node.nodeid)
    random.seed(seed[1] ^ seed[0])
    np.random.seed((seed[1] ^ seed[0]) % 2**32)
    if "keras" in sys.modules:
        sys.modules["keras"].utils.set_random_seed((seed[1] ^ seed[0]) % 2**31)
    spec = spec_of(request.node)
    limit = spec.timeout if spec is not None and spec.timeout else ctx.check_timeout
    sp = ctx.student_process() if "student" in request.fixturenames else None
    if sp is None:
        with time_limit(limit, lambda what: CheckTimeout(f"the check {what}"), wall_factor=ctx.wall_factor):
            yield
        return
    sp.request("seed", seed=seed[1] ^ seed[0])  # the student's code draws the same numbers as in-process
    with time_limit(limit, lambda what: CheckTimeout(f"the check {what}"), wall_factor=ctx.wall_factor), \
            sp.budget(limit):
        yield
    if sp.alive:
        with contextlib.suppress(Exception):
            sp.request("reset")  # the check's handles are released
