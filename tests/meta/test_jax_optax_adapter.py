"""The optax adapter (adapters/jax_optax.py, adapters/optax_losses.py): every loss with an optax semantics is mapped,
no canonical parameter is dropped silently, and each reproducer prints, bit for bit, what the adapter computed."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import specs
from adapters.base import Unsupported
from adapters.optax_losses import CALLS
from adapters.registry import resolve_direct
from conformance import cases

ROOT = Path(__file__).resolve().parents[2]


def _optax_specs() -> dict:
    return {name: spec for name, spec in specs.all_specs().items()
            if any(s == "optax" or s.startswith("optax_") for s in spec.data["semantics"])}


def test_every_spec_with_an_optax_semantics_is_mapped():
    adapter = resolve_direct("jax")
    optax = _optax_specs()
    assert set(CALLS) == set(optax)
    for name, spec in optax.items():
        declared = adapter.semantics[name]
        assert declared.endswith("+ftz") and declared.removesuffix("+ftz") in spec.data["semantics"], (name, declared)


def _changed(value):
    """Another value of a parameter."""
    if isinstance(value, bool):
        return not value
    if value is None:
        return 0
    if isinstance(value, int):
        return 0 if value != 0 else 1
    return float(value) + 0.5


def _with(case, **params):
    return case.with_(params=tuple(sorted({**case.kwargs, **params}.items())))


def _supported(adapter, spec, **kw) -> list:
    """The spec's examples the adapter supports; failing any, the first one supported with a boolean parameter
    flipped (kl_divergence's examples all take probabilities, optax takes log_input=True)."""
    found = [c for c in (cases.example_case(spec, e, **kw) for e in spec.examples) if adapter.supports(c) is True]
    for case in [] if found else (cases.example_case(spec, e, **kw) for e in spec.examples):
        for k, v in spec.resolve_params(case.kwargs).items():
            if isinstance(v, bool) and adapter.supports(_with(case, **{k: not v})) is True:
                return [_with(case, **{k: not v})]
    return found


@pytest.mark.parametrize("loss", sorted(CALLS))
def test_no_parameter_is_dropped(loss):
    """Changing any parameter of a supported example changes the optax call, or makes the case unsupported
    (on the example as it is, or with one boolean parameter flipped: alpha counts only with class balancing)."""
    adapter = resolve_direct("jax")
    spec = specs.all_specs()[loss]
    base = _supported(adapter, spec, semantics="optax")[0]
    params = spec.resolve_params(base.kwargs)
    bases = [base] + [_with(base, **{k: not v}) for k, v in params.items() if isinstance(v, bool)]
    bases = [b for b in bases if adapter.supports(b) is True]
    for name, current in params.items():
        value = _changed(current)
        if name == "axis":
            if base.y_pred.ndim < 2:
                continue
            value = 0
        if name == "class_weight":
            value = [1.0] * base.y_pred.shape[-1]
        reaches = False
        for b in bases:
            try:
                reaches = reaches or adapter.plan(_with(b, **{name: value})).detail.text != adapter.plan(b).detail.text
            except Unsupported:
                reaches = True
        assert reaches, f"{loss}: {name}={value!r} does not reach the optax call: {adapter.plan(base).detail.text}"


def _examples():
    adapter = resolve_direct("jax")
    adapter.setup()
    found = []
    for loss in CALLS:
        spec = specs.all_specs()[loss]
        for variant in adapter.variants:  # jit compiles each case: one dtype is enough for it
            for dtype in ("float32", "float64", "bfloat16") if variant == "default" else ("float32",):
                # every example eagerly in float32; in the other dtypes and under jit, the first (XLA compiles every
                # op, or the whole jitted call, anew for each shape and dtype: seconds per loss)
                supported = _supported(adapter, spec, dtype=dtype, semantics=adapter.semantics_for(loss), variant=variant)
                for case in supported if (variant, dtype) == ("default", "float32") else supported[:1]:
                    try:
                        got = adapter.compute(case)
                    except Exception:
                        continue
                    found.append((case, np.asarray(got), adapter.reproducer(case)))
    return found


def test_reproducers_print_what_the_adapter_computed():
    found = _examples()
    assert {c.loss for c, _, _ in found} == set(CALLS)
    runner = ("import contextlib, io, json, sys\nout = []\nfor src in json.load(sys.stdin):\n"
              "    buf = io.StringIO()\n    with contextlib.redirect_stdout(buf):\n"
              "        exec(compile(src, '<reproducer>', 'exec'), {'__name__': '__main__'})\n"
              "    out.append(buf.getvalue())\nsys.__stdout__.write('@@' + json.dumps(out))")
    proc = subprocess.run([sys.executable, "-c", runner], input=json.dumps([s for _, _, s in found]), capture_output=True,
                          text=True, cwd=ROOT, env=os.environ, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    printed = json.loads(proc.stdout.rsplit("@@", 1)[1])
    wrong = []
    for (case, got, source), text in zip(found, printed):
        value = np.ravel(np.asarray(eval(text.strip(), {"__builtins__": {}, "nan": math.nan, "inf": math.inf}), dtype=np.float64))
        expected = np.ravel(got.astype(np.float64))
        if value.shape != expected.shape or not np.array_equal(value, expected, equal_nan=True):
            wrong.append(f"{case.describe()} {case.variant}: adapter {expected.tolist()}, reproducer {value.tolist()}\n{source}")
    assert not wrong, "\n".join(wrong[:2])


_COMPILE_ONCE = """
import numpy as np
from adapters.jax_optax import jax_module
jax = jax_module()
print(jax.config.jax_compilation_cache_dir)
np.asarray(jax.numpy.log1p(jax.numpy.asarray(np.linspace(0, 1, 7))))
"""


@pytest.mark.parametrize("setting", ["a directory", "off"])
def test_compiled_executables_persist_across_processes(tmp_path, setting):
    """Eager dispatch compiles each primitive per shape: a second process (a framework worker, the other xdist
    worker, keras-jax after jax) reads them from the persistent cache instead, unless LOSSCONF_JAX_CACHE=off."""
    where = tmp_path / "jax-cache"
    env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
    env.update(PYTHONPATH=str(ROOT), LOSSCONF_JAX_CACHE=str(where) if setting != "off" else "off")
    out = subprocess.run([sys.executable, "-c", _COMPILE_ONCE], env=env, capture_output=True, text=True, check=True)
    written = sorted(p.name for p in where.rglob("*") if p.is_file()) if where.exists() else []
    if setting == "off":
        assert out.stdout.split()[0] == "None" and not written
    else:
        assert out.stdout.split()[0] == str(where) and written, out.stderr[-2000:]
