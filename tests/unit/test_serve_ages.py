"""How old served answers are: the session's oldest answer served, serve_max_age's warnings at load and reload."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from mitmproxy import exceptions
from mitmproxy.test import taddons, tflow, tutils

from conformance.cassette import Body, CassetteWriter, Interaction, Request, Response
from conformance.cassette.model import recorded_now
from conformance.serve.ages import parse_max_age, served_age_text
from conformance_proxy.server import Cassettes, CassetteServer, serve_addons

NOW = recorded_now()


def write(path, *ages: int | None) -> None:
    """A cassette of GET /v1/customers/cus_N, one per age (days ago; None: undated), in that order."""
    with CassetteWriter(path) as writer:
        for number, days in enumerate(ages, 1):
            writer.append(Interaction(Request("GET", f"/v1/customers/cus_{number}"),
                                      Response(200, {"Content-Type": "application/json"},
                                               Body("json", {"id": f"cus_{number}"})),
                                      recorded_at=None if days is None else NOW - timedelta(days=days, minutes=1)))


def ask(addons, *numbers: int) -> None:
    for number in numbers:
        flow = tflow.tflow(req=tutils.treq(method=b"GET", path=f"/v1/customers/cus_{number}".encode(), content=b""))
        flow.response = None
        for addon in addons:
            if hasattr(addon, "request"):
                addon.request(flow)
        assert flow.response is not None and flow.response.status_code == 200


def served(tmp_path, *ages: int | None):
    path = tmp_path / "c.yaml"
    write(path, *ages)
    addons = serve_addons()
    return path, addons, next(a for a in addons if isinstance(a, CassetteServer))


def test_the_summary_names_the_oldest_answer_served_not_an_unasked_older_one(tmp_path):
    path, addons, server = served(tmp_path, 5, 67, 400, None)
    with taddons.context(*addons) as tctx:
        tctx.configure(addons[0], serve_cassettes=[str(path)], serve_reload=False)
        ask(addons, 1, 2, 4, 1)  # #3, 400 days old, never asked for; #4 undated: of no known age, not old
        oldest = server.end_session()["oldest_served"]
        assert oldest == {"recorded_at": f"{NOW - timedelta(days=67, minutes=1):%Y-%m-%dT%H:%M:%SZ}", "days": 67,
                          "cassette": str(path), "interaction": 2, "endpoint": "customers.retrieve"}
        ask(addons, 1)  # a new session starts afresh
        assert server.end_session()["oldest_served"]["days"] == 5


def test_a_session_served_only_undated_answers_names_no_age(tmp_path):
    path, addons, server = served(tmp_path, None, 3)
    with taddons.context(*addons) as tctx:
        tctx.configure(addons[0], serve_cassettes=[str(path)], serve_reload=False)
        ask(addons, 1)
        assert server.end_session()["oldest_served"] is None
        assert server.end_session()["oldest_served"] is None  # nothing served at all


@pytest.mark.parametrize(("days", "said"), [(0, "today"), (1, "1 day ago"), (67, "67 days ago")])
def test_the_summary_clause_says_the_date_and_the_days(days, said):
    oldest = {"recorded_at": "2026-10-01T12:00:00Z", "days": days, "cassette": "c/a.yaml", "interaction": 3,
              "endpoint": "cards.list"}
    assert served_age_text(oldest) == f"; the oldest answer served was recorded 2026-10-01 ({said}: c/a.yaml #3 cards.list)"
    assert served_age_text(None) == ""


@pytest.mark.parametrize("text", ["0", "-3", "ninety", "nan", "inf"])
def test_a_max_age_that_is_no_positive_number_of_days_is_refused_as_an_option(tmp_path, text):
    path, addons, _ = served(tmp_path, 5)
    with taddons.context(*addons) as tctx, pytest.raises(exceptions.OptionsError, match="serve_max_age must be"):
        tctx.configure(addons[0], serve_cassettes=[str(path)], serve_max_age=text)
    assert parse_max_age("") is None and parse_max_age("0.5") == 0.5


def test_max_age_warns_at_load_naming_the_cassette_and_its_oldest_interaction(tmp_path, capsys):
    path, addons, _ = served(tmp_path, 5, 67, None)
    with taddons.context(*addons) as tctx:
        tctx.configure(addons[0], serve_cassettes=[str(path)], serve_reload=False, serve_max_age="30")
    warnings = [line for line in capsys.readouterr().out.splitlines() if "warning:" in line]
    assert len(warnings) == 2
    assert warnings[0].startswith(f"{path}:") and "1 of 3 interactions was recorded more than 30 days ago (the " \
        "oldest, interaction 2 (customers.retrieve)" in warnings[0]
    assert "1 of 3 interactions has no recorded_at" in warnings[1]


def test_without_max_age_nothing_is_warned_of(tmp_path, capsys):
    path, addons, _ = served(tmp_path, 400, None)
    with taddons.context(*addons) as tctx:
        tctx.configure(addons[0], serve_cassettes=[str(path)], serve_reload=False)
    assert "warning" not in capsys.readouterr().out


def test_a_reload_warns_again_of_the_changed_cassette_only(tmp_path, capsys):
    fresh, old = tmp_path / "a.yaml", tmp_path / "b.yaml"
    write(fresh, 1)
    write(old, 90)
    addons = serve_addons()
    cassettes = next(a for a in addons if isinstance(a, Cassettes))
    with taddons.context(*addons) as tctx:
        tctx.configure(addons[0], serve_cassettes=[str(tmp_path)], serve_reload=False, serve_max_age="30")
        capsys.readouterr()
        write(fresh, 1, 45)  # a.yaml changed, now with an old answer; b.yaml untouched, still old
        os.utime(fresh, ns=(1, 1))
        cassettes.refresh({p: (p.stat().st_size, p.stat().st_mtime_ns) for p in (fresh, old)})
    warnings = [line for line in capsys.readouterr().out.splitlines() if "warning:" in line]
    assert len(warnings) == 1 and warnings[0].startswith(f"{fresh}:") and "45 days ago" in warnings[0]
