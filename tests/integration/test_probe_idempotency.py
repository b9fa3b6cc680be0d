"""Issue 39: ``run --probe idempotency`` on a user's cassettes — each recorded POST with an Idempotency-Key sent again
with its key, as is and with a changed parameter — catches each deviant target by the rule meant and only it, never
makes a later interaction fail, costs at most 3 extra requests per probed POST; and a target answering 500 to every
request is one root cause, probed or not. Real processes: ``python -m conformance run`` against fakes on 127.0.0.1."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.fault_target import FaultTarget
from tests.idempotent_fake import IdempotentFake
from tests.stripe_fake import Handler

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk_test_" + "probe000000000000000000000"
# A user's cassettes: customers made, cards attached (creates under a parent), updated, listed, deleted.
CASSETTES = ("cards-update.yaml", "cards-delete.yaml")


@pytest.fixture(scope="module")
def cassettes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("user-cassettes")
    for name in CASSETTES:
        shutil.copy(ROOT / "cassettes" / name, out / name)
    return out


@pytest.fixture(scope="module")
def keyless(tmp_path_factory: pytest.TempPathFactory, cassettes: Path) -> Path:
    """The same cassettes as recorded by a client that sends no Idempotency-Key."""
    out = tmp_path_factory.mktemp("keyless")
    for path in cassettes.glob("*.yaml"):
        text = re.sub(r"^ *Idempotency-Key: .*\n", "", path.read_text(), flags=re.MULTILINE)
        (out / path.name).write_text(text)
    return out


class CountingFake(IdempotentFake):
    """The idempotent fake, counting the requests it is sent; ``hidden-repeats``: a repeated key answered with the
    first answer but executed again behind it (a second card no answer names)."""

    def __init__(self, deviation: str | None = None) -> None:
        self.hidden = deviation == "hidden-repeats"
        super().__init__(None if self.hidden else deviation)
        self.requests: list[tuple[str, str]] = []

    def __enter__(self) -> str:
        url = super().__enter__()
        handler = self.server.RequestHandlerClass
        serve, keyed, requests, hidden = Handler._serve, Handler._keyed, self.requests, self.hidden

        def counted(this: Any) -> None:
            requests.append((this.command, this.path))
            serve(this)

        def executed_behind(this: Any, key: str, path: str, params: dict[str, Any]) -> Any:
            saved = this.store.saved.get((this.headers.get("Authorization", ""), key))
            if hidden and saved is not None and saved.request == (this.command, path, params):
                this._execute(path, params)  # executed again, its answer thrown away
            return keyed(this, key, path, params)

        handler.do_GET = handler.do_POST = handler.do_DELETE = counted  # type: ignore[attr-defined]
        handler._keyed = executed_behind  # type: ignore[attr-defined]
        return url


def _run(paths: Path, target: str, tmp_path: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    report = tmp_path / "report.json"
    done = subprocess.run([sys.executable, "-m", "conformance", "run", str(paths), "--target", target,
                           "--api-key", KEY, "--json-report", str(report), *extra],
                          capture_output=True, text=True, timeout=180, check=False)
    assert report.exists(), done.stdout + done.stderr
    return done.returncode, json.loads(report.read_text()), done.stdout


def _findings(data: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(interaction, finding) for cassette in data["cassettes"] for interaction in cassette["interactions"]
            for finding in interaction["findings"]]


def _own(data: dict[str, Any]) -> set[tuple[str, str]]:
    return {(f["rule"], f["severity"]) for _, f in _findings(data) if f.get("consequence_of") is None}


def _probed_posts(paths: Path) -> int:
    """Recorded POSTs with a key and a 2xx answer: what the probe sends again."""
    count = 0
    for path in paths.glob("*.yaml"):
        for block in path.read_text().split("\n---\n"):
            if "  method: POST" in block and "Idempotency-Key:" in block and "\n  status: 2" in block:
                count += 1
    return count


def test_a_faithful_target_passes_the_probe_within_three_extra_requests_per_post(cassettes, tmp_path):
    with (fake := CountingFake()) as target:
        code, data, _ = _run(cassettes, target, tmp_path)
        plain = len(fake.requests)
    assert code == 0
    with (fake := CountingFake()) as target:
        code, data, out = _run(cassettes, target, tmp_path, "--probe", "idempotency")
        probed = fake.requests
    assert code == 0, out
    assert _findings(data) == []
    extra = len(probed) - plain
    posts = _probed_posts(cassettes)
    assert posts >= 10
    assert 2 * posts <= extra <= 3 * posts  # as is and changed for each; a read-back after each attach
    # the parent's list read back as plainly as a page allows (a target may refuse `limit`: localstripe does)
    assert any(method == "GET" and path.endswith("/sources") for method, path in probed)


def test_a_target_executing_a_repeated_key_again_fails_the_replay_rule_only_and_nothing_later(cassettes, tmp_path):
    with (fake := CountingFake("executes-repeats")) as target:
        code, data, out = _run(cassettes, target, tmp_path, "--probe", "idempotency")
        deletes = [path for method, path in fake.requests if method == "DELETE"]
    assert code == 1
    assert _own(data) == {("idempotency.replay", "failure")}
    # the second object the probe made is deleted again: nothing later follows from it, nothing is blocked
    assert all(f["rule"] == "idempotency.replay" for _, f in _findings(data))
    assert all(i["outcome"] != "blocked" for c in data["cassettes"] for i in c["interactions"])
    assert len(deletes) > sum(1 for p in cassettes.glob("*.yaml") for _ in re.finditer("method: DELETE", p.read_text()))
    (cause,) = data["root_causes"]  # one problem, on every endpoint it shows
    assert set(cause["endpoints"]) == {"customers.create", "sources.create"}
    assert "made another object" in cause["message"]
    # the interaction it was probed after carries the probe's requests, under one key of their own, to reproduce
    failed = next(i for i, f in _findings(data) if f["rule"] == "idempotency.replay")
    keys = re.findall(r"Idempotency-Key: (probe-[0-9a-f-]+)", failed["curl"])
    assert len(keys) >= 2 and len(set(keys)) == 1
    assert "--probe idempotency" in out and "reproduce: curl" in out


def test_a_target_accepting_a_reused_key_fails_the_mismatch_rule_only(cassettes, tmp_path):
    with CountingFake("accepts-reused-key") as target:
        code, data, _ = _run(cassettes, target, tmp_path, "--probe", "idempotency")
    assert code == 1
    assert _own(data) == {("idempotency.mismatch", "failure")}
    assert all(f["rule"] == "idempotency.mismatch" for _, f in _findings(data))  # reverted, deleted: no cascade
    (cause,) = data["root_causes"]
    assert {"customers.create", "sources.create", "cards.update"} <= set(cause["endpoints"])


def test_a_target_omitting_the_replayed_header_is_a_warning(cassettes, tmp_path):
    with CountingFake("no-replayed-header") as target:
        code, data, _ = _run(cassettes, target, tmp_path, "--probe", "idempotency")
    assert code == 0
    assert _own(data) == {("idempotency.replayed_header", "warning")}
    assert [c["severity"] for c in data["root_causes"]] == ["warning"]


def test_a_repeat_executed_behind_the_first_answer_is_found_by_reading_the_list_back(cassettes, tmp_path):
    """The answer is the first one, marked replayed, but a second card was made: only the parent's list shows it;
    later lists that hold it follow from the probe's finding, never a cause of their own."""
    with CountingFake("hidden-repeats") as target:
        code, data, _ = _run(cassettes, target, tmp_path, "--probe", "idempotency")
    assert code == 1
    assert _own(data) == {("idempotency.replay", "failure")}
    messages = [f["message"] for _, f in _findings(data) if f["rule"] == "idempotency.replay"]
    assert any("which no answer named" in m for m in messages)
    assert [c["rule"] for c in data["root_causes"]] == ["idempotency.replay"]


