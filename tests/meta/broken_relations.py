"""torch adapters whose gradients break one gradient relation each (tests/conformance/test_gradient_relations.py),
the values torch's own: each gradient is torch's, then one mistake that only comparing the implementation with
itself shows (no exact derivative needed)."""
from __future__ import annotations

import numpy as np

from adapters.torch_functional import TorchAdapter


class _Tampered(TorchAdapter):
    """torch, whose gradients (every mode) pass through ``tamper``."""

    def gradient(self, call, wrt, cotangent, mode="reverse"):
        grads = TorchAdapter.gradient(self, call, wrt, cotangent, mode)
        return {n: np.asarray(self.tamper(call.case, mode, g), dtype=g.dtype) for n, g in grads.items()}

    def tamper(self, case, mode, g):
        raise NotImplementedError


class SumOffForOneElement(_Tampered):
    """Reduction sum's gradient is 1.5 times too large at its largest element (one block of a reduction kernel
    counted twice over half its width): the unreduced losses' vector-Jacobian product is right."""
    name = "broken-rel-sum"

    def tamper(self, case, mode, g):
        if case.reduction != "sum" or not g.size:
            return g
        g = g.copy()
        g.flat[np.argmax(np.abs(g))] *= 1.5
        return g


class WeightsSquared(TorchAdapter):
    """The backward pass multiplies by the square of each sample weight (the weight applied in the forward pass
    and again to the incoming gradient); linear in nothing."""
    name = "broken-rel-weights"

    def gradient(self, call, wrt, cotangent, mode="reverse"):
        case = call.case
        if case.sample_weight is None:
            return TorchAdapter.gradient(self, call, wrt, cotangent, mode)
        squared = case.with_(sample_weight=np.square(case.sample_weight))
        return TorchAdapter.gradient(self, self.plan(squared), wrt, cotangent, mode)


class PositionWeighted(_Tampered):
    """Each sample's gradient scaled by 1 + i/8, i its position in the batch (a kernel that reads a per-position
    scale): every reduction alike, so only reordering the batch shows it."""
    name = "broken-rel-order"

    def tamper(self, case, mode, g):
        if g.ndim == 0:
            return g
        return g * (1 + np.arange(g.shape[0]) / 8).reshape((-1,) + (1,) * (g.ndim - 1))


class ConstantOffset(_Tampered):
    """Every component of the gradient moved by a thousandth of the largest (a bias added in the backward pass):
    a softmax's gradient then no longer sums to zero over the classes."""
    name = "broken-rel-offset"

    def tamper(self, case, mode, g):
        return g + 1e-3 * (np.max(np.abs(g)) if g.size else 0)


class ForwardModeOff(_Tampered):
    """Forward mode 1 + 2**-8 times the reverse-mode gradient (a tangent scaled by a rounded constant)."""
    name = "broken-rel-forward"

    def tamper(self, case, mode, g):
        return g * (1 + 2.0 ** -8) if mode == "forward" else g


class CompiledOff(_Tampered):
    """A stand-in compiled variant ``jit`` (torch eager underneath, so no compiler is needed) whose gradient is
    1 + 2**-8 times the eager one's at its largest element."""
    name = "broken-rel-compiled"
    variants = ("default", "jit")
    expensive_variants = ()

    def tamper(self, case, mode, g):
        if case.variant != "jit" or not g.size:
            return g
        g = g.copy()
        g.flat[np.argmax(np.abs(g))] *= 1 + 2.0 ** -8
        return g


class CompiledHonest(CompiledOff):
    """The same stand-in ``jit`` variant, torch's gradient untouched: the relation holds."""
    name = "honest-rel-compiled"

    def tamper(self, case, mode, g):
        return g
