"""A failing sequence's cassette cut down further, by ``run --repro-dir``'s delta debugging.

Hypothesis shrinks a sequence by whole operations within the budget; a retried attach is three requests it cannot
split, and a shrink stopped by the budget leaves steps it never tried without. Replayed by ``run`` on the target,
the cassette fails at its last interaction; ddmin then drops the earlier interactions that the failure does not
need (keeping together an id's minter and an object's earlier changes), so the cassette holds the fewest steps
that still show it — the same cut ``run --repro-dir`` makes.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conformance.cassette import CassetteError
from conformance.cassette.files import CassetteWriter, load
from conformance.replay.repro import ReproLimits, reproduce

if TYPE_CHECKING:
    from conformance.settings import RunSettings

__all__ = ["cut_down"]

# worth a cut: Hypothesis' shrink leaves fewer steps than this nearly always
CUT_FROM = 5


def cut_down(path: Path, target: str, settings: RunSettings, *, budget: float) -> int:
    """Rewrite ``path`` with the fewest of its interactions that still fail at its last one on ``target``, each
    candidate replayed with ``settings`` (the run's: ``run CASSETTE`` must fail as the cut one did); its header
    kept, its ``meta`` saying how many steps it was cut from. Returns the interactions it holds."""
    options = settings.options
    try:
        loaded = load(path, options.profile)
    except CassetteError:
        return 0
    total = len(loaded.interactions)
    if total < CUT_FROM or budget <= 0:
        return total
    replayed = settings.run([path], target)
    with tempfile.TemporaryDirectory(prefix=".explore-cut-", dir=path.parent) as work:
        cuts = reproduce(replayed, Path(work), options, lambda _: "", timeout=settings.timeout,
                         verify=settings.verify, max_body=settings.max_body,
                         limits=ReproLimits(replays=32, budget=budget))
        kept = min((cut.kept for cut in cuts.values() if cut.path is not None and cut.kept
                    and cut.kept[-1] == total), key=len, default=None)
    if kept is None or len(kept) >= total:
        return total
    header: dict[str, Any] = {key: value for key, value in loaded.meta.items() if key not in ("name", "warnings")}
    meta = dict(header.get("meta") or {})
    meta.update(steps=len(kept), cut_from=total)
    by_index = {interaction.index: interaction for interaction in loaded.interactions}
    with CassetteWriter(path, path.stem, {**header, "meta": meta}, mode="overwrite") as writer:
        for index in kept:
            writer.append(by_index[index])
    return len(kept)
