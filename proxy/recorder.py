"""The recording addon: writes every matching exchange into a YAML cassette.

    mitmdump -s proxy/recorder.py --mode reverse:https://api.stripe.com \
        --set cassette=cassettes/session.yaml --set flow_detail=0

Each interaction is redacted, serialized and appended in the response hook,
before mitmproxy answers the client: every response a client has received is
already on disk, so a SIGKILL loses at most the exchanges in flight.

Why inline and not on a worker thread: the work is CPU-bound Python (it holds
the GIL either way) and costs ~0.1 ms; the file write is one ``write()`` into
the page cache, microseconds. Measured, a thread hop added more than it freed
(see bench/). For the same reason the per-interaction line is printed like
mitmdump's own flow lines, not through ``logging``, which dispatches every record
to all addons.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Sequence
from typing import Any

from mitmproxy import ctx, exceptions, http

from conformance.api_profile import ApiProfile, load_api_profile
from conformance.cassette import RECORD_MODES, CassetteWriter
from conformance.cassette.model import DEFAULT_HOST
from conformance.errors import ConformanceError
from conformance.record.exchange import build_interaction
from conformance.redaction import Redactor
from conformance.text import printable


def _lowered(names: Sequence[str]) -> frozenset[bytes]:
    """Header names as they are compared with mitmproxy's raw header fields."""
    return frozenset(name.lower().encode() for name in names)


