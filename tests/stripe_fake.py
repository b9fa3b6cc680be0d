"""A small in-memory server following Stripe's published contract for the card endpoints, for tests.

It covers what the tests drive and localstripe lacks: magic test tokens
(``tok_visa``…), ``/v1/customers/:id/cards`` with ``limit``/``starting_after``,
retrieval through ``/cards/:id`` and ``/sources/:id``, metadata unsetting, the
documented null fields, deleted objects and error shapes. Bound to 127.0.0.1.

What it answers follows, in this order, Stripe's OpenAPI description (API
version 2023-08-16: the card's and the customer's keys, their types and
nullability, ``sources`` only when expanded, errors under the ``error``
schema), the API reference (404 ``resource_missing``, the new default after a
delete) and the official SDKs' error mapping (402 for ``card_error``). The
reference suite in ``cassettes/`` is captured from it; each cassette's
``source:`` says so.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from conformance import forms
from conformance.stripe import testcards

# magic token -> (brand, funding, last4, country, number): the same cards as tokens made from their numbers
TOKENS = {card.token: (card.brand, card.funding, card.last4, "US", card.number) for card in testcards.CARDS.cards}
CARD_FIELDS = ("name", "address_line1", "address_line2", "address_city", "address_state", "address_zip", "address_country")


class ApiError(Exception):
    def __init__(self, status: int, type_: str, message: str, code: str | None = None, param: str | None = None):
        self.status = status
        self.body = {"error": {"type": type_, "message": message}}
        if code:
            self.body["error"]["code"] = code
        if param:
            self.body["error"]["param"] = param


def missing(kind: str, id_: str, param: str = "id") -> ApiError:
    return ApiError(404, "invalid_request_error", f"No such {kind}: '{id_}'", "resource_missing", param)


def new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(8)


def fingerprint(number: str) -> str:
    """The card's fingerprint: the API reference says it "uniquely identifies this particular card number", so
    the same number always gets the same one (a keyed hash here, as Stripe's is per account)."""
    return hashlib.sha256(b"stripe-fake/fingerprint/" + number.encode()).hexdigest()[:16]


BRANDS = {"4": ("Visa", "credit"), "5": ("MasterCard", "credit"), "3": ("American Express", "credit")}


DEVIATIONS = (
    "missing-null-field", "empty-string-for-null", "deleted-false", "has-more-string", "wrong-list-url",
    "integer-as-string", "201-for-200", "400-for-404", "wrong-error-code", "starting-after-ignored",
    "metadata-unset-ignored", "update-ignores-name", "wrong-card-customer", "stale-default-source",
    "wrong-id-prefix", "extra-field",
    # root-cause scenarios: a target without the test tokens, without the /cards routes, with stateless answers
    "unknown-tokens", "no-cards-routes", "cards-as-accounts",
    # contract scenarios: deviations invariants do not see, only the OpenAPI description
    "customer-without-livemode", "expanded-customer",
    # problem scenarios, combined with commas ("refuse-amex,oldest-first"): one brand of test card refused, lists
    # oldest first, `limit` ignored, the oldest card promoted when the default is deleted
    "refuse-amex", "oldest-first", "limit-ignored", "default-oldest",
    # a stateless mock (as stripe-mock is): one fixed card for any card id, parameters not kept, a delete
    # answering an account
    "stateless",
)
# Deviations only the reference suite's scenarios meet (tests/integration/test_yardstick.py): one per parameter or
# rule a scenario judges.
SUITE_DEVIATIONS = (
    "ending-before-ignored", "default-limit-ignored", "limit-bounds-unchecked", "expand-ignored",
    "sources-404-without-code", "metadata-unset-all-ignored", "retrieve-stale-after-update", "no-update-route",
    "no-cards-delete-route",
)
# Deviations only generated sequences meet (`conformance explore`, tests/integration/test_explore.py): one per
# documented rule of a sequence, each a bug a public fake was seen to have or could have.
EXPLORE_DEVIATIONS = (
    "expanded-sources-unpaged", "metadata-replaced", "has-more-when-full", "order-by-update",
    "default-follows-attach", "deleted-listed", "deleted-updatable", "cards-any-customer", "random-fingerprint",
    "read-only-accepted", "unknown-parameter-without-code", "expiry-unchecked",
    # stripe-mock's: an attach answered with an account (a fresh acct_ id), nothing kept; with "stateless" every
    # card route then answers a fixture card, exp_month=13 accepted
    "attach-answers-account",
    "forgets-customers",  # not a rule: a target explore refuses (exit 2)
)
# Deviations of Stripe's retry contract (issue 39), each caught by one rule of the retry scenario: a repeated key
# with the same parameters executed again, a key reused with other parameters executed, replays without
# Idempotent-Replayed, every answer `Request-Id: req_123` (as stripe-mock answers).
RETRY_DEVIATIONS = ("executes-repeats", "accepts-reused-key", "no-replayed-header", "constant-request-id")
ALL_DEVIATIONS = DEVIATIONS + SUITE_DEVIATIONS + EXPLORE_DEVIATIONS + RETRY_DEVIATIONS
# A repeated attach answered as the first one (replayed) but executed again behind it: the customer's list then holds
# the same card twice (localstripe re-attaching the token of a retried attach).
RELIST_DEVIATIONS = ("relists-repeats",)
# As stripe-stateful-mock: every answer saved under its idempotency key (a 404 for a route it lacks too), and a 500
# for a token it does not know (Stripe saves a 500 as well: the corrected retry is then refused as a reused key).
SAVING_DEVIATIONS = ("saves-every-answer", "unknown-token-500")
ALL_DEVIATIONS += RELIST_DEVIATIONS + SAVING_DEVIATIONS


def _has(deviation: str | None, name: str) -> bool:
    """Whether a deviation (one name, or several joined by commas) includes ``name``."""
    return deviation is not None and name in deviation.split(",")


class Store:
    deviation: str | None = None
    gone = False

    def deviates(self, name: str) -> bool:
        return _has(self.deviation, name)

    def __init__(self) -> None:
        self.tokens: dict[str, tuple[str, str, str, str, str]] = dict(TOKENS)
        self.customers: dict[str, dict[str, Any]] = {}
        self.cards: dict[str, dict[str, list[dict[str, Any]]]] = {}
        self.stale: dict[str, dict[str, Any]] = {}  # card id -> what it was before its first update
        self.graveyard: dict[str, dict[str, Any]] = {}  # deleted cards (deleted-updatable, deleted-listed)
        self.graves: dict[str, list[dict[str, Any]]] = {}  # customer -> its deleted cards (deleted-listed)
        self.lock = threading.Lock()
        self.saved: dict[tuple[str, str], Saved] = {}  # (API key, idempotency key) -> the answer kept for it
        self.retries = threading.Lock()  # a keyed request is looked up, executed and saved as one step

    # -- objects -------------------------------------------------------------------
    def card(self, customer: str | None, token: str) -> dict[str, Any]:
        if token not in self.tokens or (self.deviates("unknown-tokens") and token in TOKENS) or \
                (self.deviates("refuse-amex") and token == "tok_amex"):
            raise missing("token", token, "source")
        brand, funding, last4, country, number = self.tokens[token]
        return {
            "id": new_id("src_" if self.deviates("wrong-id-prefix") else "card_"), "object": "card",
            "address_city": None, "address_country": None, "address_line1": None, "address_line1_check": None,
            "address_line2": None, "address_state": None, "address_zip": None, "address_zip_check": None,
            "brand": brand, "country": country, "customer": customer, "cvc_check": "pass", "dynamic_last4": None,
            "exp_month": 8, "exp_year": 2030, "funding": funding,
            "fingerprint": secrets.token_hex(8) if self.deviates("random-fingerprint") else fingerprint(number),
            "last4": last4, "metadata": {}, "name": None, "tokenization_method": None,
        }

    def customer(self, id_: str, expand: Any = ()) -> dict[str, Any]:
        """The customer as the API returns it: ``sources`` only with ``expand[]=sources`` (since API version
        2020-08-27), ``default_source`` an id unless expanded."""
        if id_ not in self.customers:
            raise missing("customer", id_)
        customer = dict(self.customers[id_])
        cards = self.cards[id_]
        expand = set(expand if isinstance(expand, list) else [expand] if isinstance(expand, str) else [])
        if "sources" in expand:
            ordered = list(cards) if self.deviates("oldest-first") else list(reversed(cards))
            if self.deviates("expanded-sources-unpaged"):  # stripe-stateful-mock: every card, has_more false
                customer["sources"] = {"object": "list", "data": ordered, "has_more": False,
                                       "url": f"/v1/customers/{id_}/sources"}
                return customer
            customer["sources"] = {"object": "list", "data": ordered[:10], "has_more": len(cards) > 10,
                                   "url": f"/v1/customers/{id_}/sources"}
        if "default_source" in expand and customer["default_source"]:
            customer["default_source"] = next(c for c in cards if c["id"] == customer["default_source"])
        return customer

    def find_card(self, customer: str, card: str, method: str = "GET") -> dict[str, Any]:
        self.customer(customer)
        for item in self.cards[customer]:
            if item["id"] == card:
                return item
        if self.deviates("cards-any-customer"):  # any customer's card, through any customer
            for cards in self.cards.values():
                for item in cards:
                    if item["id"] == card:
                        return item
        if self.deviates("deleted-updatable") and method in ("POST", "DELETE") and card in self.graveyard:
            return self.graveyard[card]
        if self.deviates("sources-404-without-code"):  # localstripe's answer: no code, no param
            raise ApiError(404, "invalid_request_error", f"Customer {customer} does not have card with ID {card}")
        raise missing("source", card)

    def retrieved(self, card: dict[str, Any], customer: str, expand: Any) -> dict[str, Any]:
        """A card as retrieve answers it: ``customer`` the object with ``expand[]=customer``."""
        expand = set(expand if isinstance(expand, list) else [expand] if isinstance(expand, str) else [])
        if self.deviates("retrieve-stale-after-update") and "before_update" in self.stale.get(card["id"], {}):
            card = self.stale[card["id"]]["before_update"]
        if "customer" in expand and not self.deviates("expand-ignored"):
            return {**card, "customer": self.customer(customer)}
        return card

    def page(self, customer: str, url: str, params: dict[str, Any]) -> dict[str, Any]:
        self.customer(customer)
        items = list(self.cards[customer]) if self.deviates("oldest-first") else list(reversed(self.cards[customer]))
        if self.deviates("deleted-listed"):
            items += self.graves.get(customer, [])
        default = 100 if self.deviates("default-limit-ignored") else 10
        try:
            limit = int(params.get("limit", default))
        except ValueError:
            raise ApiError(400, "invalid_request_error", "Invalid integer: limit", "parameter_invalid_integer",
                           "limit") from None
        if not 1 <= limit <= 100 and not self.deviates("limit-bounds-unchecked"):
            raise ApiError(400, "invalid_request_error", "This value must be between 1 and 100 (limit).",
                           "parameter_invalid_integer", "limit")
        limit = max(limit, 0)
        before = params.get("ending_before")
        if before and not self.deviates("ending-before-ignored"):
            ids = [item["id"] for item in items]
            if before not in ids:
                raise missing("source", before, "ending_before")
            newer = items[:ids.index(before)]  # the page that ends right before the cursor, still newest first
            return {"object": "list", "data": newer[-limit:] if limit else [], "has_more": len(newer) > limit,
                    "url": url}
        after = params.get("starting_after")
        if after and not self.deviates("starting-after-ignored"):
            ids = [item["id"] for item in items]
            if after not in ids:
                raise missing("source", after, "starting_after")
            items = items[ids.index(after) + 1:]
        if self.deviates("limit-ignored"):
            return {"object": "list", "data": items, "has_more": False, "url": url}
        more = len(items) >= limit if self.deviates("has-more-when-full") else len(items) > limit
        return {"object": "list", "data": items[:limit], "has_more": more, "url": url}

    def update(self, card: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        if self.deviates("retrieve-stale-after-update"):
            self.stale.setdefault(card["id"], {"before_update": json.loads(json.dumps(card))})
        for key, value in params.items():
            if key in CARD_FIELDS:
                if key == "name" and self.deviates("update-ignores-name"):
                    continue
                card[key] = value or None
            elif key in ("exp_month", "exp_year"):
                try:
                    number = int(value)
                except ValueError:
                    number = -1
                # card errors are 402 (the SDKs' CardError)
                if key == "exp_month" and not 1 <= number <= 12 and not self.deviates("expiry-unchecked"):
                    raise ApiError(402, "card_error", "Your card's expiration month is invalid.",
                                   "invalid_expiry_month", "exp_month")
                if key == "exp_year" and number < 2000:
                    raise ApiError(402, "card_error", "Your card's expiration year is invalid.",
                                   "invalid_expiry_year", "exp_year")
                card[key] = number
            elif key == "metadata":
                if value == "":
                    if not self.deviates("metadata-unset-all-ignored"):
                        card["metadata"] = {}
                elif isinstance(value, dict):
                    if self.deviates("metadata-replaced"):
                        card["metadata"] = {}
                    for meta_key, meta_value in value.items():
                        if meta_value == "" and not self.deviates("metadata-unset-ignored"):
                            card["metadata"].pop(meta_key, None)
                        else:
                            card["metadata"][meta_key] = meta_value
            elif key in ("brand", "funding", "fingerprint", "cvc_check", "last4") and self.deviates("read-only-accepted"):
                continue  # localstripe's: read-only attributes taken with 200
            elif key != "expand":
                if self.deviates("unknown-parameter-without-code"):  # stripe-mock's: no code, no param
                    raise ApiError(400, "invalid_request_error", f"Request validation error: unknown {key}")
                raise ApiError(400, "invalid_request_error", f"Received unknown parameter: {key}",
                               "parameter_unknown", key)
        return card

    # -- routing -------------------------------------------------------------------
    def token(self, params: dict[str, Any]) -> dict[str, Any]:
        card = params.get("card")
        if not isinstance(card, dict) or not str(card.get("number", "")).isdigit():
            raise ApiError(400, "invalid_request_error", "Missing required param: card[number].",
                           "parameter_missing", "card[number]")
        number = card["number"]
        if self.deviates("refuse-amex") and len(number) != 16:  # localstripe's rule: 16 digits only
            raise ApiError(400, "invalid_request_error", "Bad request")
        known = testcards.CARDS.by_number(number)
        brand, funding = (known.brand, known.funding) if known else BRANDS.get(number[0], ("Unknown", "unknown"))
        token_id = new_id("tok_")
        self.tokens[token_id] = (brand, funding, number[-4:], "US", number)
        card = self.card(None, token_id)
        card.pop("customer")  # a token's card belongs to no customer (Stripe's token fixture)
        return {"id": token_id, "object": "token", "card": card, "client_ip": None, "created": int(time.time()),
                "livemode": False, "type": "card", "used": False}

    def handle(self, method: str, path: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "POST" and path.rstrip("/") == "/v1/tokens":
            return self.token(params)
        parts = path.strip("/").split("/")
        if parts[:2] != ["v1", "customers"]:
            raise ApiError(404, "invalid_request_error", f"Unrecognized request URL ({method}: {path}).")
        rest = parts[2:]
        expand = params.get("expand", ())
        if not rest and method == "POST":
            customer = new_customer(params)
            if self.deviates("forgets-customers"):  # a stateless mock: answered, never kept
                return customer
            self.customers[customer["id"]] = customer
            self.cards[customer["id"]] = []
            if params.get("source"):
                self.attach(customer["id"], params["source"])
            return self.customer(customer["id"], expand)
        if len(rest) == 1 and method == "GET":
            return self.customer(rest[0], expand)
        if len(rest) == 2 and rest[1] in ("sources", "cards"):
            customer = rest[0]
            if method == "POST" and self.deviates("attach-answers-account"):  # stripe-mock's first kind of source
                self.customer(customer)
                return {"id": new_id("acct_"), "object": "account", "type": "standard", "metadata": {}}
            if method == "POST":
                return self.attach(customer, params.get("source", ""))
            if method == "GET":
                if rest[1] == "sources" and params.get("object") not in (None, "card"):
                    return {"object": "list", "data": [], "has_more": False, "url": f"/v1/customers/{customer}/sources"}
                return self.page(customer, f"/v1/customers/{customer}/{rest[1]}",
                                 {k: v for k, v in params.items() if k != "object"})
        if len(rest) in (2, 3) and rest[1] in ("sources", "cards") and self.deviates("stateless") \
                and (len(rest) == 3 or method == "POST"):
            if method == "DELETE":
                return {"id": "acct_" + "1" * 16, "object": "account", "type": "standard"}
            return self.card(rest[0], "tok_visa") | {"id": "card_" + "0" * 16, "fingerprint": "0" * 16}
        if len(rest) == 3 and rest[1] in ("sources", "cards"):
            customer, card_id = rest[0], rest[2]
            card = self.find_card(customer, card_id, method)
            if method == "GET":
                return self.retrieved(card, customer, expand)
            if method == "POST":
                updated = self.update(card, params)
                if self.deviates("order-by-update") and card in self.cards[customer]:  # last changed, newest
                    self.cards[customer].remove(card)
                    self.cards[customer].append(card)
                return updated
            if method == "DELETE":
                if card not in self.cards[customer]:  # deleted-updatable: deleted again
                    return {"id": card_id, "object": "card", "deleted": True}
                self.cards[customer].remove(card)
                self.graveyard[card_id] = card
                self.graves.setdefault(customer, []).append(card)
                record = self.customers[customer]
                if record["default_source"] == card_id and not self.deviates("stale-default-source"):
                    remaining = self.cards[customer]
                    promoted = 0 if self.deviates("default-oldest") else -1
                    record["default_source"] = remaining[promoted]["id"] if remaining else None
                return {"id": card_id, "object": "card", "deleted": True}
        raise ApiError(404, "invalid_request_error", f"Unrecognized request URL ({method}: {path}).")

    def attach(self, customer: str, token: str) -> dict[str, Any]:
        self.customer(customer)
        card = self.card(customer, token)
        self.cards[customer].append(card)
        if self.customers[customer]["default_source"] is None or self.deviates("default-follows-attach"):
            self.customers[customer]["default_source"] = card["id"]
        return card


def new_customer(params: dict[str, Any]) -> dict[str, Any]:
    """A new customer with every key the API returns by default (OpenAPI ``customer``, API 2023-08-16)."""
    return {
        "id": new_id("cus_"), "object": "customer", "address": None, "balance": 0, "created": int(time.time()),
        "currency": None, "default_source": None, "delinquent": False, "description": params.get("description"),
        "discount": None, "email": params.get("email"), "invoice_prefix": secrets.token_hex(4).upper(),
        "invoice_settings": {"custom_fields": None, "default_payment_method": None, "footer": None,
                             "rendering_options": None},
        "livemode": False, "metadata": {}, "name": params.get("name"), "next_invoice_sequence": 1,
        "phone": params.get("phone"), "preferred_locales": [], "shipping": None, "tax_exempt": "none",
        "test_clock": None,
    }


def _walk_cards(value: Any):
    if isinstance(value, dict):
        if value.get("object") == "card" and "deleted" not in value:
            yield value
        for child in value.values():
            yield from _walk_cards(child)
    elif isinstance(value, list):
        for child in value:
            yield from _walk_cards(child)


def deviate(deviation: str | None, method: str, status: int, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Change an answer the way a target with one known deviation would (on a copy)."""
    if not deviation:
        return status, payload
    payload = json.loads(json.dumps(payload))
    for card in _walk_cards(payload):
        if _has(deviation, "missing-null-field"):
            card.pop("address_line2", None)
        elif _has(deviation, "empty-string-for-null") and card.get("address_line2") is None:
            card["address_line2"] = ""
        elif _has(deviation, "integer-as-string"):
            card["exp_month"] = str(card["exp_month"])
        elif _has(deviation, "wrong-card-customer"):
            card["customer"] = "cus_" + "0" * 14
        elif _has(deviation, "extra-field"):
            card["display_brand"] = card.get("brand")
        elif _has(deviation, "cards-as-accounts"):  # what a stateless mock answers for a card
            card["object"] = "account"
            card["id"] = "acct_" + card["id"].split("_", 1)[1]
    if payload.get("object") == "customer" and _has(deviation, "customer-without-livemode"):
        payload.pop("livemode", None)
    if _has(deviation, "expanded-customer") and payload.get("object") == "card" and isinstance(payload.get("customer"), str):
        payload["customer"] = {"id": payload["customer"], "object": "customer", "created": 1, "livemode": False}
    if payload.get("deleted") is True and _has(deviation, "deleted-false"):
        payload["deleted"] = False
    if payload.get("object") == "list":
        if _has(deviation, "has-more-string"):
            payload["has_more"] = str(payload["has_more"]).lower()
        elif _has(deviation, "wrong-list-url"):
            payload["url"] = "/v1/cards"
    error = payload.get("error")
    if error and error.get("code") == "resource_missing":
        if _has(deviation, "400-for-404"):
            status = 400
        elif _has(deviation, "wrong-error-code"):
            error["code"] = "not_found"
    if _has(deviation, "201-for-200") and method == "POST" and status == 200:
        status = 201
    return status, payload


def _authorized(header: str) -> bool:
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            value = base64.b64decode(value).decode().partition(":")[0]
        except ValueError:
            return False
    # stripe-mock's rule (server/server.go, validateAuth): sk_ or rk_, test, and one more part without "_"
    parts = value.split("_")
    return len(parts) == 3 and parts[0] in ("sk", "rk") and parts[1] == "test" and bool(parts[2])


@dataclass(frozen=True)
class Answer:
    status: int
    headers: tuple[tuple[str, str], ...]  # without Content-Length and Request-Id, which each sending sets
    body: bytes


@dataclass(frozen=True)
class Saved:
    """An answer kept for an idempotency key: what was asked (method, path, parameters) and its request id."""

    request: tuple[str, str, Any]
    answer: Answer
    request_id: str


def _kept(status: int) -> bool:
    """Stripe saves an answer once the endpoint began executing (API reference, Idempotent requests): a 2xx, a 402
    card error, a 5xx; not a validation error (400, 404), an authentication error, a conflict or a rate limit."""
    return status < 400 or status == 402 or status >= 500


def _mismatch(key: str, version: str) -> Answer:
    """A key reused with other parameters: 400 `idempotency_error` (Stripe's own message), nothing executed."""
    error = {"error": {"type": "idempotency_error", "message": "Keys for idempotent requests can only be used with "
                       "the same parameters they were first used with. Try using a key other than "
                       f"'{key}' if you meant to execute a different request."}}
    return Answer(400, (("Content-Type", "application/json"), ("Stripe-Version", version)),
                  json.dumps(error, indent=2).encode())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    store: Store

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        if self.store.gone:  # the target went away: drop open connections without an answer
            self.close_connection = True
            return
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        params = forms.decode(forms.parse_pairs(split.query + ("&" + body if body else ""))) or {}
        key = self.headers.get("Idempotency-Key", "") if self.command == "POST" else ""
        if not key:
            self._send(self._execute(split.path, params))
            return
        with self.store.retries:
            answer, extra, request_id = self._keyed(key, split.path, params)
        self._send(answer, extra, request_id)

    def _keyed(self, key: str, path: str, params: dict[str, Any]) -> tuple[Answer, tuple[tuple[str, str], ...], str]:
        """Stripe's retry contract (API reference, Idempotent requests): a key already answered gets that answer
        again, marked as replayed; the key with other parameters is refused; a new key is executed, and its
        answer kept once the endpoint began executing. Keys are per API key, as Stripe's are per account."""
        scope = (self.headers.get("Authorization", ""), key)
        request = (self.command, path, params)
        saved = self.store.saved.get(scope)
        if saved is not None and saved.request == request and self.store.deviates("relists-repeats"):
            self._relist(path, saved.answer)
        if saved is not None and saved.request == request and not self.store.deviates("executes-repeats"):
            replayed = () if self.store.deviates("no-replayed-header") else (("Idempotent-Replayed", "true"),)
            return saved.answer, (("Original-Request", saved.request_id), *replayed), ""
        if saved is not None and saved.request != request and not self.store.deviates("accepts-reused-key"):
            return _mismatch(key, self._version()), (), ""
        answer = self._execute(path, params)
        request_id = self._request_id()
        if (_kept(answer.status) or self.store.deviates("saves-every-answer")) and scope not in self.store.saved:
            self.store.saved[scope] = Saved(request, answer, request_id)
        return answer, (), request_id

    def _relist(self, path: str, answer: Answer) -> None:
        """relists-repeats: a repeated attach adds the card it answered to its customer's list once more."""
        card = json.loads(answer.body)
        customer = path.split("/")[3] if path.count("/") == 4 and path.endswith("/sources") else ""
        with self.store.lock:
            listed = next((c for c in self.store.cards.get(customer, []) if c.get("id") == card.get("id")), None)
            if listed is not None:
                self.store.cards[customer].append(listed)

    def _execute(self, path: str, params: dict[str, Any]) -> Answer:
        """The answer the store gives, changed as the fake's deviation says."""
        if (self.store.deviates("no-cards-routes") and "/cards" in path) or (
                self.store.deviates("no-update-route") and self.command == "POST" and path.count("/") == 5
                and "/sources/" in path) or (
                self.store.deviates("no-cards-delete-route") and self.command == "DELETE" and "/cards/" in path):
            return Answer(404, (("Content-Type", "text/plain"),), b"404: Not Found")
        try:
            if not _authorized(self.headers.get("Authorization", "")):
                raise ApiError(401, "invalid_request_error",
                               "You did not provide an API key. You need to provide your API key in the "
                               "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').")
            with self.store.lock:
                status, payload = 200, self.store.handle(self.command, path, params)
        except ApiError as error:
            status, payload = error.status, error.body
        status, payload = deviate(self.store.deviation, self.command, status, payload)
        if self.store.deviates("unknown-token-500") and status == 404 and "No such token" in json.dumps(payload):
            status, payload = 500, {"message": "TypeError: Cannot read properties of undefined (reading 'card')"}
        return Answer(status, (("Content-Type", "application/json"), ("Stripe-Version", self._version())),
                      json.dumps(payload, indent=2).encode())

    def _version(self) -> str:
        return self.headers.get("Stripe-Version") or "2023-08-16"

    def _request_id(self) -> str:
        """Distinct per answer (API reference, Request IDs); stripe-mock's constant one under its deviation."""
        return "req_123" if self.store.deviates("constant-request-id") else new_id("req_")

    def _send(self, answer: Answer, extra: tuple[tuple[str, str], ...] = (), request_id: str = "") -> None:
        self.send_response(answer.status)
        for name, value in (*answer.headers, *extra):
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.send_header("Request-Id", request_id or self._request_id())
        self.end_headers()
        self.wfile.write(answer.body)

    do_GET = do_POST = do_DELETE = _serve


class FakeStripe:
    """Context manager running the fake on a free loopback port in a thread (HTTPS with ``tls=(cert, key)``)."""

    def __init__(self, tls: tuple[Any, Any] | None = None, deviation: str | None = None) -> None:
        self.tls = tls
        self.deviation = deviation

    def __enter__(self) -> str:
        store = Store()
        store.deviation = self.deviation
        handler = type("BoundHandler", (Handler,), {"store": store})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, address: None  # a client that gave up is not news
        scheme = "http"
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return f"{scheme}://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


# What the reference suite's headers say of where its answers come from (`make suite` re-captures it from here).
PROVENANCE = (
    "Captured with `conformance capture` from tests/stripe_fake.py (`make suite`), not from api.stripe.com. The fake "
    "follows Stripe's OpenAPI description (spec3, API 2023-08-16: the card's and the customer's keys, types and "
    "nullability; `sources` only with expand[]=sources), then the API reference (card endpoints, Idempotent requests, "
    "Request IDs) and the official SDKs (402 for card_error, their CardError)."
)


def capture(out: str) -> int:
    """Re-capture the reference suite from the fake, with its provenance in every header."""
    import subprocess
    import sys

    with FakeStripe() as upstream:
        return subprocess.run([sys.executable, "-m", "conformance", "capture", "--upstream", upstream, "--out", out,
                               "--api-key", "sk_test_" + "reference0000000000000000", "--source", PROVENANCE],
                              check=False).returncode


def main() -> None:
    """``python -m tests.stripe_fake --port N [--deviation NAME]``: the fake as a process (for --target-cmd);
    ``--capture DIR``: the reference suite captured from it."""
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int)
    def deviations(text: str) -> str:
        unknown = [name for name in text.split(",") if name not in ALL_DEVIATIONS]
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown deviation {', '.join(unknown)} "
                                             f"(choose from {', '.join(ALL_DEVIATIONS)})")
        return text

    parser.add_argument("--deviation", type=deviations, help="one deviation, or several joined by commas")
    parser.add_argument("--capture", metavar="DIR", help="capture the reference suite from the fake into DIR")
    args = parser.parse_args()
    if args.capture:
        raise SystemExit(capture(args.capture))
    if args.port is None:
        parser.error("give --port N (or --capture DIR)")
    store = Store()
    store.deviation = args.deviation
    serve(store, args.port)


def serve(store: Store, port: int) -> None:
    """Answer with ``store`` on 127.0.0.1:``port`` until killed: the fake as a process of its own."""
    server = ThreadingHTTPServer(("127.0.0.1", port), type("BoundHandler", (Handler,), {"store": store}))
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
