"""The main job of the quickstart, end to end on this machine alone.

Starts localstripe on 127.0.0.1 as the upstream, puts the recorder in front of
it, drives the official stripe SDK through the card lifecycle and shows what
was recorded.
"""

from __future__ import annotations

import secrets
from collections import Counter
from pathlib import Path

import click

from .cassette import load
from .localstripe_target import running
from .mitm import MitmProcess, addon_path, free_port
from .scenarios import Session, card_lifecycle


def record_demo(out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    cassette_path = out_dir / "card-lifecycle.localstripe.yaml"
    with running() as upstream:
        click.echo(f"localstripe is listening on {upstream}")
        port = free_port()
        scratch = out_dir / ".mitmproxy"
        mitm = MitmProcess(
            ["--mode", f"reverse:{upstream}", "-s", addon_path("recorder"),
             "--set", f"confdir={scratch}", "--set", f"cassette={cassette_path}",
             "--set", "flow_detail=0", "--set", "termlog_verbosity=info"],
            "127.0.0.1", port, echo=lambda line: click.echo(f"  {line}"),
        )
        mitm.start()
        click.echo(f"recording proxy on http://127.0.0.1:{port}; the stripe SDK walks the card lifecycle:")
        try:
            # localstripe accepts any sk_test_ key; a fresh one shows that keys never reach the cassette.
            session = Session(f"http://127.0.0.1:{port}", "sk_test_" + secrets.token_hex(12), tokens="create")
            card_lifecycle(session)
        finally:
            mitm.stop()
    cassette = load(cassette_path)
    counts = Counter(i.endpoint for i in cassette.interactions)
    click.echo(f"\nWrote {len(cassette.interactions)} interactions to {cassette_path}:")
    for endpoint, count in sorted(counts.items()):
        click.echo(f"  {endpoint:<18} {count}")
    return cassette_path
