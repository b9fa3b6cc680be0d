"""The recording addon: writes every matching exchange into a YAML cassette.

    mitmdump -s proxy/recorder.py --mode reverse:https://api.stripe.com \
        --set cassette=cassettes/session.yaml --set flow_detail=0

Each interaction is redacted, serialized and appended in the response hook,
before mitmproxy answers the client: every response a client has received is
already on disk, so a SIGKILL loses at most the exchanges in flight. An
exchange that is not written is not answered either: the flow is killed (a
write failure, an interaction no cassette can hold, a stop cutting it off).

A graceful stop (SIGTERM, Ctrl-C, mitmproxy's shutdown) drains: from the
``done`` hook on, new requests are refused, the exchanges in flight are
waited for (at most :data:`DRAIN_TIMEOUT` seconds) and written, and only then
is the cassette closed; what is still in flight then is cut off unanswered,
and said so. One recorder per cassette: the writer holds an advisory lock.

Why inline and not on a worker thread: the work is CPU-bound Python (it holds
the GIL either way) and costs ~0.1 ms; the file write is one ``write()`` into
the page cache, microseconds. Measured, a thread hop added more than it freed
(see bench/). For the same reason the per-interaction line is printed like
mitmdump's own flow lines, not through ``logging``, which dispatches every record
to all addons.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import time
from collections.abc import Sequence
from typing import Any

from mitmproxy import ctx, exceptions, http

from conformance.api_profile import ApiProfile, load_api_profile
from conformance.cassette import RECORD_MODES, CassetteWriter
from conformance.cassette.exchange import build_interaction
from conformance.cassette.guard import Unwritable, wire_target
from conformance.cassette.model import DEFAULT_HOST, recorded_now
from conformance.errors import ConformanceError
from conformance.redaction import Redactor
from conformance.text import printable

# How long a graceful stop waits for the exchanges in flight; below `conformance record`'s 10 s before SIGKILL.
DRAIN_TIMEOUT = 5.0


def _header_text(raw: bytes) -> str:
    """A header value as text a cassette holds: UTF-8, or Latin-1 when it is not (every byte one character)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


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
        self.in_flight: set[str] = set()  # ids of flows to record that went upstream and are not answered yet
        self.stopping = False  # the done hook has begun: no new exchange is let through
        self.refused = 0  # exchanges not recorded and so not answered (no cassette can hold them)

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
            self.close()
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
                    raise exceptions.OptionsError(f"cannot write cassette {options.cassette}: "
                                                  f"{error.strerror or error}") from None
                except ConformanceError as error:  # it exists and no mode says what to do, or it does not load
                    raise exceptions.OptionsError(str(error)) from None
                # Printed, not logged: `conformance record` waits for this line whatever the log verbosity.
                sys.stdout.write(f"recording into {options.cassette}\n")
                sys.stdout.flush()

    def _recorded(self, flow: http.HTTPFlow) -> bool:
        """Whether the exchange goes into the cassette (its path, and in forward mode its host, match)."""
        return bool(self.paths.search(flow.request.path)) and (not self.hosts or flow.request.pretty_host in self.hosts)

    def request(self, flow: http.HTTPFlow) -> None:
        if self.failed or self.stopping:
            flow.kill()  # nothing passes through unrecorded once recording has stopped (or is stopping)
        elif self._recorded(flow):
            self.in_flight.add(flow.id)

    def error(self, flow: http.HTTPFlow) -> None:
        self.in_flight.discard(flow.id)  # upstream failed or the client left: nothing to answer or record

    def response(self, flow: http.HTTPFlow) -> None:
        self.in_flight.discard(flow.id)
        if flow.response is None or not self._recorded(flow):
            return
        if self.writer is None:
            if self.stopping or self.failed:
                flow.kill()  # the cassette is closed: an answer let through now would be one it lacks
            return
        try:
            interaction = self._interaction(flow)
            interaction.recorded_at = recorded_now()  # when this answer was had: what `check --max-age` ages
            index = self.writer.append(interaction)
        except OSError as error:
            # Like mitmproxy's own `save` addon: stop rather than let traffic through unrecorded.
            # The client gets no answer for this exchange, and mitmdump exits non-zero.
            flow.kill()
            self._fail(f"cannot write to {self.writer.path}: {error.strerror or error}; recording stopped")
            return
        except Exception as error:  # Unwritable, or a bug: either way the client is not answered
            flow.kill()
            self.refused += 1
            why = str(error) if isinstance(error, Unwritable) else f"{type(error).__name__}: {error}"
            sys.stdout.write(printable(self.redactor.text(
                f"error: not recorded, so not answered: {why}\n")))
            sys.stdout.flush()
            return
        if ctx.options.record_echo:
            sys.stdout.write(printable(
                f"recorded #{index} {interaction.endpoint} {interaction.request.method} "
                f"{interaction.request.url_path} -> {interaction.response.status}\n"
            ))
            sys.stdout.flush()

    def _interaction(self, flow: http.HTTPFlow) -> Any:
        """The redacted interaction of a flow; learns the cassette's host and API version on the way."""
        assert self.writer is not None and flow.response is not None
        if self.hosts:
            host = flow.request.pretty_host
            if host != DEFAULT_HOST:
                self.writer.set_header("host", self.redactor.text(host))
        request, response = flow.request, flow.response
        version = self.api.headers.version if self.api is not None else ""
        if not self.api_version and version and version in response.headers:
            # the version the answers follow, as the first answer says it: what replays send
            self.api_version = self.redactor.text(response.headers[version])
            self.writer.set_header("api_version", self.api_version)
        request_headers, request_content, request_encoding = self._parts(request, self.request_headers)
        response_headers, response_content, response_encoding = self._parts(response, self.response_headers)
        return build_interaction(
            method=_header_text(request.data.method),
            url_path=wire_target(request.data.path.decode("utf-8", "surrogateescape")),
            request_headers=request_headers,
            request_content=request_content,
            status=response.status_code,
            response_headers=response_headers,
            response_content=response_content,
            redactor=self.redactor,
            extra_headers=self.extra_headers,
            profile=self.api,
            request_encoding=request_encoding,
            response_encoding=response_encoding,
        )

    @staticmethod
    def _parts(message: http.Message, wanted: frozenset[bytes]) -> tuple[list[tuple[str, str]], bytes, str]:
        """The headers worth recording, the body as sent and the content-codings it is in ("" for none), in one
        pass over the raw header fields: the codings are undone where the body is stored, leniently and
        stacked, so the redactor reads what a client would (``cassette/exchange.py``)."""
        headers = []
        codings = []
        for name, value in message.headers.fields:
            lowered = name.lower()
            if lowered in wanted:
                headers.append((_header_text(name), _header_text(value)))
            elif lowered == b"content-encoding":
                codings.append(_header_text(value))
        coding = ", ".join(codings).strip()
        return headers, message.raw_content or b"", "" if coding.lower() in ("", "identity") else coding

    def _fail(self, message: str) -> None:
        """Print why, stop writing, and shut mitmdump down with a failing exit code (raised by ``done``)."""
        sys.stdout.write(f"error: {message}\n")
        sys.stdout.flush()
        self.failed = True
        self.close()
        ctx.master.shutdown()

    async def done(self) -> None:
        """Drain, then close: the exchanges in flight are written (and answered) before the cassette closes."""
        self.stopping = True
        deadline = time.monotonic() + DRAIN_TIMEOUT
        while self.in_flight and self.writer is not None and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        cut = len(self.in_flight) if self.writer is not None else 0
        self.close()
        if cut:
            sys.stdout.write(f"error: {cut} exchange{'s' if cut != 1 else ''} still in flight after "
                             f"{DRAIN_TIMEOUT:.0f}s were cut off: not answered, not recorded\n")
        if self.refused:
            sys.stdout.write(f"error: {self.refused} exchange{'s' if self.refused != 1 else ''} not recorded "
                             "(see above): their clients got no answer\n")
        sys.stdout.flush()
        if self.failed:
            raise SystemExit(1)  # the recording stopped short: mitmdump must not exit 0

    def close(self) -> None:
        """Close the cassette (and release its lock); later answers to record are cut off, not let through."""
        if self.writer is not None:
            if self.writer.count == 0 and not self.failed:
                sys.stdout.write(f"recorded nothing: {self.writer.path} left as it was\n")
                sys.stdout.flush()
            self.writer.close()
            self.writer = None


addons = [Recorder()]
