"""The layout is the architecture: who may import whom, what the packaging and the docs say of it."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from conformance.rules import RULES, Severity

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "conformance"
ADDONS = ROOT / "proxy"

# (importer prefix, imported prefixes it must not use, why)
FORBIDDEN: list[tuple[str, tuple[str, ...], str]] = [
    ("conformance", ("click",), "only the command line knows Click"),
    ("conformance", ("conformance.cli",), "nothing depends on the command line"),
    ("conformance.cassette", ("conformance.record", "conformance.serve", "conformance.replay", "conformance.checks",
                              "conformance.report", "conformance.suite"), "the cassette is the bottom layer"),
    ("conformance.record", ("conformance.replay", "conformance.checks", "conformance.report", "conformance.serve"),
     "the record side does not import replay"),
    ("conformance.serve", ("conformance.replay", "conformance.checks", "conformance.report"),
     "serving is offline matching, not replay"),
    ("conformance.checks", ("conformance.report", "conformance.replay", "conformance.record.mitm"),
     "checks judge exchanges; they neither send nor report"),
    ("conformance.contract", ("conformance.checks", "conformance.replay", "conformance.report", "conformance.record",
                              "conformance.serve", "conformance.suite"), "the contract judges bodies; it knows no run"),
    ("conformance.report", ("conformance.replay", "conformance.checks", "conformance.record", "conformance.serve"),
     "reports read results only"),
    ("conformance_proxy", ("conformance.replay", "conformance.checks", "conformance.report", "click"),
     "the addons run inside mitmproxy"),
    *[(engine, ("conformance.stripe",), "the engine is handed an API profile; only the command line, the pytest "
                                        "plugin and the suite choose one")
      for engine in ("conformance.cassette", "conformance.record", "conformance.serve", "conformance.replay",
                     "conformance.checks", "conformance.contract", "conformance.report", "conformance.explore",
                     "conformance_proxy", *(f"conformance.{name}" for name in ("errors", "rules", "findings", "api_profile", "redaction",
                                                          "forms", "text", "atomic", "net", "processes", "paths")))],
    ("conformance.stripe", ("conformance.replay", "conformance.report", "conformance.record", "conformance.serve",
                            "conformance.cli", "conformance.suite"), "the profile is facts and rules, no stage"),
]
FOUNDATION = ("errors", "rules", "findings", "api_profile", "redaction", "forms", "text", "atomic", "net",
              "processes", "paths")


def module_name(path: Path) -> str:
    if path.is_relative_to(ADDONS):
        parts = ["conformance_proxy", *path.relative_to(ADDONS).with_suffix("").parts]
    else:
        parts = ["conformance", *path.relative_to(PACKAGE).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(source: str, module: str, is_package: bool) -> set[str]:
    """Every module a source file imports, relative imports resolved, at any depth of the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def violations(module: str, imported: set[str]) -> list[str]:
    problems = []
    for importer, forbidden, why in FORBIDDEN:
        if module != importer and not module.startswith(importer + "."):
            continue
        if importer == "conformance" and (module.startswith("conformance.cli") or module == "conformance.__main__"):
            continue
        for name in sorted(imported):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                problems.append(f"{module} imports {name}: {why}")
    if module.split(".")[-1] in FOUNDATION and module.count(".") == 1:
        problems += [f"{module} imports {name}: foundation modules import no subpackage"
                     for name in sorted(imported)
                     if name.startswith("conformance.") and name.split(".")[1] not in (*FOUNDATION, "__version__")]
    return problems


def source_files() -> list[Path]:
    return sorted([*PACKAGE.rglob("*.py"), *ADDONS.glob("*.py")])


def test_imports_follow_the_pipeline():
    problems = []
    for path in source_files():
        module = module_name(path)
        problems += violations(module, imports_of(path.read_text(), module, path.name == "__init__.py"))
    assert problems == []


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("conformance.checks.compare", "import click\n"),
        ("conformance.checks.compare", "def f():\n    from ..report import json_report\n"),
        ("conformance.record.exchange", "from conformance.replay.binding import IdBindings\n"),
        ("conformance.errors", "from conformance.cassette import load\n"),
        ("conformance.replay.engine", "from conformance.stripe import STRIPE\n"),
        ("conformance.checks.response", "from conformance.stripe.invariants import check_response\n"),
        ("conformance_proxy.server", "def f():\n    from conformance.stripe.routes import ROUTES\n"),
        ("conformance.redaction", "from conformance.stripe.testcards import CARDS\n"),
    ],
)
def test_the_import_check_catches_a_wrong_import(module, source):
    assert violations(module, imports_of(source, module, False))


def test_the_packaging_lists_every_package_of_the_tree():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    # the addons, and the reference suite and the docs as package data (conformance.suite.reference finds them)
    mapped = {"conformance_proxy": "proxy", "conformance.reference": "cassettes", "conformance.docs": "docs"}
    in_tree = {module_name(init) for init in PACKAGE.rglob("__init__.py")} | set(mapped)
    assert listed == in_tree
    assert config["package-dir"] == mapped
    assert config["package-data"]["conformance.reference"] == ["*.yaml"]


def test_the_layout_table_matches_the_tree():
    section = (ROOT / "docs" / "architecture.md").read_text()
    named = set(re.findall(r"`((?:conformance|proxy|tests|bench|cassettes|docs)/[^`]*)`", section))
    for name in named:
        assert (ROOT / name.split(" ")[0]).exists(), f"docs/architecture.md names {name}, which is not in the tree"
    for package in sorted(p.parent for p in PACKAGE.rglob("__init__.py") if p.parent != PACKAGE):
        relative = package.relative_to(ROOT).as_posix() + "/"
        assert relative in named, f"docs/architecture.md does not name {relative}"


def test_the_rule_table_is_the_registry():
    readme = (ROOT / "docs" / "running.md").read_text()
    rows = re.findall(r"^\| `([a-z_.]+)` \| (failure|warning) \| (.+?) \|$", readme, re.M)
    assert {rule for rule, _, _ in rows} == set(RULES)
    for rule_id, severity, description in rows:
        assert RULES[rule_id].severity == Severity(severity), rule_id
        assert RULES[rule_id].description == description, rule_id


def test_the_pytest_plugin_loads_without_deepdiff_or_httpx():
    code = "import sys, conformance.pytest_plugin; print(sorted({'deepdiff', 'httpx', 'click'} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert loaded.stdout.strip() == "[]"
