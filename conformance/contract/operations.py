"""Which operation of the contract a request is: the spec's path templates, not a hand-written table."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["Operation", "OperationIndex"]


@dataclass(frozen=True)
class Operation:
    method: str
    template: str  # as the spec spells it: /v1/customers/{customer}/sources/{id}
    operation_id: str
    responses: dict[str, Any]  # "200", "4XX", "default" -> converted JSON Schema (None: no JSON body)

    def response_schema(self, status: int) -> tuple[str, Any] | None:
        """The documented response for ``status``: the code itself, its range (``4XX``), else ``default``."""
        for key in (str(status), f"{status // 100}XX", "default"):
            if key in self.responses:
                return key, self.responses[key]
        return None


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}/]+\})", template)
    return re.compile("".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts if part))


class OperationIndex:
    """Operations by method and number of path segments; literal segments win over parameters
    (``/v1/customers/search`` before ``/v1/customers/{customer}``)."""

    def __init__(self, operations: list[Operation]) -> None:
        self._by_shape: dict[tuple[str, int], list[tuple[re.Pattern[str], Operation]]] = {}
        for operation in sorted(operations, key=lambda op: (op.template.count("{"), op.template)):
            key = (operation.method, operation.template.count("/"))
            self._by_shape.setdefault(key, []).append((_pattern(operation.template), operation))

    def find(self, method: str, path: str) -> Operation | None:
        path = path.split("?", 1)[0]
        for pattern, operation in self._by_shape.get((method.upper(), path.count("/")), ()):
            if pattern.fullmatch(path):
                return operation
        return None

    def __len__(self) -> int:
        return sum(len(candidates) for candidates in self._by_shape.values())
