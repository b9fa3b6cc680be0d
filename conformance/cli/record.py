"""``conformance record``: an application's traffic into a cassette."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from conformance.atomic import probe_directory
from conformance.cassette import load
from conformance.cassette.files import lock_holder
from conformance.cassette.model import DEFAULT_HOST
from conformance.cli.main import (
    InputError,
    WrappingCommand,
    api_option,
    api_profile,
    main,
)
from conformance.cli.proxy import PROXY_MODES, ProxyMode, run_proxy
from conformance.errors import TargetError
from conformance.mitm import addon_path
from conformance.net import check_port_free, check_reachable, free_port
from conformance.redaction import Redactor, without_credentials


def _writable_cassette(path: Path) -> None:
    """Fail before starting anything if the cassette cannot be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"cannot create directory {path.parent} for the cassette: {error.strerror}") from None
    if path.is_dir():
        raise InputError(f"cassette path {path} is a directory; give a file such as {path / 'session.yaml'}")
    if path.is_symlink() and not path.exists():
        raise InputError(f"cassette path {path} is a link to nothing ({os.readlink(path)}); give the file itself")
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise InputError(f"cannot write cassette {path}: permission denied")
    try:
        probe_directory(path.parent)  # a full disk says yes to os.access
    except OSError as error:
        raise InputError(f"cannot write cassette {path}: {error.strerror or error}") from None
    holder = lock_holder(path)
    if holder is not None:  # the addon's lock is the real guard; this says it before anything starts
        raise InputError(f"{path} is being written by another process (pid {holder}): one recorder per cassette")


def _no_faults(given: tuple[str, ...]) -> None:
    """``--fault`` belongs to ``serve``: a recording talks to a real upstream and must record what it answers."""
    if given:
        raise InputError("--fault is an option of conformance serve (faults injected into served answers); "
                         "record talks to a real upstream and injects nothing")


def _refuse_credentials(upstream: str) -> None:
    """An upstream URL holding credentials (``http://user:password@host``) is refused without printing them:
    mitmdump's reverse mode takes none (and would quote them in its error); the application's own Authorization
    header is what reaches the upstream."""
    try:
        parts = urlsplit(upstream)
    except ValueError:
        return  # not a URL: the reachability check says so
    if parts.username is not None or parts.password is not None:
        raise InputError(f"--upstream {without_credentials(upstream)}: a URL with credentials (user:password@) "
                         "is not used; give the server's address alone — the application's own Authorization "
                         "header reaches it")


@main.command(cls=WrappingCommand)
@click.option("--upstream", metavar="URL", help="Stripe-compatible server to record (reverse mode), e.g. https://api.stripe.com.")
@click.option("--cassette", "cassette_path", required=True, type=click.Path(dir_okay=True, path_type=Path),
              help="Cassette file to write. One that already holds a recording is refused unless --overwrite or "
                   "--append says what to do with it.")
@click.option("--overwrite", is_flag=True,
              help="Replace an existing cassette (kept as NAME.bak until the first interaction is written).")
@click.option("--host", "hosts", multiple=True, metavar="HOST",
              help="Forward mode: the host to intercept and record (default: api.stripe.com; repeatable). Other "
                   "hosts pass through untouched, neither intercepted nor recorded.")
@click.option("--append", is_flag=True, help="Add to an existing cassette, after its interactions.")
@click.option("--refresh", is_flag=True,
              help="Re-record an existing cassette: record into a new one, then replace the old with it (what the "
                   "application no longer asks is dropped; its name, fixtures, compare: and source are kept) and "
                   "print `conformance diff` of the old against the new. A failing command keeps the old one.")
@click.option("--dry-run", is_flag=True,
              help="With --refresh: record and show the diff against the old cassette, write nothing.")
@click.option("--mode", type=click.Choice(PROXY_MODES), default="reverse", show_default=True,
              help="reverse: the application uses the proxy as its API base; forward: as its HTTPS proxy.")
