"""The test fake, but a card's `name` is the card number it was made from, until an update sets one.

A fault some emulators have (the number copied into the cardholder's name), here to put a documented test card's
number into the answers `conformance explore` judges and reports: with ``--deviation update-ignores-name`` the name
an update sets is dropped, so the number stays and explore finds `card.attributes`. What the reports then say of
that number (a named marker, ``[REDACTED:card-number:…]``, as `run` says it) is what the tests look at.

``python -m tests.card_name_fake --port N [--deviation NAME]``: a process on 127.0.0.1.
"""

from __future__ import annotations

import argparse
from typing import Any

from .stripe_fake import ALL_DEVIATIONS, Store, serve


class NumberAsNameStore(Store):
    """Every new card named by its full number (what a faithful target leaves null)."""

    def card(self, customer: str | None, token: str) -> dict[str, Any]:
        made = super().card(customer, token)
        made["name"] = self.tokens[token][4]
        return made


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--deviation", choices=ALL_DEVIATIONS)
    args = parser.parse_args()
    store = NumberAsNameStore()
    store.deviation = args.deviation
    serve(store, args.port)


if __name__ == "__main__":
    main()
