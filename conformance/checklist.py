"""What each loss has, and what it lacks: the checklist read after adding a loss (README, "Adding a loss").

    python -m conformance.checklist            # one line per loss
    python -m conformance.checklist huber      # one loss

A loss is complete when it has a spec, an oracle formula, at least one documented example, an oracle test that
names it, and at least one built-in adapter that maps it; and every adapter that maps it declares a semantics
its spec defines. Nothing here imports a framework: adapters are made, never set up.
"""
from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import specs
from adapters import registry
from oracle.losses import LOSSES

ORACLE_TESTS = Path(__file__).resolve().parent.parent / "tests" / "meta"


@dataclass
class Entry:
    loss: str
    spec: bool
    oracle: bool
    examples: int
    oracle_tests: list[str]
    adapters: dict[str, str]  # --impl name -> the semantics it declares
    problems: list[str] = field(default_factory=list)

    @property
    def missing(self) -> list[str]:
        gaps = [what for what, present in (("spec", self.spec), ("oracle formula", self.oracle),
                                           ("documented example", self.examples), ("oracle test", self.oracle_tests),
                                           ("adapter mapping", self.adapters)) if not present]
        return gaps + self.problems

    def line(self) -> str:
        mapped = ", ".join(f"{impl}={sem}" for impl, sem in self.adapters.items()) or "none"
        state = "complete" if not self.missing else "missing: " + "; ".join(self.missing)
        return f"{self.loss}: {state} (examples {self.examples}; tests {', '.join(self.oracle_tests) or 'none'}; adapters {mapped})"


def built_in_adapters() -> dict:
    """Each built-in implementation's adapter, made under its own environment (Keras reads its backend there)."""
    made = {}
    for name in sorted(registry.BUILTIN):
        with mock.patch.dict(os.environ, registry.environment(name)):
            made[name] = registry.adapter_class(name)()
    return made


def _oracle_tests() -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(ORACLE_TESTS.glob("test_oracle*.py"))}


def entries(adapters: dict | None = None) -> list[Entry]:
    adapters = built_in_adapters() if adapters is None else adapters
    loaded, tests = specs.all_specs(), _oracle_tests()
    out = []
    for loss in sorted(set(loaded) | set(LOSSES)):
        spec = loaded.get(loss)
        named = re.compile(rf"\b{re.escape(loss)}\b")
        entry = Entry(loss, spec is not None, loss in LOSSES, len(spec.examples) if spec else 0,
                      [name for name, text in tests.items() if named.search(text)],
                      {impl: a.semantics[loss] for impl, a in adapters.items() if loss in a.semantics})
        for impl, declared in entry.adapters.items():
            if spec and declared.split("+")[0] not in spec.semantics_names:
                entry.problems.append(f"{impl} declares semantics {declared!r}, which specs/{loss}.yaml does not define")
        out.append(entry)
    return out


def main(argv: list[str]) -> int:
    chosen = [e for e in entries() if not argv or e.loss in argv]
    for e in chosen:
        print(e.line())
    return 1 if any(e.missing for e in chosen) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
