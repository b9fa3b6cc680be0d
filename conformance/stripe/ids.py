"""Stripe's ids (``card_1NBLeN…``): a prefix naming the kind, an underscore, letters and digits.

Source: the ids of the API reference's examples. The prefixes are those of the
objects a card conformance run meets, and their neighbours; an object's own id of
any other style is still bound by the replay (``txi_…``, a UUID), only not judged
by its kind.
"""

from __future__ import annotations

from conformance.api_profile import IdScheme

__all__ = ["IDS"]

IDS = IdScheme((
    "cus", "card", "src", "tok", "ba", "btok", "pm", "acct", "ch", "pi", "seti", "sub", "in", "ii",
    "prod", "price", "txn", "evt", "re", "py", "po", "cs", "si", "req",
))
