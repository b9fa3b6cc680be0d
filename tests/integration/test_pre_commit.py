"""The pre-commit hook, run by the real pre-commit tool in a temporary git repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_the_hook_fails_on_a_planted_key_and_passes_on_clean_cassettes(tmp_path):
    if git("status", "--porcelain", "--", ".pre-commit-hooks.yaml", "pyproject.toml", "conformance", cwd=ROOT):
        pytest.skip("the hook is tested from a commit: commit .pre-commit-hooks.yaml and the package first")
    rev = git("rev-parse", "HEAD", cwd=ROOT)
    repo = tmp_path / "app"
    (repo / "cassettes").mkdir(parents=True)
    shutil.copy(ROOT / "cassettes" / "cards-retrieve.yaml", repo / "cassettes" / "cards-retrieve.yaml")
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {ROOT}\n  rev: {rev}\n  hooks:\n  - id: conformance-check\n")
    git("init", "-q", cwd=repo)
    git("add", "-A", cwd=repo)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "GIT_AUTHOR_NAME": "t",
           "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    run = [sys.executable, "-m", "pre_commit", "run", "--all-files"]
    clean = subprocess.run(run, cwd=repo, capture_output=True, text=True, timeout=900, env=env)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "card-conformance check (cassettes)" in clean.stdout and "Passed" in clean.stdout

    key = "sk_test_" + "PlantedForPreCommit" * 2
    cassette = repo / "cassettes" / "cards-retrieve.yaml"
    cassette.write_text(cassette.read_text().replace("Bearer [REDACTED:sk_test]", f"Bearer {key}", 1))
    git("add", "-A", cwd=repo)
    planted = subprocess.run(run, cwd=repo, capture_output=True, text=True, timeout=900, env=env)
    assert planted.returncode == 1, planted.stdout + planted.stderr
    assert "Failed" in planted.stdout and "an unredacted" in planted.stdout
    assert key not in planted.stdout  # the hook's own output is redacted
