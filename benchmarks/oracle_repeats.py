"""The oracle where the suite repeats its own work: a long half-precision reduction (a few samples, the last one
repeated thousands of times: the long regime's shape) and a derivative by finite differences (CTC, whose forward
recursion is evaluated again for every moved input). Certified values, no cache, best of ``--repeat``.

    python benchmarks/oracle_repeats.py [--samples 4096] [--repeat 3]

Prints a Markdown table of seconds per case; the README and the notes quote it, before and after a change.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ["LOSSCONF_ORACLE_CACHE"] = "off"  # measure the oracle, not the cache
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

import oracle  # noqa: E402
import specs  # noqa: E402
from oracle_throughput import best_of  # noqa: E402  (this folder is the script's sys.path[0])


def long_runs(samples: int, rng):
    """(name, thunk): value and conditioning of a long reduction, per loss and reduction."""
    y_true, y_pred = rng.uniform(0.1, 2, size=(3, 8)), rng.uniform(0.1, 2, size=(3, 8))
    order = np.r_[0, 1, np.full(samples - 2, 2)]
    weights = np.r_[0.5, 1.0, np.full(samples - 2, 0.75)]
    for loss, semantics in (("poisson", "keras"), ("mean_squared_error", "keras")):
        for reduction in ("sum", "sum_over_batch_size"):
            for weighted in (False, True):
                case = specs.make_case(loss, y_true[order], y_pred[order], dtype="float16", reduction=reduction,
                                       semantics=semantics, sample_weight=weights if weighted else None)
                yield (f"long run: {loss} {reduction}{' weighted' if weighted else ''}, {samples} x 8 float16",
                       lambda case=case: (oracle.evaluate(case), oracle.condition(case)))


def ctc_gradients(rng):
    batch, frames, classes = 2, 8, 4
    targets, lengths = np.array([[1, 2], [3, -1]]), np.array([frames, frames - 2])
    for regime, scale in (("moderate", 4.0), ("extreme", 2.5e17)):
        log_probs = rng.uniform(-scale, scale, (batch, frames, classes))
        for reduction, semantics in (("sum", "ideal"), ("none", "optax")):
            case = specs.make_case("ctc", inputs={"log_probs": log_probs, "targets": targets, "input_lengths": lengths},
                                   params={"from_logits": True}, dtype="float64", reduction=reduction,
                                   semantics=semantics)
            cotangent = np.ones(batch) if reduction == "none" else None
            yield (f"ctc derivative: {regime} logits, {semantics}, {reduction}",
                   lambda case=case, c=cotangent: oracle.evaluate_gradient(case, ("log_probs",), c))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=4096, help="samples in a long run (default 4096)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the best is reported (default 3)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print("| case | seconds |\n|---|---:|")
    total = 0.0
    for name, thunk in [*long_runs(args.samples, rng), *ctc_gradients(rng)]:
        seconds = best_of(thunk, args.repeat)
        total += seconds
        print(f"| {name} | {seconds:.2f} |", flush=True)
    print(f"| total | {total:.2f} |")


if __name__ == "__main__":
    main()
