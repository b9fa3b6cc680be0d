"""What the replay does faster finds exactly what it found before: the id scan, the depth bound of an answer."""

from __future__ import annotations

import json

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.api_profile import IdScheme
from conformance.cassette.model import MAX_BODY_DEPTH, nesting_exceeds
from conformance.replay.answer import content_may_nest, json_body
from conformance.replay.binding import IdBindings, _IdFinder
from conformance.replay.transport import TargetAnswer
from conformance.stripe import STRIPE

# Schemes whose prefixes overlap (b, ba, btok), hold an underscore, or are long beside a short min_length.
SCHEMES = [STRIPE.ids, IdScheme(["b", "ba", "btok", "file_link", "card"], min_length=3),
           IdScheme(["averyverylongprefix", "x"], min_length=2)]
# Pieces of text a scan meets: prefixes, underscores, letters, digits, JSON punctuation, non-ASCII letters.
PIECES = st.sampled_from(["card", "cus", "b", "ba", "btok", "file", "link", "x", "averyverylongprefix", "_", "_",
                          "cus_", "card_", "b_", "ba_", "btok_", "file_link_", "x_", "averyverylongprefix_", "price_",
                          "abcdefgh", "12345678", "Z9", "a", "é", "ß", '"', ": ", "/", "-", ".", " ", "\n", "{"])


@settings(max_examples=600, deadline=None)
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


@settings(max_examples=300, deadline=None)
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