def test_cassettes_without_keys_are_probed_with_no_extra_request(keyless, tmp_path):
    counts = []
    for extra in ((), ("--probe", "idempotency")):
        with (fake := CountingFake()) as target:
            code, data, _ = _run(keyless, target, tmp_path, *extra)
            counts.append(len(fake.requests))
        assert code == 0 and _findings(data) == []
        said = [c["path"] for c in data["cassettes"] for w in c.get("warnings", []) if "nothing probed" in w]
        # probing nothing is said, cassette by cassette: never a silent pass
        assert said == ([c["path"] for c in data["cassettes"]] if extra else []), data["cassettes"]
    assert counts[0] == counts[1] > 0


@pytest.mark.parametrize("probe", [(), ("--probe", "idempotency")])
def test_a_target_answering_500_to_everything_is_one_root_cause(cassettes, tmp_path, probe):
    with FaultTarget("http-500") as target:
        code, data, out = _run(cassettes, target, tmp_path, *probe)
    assert code == 1
    (cause,) = data["root_causes"]
    assert cause["message"].startswith("the target answers 500 to every request")
    interactions = [i for c in data["cassettes"] for i in c["interactions"]]
    assert cause["count"] + cause["blocked"] == len(interactions)
    assert out.count("the target answers 500 to every request") == 1


