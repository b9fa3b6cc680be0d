"""Cassettes that age honestly: `check --max-age` and the pytest plugin's `--conformance-max-age` warn on answers
recorded longer ago (or of no known age), and fail them with --strict. Real processes; the target on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from conformance.cassette import CassetteWriter, load
from conformance.cassette.model import recorded_now

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "cassettes" / "cards-list.yaml"


def aged_copy(tmp_path: Path, *days_ago: int | None) -> Path:
    """The reference cassette cards-list, its interactions dated ``days_ago`` (None: undated), in order."""
    cassette = load(REFERENCE)
    target = tmp_path / "cards-list.yaml"
    with CassetteWriter(target, cassette.name, dict(cassette.meta), mode="overwrite") as writer:
        for interaction, days in zip(cassette.interactions, days_ago, strict=False):
            interaction.recorded_at = None if days is None else recorded_now() - timedelta(days=days)
            writer.append(interaction)
    return target


def conformance(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance", *map(str, args)], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)


def line_of(path: Path, index: int) -> int:
    """The line where interaction ``index`` starts in ``path``."""
    return next(i.line for i in load(path).interactions if i.index == index)


def test_check_max_age_warns_on_old_answers_and_strict_fails_them(tmp_path):
    cassette = aged_copy(tmp_path, 1, 400, 120, 2)
    warned = conformance("check", "--max-age", "90", cassette)
    assert warned.returncode == 0, warned.stdout + warned.stderr
    expected = (f"{cassette}:{line_of(cassette, 2)}: warning: 2 of 4 interactions were recorded more than 90 days "
                "ago (the oldest, interaction 2 (sources.create), on ")
    assert expected in warned.stdout, warned.stdout
    assert ", 400 days ago): its answers may no longer be the API's; re-record it with `conformance record " \
           "--refresh`" in warned.stdout
    assert "1 cassette checked: 0 problems, 1 warning, 0 unreadable" in warned.stdout
    failed = conformance("check", "--max-age", "90", "--strict", cassette)
    assert failed.returncode == 1, failed.stdout
    assert f"{cassette}:{line_of(cassette, 2)}: 2 of 4 interactions were recorded" in failed.stdout
    # within the limit, and without --max-age, nothing is said of age
    assert conformance("check", "--max-age", "500", "--strict", cassette).returncode == 0
    plain = conformance("check", "--strict", cassette)
    assert plain.returncode == 0 and "recorded more than" not in plain.stdout


def test_check_max_age_names_answers_of_no_known_age(tmp_path):
    cassette = aged_copy(tmp_path, 1, None, None, 1)
    warned = conformance("check", "--max-age", "30", cassette)
    assert warned.returncode == 0
    assert (f"{cassette}:{line_of(cassette, 2)}: warning: 2 of 4 interactions have no recorded_at (recorded before "
            "card-conformance kept it), so no known age against --max-age 30 days") in warned.stdout
    assert conformance("check", "--max-age", "30", "--strict", cassette).returncode == 1


@pytest.mark.parametrize("value", ["0", "-3", "soon"])
def test_check_max_age_refuses_what_is_no_number_of_days(tmp_path, value):
    refused = conformance("check", "--max-age", value, REFERENCE)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "--max-age" in refused.stderr


def plugin(tmp_path: Path, *args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "--rootdir",
                           str(tmp_path), *map(str, args)], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={**os.environ, "COLUMNS": "300"})


def test_the_pytest_plugin_warns_on_old_answers_and_strict_fails_them(tmp_path, fake_stripe):
    cassette = aged_copy(tmp_path, 1, 400, 2, 2)
    warned = plugin(tmp_path, "--conformance-target", fake_stripe, "--conformance-max-age", "90", cassette)
    assert warned.returncode == 0, warned.stdout
    assert "StaleCassetteWarning" in warned.stdout and "1 of 4 interactions was recorded more than 90 days ago" \
        in warned.stdout, warned.stdout
    failed = plugin(tmp_path, "--conformance-target", fake_stripe, "--conformance-max-age", "90",
                    "--conformance-strict", cassette)
    assert failed.returncode == 1
    assert "1 of 4 interactions was recorded more than 90 days ago (the oldest, interaction 2" in failed.stdout
    fresh = plugin(tmp_path, "--conformance-target", fake_stripe, "--conformance-max-age", "500",
                   "--conformance-strict", cassette)
    assert fresh.returncode == 0 and "StaleCassetteWarning" not in fresh.stdout, fresh.stdout
