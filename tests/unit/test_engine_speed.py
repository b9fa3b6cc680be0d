"""What the replay does faster finds exactly what it found before: the id scan, the depth bound of an answer."""

from __future__ import annotations

import json
from functools import partial

import httpx
from hypothesis import given
from hypothesis import strategies as st

from conformance.api_profile import IdScheme
from conformance.cassette.model import MAX_BODY_DEPTH, nesting_exceeds
from conformance.checks.response import same_json_text
from conformance.replay.answer import answer_snippet, content_may_nest, json_body
from conformance.replay.binding import IdBindings, _IdFinder
from conformance.replay.transport import TargetAnswer, TargetClient
from conformance.stripe import STRIPE
from conformance.stripe.invariants import cards_in
from conformance.text import snippet

from ..conftest import examples

# Schemes whose prefixes overlap (b, ba, btok), hold an underscore, or are long beside a short min_length.
SCHEMES = [STRIPE.ids, IdScheme(["b", "ba", "btok", "file_link", "card"], min_length=3),
           IdScheme(["averyverylongprefix", "x"], min_length=2)]
# Pieces of text a scan meets: prefixes, underscores, letters, digits, JSON punctuation, non-ASCII letters.
PIECES = st.sampled_from(["card", "cus", "b", "ba", "btok", "file", "link", "x", "averyverylongprefix", "_", "_",
                          "cus_", "card_", "b_", "ba_", "btok_", "file_link_", "x_", "averyverylongprefix_", "price_",
                          "abcdefgh", "12345678", "Z9", "a", "é", "ß", '"', ": ", "/", "-", ".", " ", "\n", "{"])


@examples(ci=150, deep=1500)
@given(st.sampled_from(SCHEMES), st.lists(PIECES, max_size=40).map("".join))
def test_the_id_finder_finds_what_the_schemes_pattern_finds(ids, text):
    finder = _IdFinder(ids)
    assert [m.span() for m in finder.finditer(text)] == [m.span() for m in ids.pattern.finditer(text)]
    assert finder.sub(lambda m: f"<{m.group(0)}>", text) == ids.pattern.sub(lambda m: f"<{m.group(0)}>", text)


def test_bound_ids_are_replaced_in_text_and_rewritten_json_as_before():
    bindings = IdBindings(STRIPE.ids)
    bindings.learn({"id": "card_Recorded00001", "customer": "cus_Recorded000001"},
                   {"id": "card_Minted0000009", "customer": "cus_Minted00000009"})
    text = json.dumps({"id": "card_Recorded00001", "url": "/v1/customers/cus_Recorded000001/sources",
                       "other": "xcard_Recorded00001", "unbound": "card_NeverSeen0001"})
    rewritten, unbound = bindings.rewrite(text)
    assert json.loads(rewritten) == {"id": "card_Minted0000009", "url": "/v1/customers/cus_Minted00000009/sources",
                                     "other": "xcard_Recorded00001", "unbound": "card_NeverSeen0001"}
    assert unbound
    assert bindings.text("/v1/customers/cus_Recorded000001/cards/card_Recorded00001") == \
        "/v1/customers/cus_Minted00000009/cards/card_Minted0000009"
    assert bindings.substitute({}) == {} and bindings.substitute("") == ""


@examples(ci=100, deep=1000)
@given(st.recursive(st.none() | st.integers() | st.text(alphabet="{}[]ab", max_size=5),
                    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=2), children,
                                                                                         max_size=3), max_leaves=80))
def test_an_answer_with_fewer_brackets_than_the_limit_never_nests_deeper(data):
    content = json.dumps(data).encode()
    for limit in (1, 2, 3, 5):
        if not content_may_nest(content, limit):
            assert not nesting_exceeds(data, limit)


def test_an_answer_nested_deeper_than_the_limit_is_still_refused_and_a_card_is_read():
    deep = ("[" * (MAX_BODY_DEPTH + 1) + "]" * (MAX_BODY_DEPTH + 1)).encode()
    headers = {"content-type": "application/json"}
    assert json_body(TargetAnswer(200, httpx.Headers(headers), deep)) == \
        (None, f"the JSON body is nested deeper than {MAX_BODY_DEPTH} levels")
    assert json_body(TargetAnswer(200, httpx.Headers(headers), b'{"id": "card_1", "metadata": {}}')) == \
        ({"id": "card_1", "metadata": {}}, None)


REPLAY_CLEAN = """
import sys, httpx
from pathlib import Path
from conformance.cassette import Body, CassetteWriter, Interaction, Request, Response
from conformance.replay import ReplayOptions, TargetClient, replay_cassette
from conformance.stripe import STRIPE
card = {"id": "card_Recorded00001", "object": "card", "brand": "Visa", "last4": "4242"}
path = Path(sys.argv[1])
with CassetteWriter(path, "clean") as writer:
    writer.append(Interaction(Request("GET", "/v1/customers/cus_Recorded000001/cards/card_Recorded00001"),
                              Response(200, {"Content-Type": "application/json"}, Body("json", card))))
answer = dict(card, brand=sys.argv[2])
with TargetClient("http://fake.invalid", transport=httpx.MockTransport(lambda r: httpx.Response(200, json=answer))) as c:
    result = replay_cassette(path, c, ReplayOptions(api_key="sk_test_" + "x" * 24, profile=STRIPE))
print("value" in {f.rule for i in result.interactions for f in i.findings}, "deepdiff" in sys.modules)
"""