class Recorder:
    def __init__(self) -> None:
        self.writer: CassetteWriter | None = None
        self.failed = False
        self.api: ApiProfile | None = None  # the api_profile option's: endpoints, headers, test cards in markers
        self.redactor = Redactor()
        self.paths = re.compile(r"^/v1/")
        self.extra_headers: tuple[str, ...] = ()
        self.hosts: frozenset[str] = frozenset()  # empty: every host
        # the headers the profile says matter (and record_headers), once configured
        self.request_headers = self.response_headers = frozenset[bytes]()
        self.api_version = ""  # given with cassette_api_version; else read from the first answer

    def load(self, loader) -> None:
        loader.add_option("cassette", str, "", "Cassette file to record into.")
        loader.add_option(
            "api_profile", str, "stripe",
            "The API recorded: 'stripe' or module:attribute naming an ApiProfile. It names each interaction's "
            "endpoint and the test cards a redaction marker keeps.",
        )
        loader.add_option(
            "cassette_mode", str, "new",
            "What to do with a cassette that already holds a recording: refuse it (new), replace it (overwrite, "
            "the old one kept as NAME.bak until the first interaction is written) or add to it (append).",
            choices=list(RECORD_MODES),
        )
        loader.add_option("cassette_name", str, "", "Name stored in the cassette header (default: the file name).")
        loader.add_option(
            "cassette_fixtures", Sequence[str], [],
            "Ids the recorded requests use without a response minting them (stored in the header for `check`).",
        )
        loader.add_option(
            "cassette_source", str, "",
            "Where the recorded expectations come from (stored in the header as source:, e.g. \"api.stripe.com, "
            "test mode\").",
        )
        loader.add_option(
            "cassette_api_version", str, "",
            "The Stripe API version the recorded answers follow (stored in the header as api_version:; replays "
            "send it as Stripe-Version).",
        )
        loader.add_option(
            "cassette_ignore", Sequence[str], [], "Keys or paths replays do not compare (the header's compare.ignore)."
        )
        loader.add_option(
            "cassette_loose", Sequence[str], [],
            "Keys or paths compared loosely, any non-empty text (the header's compare.loose): values sources disagree on.",
        )
        loader.add_option(
            "cassette_nullable", Sequence[str], [],
            "Keys or paths where text or null conforms (the header's compare.nullable): values sources disagree on "
            "being set.",
        )
        loader.add_option(
            "record_paths", str, r"^/v1/", "Regular expression; only requests whose path matches are recorded."
        )
        loader.add_option(
            "record_headers", Sequence[str], [], "Headers to record besides the ones that matter to Stripe."
        )
        loader.add_option(
            "record_hosts", Sequence[str], [],
            "Only requests to these hosts are recorded (forward mode; with allow_hosts, others are not even "
            "intercepted). Empty: every host.",
        )
        loader.add_option(
            "record_echo", bool, True, "Print one line per recorded interaction (redacted)."
        )
        loader.add_option(
            "redact_fields", Sequence[str], [], "Extra field or header names whose values are redacted."
        )
        loader.add_option(
            "redact_patterns", Sequence[str], [], "Extra regular expressions redacted wherever they match."
        )

    def running(self) -> None:
        unknown = sorted(ctx.options.deferred)
        if unknown:  # logged at start-up, mitmproxy exits 1: a typo'd option would silently record otherwise
            logging.error(f"unknown option {', '.join(unknown)}: see the recorder's options with "
                          "`mitmdump -s RECORDER --options`")
        if not ctx.options.cassette:
            logging.error("no cassette to record into: give one with --set cassette=PATH")

    def configure(self, updated: set[str]) -> None:
        options = ctx.options
        api_changed = "api_profile" in updated or self.api is None
        if api_changed:
            try:
                self.api = load_api_profile(options.api_profile)
            except ConformanceError as error:
                raise exceptions.OptionsError(f"api_profile: {error}") from None
        if {"redact_fields", "redact_patterns"} & updated or api_changed:
            try:
                self.redactor = Redactor(options.redact_fields, options.redact_patterns,
                                         self.api.cards if self.api else None)
            except re.error as error:
                raise exceptions.OptionsError(f"redact_patterns: invalid regular expression: {error}") from None
        if "record_paths" in updated:
            try:
                self.paths = re.compile(options.record_paths)
            except re.error as error:
                raise exceptions.OptionsError(f"record_paths: invalid regular expression: {error}") from None
        if "record_hosts" in updated:
            self.hosts = frozenset(options.record_hosts)
        if "record_headers" in updated or api_changed:
            self.extra_headers = tuple(options.record_headers)
            assert self.api is not None
            self.request_headers = _lowered((*self.api.headers.request, *self.extra_headers))
            self.response_headers = _lowered((*self.api.headers.response, *self.extra_headers))
        if {"cassette", "cassette_name", "cassette_fixtures", "cassette_mode", "cassette_source", "cassette_ignore",
                "cassette_loose", "cassette_nullable", "cassette_api_version"} & updated:
            self.done()
            if options.cassette:
                meta: dict[str, Any] = {}
                self.api_version = options.cassette_api_version
                if options.cassette_api_version:
                    meta["api_version"] = options.cassette_api_version
                if options.cassette_fixtures:
                    meta["fixtures"] = list(options.cassette_fixtures)
                compare = {key: list(values) for key, values in (("ignore", options.cassette_ignore),
                                                                 ("loose", options.cassette_loose),
                                                                 ("nullable", options.cassette_nullable)) if values}
                if compare:
                    meta["compare"] = compare
                if options.cassette_source:
                    meta["source"] = options.cassette_source
                try:
                    self.writer = CassetteWriter(options.cassette, options.cassette_name or None, meta or None,
                                                 mode=options.cassette_mode)
                except OSError as error:
                    raise exceptions.OptionsError(f"cannot write cassette {options.cassette}: {error.strerror}") from None
                except ConformanceError as error:  # it exists and no mode says what to do, or it does not load
                    raise exceptions.OptionsError(str(error)) from None
                # Printed, not logged: `conformance record` waits for this line whatever the log verbosity.
                sys.stdout.write(f"recording into {options.cassette}\n")
                sys.stdout.flush()

    def request(self, flow: http.HTTPFlow) -> None:
        if self.failed:
            flow.kill()  # nothing passes through unrecorded once recording has stopped

    def response(self, flow: http.HTTPFlow) -> None:
        if self.writer is None or flow.response is None or not self.paths.search(flow.request.path):
            return
        if self.hosts:
            host = flow.request.pretty_host
            if host not in self.hosts:
                return  # another service's traffic through the same proxy: not the cassette's business
            if host != DEFAULT_HOST:
                self.writer.set_header("host", self.redactor.text(host))
        request, response = flow.request, flow.response
        version = self.api.headers.version if self.api is not None else ""
        if not self.api_version and version and version in response.headers:
            # the version the answers follow, as the first answer says it: what replays send
            self.api_version = self.redactor.text(response.headers[version])
            self.writer.set_header("api_version", self.api_version)
        request_headers, request_content = self._parts(request, self.request_headers)
        response_headers, response_content = self._parts(response, self.response_headers)
        interaction = build_interaction(
            method=request.method,
            url_path=request.path,
            request_headers=request_headers,
            request_content=request_content,
            status=response.status_code,
            response_headers=response_headers,
            response_content=response_content,
            redactor=self.redactor,
            extra_headers=self.extra_headers,
            profile=self.api,
        )
        try:
            index = self.writer.append(interaction)
        except OSError as error:
            # Like mitmproxy's own `save` addon: stop rather than let traffic through unrecorded.
            # The client gets no answer for this exchange, and mitmdump exits non-zero.
            flow.kill()
            self._fail(f"cannot write to {self.writer.path}: {error.strerror or error}; recording stopped")
            return
        if ctx.options.record_echo:
            sys.stdout.write(printable(
                f"recorded #{index} {interaction.endpoint} {interaction.request.method} "
                f"{interaction.request.url_path} -> {interaction.response.status}\n"
            ))
            sys.stdout.flush()

    @staticmethod
    def _parts(message: http.Message, wanted: frozenset[bytes]) -> tuple[list[tuple[str, str]], bytes]:
        """The headers worth recording and the decoded body, in one pass over the raw header fields."""
        headers = []
        encoded = False
        for name, value in message.headers.fields:
            lowered = name.lower()
            if lowered in wanted:
                headers.append((name.decode("utf-8", "surrogateescape"), value.decode("utf-8", "surrogateescape")))
            elif lowered == b"content-encoding":
                encoded = True
        content = message.get_content(strict=False) if encoded else message.raw_content
        return headers, content or b""

    def _fail(self, message: str) -> None:
        """Print why, stop writing, and shut mitmdump down with a failing exit code."""
        sys.stdout.write(f"error: {message}\n")
        sys.stdout.flush()
        self.done()
        self.failed = True
        ctx.master.shutdown()

    def done(self) -> None:
        if self.writer is not None:
            if self.writer.count == 0 and not self.failed:
                sys.stdout.write(f"recorded nothing: {self.writer.path} left as it was\n")
                sys.stdout.flush()
            self.writer.close()
            self.writer = None


addons = [Recorder()]