@click.option("--listen-host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--listen-port", type=click.IntRange(0, 65535), default=0, help="Port to listen on (default: a free one).")
@click.option("--name", help="Cassette name stored in its header (default: the file name).")
@click.option("--source", metavar="TEXT",
              help="Where the recorded expectations come from, stored in the header (\"api.stripe.com, test mode\").")
@click.option("--api-version", metavar="VERSION",
              help="The Stripe API version the answers follow, stored in the header (default: the first answer's "
                   "Stripe-Version).")
@click.option("--record-paths", default=r"^/v1/", show_default=True, metavar="REGEX",
              help="Only requests whose path matches are recorded.")
@click.option("--redact-field", "redact_fields", multiple=True, metavar="NAME",
              help="Also redact the value of this field or header (repeatable).")
@click.option("--redact-pattern", "redact_patterns", multiple=True, metavar="REGEX",
              help="Also redact text matching this regular expression (repeatable).")
@click.option("--confdir", type=click.Path(file_okay=False, path_type=Path),
              help="mitmproxy configuration directory holding its CA (forward mode default: ~/.mitmproxy).")
@click.option("--set", "mitm_options", multiple=True, metavar="OPTION=VALUE",
              help="Pass an option to mitmproxy, e.g. ssl_verify_upstream_trusted_ca=ca.pem (repeatable).")
@click.option("--fault", hidden=True, multiple=True, expose_value=False, callback=lambda ctx, param, value: _no_faults(value))
@api_option
def record(
    upstream: str | None,
    cassette_path: Path,
    overwrite: bool,
    hosts: tuple[str, ...],
    append: bool,
    refresh: bool,
    dry_run: bool,
    mode: ProxyMode,
    listen_host: str,
    listen_port: int,
    name: str | None,
    source: str | None,
    api_version: str | None,
    record_paths: str,
    redact_fields: tuple[str, ...],
    redact_patterns: tuple[str, ...],
    confdir: Path | None,
    mitm_options: tuple[str, ...],
    api_name: str,
) -> None:
    """Record the traffic of an application into a YAML cassette.

    Start it, point the application at the address it prints, exercise the
    application, then press Ctrl-C; or give the application after -- and the
    recording lasts as long as it runs (its exit code is this command's; Ctrl-C
    stops both, keeps what was recorded and exits 130, SIGTERM 143):

        conformance record --upstream URL --cassette c.yaml -- python app.py

    Secrets are redacted before anything is written.
    """
    for option in mitm_options:
        if "=" not in option:
            raise click.UsageError(f"--set {option!r}: expected OPTION=VALUE")
    api = api_profile(api_name)  # here, not first in mitmdump: a wrong --api is one line and exit 2
    for pattern in (record_paths, *redact_patterns):
        try:
            re.compile(pattern)
        except re.error as error:
            raise InputError(f"invalid regular expression {pattern!r}: {error}") from None
    if mode == "reverse":
        if not upstream:
            raise click.UsageError("reverse mode needs --upstream URL (the server the application talks to)")
        _refuse_credentials(upstream)
        try:
            check_reachable(upstream, "upstream")
        except TargetError as error:  # it quotes the URL: never its password
            raise TargetError(without_credentials(str(error))) from None
    if overwrite and append:
        raise click.UsageError("give --overwrite or --append, not both")
    if refresh and (overwrite or append):
        raise click.UsageError("--refresh replaces the cassette with a new recording: give it without --overwrite "
                               "or --append")
    if dry_run and not refresh:
        raise click.UsageError("--dry-run goes with --refresh: it shows what a refresh would change")
    record_mode = "overwrite" if overwrite else "append" if append else "new"
    _writable_cassette(cassette_path)
    old = _refreshed(cassette_path, api) if refresh else None
    final_path = cassette_path
    work: Path | None = None
    if old is not None:  # recorded beside it (one file system: the replacement is one rename), then compared
        work = Path(tempfile.mkdtemp(prefix=".refresh-", dir=cassette_path.parent))
        cassette_path = work / final_path.name
        name = name or old.name
        source = source or old.meta.get("source")
    try:
        _record(cassette_path, final_path, old, dry_run, record_mode, upstream, hosts, mode, listen_host,
                listen_port, name, source, api_version, record_paths, redact_fields, redact_patterns, confdir,
                mitm_options, api_name, api)
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)