def test_a_replay_whose_answers_conform_never_imports_deepdiff_and_one_that_differs_does(tmp_path):
    import subprocess
    import sys

    def run(brand: str) -> str:
        done = subprocess.run([sys.executable, "-c", REPLAY_CLEAN, str(tmp_path / f"{brand}.yaml"), brand],
                              capture_output=True, text=True, timeout=60, check=True)
        return done.stdout.strip().splitlines()[-1]

    assert run("Visa") == "False False"  # the body as recorded: no comparison finding, no deepdiff
    assert run("MasterCard") == "True True"  # another brand: deepdiff imported to say where it differs


JSON_SCALARS = st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from([0.0, -0.0, 1.0, 2.5]) | \
    st.text(alphabet="ab", max_size=2)
JSON_VALUES = st.recursive(JSON_SCALARS, lambda children: st.lists(children, max_size=3) |
                           st.dictionaries(st.text(alphabet="xyz", max_size=2), children, max_size=3), max_leaves=20)


def _retyped(value: object, draw: st.DrawFn) -> object:
    """An equal value that may serialize otherwise: keys in another order, 1 as 1.0 or True, 0.0 as -0.0."""
    if isinstance(value, dict):
        items = [(key, _retyped(child, draw)) for key, child in value.items()]
        return dict(draw(st.permutations(items)))
    if isinstance(value, list):
        return [_retyped(child, draw) for child in value]
    if value is True or (value == 1 and not isinstance(value, bool)):
        return draw(st.sampled_from([True, 1, 1.0]))
    if isinstance(value, float) and value == 0.0:
        return draw(st.sampled_from([0.0, -0.0, 0, False]))
    return value


@examples(ci=100, deep=1000)
@given(JSON_VALUES, st.data())
def test_two_equal_answers_are_the_same_text_exactly_when_they_serialize_alike(value, data):
    """The comparison's fast path: equal data is left uncompared only where its JSON text would be equal too."""
    other = _retyped(value, data.draw)
    assert value == other
    dumps = partial(json.dumps, ensure_ascii=False)
    assert same_json_text(value, other) == (dumps(value) == dumps(other))


@examples(ci=100, deep=1000)
@given(st.lists(st.sampled_from(["a", "bc", " ", "  ", "\n", "\t", "é", "{", "xyzxyzxyz"]), max_size=400).map("".join),
       st.sampled_from([1, 5, 20, 200]))
def test_an_answer_snippet_read_from_the_start_is_the_snippet_of_the_whole_answer(text, limit):
    assert answer_snippet(text, limit) == snippet(text, limit)


def test_ids_bound_to_themselves_leave_every_text_alone_and_still_tell_an_unbound_id():
    """A target that answers the recorded ids (a fake's fixtures) binds each to itself: nothing is replaced, and an
    id never seen is still unbound (what makes the replay learn from the answer)."""
    bindings = IdBindings(STRIPE.ids)
    bindings.learn({"id": "card_Recorded00001", "customer": "cus_Recorded000001"},
                   {"id": "card_Recorded00001", "customer": "cus_Recorded000001"})
    assert not bindings.renames
    path = "/v1/customers/cus_Recorded000001/cards/card_Recorded00001"
    assert bindings.text(path) == path and bindings.substitute({"card": "card_Recorded00001"}) == \
        {"card": "card_Recorded00001"}
    bound = json.dumps({"id": "card_Recorded00001", "customer": "cus_Recorded000001"})
    assert bindings.rewrite(bound) == (bound, False)
    for unbound in (json.dumps({"id": "card_NeverSeen0001"}), json.dumps({"id": "a1b2c3d4e5f6"})):
        assert bindings.rewrite(unbound) == (unbound, True)
    bindings.learn({"id": "card_NeverSeen0001"}, {"id": "card_Minted0000009"})
    assert bindings.renames and bindings.text("/v1/cards/card_NeverSeen0001") == "/v1/cards/card_Minted0000009"


def test_the_cards_of_an_answer_walked_twice_are_found_alike_and_a_changed_answer_walked_again():
    """Without a rule set's state, every call walks the answer: the cards found are alike each time, and an answer
    changed since is walked anew (the walk the card rules share within one judgement is test_invariants_walk's)."""
    card = {"id": "card_1", "object": "card"}
    answer = {"object": "list", "data": [card, {"id": "ba_1", "object": "bank_account"}], "metadata": {}}
    first = cards_in(answer, [])
    assert first == cards_in(answer, []) == [(card, ["data", 0])]
    answer["data"].append(dict(card, id="card_2"))
    cards_in(answer, [])
    assert [path for _, path in cards_in(answer, [])] == [["data", 0], ["data", 2]]
    assert cards_in(answer, [], "card_1") == [(answer["data"][2], ["data", 2])]


def test_a_target_sent_again_reaches_the_same_url_and_each_client_its_own_target():
    """URLs made once per target and client: the second send of a target (quoted, under a gateway's path) goes
    where the first went, and another client's base URL is never mixed in."""
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={})

    target = "/v1/customers/cus_1/cards?expand[]=customer&q=a b é"
    with TargetClient("http://one.invalid/gateway", transport=httpx.MockTransport(answer)) as one, \
            TargetClient("http://two.invalid", transport=httpx.MockTransport(answer)) as two:
        for client in (one, two, one, two):
            client.request("GET", target, headers={})
    first = "http://one.invalid/gateway/v1/customers/cus_1/cards?expand[]=customer&q=a%20b%20%C3%A9"
    assert seen == [first, first.replace("one.invalid/gateway", "two.invalid")] * 2
