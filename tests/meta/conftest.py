"""Shared helpers and fixtures of the meta tests.

The helpers are plain functions: a test module imports them with
``from tests.meta.conftest import close, val, value, values``.
"""
from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mpmath
import numpy as np
import pytest

import oracle

# The suite runs that meta tests start (in-process or as subprocesses, which inherit this) name an example database
# of their own: hypothesis saves nothing under the suite's fixed seeds, but should it ever, the repository's
# .hypothesis/lossconf must not depend on the meta tests (the broken adapters they plant, how they were spread over
# workers), nor a finding be reached only through them.
_DATABASE = tempfile.mkdtemp(prefix="lossconf-meta-examples-")
os.environ["LOSSCONF_HYPOTHESIS_DB"] = _DATABASE
atexit.register(shutil.rmtree, _DATABASE, ignore_errors=True)

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class SuiteRun:
    """One run of the conformance suite in a subprocess: its completed process and where it wrote."""
    proc: subprocess.CompletedProcess
    junit: Path
    report: Path


def run_suite_into(out: Path, *args, env=None) -> SuiteRun:
    """The conformance suite with ``args`` in a subprocess, writing its JUnit XML and its report into ``out``."""
    junit, report = out / "junit.xml", out / "index.html"
    proc = subprocess.run([sys.executable, "-m", "pytest", "tests/conformance", *args, f"--junitxml={junit}",
                           f"--report={report}", "-q", "-p", "no:cacheprovider"], cwd=ROOT, capture_output=True,
                          text=True, timeout=900, env={**os.environ, **(env or {})})
    return SuiteRun(proc, junit, report)


@pytest.fixture(scope="session")
def numpy_suite(tmp_path_factory) -> SuiteRun:
    """The numpy suite in float32, run once, for the tests that read what a run writes (test_cli, test_junit; the
    ``numpy-suite`` xdist group keeps them on one worker, so it runs once)."""
    return run_suite_into(tmp_path_factory.mktemp("numpy-suite"), "--impl=numpy", "--dtype=float32", "-p", "no:xdist")


# -- comparing exact values -----------------------------------------------------------------------

def close(a, b, bits=60, *, relative_to="larger"):
    """Whether a and b agree to `bits` bits: |a - b| <= 2**-bits * max(|a|, |b|), or 2**-bits * |b| with
    relative_to="b" (b is the exact value; tighter when |a| > |b|). Equal values are close, equal infinities
    included. Both are rounded to the working precision of the caller first."""
    a, b = mpmath.mpf(a), mpmath.mpf(b)
    if a == b:
        return True
    if relative_to == "larger":
        scale = max(abs(a), abs(b))
    elif relative_to == "b":
        scale = abs(b)
    else:
        raise ValueError(f"relative_to must be 'larger' or 'b', not {relative_to!r}")
    return abs(a - b) <= scale * mpmath.ldexp(1, -bits)


def all_close(xs, ys, bits=60, **kw):
    """Same length and ``close`` element by element."""
    return len(xs) == len(ys) and all(close(a, b, bits, **kw) for a, b in zip(xs, ys))


# -- the oracle's values --------------------------------------------------------------------------

def value(loss, *inputs, **kw):
    """The oracle's value as it is: an mpf, or an object array (reduction "none"). ``inputs`` in the spec's order
    (``y_true, y_pred`` for most losses)."""
    return oracle.evaluate_loss(loss, *inputs, **kw).value


def values(loss, *inputs, **kw):
    """The oracle's value as a flat list of mpf, always a list (a reduced value gives a list of one)."""
    return list(np.asarray(value(loss, *inputs, **kw), dtype=object).ravel())


def val(loss, *inputs, **kw):
    """The oracle's value as a flat list of mpf, or one mpf for a reduced value (a 0-d array included)."""
    v = value(loss, *inputs, **kw)
    if not isinstance(v, np.ndarray):
        return v
    return v[()] if v.ndim == 0 else list(np.asarray(v, dtype=object).ravel())


# -- working precision ----------------------------------------------------------------------------

@pytest.fixture
def prec200():
    """Runs a test at 200 bits of working precision and restores the caller's precision after it
    (a module that sets ``mpmath.mp.prec`` at import changes it for every test of the session)."""
    with mpmath.workprec(200):
        yield