def _refreshed(path: Path, api: Any) -> Any:
    """The cassette a refresh replaces: it must exist and load (what it holds is the diff's old side)."""
    if not path.is_file() or path.stat().st_size == 0:
        raise InputError(f"{path} holds no recording to refresh: record it first (without --refresh)")
    return load(path, api)


def _record(cassette_path: Path, final_path: Path, old: Any, dry_run: bool, record_mode: str, upstream: str | None,
            hosts: tuple[str, ...], mode: ProxyMode, listen_host: str, listen_port: int, name: str | None,
            source: str | None, api_version: str | None, record_paths: str, redact_fields: tuple[str, ...],
            redact_patterns: tuple[str, ...], confdir: Path | None, mitm_options: tuple[str, ...], api_name: str,
            api: Any) -> None:
    """mitmdump with the recorder, around the wrapped command or until Ctrl-C; then what was written."""
    before = cassette_path.read_bytes() if cassette_path.is_file() else None
    if before and record_mode == "new":
        raise InputError(f"{cassette_path} already holds a recording: pass --overwrite to replace it "
                         "or --append to add to it")
    if before and record_mode == "append":
        load(cassette_path)  # a cassette that does not load is not appended to
    if listen_port:
        check_port_free(listen_host, listen_port)
    else:
        listen_port = free_port(listen_host)

    args = [
        "-s", addon_path("recorder"),
        "--set", f"api_profile={api_name}",
        "--set", f"cassette={cassette_path}",
        "--set", f"cassette_mode={record_mode}",
        "--set", f"record_paths={record_paths}",
    ]
    if name:
        args += ["--set", f"cassette_name={name}"]
    if source:
        args += ["--set", f"cassette_source={source}"]
    if api_version:
        args += ["--set", f"cassette_api_version={api_version}"]
    if mode == "forward":
        for host in hosts or (DEFAULT_HOST,):
            args += ["--set", f"allow_hosts=^{re.escape(host)}(:\\d+)?$", "--set", f"record_hosts={host}"]
    for value in redact_fields:
        args += ["--set", f"redact_fields={value}"]
    for value in redact_patterns:
        args += ["--set", f"redact_patterns={value}"]
    redactor = Redactor(redact_fields, redact_patterns, api.cards)
    into = f"a refresh of {final_path}" if old is not None else str(cassette_path)
    if mode == "reverse":
        shown = redactor.text(without_credentials(upstream or ""))
        ready = f"Recording {shown} into {into}: point the application's API base at {{address}}"
    else:
        ready = f"Recording into {into}"
    wrapped: tuple[str, ...] = click.get_current_context().meta.get("wrapped", ())
    run = run_proxy(args, mode, upstream, listen_host, listen_port, confdir, mitm_options, redactor, ready,
                     ready_line=r"recording into ", wrapped=wrapped)
    if old is not None:
        from conformance.cli.refresh import finish_refresh

        failed = run.proxy_died or (bool(wrapped) and run.exit_code() != 0)
        finish_refresh(old, cassette_path, final_path, api_name, dry_run=dry_run, failed=failed)
    else:
        _report_written(cassette_path, before)
    if run.proxy_died:  # a write failure: whatever the command made of it, the recording is not whole
        kept = f"{final_path} left as it was" if old is not None else \
            f"{cassette_path} holds what was recorded until then"
        raise InputError(f"the recording proxy stopped (mitmdump exit code {run.proxy_code}); {kept}")
    if wrapped:
        raise SystemExit(run.exit_code())


def _report_written(path: Path, before: bytes | None) -> None:
    if (path.read_bytes() if path.is_file() else None) == before:
        click.echo(f"Recorded nothing: {path} " + ("left as it was" if before is not None else "not created"))
        return
    cassette = load(path)
    for warning in cassette.warnings:
        click.echo(f"warning: {warning}", err=True)
    count = len(cassette.interactions)
    click.echo(f"Wrote {count} interaction{'s' if count != 1 else ''} to {path}")
