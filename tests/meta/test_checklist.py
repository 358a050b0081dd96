"""The checklist of what each loss has (conformance/checklist.py): every loss complete, or its gap named here.

Run with ``-s`` to see one line per loss; ``python -m conformance.checklist`` prints the same.
"""
from __future__ import annotations

from conformance import checklist

# A gap stays listed here, with why, until it is closed; a listed gap that is closed fails the test (stale).
KNOWN_GAPS = {
    "tversky": {"documented example": "neither Keras 3.15.1's Tversky docstring nor its function's prints a value; "
                                      "the loss is checked by hypothesis draws and the oracle's closed forms"},
}


def test_every_loss_is_complete_or_its_gap_is_known():
    entries = checklist.entries()
    for e in entries:
        print(e.line())
    found = {e.loss: set(e.missing) for e in entries if e.missing}
    assert found == {loss: set(gaps) for loss, gaps in KNOWN_GAPS.items()}


def test_a_loss_missing_its_parts_is_reported(monkeypatch):
    """A scratch loss with a spec only: the checklist names each part it lacks, and an adapter's unknown semantics."""
    import specs

    real = specs.all_specs()
    toy = specs.Spec("scratch_loss", {**real["mean_squared_error"].data, "name": "scratch_loss", "examples": []},
                     real["mean_squared_error"].path)
    monkeypatch.setattr(specs, "all_specs", lambda: {**real, "scratch_loss": toy})

    class Declares:
        semantics = {"scratch_loss": "nosuch+ftz"}

    (entry,) = [e for e in checklist.entries({"candidate": Declares()}) if e.loss == "scratch_loss"]
    assert entry.missing == ["oracle formula", "documented example", "oracle test",
                             "candidate declares semantics 'nosuch+ftz', which specs/scratch_loss.yaml does not define"]
    assert entry.line().startswith("scratch_loss: missing: oracle formula; documented example; oracle test; candidate declares")
