"""Draws that depend on the seed alone, not on the source code that happens to be imported.

Hypothesis (since 6.131) draws, about one primitive draw in twenty, a literal harvested from the source of every
local module imported so far (``hypothesis.internal.conjecture.providers._get_local_constants``). A lossconf draw
then depends on which of lossconf's modules are imported when it is drawn, and on the literals they hold: a new
constant in ``core/findings.py`` moved four of ``tf``'s dice draws from one verdict to another, the same seed drew
other inputs on another commit, and a pytest-xdist worker (which imports other modules in another order) drew
other inputs than a serial run. Hypothesis has no setting for it, so lossconf gives the harvest nothing to find:
the literals Hypothesis ships with (its global constants: 0, 1, inf, the limits of each format...) are still drawn,
as before. tests/meta/test_strategies.py checks that a module with new literals leaves a draw unchanged, so an
upgrade that moves this function fails there, not silently.
"""
from __future__ import annotations

from hypothesis.internal.conjecture import providers

HARVEST = providers._get_local_constants  # Hypothesis's own, kept for the meta test that shows what it changes


def stop_harvesting() -> None:
    """Make Hypothesis's pool of local constants empty for the rest of this process."""
    nothing = providers.Constants()
    providers._get_local_constants = lambda: nothing
    providers.CONSTANTS_CACHE.cache.clear()  # pools computed before this call may hold harvested literals
