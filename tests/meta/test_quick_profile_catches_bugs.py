"""The quick profile of the property suite catches a deliberately broken numpy adapter."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("broken, select, verdicts", [
    ("MeanOverNMinusOne", "binary_crossentropy and moderate or relation and binary_crossentropy and reduction_consistency",
     ("numeric",)),
    ("NaiveLogSigmoid", "binary_crossentropy and (saturated or infinite)", ("numeric", "nonfinite")),
    ("OrderDependentSum", "relation and mean_squared_error and batch_permutation", ("numeric",)),
    ("CompiledDrifts", "relation and mean_squared_error and variants_agree", ("numeric",)),
    ("CompiledRaises", "relation and mean_squared_error and variants_agree", ("variants_disagree",)),
])
def test_quick_profile_catches(broken, select, verdicts):
    result = subprocess.run([sys.executable, "-m", "pytest", "tests/conformance/test_properties.py", "tests/conformance/test_relations.py",
                             f"--impl=tests.meta.broken:{broken}", "--profile=quick", "--dtype=float32", "-q", "-k", select],
                            capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 1, result.stdout[-2000:]
    assert "failed" in result.stdout.splitlines()[-1]
    assert any(f": {verdict}\n" in result.stdout for verdict in verdicts), result.stdout[-2000:]


def test_the_correct_reference_passes_the_same_selection():
    select = ("binary_crossentropy and (moderate or saturated or infinite or reduction_consistency) "
              "or relation and mean_squared_error and batch_permutation")
    result = subprocess.run([sys.executable, "-m", "pytest", "tests/conformance/test_properties.py", "tests/conformance/test_relations.py",
                             "--impl=numpy", "--profile=quick", "--dtype=float32", "-q", "-k", select],
                            capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:]


# The long regime is drawn in half precision only: a float32 accumulator passes it, a running sum of the dtype does not.
HALF = ["--dtype=float16,bfloat16", "-k", "mean_squared_error and long"]


def _half_run(impl: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "tests/conformance/test_properties.py", f"--impl={impl}",
                           "--profile=quick", "-q", "-p", "no:cacheprovider", *HALF],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)


def test_quick_profile_catches_half_precision_running_sums():
    result = _half_run("tests.meta.broken:HalfRunningSum")
    assert result.returncode == 1, result.stdout[-2000:]
    for dtype in ("float16", "bfloat16"):
        assert f"cpu-{dtype}-mean_squared_error-long] FAILED" in result.stdout or \
            f"FAILED tests/conformance/test_properties.py::test_agrees_with_oracle[broken-running-sum-default-cpu-{dtype}-" \
            "mean_squared_error-long]" in result.stdout, result.stdout[-3000:]
    assert ": numeric\n" in result.stdout


def test_a_float32_accumulator_passes_the_long_regime():
    result = _half_run("numpy")
    assert result.returncode == 0, result.stdout[-2000:]
    assert "2 passed" in result.stdout.splitlines()[-1]


def test_a_declared_running_sum_conforms_and_is_flagged_as_a_hazard():
    result = _half_run("tests.meta.broken:DeclaredRunningSum")
    assert result.returncode == 0, result.stdout[-2000:]
    assert "declared-running-sum hazards:" in result.stdout and " accumulation" in result.stdout, result.stdout[-2000:]
