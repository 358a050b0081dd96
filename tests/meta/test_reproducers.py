"""Framework reproducers: the few lines of framework code in a report recompute, bit for bit, what the adapter got.

Each reproducer is run in a fresh subprocess (one per framework, each reproducer in its own namespace) and
what it prints is compared with ``adapter.compute(case)`` in this process: same values, same bits.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

from adapters import reproduce
from adapters.registry import resolve_direct
from conformance import cases

ROOT = Path(__file__).resolve().parents[2]
DTYPES = ("float32", "float64", "float16", "bfloat16")
FRAMEWORK_CODE = {  # what a framework reproducer must contain, and must not
    "tf": ("import tensorflow as tf", "tf.keras.losses."),
    "tf1": ("import tensorflow as tf", "tf.compat.v1.losses."),
    "torch": ("import torch", "F."),
}

RUNNER = textwrap.dedent('''
    import contextlib, io, json, sys
    results = []
    for source in json.load(sys.stdin):
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                exec(compile(source, "<reproducer>", "exec"), {"__name__": "__main__"})
            results.append({"stdout": out.getvalue()})
        except BaseException as exc:
            results.append({"error": f"{type(exc).__name__}: {exc}", "stdout": out.getvalue()})
    sys.__stdout__.write("\\n@@RESULTS@@" + json.dumps(results))
''')


EXPENSIVE_PER_DTYPE = 2  # cases per dtype of a variant the adapter marks expensive (torch.compile: one compile each)


def _cases(impl: str):
    """Every documented example the adapter computes without raising, on every variant, in one dtype each: the
    dtypes take turns from one example to the next (the first the adapter computes, from its turn on), so every
    variant meets every dtype; for an expensive variant, the first few per dtype."""
    adapter = resolve_direct(impl)
    adapter.setup()
    expensive = set(getattr(adapter, "expensive_variants", ()))
    found = []
    for turn, (spec, example) in enumerate(cases.doc_examples()):
        for variant in adapter.variants:
            for dtype in DTYPES[turn % len(DTYPES):] + DTYPES[:turn % len(DTYPES)]:
                if variant in expensive and sum(c.variant == variant and c.dtype == dtype for c, _, _ in found) >= EXPENSIVE_PER_DTYPE:
                    continue
                case = cases.example_case(spec, example, dtype=dtype, semantics=adapter.semantics_for(spec.name) or "ideal",
                                          variant=variant)
                if adapter.supports(case) is not True:
                    continue
                try:
                    got = adapter.compute(case)
                except Exception:  # unsupported or raising cases have no value to reproduce
                    continue
                found.append((case, np.asarray(got), adapter.reproducer(case)))
                break
    return found


def _run(sources: list[str]) -> list[dict]:
    proc = subprocess.run([sys.executable, "-c", RUNNER], input=json.dumps(sources), capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, timeout=600)
    assert proc.returncode == 0 and "@@RESULTS@@" in proc.stdout, proc.stderr[-3000:]
    return json.loads(proc.stdout.rsplit("@@RESULTS@@", 1)[1])


def _printed(text: str) -> np.ndarray:
    value = eval(text.strip(), {"__builtins__": {}, "nan": math.nan, "inf": math.inf})  # a printed list of floats
    return np.ravel(np.asarray(value, dtype=np.float64))


def _same_bits(printed: np.ndarray, got: np.ndarray) -> bool:
    got = np.ravel(np.asarray(got).astype(np.float64))
    # the sign of zero matters (-0.0 vs 0.0); the sign bit of a NaN does not (TF's NaN is negative, print loses it)
    numbers = ~np.isnan(printed) if printed.shape == got.shape else slice(None)
    return printed.shape == got.shape and np.array_equal(printed, got, equal_nan=True) and np.array_equal(
        np.signbit(printed[numbers]), np.signbit(got[numbers]))


@pytest.mark.parametrize("impl", ["tf", "tf1", "torch", "numpy"])
def test_reproducer_prints_what_the_adapter_computed(impl):
    found = _cases(impl)
    # coverage of what matters: every variant, sample weights, the narrow dtypes
    variants = {c.variant for c, _, _ in found}
    assert variants == set(resolve_direct(impl).variants), variants
    assert {c.dtype for c, _, _ in found} == set(DTYPES)
    assert any(c.sample_weight is not None for c, _, _ in found)
    for case, _, source in found:
        if impl in FRAMEWORK_CODE:
            must, call = FRAMEWORK_CODE[impl]
            assert must in source and call in source, source
            assert "adapters" not in source and "Case.from_dict" not in source, f"{impl}: not framework code:\n{source}"
        assert "\nprint(" in source
    outputs = _run([source for _, _, source in found])
    wrong = []
    for (case, got, source), out in zip(found, outputs):
        if "error" in out or not _same_bits(_printed(out["stdout"]), got):
            wrong.append(f"{case.describe()} variant={case.variant}: adapter {got.tolist()}, reproducer {out}\n{source}")
    assert not wrong, f"{len(wrong)} of {len(found)} reproducers disagree; first:\n" + "\n".join(wrong[:2])


def test_keras_reproducer_names_each_handle():
    adapter = resolve_direct("tf")
    spec, example = next((s, e) for s, e in cases.doc_examples() if e["reduction"] == "none" and s.name == "mean_squared_error")
    text = {v: adapter.reproducer(cases.example_case(spec, example, semantics="keras", variant=v)) for v in adapter.variants}
    assert "tf.keras.losses.MeanSquaredError(reduction=None, dtype='float32')" in text["class"]
    assert "loss = tf.keras.losses.mse(y_true, y_pred)" in text["function"]
    assert "loss = tf.keras.losses.get('mse')(y_true, y_pred)" in text["alias"]


def test_unsupported_case_falls_back_to_the_generic_reproducer():
    adapter = resolve_direct("torch")
    spec, example = next((s, e) for s, e in cases.doc_examples() if s.name == "categorical_crossentropy"
                         and not (e.get("params") or {}).get("from_logits"))
    text = adapter.reproducer(cases.example_case(spec, example, semantics="torch"))
    assert "Case.from_dict(" in text and "resolve_direct('torch')" in text


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_number_literals_are_exact(dtype):
    rng = np.random.default_rng(0)
    np_dtype = np.dtype(ml_dtypes.bfloat16) if dtype == "bfloat16" else np.dtype(dtype)
    values = np.concatenate([rng.standard_normal(2000) * 10.0 ** rng.integers(-8, 5, 2000),
                             [0.0, -0.0, 1e-45, 65504.0, 0.1, 1 / 3]]).astype(np_dtype)
    for x in values:
        text = reproduce.number(x, dtype)
        back = float(eval(text))
        # exact as a float64, or (float32) one rounding away along the path every framework converts
        exact = back == float(x) if dtype != "float32" else float(np.float32(back)) == float(x)
        assert exact and math.copysign(1, back) == math.copysign(1, float(x)), (dtype, float(x), text)
    assert reproduce.number(np.float32(0.51), "float32") == "0.51"
    assert reproduce.number(float("nan"), "float32") == 'float("nan")'
    assert reproduce.number(float("-inf"), "float16") == 'float("-inf")'


def test_array_literals_per_framework():
    a = np.array([[1.0, 0.5]], dtype=ml_dtypes.bfloat16)
    assert reproduce.array("numpy", a, "x") == "x = np.array([[1.0, 0.5]], dtype=ml_dtypes.bfloat16)"
    assert reproduce.array("tf", np.array([3, 1]), "y") == "y = tf.constant([3, 1], dtype=tf.int64)"
    assert reproduce.array("torch", np.float16([0.1]), "z", device="cuda") == \
        "z = torch.tensor([0.0999755859375], dtype=torch.float16, device='cuda')"
    assert reproduce.comment("two\nlines <b>") == "# two lines <b>"
