"""Exact per-sample loss formulas, one pure function per loss, registered by canonical name.

Each function takes object arrays of mpf (integer arrays for sparse labels), the semantics and the
compute dtype, plus the loss's own parameters, and returns a ``PerSample``: the losses after the
loss's own axis reduction, the mask of elements that count, and how many terms each one summed.

Every module of this package that defines ``LOSSES = {canonical name: function}`` is registered (the semantics
switches that only its losses use are declared in core/semantics.py); a module may also define ``CHECKS = {canonical name: fn(params, y_true, y_pred, sample_weight)}``
for domain rules beyond the spec's input kinds (raise oracle.domain.DomainError). Adding a loss family is adding a module (and its specs).
"""
from __future__ import annotations

import importlib
import pkgutil

LOSSES: dict = {}
CHECKS: dict = {}  # canonical name -> fn(params, y_true, y_pred, sample_weight), raising DomainError
for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    _module = importlib.import_module(f"{__name__}.{_info.name}")
    for _name, _fn in getattr(_module, "LOSSES", {}).items():
        if _name in LOSSES:
            raise ImportError(f"loss {_name!r} is defined twice ({_module.__name__})")
        LOSSES[_name] = _fn
    CHECKS.update(getattr(_module, "CHECKS", {}))
