"""The candidate door: an installed distribution that declares a ``lossconf.adapters`` entry point is an
``--impl`` name. No pip needed: importlib.metadata discovers ``*.dist-info`` directories on sys.path, so a
package and its dist-info in a directory on PYTHONPATH are "installed" for the run."""
from __future__ import annotations

import json
import re
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CANDIDATE = '''
    """A candidate library's adapter: mean squared error only, no sample weights."""
    from adapters.base import Adapter, Unsupported


    class Candidate(Adapter):
        name = "theirlib"
        library = "theirlib"  # its version comes from the distribution's metadata
        semantics = {"mean_squared_error": "ideal"}

        def mean_squared_error(self, case):
            if case.y_true.shape != case.y_pred.shape or case.y_pred.size == 0:
                raise ValueError("shapes must match and be non-empty")
            if case.sample_weight is not None:
                raise Unsupported("theirlib takes no sample weights")
            per_sample = ((case.y_true - case.y_pred) ** 2).mean(axis=-1)
            reduce = {"none": lambda x: x, "sum": lambda x: x.sum(), "sum_over_batch_size": lambda x: x.mean()}
            if case.reduction not in reduce:
                raise Unsupported(f"theirlib has no reduction {case.reduction}")
            return reduce[case.reduction](per_sample)
'''


def _install(site: Path) -> None:
    """theirlib and theirlib-1.2.3.dist-info (METADATA, entry_points.txt) in ``site``, as pip would leave them."""
    package = site / "theirlib"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "lossconf_adapter.py").write_text(textwrap.dedent(CANDIDATE))
    info = site / "theirlib-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: theirlib\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text("[lossconf.adapters]\ntheirlib = theirlib.lossconf_adapter:Candidate\n")


def _suite(*args, site: Path, timeout=600):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "pytest", "tests/conformance/test_examples.py", "-q", "-p", "no:cacheprovider",
                           *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=timeout)


def test_an_entry_point_is_an_impl_name(tmp_path):
    site = tmp_path / "site"
    _install(site)
    report = tmp_path / "out" / "theirlib.html"
    result = _suite("--impl=theirlib", f"--report={report}", "-rs", site=site)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    doc = json.loads(report.with_suffix(".json").read_text())
    mine = [r for r in doc["records"] if r.get("impl") == "theirlib" and r["kind"] == "conformance"]
    assert mine and {r["version"] for r in mine} == {"1.2.3"}  # the version comes from the dist-info
    # what it implements is judged; every loss it does not implement is reported unsupported, with the reason
    assert any(r["loss"] == "mean_squared_error" and r["verdict"] == "pass" for r in mine)
    others = [r for r in mine if r["loss"] != "mean_squared_error"]
    assert others and all(r["verdict"] == "unsupported" and "does not implement" in r["explanation"] for r in others)
    assert {r["loss"] for r in others} >= {"binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy"}
    # not a pytest skip: the combination is no test (conformance.omitted), and the run's summary says why
    assert "unsupported: theirlib does not implement" not in result.stdout
    assert re.search(r"theirlib not made tests: \d+ combinations", result.stdout), result.stdout[-3000:]
    not_made = doc["run"]["implementations"][0]["not_made_tests"]
    assert not_made["examples"]["theirlib does not implement binary_crossentropy"] >= 1


def test_an_entry_point_is_listed_among_the_known_names(tmp_path):
    site = tmp_path / "site"
    _install(site)
    result = _suite("--impl=nosuch", site=site)
    assert result.returncode == 4
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("ERROR: --impl nosuch: unknown implementation; known: ")
    assert "theirlib" in lines[0].split("known: ")[1].split(", or ")[0].split(", ")
