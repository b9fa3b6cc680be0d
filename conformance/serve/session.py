"""A serving session: what one run of an application asked, and so what it never asked."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conformance.serve.matching import InteractionIndex

__all__ = ["Session"]


@dataclass
class Session:
    """What one session of an application asked: answered, missed, and so what it never asked."""

    answered: int = 0
    misses: list[dict[str, Any]] = field(default_factory=list)
    # (cassette, interaction index) of the served interactions: what names them across a reload of their file
    used: set[tuple[str, int]] = field(default_factory=set)

    def summary(self, index: InteractionIndex) -> dict[str, Any]:
        unused = [{"cassette": s.cassette, "interaction": s.interaction.index, "endpoint": s.interaction.endpoint,
                   "request": f"{s.request.method} {s.interaction.request.url_path}"}
                  for s in index.all if (s.cassette, s.interaction.index) not in self.used]
        return {"answered": self.answered, "misses": self.misses, "unused": unused}
