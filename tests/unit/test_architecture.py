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
    ("conformance.serve", ("conformance.replay", "conformance.checks", "conformance.report", "conformance.record"),
     "serving is offline matching, not replay"),
    *[(stage, ("conformance.record",), "the exchange codec is the cassette's, the mitmdump helper a foundation: "
                                       "no stage imports the record side sideways")
      for stage in ("conformance.replay", "conformance.checks", "conformance.explore", "conformance.suite")],
    ("conformance.checks", ("conformance.report", "conformance.replay", "conformance.mitm"),
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
                                                          "forms", "text", "atomic", "net", "processes", "paths", "mitm")))],
    ("conformance.stripe", ("conformance.replay", "conformance.report", "conformance.record", "conformance.serve",
                            "conformance.cli", "conformance.suite"), "the profile is facts and rules, no stage"),
]
FOUNDATION = ("errors", "rules", "findings", "api_profile", "redaction", "forms", "text", "atomic", "net",
              "processes", "paths", "mitm")


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
        ("conformance.cassette.exchange", "from conformance.replay.binding import IdBindings\n"),
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
    import conformance.stripe  # noqa: F401  (its rule set is registered when the profile is imported)

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


# --- Stripe is one room apart: its rule ids and its names stay in conformance/stripe/ (and the suite) -------------

STRIPE_ROOMS = ("stripe", "suite")  # conformance/stripe/, conformance/suite/: where Stripe may be named
# "stripe" in any case, anywhere; an id or key prefix of Stripe's in text (tok_visa, card_…, cus_…, sk_test_…)
STRIPE_NAME = re.compile(r"(?i:stripe)|(?<![A-Za-z])(?:tok|card|cus|sk_test|sk_live|rk_test|rk_live|whsec)_")
# What stays, file by file, each with why. An option's help text (``help=``) may name Stripe anywhere: it tells a
# user what the built-in profile does; so may a docstring.
ALLOWED_STRIPE_NAMES: dict[str, tuple[frozenset[str], str]] = {
    "conformance/api_profile.py": (frozenset({"stripe"}), "the built-in profile's name, resolved to "
                                   "conformance.stripe:STRIPE only when asked for by name"),
    "conformance/cassette/model.py": (frozenset({"stripe"}), "a cassette without a host was recorded from "
                                      "api.stripe.com (old cassettes): the engine's default host"),
    "conformance/cassette/validation.py": (frozenset({"stripe"}), "an error message: the header's api_version is "
                                           "the Stripe API version"),
    "conformance/cli/capture.py": (frozenset({"stripe"}), "capture records the reference suite from Stripe: its "
                                   "default target and key variable"),
    "conformance/cli/explore.py": (frozenset({"stripe"}), "the key's environment variable, STRIPE_API_KEY"),
    "conformance/cli/main.py": (frozenset({"stripe"}), "--api's default, the built-in profile"),
    "conformance/cli/matrix.py": (frozenset({"stripe"}), "--stripe-version and STRIPE_API_KEY, the command line's "
                                  "names for the version header and the key"),
    "conformance/cli/run.py": (frozenset({"stripe"}), "--stripe-version and STRIPE_API_KEY, as for matrix"),
    "conformance/cli/proxy.py": (frozenset({"stripe"}), "how to point the official SDKs at the proxy"),
    "conformance/contract/spec.py": (frozenset({"stripe"}), "error messages naming the OpenAPI file Stripe "
                                     "publishes"),
    "conformance/errors.py": (frozenset({"sk_live_", "rk_live_", "sk_test_"}), "a live key is refused before "
                              "anything is sent: the key patterns"),
    "conformance/extras.py": (frozenset({"stripe"}), "the install's extras are named after Stripe's SDK and "
                              "localstripe"),
    "conformance/findings.py": (frozenset({"stripe", "sk_test_"}), "hints of the verdict: a 401 everywhere asks "
                                "for a test key; stripe-mock speaks HTTPS on its second port"),
    "conformance/pytest_plugin.py": (frozenset({"stripe"}), "--conformance-api's default and STRIPE_API_KEY"),
    "conformance/redaction.py": (frozenset({"whsec_"}), "a webhook secret is redacted whatever the profile"),
    "conformance/replay/cards.py": (frozenset({"stripe"}), "the hint for a refused magic test token"),
    "conformance/replay/curl.py": (frozenset({"stripe"}), "a reproduce line reads the key from $STRIPE_API_KEY"),
    "conformance/replay/options.py": (frozenset({"stripe"}), "ReplayOptions.stripe_version (--stripe-version)"),
    "conformance/replay/request.py": (frozenset({"stripe"}), "ReplayOptions.stripe_version (--stripe-version)"),
    "conformance/replay/targets.py": (frozenset({"stripe"}), "an example target name (localstripe)"),
    "conformance/report/markdown.py": (frozenset({"stripe"}), "a reproduce line's key variable, $STRIPE_API_KEY"),
    "conformance/report/profile.py": (frozenset({"stripe"}), "an example target name (stripe-mock)"),
    "conformance/rules.py": (frozenset({"stripe", "card_"}), "the generic rules' wording as docs/running.md and "
                             "every report state it (a Stripe error, `card_`); list.order's source"),
    "conformance/settings.py": (frozenset({"stripe"}), "the run's settings carry --stripe-version"),
    "proxy/recorder.py": (frozenset({"stripe"}), "the addon's api_profile default, the built-in profile"),
    "proxy/server.py": (frozenset({"stripe"}), "the addon's api_profile default; an injected 429 or a refused "
                        "retry carries Stripe-Should-Retry as Stripe does"),
}


