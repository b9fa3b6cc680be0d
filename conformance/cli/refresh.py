"""``record --refresh``: a new recording replaces the old cassette, and what changed is shown as ``diff`` shows it.

The new recording is made beside the old one (``record.py``), so the replacement is one rename: a reader of
the cassette sees the old file or the new one, never a mix. What the old header holds that no recording
learns (its name, fixtures, ``compare:`` entries, source, meta) is kept; the API version and host are the new
recording's.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from conformance.cassette import Cassette, CassetteWriter, load
from conformance.errors import ConformanceError
from conformance.report.common import plural
from conformance.text import printable

__all__ = ["finish_refresh"]

_KEPT = ("host", "api_version", "fixtures", "compare", "source", "meta")  # the old header's, as written
_LEARNT = ("api_version", "host")  # what the new recording says of itself


def finish_refresh(old: Cassette, recorded: Path, cassette: Path, api_name: str, *, dry_run: bool,
                   failed: bool) -> None:
    """Show the diff of ``old`` (at ``cassette``) against ``recorded``; then, unless a dry run or a failed
    command, replace the cassette with the recording."""
    from conformance.cli.diff import compare_recordings
    from conformance.report.drift import drift_text

    if not recorded.is_file() or recorded.stat().st_size == 0:
        click.echo(f"Recorded nothing: {cassette} left as it was")
        return
    new = load(recorded)
    count = plural(len(new.interactions), "interaction")
    if failed:
        click.echo(f"The command failed or was stopped: {cassette} left as it was (the new recording of {count} is "
                   "not kept)")
        return
    try:
        found, _, _ = compare_recordings(cassette, recorded, api_name)
        click.echo(printable(drift_text(found, [], []).replace(str(recorded), "the new recording")))
    except ConformanceError as error:  # no request in common: the application changed beyond a diff
        click.echo(printable(f"warning: {str(error).replace(str(recorded), 'the new recording')}"))
    if dry_run:
        click.echo(f"Dry run: {cassette} left as it was (the new recording of {count} is not kept)")
        return
    _replace(old, new, cassette)
    click.echo(f"Refreshed {cassette}: {count} (was {len(old.interactions)})")


def _replace(old: Cassette, new: Cassette, cassette: Path) -> None:
    """The new interactions under the old header (what a recording does not learn), renamed over the old file."""
    header = {key: old.meta[key] for key in _KEPT if key in old.meta}  # type: ignore[literal-required]
    header.update({key: new.meta[key] for key in _LEARNT if key in new.meta})  # type: ignore[literal-required]
    merged = new.path.with_name(f"merged-{new.path.name}")
    with CassetteWriter(merged, old.name, dict(header), mode="new") as writer:
        for interaction in new.interactions:
            writer.append(interaction)
    try:
        os.chmod(merged, cassette.stat().st_mode & 0o777)
    except OSError:
        pass  # the new file's own mode, then
    os.replace(merged, cassette)
