"""recorded_at: when each answer was recorded, written by the writer, read back, refused when malformed, imported."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conformance.cassette import CassetteWriter, Interaction, Request, Response, load
from conformance.cassette.model import Body, format_recorded_at, recorded_now
from conformance.errors import CassetteError
from conformance.record.importing import import_recording


def _interaction(moment: datetime | None) -> Interaction:
    return Interaction(Request("GET", "/v1/customers/cus_1"), Response(200, {}, Body("json", {"id": "cus_1"})),
                       "customers.retrieve", recorded_at=moment)


def test_recorded_at_round_trips_at_second_precision(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    moment = datetime(2026, 3, 1, 12, 30, 45, 999_999, tzinfo=UTC)
    with CassetteWriter(path) as writer:
        writer.append(_interaction(moment))
    assert "recorded_at: \"2026-03-01T12:30:45Z\"" in path.read_text()
    assert load(path).interactions[0].recorded_at == moment.replace(microsecond=0)


def test_an_older_cassette_without_recorded_at_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    with CassetteWriter(path) as writer:
        writer.append(_interaction(None))
    assert "recorded_at" not in path.read_text()
    assert load(path).interactions[0].recorded_at is None


@pytest.mark.parametrize("value", ["yesterday", "2026-02-30T10:00:00Z", "2026-03-01T12:30:45+02:00",
                                   "2026-03-01 12:30:45", "12"])
def test_a_malformed_recorded_at_is_the_readers_error_with_its_line(tmp_path: Path, value: str) -> None:
    path = tmp_path / "c.yaml"
    with CassetteWriter(path) as writer:
        writer.append(_interaction(datetime(2026, 3, 1, tzinfo=UTC)))
    text = path.read_text().replace('"2026-03-01T00:00:00Z"', value if value != "12" else "12")
    path.write_text(text)
    line = next(number for number, content in enumerate(text.splitlines(), 1) if content.startswith("recorded_at"))
    with pytest.raises(CassetteError) as raised:
        load(path)
    assert str(raised.value).startswith(f"{path}:{line}: interaction 1: recorded_at")
    assert "2026-12-07T15:50:10Z" in str(raised.value)  # the form it should take


def test_a_naive_time_is_taken_as_utc_and_now_has_whole_seconds() -> None:
    assert format_recorded_at(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05Z"
    assert recorded_now().microsecond == 0 and recorded_now().tzinfo is UTC


def _har(started: str | None) -> dict:
    entry: dict = {"request": {"method": "GET", "url": "https://api.stripe.com/v1/customers/cus_1", "headers": []},
                   "response": {"status": 200, "headers": [{"name": "Content-Type", "value": "application/json"}],
                                "content": {"text": '{"id": "cus_1"}'}}}
    if started is not None:
        entry["startedDateTime"] = started
    return {"log": {"version": "1.2", "entries": [entry]}}


def test_import_keeps_hars_started_date_time_in_utc(tmp_path: Path) -> None:
    source = tmp_path / "flows.har"
    source.write_text(json.dumps(_har("2023-08-16T12:00:00.123+02:00")))
    result = import_recording(source, tmp_path / "out")
    assert load(result.cassette).interactions[0].recorded_at == datetime(2023, 8, 16, 10, 0, 0, tzinfo=UTC)


def test_import_of_a_malformed_started_date_time_names_its_place(tmp_path: Path) -> None:
    from conformance.record.importing import NotARecording
    source = tmp_path / "flows.har"
    source.write_text(json.dumps(_har("last tuesday")))
    with pytest.raises(NotARecording, match=r"log\.entries\[0\]\.startedDateTime must be an ISO 8601 time"):
        import_recording(source, tmp_path / "out")
    assert not (tmp_path / "out" / "flows.yaml").exists()


def test_import_of_vcrpy_which_has_no_time_leaves_it_unknown(tmp_path: Path) -> None:
    source = tmp_path / "vcr.yaml"
    source.write_text("interactions:\n- request: {method: GET, uri: 'https://api.stripe.com/v1/customers/cus_1',"
                      " body: null, headers: {}}\n  response: {status: {code: 200, message: OK}, headers: {},"
                      " body: {string: '{}'}}\nversion: 1\n")
    result = import_recording(source, tmp_path / "out")
    assert load(result.cassette).interactions[0].recorded_at is None


def test_import_keeps_ruby_vcrs_recorded_at(tmp_path: Path) -> None:
    source = tmp_path / "ruby.yml"
    source.write_text("---\nhttp_interactions:\n- request:\n    method: get\n    uri: https://api.stripe.com/v1/customers/cus_1\n"
                      "    body: {encoding: UTF-8, string: ''}\n    headers: {}\n  response:\n    status: {code: 200,"
                      " message: OK}\n    headers: {}\n    body: {encoding: UTF-8, string: '{}'}\n"
                      "  recorded_at: Wed, 16 Aug 2023 10:00:00 GMT\nrecorded_with: VCR 6.1.0\n")
    result = import_recording(source, tmp_path / "out")
    assert load(result.cassette).interactions[0].recorded_at == datetime(2023, 8, 16, 10, 0, 0, tzinfo=UTC)


def test_the_recorder_stamps_each_answer_with_the_time_it_was_recorded(tmp_path: Path) -> None:
    from conformance_proxy.recorder import Recorder
    from tests.unit.test_recorder_addon import card_flow, record

    addon = Recorder()
    before = recorded_now()
    path = record(addon, tmp_path, card_flow())
    after = recorded_now()
    (interaction,) = load(path).interactions
    assert interaction.recorded_at is not None and before <= interaction.recorded_at <= after