def _unchecked_texts(tree: ast.AST) -> set[int]:
    """The nodes of docstrings and of help texts (``help=``): words for people, which may name Stripe."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "help":
            skipped.update(id(part) for part in ast.walk(node.value))
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and body and \
                isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            skipped.add(id(body[0].value))
    return skipped


def names_in_code(source: str, pattern: re.Pattern[str], identifiers: bool = True) -> set[str]:
    """What ``pattern`` finds (lower case) in a source's string constants and, with ``identifiers``, its names,
    leaving docstrings and help texts out."""
    tree = ast.parse(source)
    skipped = _unchecked_texts(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.update(m.group(0).lower() for m in pattern.finditer(node.value))
        elif identifiers and isinstance(node, (ast.Name, ast.Attribute, ast.arg)):
            text = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else node.arg
            found.update(m.group(0).lower() for m in re.finditer(r"(?i)stripe", text))
    return found


def outside_stripe() -> list[Path]:
    return [path for path in source_files()
            if not (path.is_relative_to(PACKAGE) and path.relative_to(PACKAGE).parts[0] in STRIPE_ROOMS)]


def test_no_stripe_name_outside_its_room():
    problems = []
    for path in outside_stripe():
        relative = path.relative_to(ROOT).as_posix()
        allowed = ALLOWED_STRIPE_NAMES.get(relative, (frozenset(), ""))[0]
        problems += [f"{relative}: {name}" for name in sorted(names_in_code(path.read_text(), STRIPE_NAME) - allowed)]
    assert problems == [], "Stripe's names belong in conformance/stripe/ (or say why in ALLOWED_STRIPE_NAMES)"


def test_no_documented_rule_id_outside_the_profile():
    from conformance.rules import ENGINE_RULES
    from conformance.stripe import STRIPE

    engine = {r.id for r in ENGINE_RULES}
    documented = sorted({r.id for r in STRIPE.rules.rules} - engine, key=len, reverse=True)
    assert documented, "the profile brings documented rules"
    pattern = re.compile(r"(?<![\w.])(?:" + "|".join(map(re.escape, documented)) + r")(?![\w-])")
    problems = []
    for path in outside_stripe():
        relative = path.relative_to(ROOT).as_posix()
        problems += [f"{relative}: {rule_id}" for rule_id in sorted(names_in_code(path.read_text(), pattern,
                                                                                  identifiers=False))]
    assert problems == [], "documented rule ids belong to the API profile: branch on the rule's traits instead"


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ('if finding.rule == "invariant.deleted":\n    pass\n', True),
        ('KEYS = frozenset({"card.fingerprint", "value"})\n', True),
        ('def f():\n    """Judged like invariant.card."""\n', False),
        ('option("--x", help="see invariant.card")\n', False),
        ('RULE = "value"\n', False),
    ],
)
def test_the_rule_id_check_catches_a_documented_id(source, found):
    pattern = re.compile(r"(?<![\w.])(?:invariant\.deleted|invariant\.card|card\.fingerprint)(?![\w-])")
    assert bool(names_in_code(source, pattern, identifiers=False)) is found


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ('HOST = "api.stripe.com"\n', {"stripe"}),
        ('def f(stripe_version):\n    pass\n', {"stripe"}),
        ('TOKEN = "tok_visa"\n', {"tok_"}),
        ('KEY = "sk_test_123"\n', {"sk_test_"}),
        ('NAME = "CARD_NUMBER"\n', set()),
        ('x = option("--k", help="also from STRIPE_API_KEY")\n', set()),
    ],
)
def test_the_stripe_name_check_catches_a_name(source, found):
    assert names_in_code(source, STRIPE_NAME) == found


def test_every_allowed_name_is_still_there():
    """An allow-list entry whose name has gone is removed, so the list says what stays and no more."""
    stale = []
    for relative, (names, _) in ALLOWED_STRIPE_NAMES.items():
        path = ROOT / relative
        if path.exists():
            stale += [f"{relative}: {name}" for name in sorted(names - names_in_code(path.read_text(), STRIPE_NAME))]
    assert stale == []