def test_what_the_probes_undo_left_is_said_once_and_never_differs_later(cassettes, tmp_path):
    """A target that executes a reused key and keeps a metadata key sent empty (as localstripe does) keeps the
    probe's parameter after the undo: said once, on the probed update, as the deviation it is (joining the same
    cause as the recording's own unset keys); no later answer differs by it."""
    with CountingFake("metadata-unset-ignored") as target:
        _, plain, _ = _run(cassettes, target, tmp_path)
    with CountingFake("accepts-reused-key,metadata-unset-ignored") as target:
        code, data, _ = _run(cassettes, target, tmp_path, "--probe", "idempotency")
    assert code == 1
    left = [(i, f) for i, f in _findings(data) if "conformance_probe" in f["path"]]
    assert len(left) == 1
    interaction, finding = left[0]
    assert interaction["endpoint"] == "cards.update" and finding.get("consequence_of") is None
    assert finding["message"].endswith("left metadata.conformance_probe: \"\": the target does not unset a metadata "
                                       "key sent empty")
    assert {c["rule"] for c in data["root_causes"]} == {c["rule"] for c in plain["root_causes"]} | {
        "idempotency.mismatch"}
    unset = next(c for c in data["root_causes"] if "metadata.conformance_probe" in c["paths"])
    assert "does not apply the request's parameters" in unset["message"] and len(unset["paths"]) > 1


def test_a_recorded_retry_after_a_probe_is_judged_without_the_probes_leftover(tmp_path):
    """localstripe: the probe's undo leaves `metadata.conformance_probe: ""`, the recorded retry of the update
    executes again and answers it: that is no other body than the first answer."""
    shutil.copy(ROOT / "cassettes" / "cards-retries.yaml", tmp_path / "cards-retries.yaml")
    with CountingFake("executes-repeats,accepts-reused-key,metadata-unset-ignored") as target:
        code, data, _ = _run(tmp_path / "cards-retries.yaml", target, tmp_path, "--probe", "idempotency")
    retry = next(i for c in data["cassettes"] for i in c["interactions"] if i["index"] == 11)
    assert retry["endpoint"] == "cards.update" and retry["findings"] == []
    assert not any("another body" in f["message"] for _, f in _findings(data))
    assert code == 1


def test_a_repeat_listing_the_same_object_twice_is_found_by_reading_the_list_back(cassettes, tmp_path):
    """The repeat is answered as the first (the same card, marked replayed) but the card is added once more: the
    list read back holds it twice. Said once per card, on the probed attach; what later lists show of it follows."""
    with CountingFake("relists-repeats") as target:
        code, data, _ = _run(cassettes, target, tmp_path, "--probe", "idempotency")
    assert code == 1
    assert _own(data) == {("idempotency.replay", "failure")}
    messages = [f["message"] for _, f in _findings(data) if f["rule"] == "idempotency.replay"]
    assert messages and all(" twice: executed again" in m for m in messages)
    cards = [re.search(r"card_[0-9a-f]+", m).group(0) for m in messages]
    assert len(cards) == len(set(cards))
    assert [c["rule"] for c in data["root_causes"]] == ["idempotency.replay"]
