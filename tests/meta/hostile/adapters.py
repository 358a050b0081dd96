"""Adapters that misbehave on purpose, each in one way, to show that each costs one case and no more.

They answer only ``mean_squared_error``; the well-behaved cases around them must still be judged.
"""
from __future__ import annotations

import os
import time

import numpy as np

from adapters.base import Adapter


class _MSE(Adapter):
    library = "numpy"
    semantics = {"mean_squared_error": "ideal"}

    def good(self, case):
        return ((case.y_true - case.y_pred) ** 2).mean(axis=-1).sum() if case.reduction == "sum" else \
            ((case.y_true - case.y_pred) ** 2).mean(axis=-1)

    def misbehave(self, case) -> bool:
        # misbehave on one documented example only, so the rest of the run shows what survives
        return case.origin == "example:tf-keras-mse-sum"

    def mean_squared_error(self, case):
        if case.reduction not in ("none", "sum"):
            from adapters.base import Unsupported
            raise Unsupported("hostile adapters implement none and sum only")
        if self.misbehave(case):
            return self.attack(case)
        return self.good(case)


class Raises(_MSE):
    name = "hostile-raises"

    def attack(self, case):
        raise RuntimeError("<b>kernel</b> exploded & <img src=x onerror=alert(1)>")


class Aborts(_MSE):
    name = "hostile-aborts"

    def attack(self, case):
        os.abort()


class Hangs(_MSE):
    name = "hostile-hangs"

    def attack(self, case):
        time.sleep(3600)


class ReturnsNaN(_MSE):
    name = "hostile-nan"

    def attack(self, case):
        return np.array(np.nan, dtype=case.y_pred.dtype)


class WrongShape(_MSE):
    name = "hostile-shape"

    def attack(self, case):
        return np.zeros((7, 3), dtype=case.y_pred.dtype)


class ScriptName(Raises):
    name = "<script>alert(1)</script>"


class Slow(_MSE):
    """Takes a while on every case, so a run can be stopped halfway."""
    name = "hostile-slow"

    def misbehave(self, case):
        return True

    def attack(self, case):
        time.sleep(0.5)
        return self.good(case)
