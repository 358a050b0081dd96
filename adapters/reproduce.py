"""Framework reproducers: the shared pieces adapters use to print a case as a few lines of a framework's code.

An adapter's ``reproducer(case)`` returns a short script in the framework's own terms (imports, the
inputs as literals in the case dtype, the exact call, a print). Everything that is not specific to one
framework lives here, once: numbers and arrays as source text, dtype spellings, the print line, and the
assembly of the script.

Literals are exact. A float is written as the shortest text of its dtype only where that text comes back
as the very same float along the path the frameworks take (Python float -> float64 -> case dtype, a single
rounding for float32); otherwise as the float64 repr of its exact value, which no conversion can change.
The print line writes ``.tolist()`` of the result: the float64 repr of each value, exact for every dtype,
so what a reproducer prints can be compared bit for bit with what the adapter returned.
"""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from core import dtypes
from core.case import row_runs

#: how each framework spells a dtype, and how it makes an array from a nested list
_DTYPE_PREFIX = {"numpy": "np.", "tf": "tf.", "torch": "torch.", "jax": "jnp."}
_MAKE = {"numpy": "np.array", "tf": "tf.constant", "torch": "torch.tensor", "jax": "jnp.array"}
_IMPORTS = {"numpy": "import numpy as np", "tf": "import tensorflow as tf",
            "torch": "import torch\nimport torch.nn.functional as F",
            # lossconf's JAX adapters run with x64 on (float64 cases), which must be set before any array exists
            "jax": "import numpy as np\nimport jax\njax.config.update('jax_enable_x64', True)\nimport jax.numpy as jnp"}
_WIDTH = 100  # wrap long literals at about this many characters


def _check(framework: str) -> None:
    if framework not in _MAKE:
        raise ValueError(f"unknown framework {framework!r}; known: {', '.join(_MAKE)}")


def dtype_name(framework: str, dtype) -> str:
    """``np.float32``, ``ml_dtypes.bfloat16``, ``tf.int64``, ``torch.bfloat16`` ..."""
    _check(framework)
    name = str(np.dtype(dtype)) if not isinstance(dtype, str) else dtype
    if framework == "numpy" and name == "bfloat16":
        return "ml_dtypes.bfloat16"
    return _DTYPE_PREFIX[framework] + name


def number(value, dtype: str | None = None) -> str:
    """Source text for one value that converts back to exactly that value of ``dtype``."""
    if isinstance(value, (bool, np.bool_)):
        return repr(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    x = float(value)
    if math.isnan(x):
        return 'float("nan")'
    if math.isinf(x):
        return 'float("inf")' if x > 0 else 'float("-inf")'
    if dtype is not None and dtype != "float64":
        short = str(dtypes.float_format(dtype).numpy.type(x))  # the dtype's shortest round-trip text
        if not any(c in short for c in ".eEn"):  # bfloat16 prints -0 and 65024: as source they are ints
            short += ".0"
        try:
            back = float(short)
        except ValueError:
            back = None
        same_sign = back is not None and math.copysign(1, back) == math.copysign(1, x)
        # exact as a float64, or (float32 only) one rounding float64 -> float32 away, as every framework converts
        if same_sign and (back == x or (dtype == "float32" and float(np.float32(back)) == x)):
            return short
    return repr(x)


def _nested(a: np.ndarray, dtype: str | None, indent: int) -> str:
    if a.ndim == 0:
        return number(a.item() if a.dtype.kind in "iub" else float(a), dtype)
    if a.ndim == 1:
        items = [number(v if a.dtype.kind in "iub" else float(v), dtype) for v in a.tolist()]
        return "[" + ", ".join(items) + "]"
    rows = [_nested(row, dtype, indent + 1) for row in a]
    one_line = "[" + ", ".join(rows) + "]"
    if len(one_line) + indent <= _WIDTH:
        return one_line
    pad = " " * (indent + 1)
    return "[" + (",\n" + pad).join(rows) + "]"


def literal(array, indent: int = 0) -> str:
    """A numpy array as a nested Python list literal, exact for its dtype (rows on their own lines when long). A long
    run of one repeated row (the long regime: a few samples, then one repeated thousands of times) is written as a
    list product, ``[row] * 4094``: the same list, in a line instead of thousands."""
    a = np.asarray(array)
    dtype = None if a.dtype.kind in "iub" else dtypes.float_format(str(a.dtype)).name
    runs = row_runs(a)
    if runs:
        return " + ".join(f"[{_nested(a[i], dtype, indent + 1)}] * {n}" for i, n in runs)
    return _nested(a, dtype, indent)


def array(framework: str, value, name: str, *, device: str = "cpu") -> str:
    """``name = np.array([...], dtype=np.float32)`` / ``tf.constant(...)`` / ``torch.tensor(...)``."""
    _check(framework)
    a = np.asarray(value)
    head = f"{name} = {_MAKE[framework]}("
    dev = f", device={device!r}" if framework == "torch" and device != "cpu" else ""
    return f"{head}{literal(a, len(head))}, dtype={dtype_name(framework, a.dtype)}{dev})"


def value(v) -> str:
    """A parameter value as source text (floats exact, everything else repr)."""
    if isinstance(v, float):
        return number(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(value(x) for x in v) + "]"
    return repr(v)


class Source(str):
    """A keyword value that is already source text (a variable name, an expression)."""


def call_args(positional: Iterable[str] = (), keywords: dict | None = None) -> str:
    """``a, b, key=value, ...`` with keyword values as source text (``str`` values are already source)."""
    parts = list(positional)
    for k, v in (keywords or {}).items():
        parts.append(f"{k}={v if isinstance(v, Source) else value(v)}")
    return ", ".join(parts)


def comment(text: str) -> str:
    """One comment line, whatever ``text`` holds."""
    return "# " + " ".join(str(text).split())


def header(case) -> str:
    where = "" if case.device == "cpu" else f" device={case.device}"
    origin = f" ({case.origin})" if case.origin else ""
    return comment(f"lossconf: {case.describe()} variant={case.variant}{where}{origin}")


def printed(framework: str, expression: str) -> str:
    """The print line: every value as the float64 repr of its exact value."""
    _check(framework)
    if framework == "tf":
        return f"print({expression}.numpy().tolist())"
    if framework == "torch":
        return f"print({expression}.tolist())"
    if framework == "jax":  # np.asarray of a bfloat16 array holds ml_dtypes scalars: widen (exactly) first
        return f"print(np.asarray({expression}, dtype=np.float64).tolist())"
    return f"print(np.asarray({expression}).tolist())"


def script(framework: str, case, body: Iterable[str], *, extra_imports: Iterable[str] = ()) -> str:
    """Assemble a reproducer: header comment, imports, blank line, body lines."""
    _check(framework)
    imports = [_IMPORTS[framework], *extra_imports]
    if framework == "numpy" and any(
            a is not None and np.asarray(a).dtype.name == "bfloat16" for a in (*case.inputs.values(), case.sample_weight)):
        imports.append("import ml_dtypes")
    return "\n".join([header(case), *imports, "", *body])


def device_block(lines: list[str], scope: str | None) -> list[str]:
    """Wrap ``lines`` in ``with <scope>:`` when a scope is given (e.g. ``tf.device('/GPU:0')``)."""
    if not scope:
        return lines
    return [f"with {scope}:"] + ["    " + line.replace("\n", "\n    ") for line in lines]
