"""``conformance capture``: the reference suite recorded again through the recorder."""

from __future__ import annotations

from pathlib import Path

import click

from conformance.api_profile import TOKEN_MODES, TokenMode
from conformance.cassette import load
from conformance.cli.main import main
from conformance.errors import refuse_live_key
from conformance.net import check_reachable
from conformance.text import plural


@main.command()
@click.option("--upstream", metavar="URL", default="https://api.stripe.com", show_default=True,
              help="Stripe, or any Stripe-compatible server, to record the suite from.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("cassettes"),
              show_default=True, help="Directory of the suite's cassettes (same file names each time).")
@click.option("--api-key", metavar="KEY", envvar="STRIPE_API_KEY", show_envvar=True, required=True,
              help="A test-mode secret key of the upstream (required: capture creates and deletes customers and "
                   "cards); live keys are refused.")
@click.option("--tokens", type=click.Choice(TOKEN_MODES), default="magic", show_default=True,
              help="magic: Stripe's test tokens (tok_visa…); create: make tokens from test card numbers first.")
@click.option("--only", multiple=True, metavar="SCENARIO", help="Record only this scenario (repeatable).")
@click.option("--source", metavar="TEXT",
              help="Where the answers come from, for each header's source note (default: \"Captured with "
                   "`conformance capture` from URL.\").")
@click.option("--api-version", metavar="VERSION", default="2023-08-16", show_default=True,
              help="The Stripe API version the SDK is pinned to and each header states (the suite's answers "
                   "follow it).")
@click.option("--set", "mitm_options", multiple=True, metavar="OPTION=VALUE", help="Pass an option to mitmproxy.")
def capture(upstream: str, out_dir: Path, api_key: str, tokens: TokenMode, only: tuple[str, ...], source: str | None,
            api_version: str, mitm_options: tuple[str, ...]) -> None:
    """Re-record the reference suite: drive the stripe SDK through every scenario while recording."""
    from conformance.suite.capture import capture_suite
    from conformance.suite.scenarios import SUITE

    api_key = refuse_live_key(api_key, "capture creates and deletes customers and cards")
    unknown = sorted(set(only) - set(SUITE))
    if unknown:
        raise click.UsageError(f"unknown scenario {', '.join(unknown)} (known: {', '.join(SUITE)})")
    check_reachable(upstream, "upstream")
    failed = 0
    for captured in capture_suite(upstream, out_dir, api_key, tokens=tokens, only=only, mitm_options=mitm_options,
                                  echo=click.echo, source=source, api_version=api_version):
        count = len(load(captured.path).interactions)
        if captured.error:
            failed += 1
            click.echo(f"✗ {captured.name}: {captured.error} ({plural(count, 'interaction')} in {captured.path})")
        else:
            click.echo(f"✓ {captured.name}: {plural(count, 'interaction')} in {captured.path}")
    if failed:
        raise click.ClickException(f"{plural(failed, 'scenario')} could not be recorded")
