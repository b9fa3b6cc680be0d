"""The serving addons: answer every request from cassettes, offline, and never forward one.

    mitmdump -s proxy/server.py --mode reverse:http://127.0.0.1:9 --set serve_cassettes=cassettes/

One addon per concern, like mitmproxy's own: :class:`Cassettes` (what there is
to serve, read again when the files change), :class:`OfflineGuard` (nothing
leaves this machine) and :class:`CassetteServer` (the answer to each request,
the session's account of them).

Requests are answered in the ``request`` hook, so mitmproxy never needs a
connection upstream. It fails closed, by construction rather than by the absence
of a bug: every upstream connection mitmproxy would open, for any flow, is
refused in ``server_connect`` before it exists; ``connection_strategy`` is held
at ``lazy`` (an eager proxy would connect on CONNECT, before any hook could
answer); a CONNECT or a request for a host no cassette was recorded from is
refused (its URL and its Host header both must name one); raw TCP/UDP streams,
ignored hosts included, are killed, never relayed; a streamed request body is
read whole first; and whatever goes wrong while answering (a body it cannot
decode, data nested too deep) is answered as a miss. Identical requests get
the recorded answers in recorded order — a card retrieved before and after an
update gets both bodies. A request that matches nothing gets HTTP 599 (by
default) with the closest recorded candidates and, field by field, why each did
not match; the miss is printed too. Never a silent pass-through.

A POST whose idempotency key the session already answered gets that answer again, marked replayed, and no
second recorded interaction is consumed — an application's retry is answered as Stripe would; the same key
with other parameters gets Stripe's ``idempotency_error``. ``serve_faults`` injects faults (a 429, a 500, a
503, a connection dropped before or after the answer) and the session says what the client did next.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import re
import secrets
import signal
import string
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from mitmproxy import ctx, exceptions, http, tcp, udp
from mitmproxy.proxy import layer, layers, server_hooks

from conformance.api_profile import ApiProfile, load_api_profile
from conformance.cassette import CassetteError, find_cassettes, iter_interactions
from conformance.cassette.age import judge_ages
from conformance.cassette.model import DEFAULT_HOST, CassetteHeader, Interaction
from conformance.errors import ConformanceError
from conformance.redaction import Redactor
from conformance.serve.ages import MaxAgeError, parse_max_age, stale_warnings
from conformance.serve.faults import Fault, FaultError, FaultPlan, parse_faults
from conformance.serve.matching import (
    EXHAUSTED_MODES,
    MATCHERS,
    InteractionIndex,
    LiveRequest,
    ServedInteraction,
    key_of,
    shared_segments,
)
from conformance.serve.session import Injected, Remembered, Session, header_text, one_line

RESET_PATH = "/__conformance__/reset"
OPTIONS = ("api_profile", "serve_cassettes", "serve_exhausted", "serve_fault_seed", "serve_faults",
           "serve_max_age", "serve_miss_status", "serve_reload")
_ALPHANUMERIC = string.ascii_letters + string.digits


def _request_id() -> str:
    """A fresh request id, shaped as Stripe's (``req_`` and 14 letters or digits)."""
    return "req_" + "".join(secrets.choice(_ALPHANUMERIC) for _ in range(14))


# The answers of the injected statuses, as Stripe words them (API reference, Errors; Rate limits).
_FAULT_ANSWERS: dict[str, tuple[int, dict[str, str], dict[str, Any]]] = {
    "429": (429, {"Stripe-Should-Retry": "true", "Retry-After": "1"},
            {"error": {"type": "invalid_request_error", "code": "rate_limit",
                       "message": "Too many requests hit the API too quickly. We recommend an exponential backoff "
                                  "of your requests."}}),
    "500": (500, {}, {"error": {"type": "api_error", "message": "An unknown error occurred."}}),
    "503": (503, {}, {"error": {"type": "api_error", "message": "The service is temporarily unavailable."}}),
}


def _echo(line: str) -> None:
    # Printed, not logged: `conformance serve` reads these lines whatever the log verbosity. One line, whatever a
    # request put in it: a newline would start a line `conformance serve` reads as its own (a session's end).
    sys.stdout.write(one_line(line) + "\n")
    sys.stdout.flush()


# A header's name as HTTP defines it (RFC 9110 token); a value: no control character but tab.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_VALUE_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _served_headers(headers: dict[str, str]) -> dict[str, str]:
    """A recorded answer's headers as they can be sent: a value's control characters (CR, LF) shown as escapes,
    so a cassette cannot end a header and start another; a name that is no header name is left out, and said."""
    served = {}
    for name, value in headers.items():
        if not _TOKEN.fullmatch(name):
            _echo(f"warning: a recorded header named {name!r} is not a header name: not served")
            continue
        served[name] = _VALUE_CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), value)
    return served


class Cassettes:
    """What there is to serve: the cassettes' interactions and the hosts they were recorded from, read at
    start-up and again whenever a file changes (a bad cassette keeps the old index and says why); the API
    profile names their endpoints."""

    def __init__(self) -> None:
        self.api: ApiProfile | None = None  # the api_profile option's
        self.index = InteractionIndex()
        self.files: dict[Path, tuple[int, int]] = {}
        self.hosts: set[str] = {DEFAULT_HOST}
        self.max_age: float | None = None  # days (serve_max_age): older answers are warned of at load
        self._watcher: asyncio.Task[None] | None = None

    def load(self, loader) -> None:
        loader.add_option("serve_cassettes", Sequence[str], [], "Cassette files or directories to answer from.")
        loader.add_option("serve_reload", bool, True, "Load cassettes again when their files change.")
        loader.add_option("serve_max_age", str, "",
                          "Warn, per cassette, when it is loaded, of answers recorded more than this many days ago "
                          "(recorded_at) or of no known age, as check --max-age does. Empty: no limit.")
        loader.add_option(
            "api_profile", str, "stripe",
            "The API served: 'stripe' or module:attribute naming an ApiProfile. It names the endpoints a miss's "
            "candidates are ranked by.",
        )

    def configure(self, updated: set[str]) -> None:
        api_changed = "api_profile" in updated or self.api is None
        if api_changed:
            try:
                self.api = load_api_profile(ctx.options.api_profile)
            except ConformanceError as error:
                raise exceptions.OptionsError(f"api_profile: {error}") from None
        if "serve_max_age" in updated:
            try:
                self.max_age = parse_max_age(ctx.options.serve_max_age)
            except MaxAgeError as error:
                raise exceptions.OptionsError(str(error)) from None
        if "serve_cassettes" in updated or (api_changed and self.files):
            self.reload()
            self.warn_stale(self.files)  # before the ready line: `conformance serve` prints its own
            _echo(f"serving {len(self.index.all)} interactions from {len(self.files)} cassettes")
        elif "serve_max_age" in updated:
            self.warn_stale(self.files)
            self._start_watching()

    def running(self) -> None:
        # Logged as an error at start-up, mitmproxy exits 1 (its errorcheck): every request would be a miss.
        if not self.index.all:
            logging.error("no interaction to serve: give cassettes with --set serve_cassettes=PATH (a file or a "
                          "directory of *.yaml; repeatable)")
        self._start_watching()

    def reload(self) -> None:
        """Read every cassette into a new index."""
        try:
            paths = find_cassettes(list(ctx.options.serve_cassettes))
            index = InteractionIndex(routes=self.api.routes if self.api else None)
            files = {}
            hosts = set()
            for path in paths:
                stat = path.stat()
                files[path] = (stat.st_size, stat.st_mtime_ns)
                header: CassetteHeader = {}
                for interaction in iter_interactions(path, header, self.api):
                    index.add(str(path), interaction)
                hosts.add(str(header.get("host") or DEFAULT_HOST))
        except (CassetteError, OSError) as error:
            raise exceptions.OptionsError(str(error)) from None
        self.index, self.files, self.hosts = index, files, hosts

    def warn_stale(self, paths: Iterable[Path]) -> None:
        """With serve_max_age, one warning line per cassette of ``paths`` holding older answers, one for those of
        no known age: a warning, never a refusal — the session is served as recorded."""
        if self.max_age is None:
            return
        by_cassette: dict[str, list[Interaction]] = {}
        for served in self.index.all:
            by_cassette.setdefault(served.cassette, []).append(served.interaction)
        for path in paths:
            for line in stale_warnings(str(path), judge_ages(by_cassette.get(str(path), []), self.max_age)):
                _echo(line)

    def _start_watching(self) -> None:
        """Watch the files from the event loop (configure runs in it for scripts; else running() does)."""
        if not ctx.options.serve_reload or self._watcher is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._watcher = loop.create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            try:
                current = {p: (p.stat().st_size, p.stat().st_mtime_ns)
                           for p in find_cassettes(list(ctx.options.serve_cassettes))}
            except (CassetteError, OSError):
                continue
            if current != self.files:
                self.refresh(current)

    def refresh(self, current: dict[Path, tuple[int, int]]) -> None:
        """Files changed (``current``: their sizes and times now): read again, each changed cassette warned of
        again when it holds answers older than serve_max_age; a bad one keeps the old index and says why."""
        before = self.files
        try:
            self.reload()
        except exceptions.OptionsError as error:
            self.files = current  # report once per change
            _echo(f"not reloaded: {error}")
            return
        self.warn_stale([path for path in self.files if self.files[path] != before.get(path)])
        _echo(f"reloaded: {len(self.index.all)} interactions from {len(current)} cassettes")

    def done(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()


class CassetteServer:
    """The answer to each request: the recorded one, in recorded order, or the miss with the closest
    candidates; and the session's account of both, printed on SIGHUP or ``POST /__conformance__/reset``."""

    def __init__(self, cassettes: Cassettes | None = None) -> None:
        self.cassettes = cassettes or Cassettes()
        self.redactor = Redactor()
        # (status, headers) -> (a response made with them, its header fields but Content-Length, encoded?)
        self._prototypes: dict[tuple[int, tuple[tuple[str, str], ...]], tuple[http.Response, tuple, bool]] = {}
        self._hangup = False
        self.session = Session()
        self.plan = FaultPlan()

    @property
    def index(self) -> InteractionIndex:
        return self.cassettes.index

    def load(self, loader) -> None:
        loader.add_option(
            "serve_exhausted", str, "repeat",
            "When every recorded answer to a request was served: repeat the last one, or treat it as a miss.",
            choices=list(EXHAUSTED_MODES),
        )
        loader.add_option("serve_miss_status", int, 599, "HTTP status of the answer to a request no cassette has.")
        loader.add_option("serve_faults", Sequence[str], [],
                          "Faults to inject: KIND@ENDPOINT[:N] or KIND@ENDPOINT%P (KIND: 429, 500, 503, drop, "
                          "drop-after; ENDPOINT: an endpoint label or *).")
        loader.add_option("serve_fault_seed", int, 0, "Seed of the draws of faults given a probability (%P).")

    def configure(self, updated: set[str]) -> None:
        if self.cassettes.api is not None and self.redactor.cards is not self.cassettes.api.cards:
            # a live request's test card keeps its name, as the recorder wrote it: the same card matches
            self.redactor = Redactor(cards=self.cassettes.api.cards)
        if "serve_miss_status" in updated and not 100 <= ctx.options.serve_miss_status <= 999:
            raise exceptions.OptionsError("serve_miss_status must be an HTTP status code")
        if updated & {"serve_faults", "serve_fault_seed", "api_profile"}:
            routes = self.cassettes.api.routes if self.cassettes.api is not None else ()
            try:
                faults = parse_faults(ctx.options.serve_faults, {route.name for route in routes})
            except FaultError as error:
                raise exceptions.OptionsError(str(error)) from None
            self.plan = FaultPlan(faults, ctx.options.serve_fault_seed)
        if "serve_cassettes" in updated:
            self._listen_for_hangup()

    def running(self) -> None:
        # Logged as an error at start-up, mitmproxy exits 1: a typo'd option would otherwise be ignored.
        unknown = sorted(ctx.options.deferred)
        if unknown:
            logging.error(f"unknown option {', '.join(unknown)}: the serve addon's options are "
                          f"{', '.join(OPTIONS[:-1])} and {OPTIONS[-1]}")
        self._listen_for_hangup()

    def _listen_for_hangup(self) -> None:
        """SIGHUP ends the session: its summary is printed and the recorded order starts over."""
        if self._hangup:
            return
        try:
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGHUP, self.end_session)
        except (RuntimeError, NotImplementedError, ValueError):
            return
        self._hangup = True

    def end_session(self, final: bool = False) -> dict[str, Any]:
        """Print the session's summary (one line, for `conformance serve`; ``final`` marks the last, printed on
        the way out), then start a new session."""
        summary = self.session.summary(self.index)
        _echo("session-end " + self.redactor.text(json.dumps({**summary, "final": True} if final else summary)))
        self.session = Session()
        self.plan.restart()
        self.index.served.clear()
        return summary

    def done(self) -> None:
        """Shutting down ends the last session: its summary is printed on the way out, whatever stopped mitmproxy
        (a terminal's Ctrl-C reaches it before `conformance serve` could ask for the summary)."""
        self.end_session(final=True)

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None:  # answered already (the guard refused a foreign host)
            return
        try:
            request = flow.request
            if _is_reset(flow):
                summary = self.end_session()
                flow.response = http.Response.make(200, self.redactor.text(json.dumps(summary, indent=2)),
                                                   {"Content-Type": "application/json"})
                return
            live = LiveRequest.build(request.method, request.path, request.get_content(strict=False) or b"",
                                     request.headers.get("content-type", ""), self.redactor)
            key = self._idempotency_key(flow)
            if self.session.injected:
                self.session.follow(key, key_of(live))
            fault = self.plan.pick(self._endpoint(live)) if self.plan.faults else None
            if fault is not None and fault.kind != "drop-after":
                self._inject(flow, fault, live, key)
                return
            remembered = self.session.keys.get(key) if key else None
            if remembered is not None:
                flow.response = self._repeated(remembered, live, key)
            else:
                flow.response = self._served(live, key)
            if fault is not None:  # drop-after: the answer was given (consumed, its key remembered), never sent
                self._inject(flow, fault, live, key)
        except Exception as error:  # fail closed: never let mitmproxy forward what we could not answer
            flow.response = self._unanswerable(flow, error)

    def _served(self, live: LiveRequest, key: str) -> http.Response:
        """The next recorded answer, remembered for the request's idempotency key; or the miss."""
        served = self.index.take(live, ctx.options.serve_exhausted)
        if served is None:
            return self._miss(live)
        self.session.serve(served)
        answer = self._answer(served)
        if key and self._saved(answer.status_code):
            request_id = self._header("request_id")
            self.session.keys[key] = Remembered(live, answer.copy(), answer.headers.get(request_id, "")
                                                if request_id else "")
        return answer

    def _idempotency_key(self, flow: http.HTTPFlow) -> str:
        """The POST's idempotency key (the profile names its header), "" when none: only a POST takes one."""
        name = self._header("idempotency")
        return flow.request.headers.get(name, "") if name and flow.request.method == "POST" else ""

    def _saved(self, status: int) -> bool:
        """Whether the profile's retry rules keep this answer for its key; an API without them replays nothing."""
        api = self.cassettes.api
        return api is not None and api.retries is not None and api.retries.saved(status)

    def _header(self, role: str) -> str:
        api = self.cassettes.api
        return str(getattr(api.headers, role)) if api is not None else ""

    def _endpoint(self, live: LiveRequest) -> str:
        api = self.cassettes.api
        return api.routes.endpoint_for(live.method, live.path) if api is not None else "other"

    def _repeated(self, remembered: Remembered, live: LiveRequest, key: str) -> http.Response:
        """A key this session answered: its answer again, marked replayed; with other parameters, Stripe's
        ``idempotency_error`` (nothing executed, nothing consumed)."""
        if key_of(remembered.request) == key_of(live):
            self.session.replayed += 1
            answer = remembered.answer.copy()
            for role, value in (("replayed", "true"), ("original_request", remembered.request_id),
                                ("request_id", _request_id())):
                if (name := self._header(role)) and value:
                    answer.headers[name] = value
            answer.timestamp_start = answer.timestamp_end = time.time()
            return answer
        first = remembered.request
        reason = next((why for matcher in MATCHERS if (why := matcher(live, first))), "other parameters")
        shown = self.redactor.text(f"{live.method} {live.path}")
        self.session.refused.append({"request": shown, "key": self.redactor.text(key),
                                     "why": self.redactor.text(reason)})
        _echo(self.redactor.text(f"IDEMPOTENCY-ERROR {shown}: key {key} reused with other parameters ({reason})"))
        message = (f"Keys for idempotent requests can only be used with the same parameters they were first used "
                   f"with. Try using a key other than '{key}' if you meant to execute a different request.")
        return self._stripe_error(400, {"error": {"type": "idempotency_error", "message": message}},
                                  {"Stripe-Should-Retry": "false"})

    def _stripe_error(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> http.Response:
        extra = {name: _request_id()} if (name := self._header("request_id")) else {}
        return http.Response.make(status, self.redactor.text(json.dumps(body, indent=2)),
                                  {"Content-Type": "application/json", **extra, **headers})

    def _inject(self, flow: http.HTTPFlow, fault: Fault, live: LiveRequest, key: str) -> None:
        """Answer ``fault`` instead of the recorded answer (a status), or close the connection unanswered."""
        shown = self.redactor.text(f"{live.method} {live.path}")
        self.session.injected.append(Injected(str(fault), shown, live.method, key, key_of(live)))
        _echo(f"FAULT {fault} on {shown}")
        if fault.kind in _FAULT_ANSWERS:
            status, headers, body = _FAULT_ANSWERS[fault.kind]
            flow.response = self._stripe_error(status, body, headers)
        else:
            flow.response = None
            flow.kill()

    def foreign_host(self, flow: http.HTTPFlow) -> http.Response:
        """A request for a host no cassette was recorded from: a miss, never a connection there."""
        shown = self.redactor.text(f"{flow.request.method} {flow.request.pretty_url.split('?', 1)[0]}")
        hosts = ", ".join(sorted(self.cassettes.hosts))
        message = f"no cassette was recorded from {flow.request.pretty_host} (they are from {hosts})"
        _echo(self.redactor.text(f"MISS {shown}: {message}"))
        self.session.misses.append({"request": shown, "closest": None, "why_not": [message]})
        body = {"error": {"type": "cassette_miss", "message": f"no recorded interaction matches {shown}: {message}",
                          "candidates": []}}
        return self._miss_answer(body)

    def _unanswerable(self, flow: http.HTTPFlow, error: BaseException) -> http.Response:
        """The documented miss for a request that could not even be matched, with the reason."""
        reason = "nested too deeply" if isinstance(error, RecursionError) else f"{type(error).__name__}: {error}"
        shown = self.redactor.text(f"{flow.request.method} {flow.request.path.split('?', 1)[0]}")
        body = {"error": {"type": "cassette_miss", "message": f"cannot match {shown}: {reason}", "candidates": []}}
        _echo(self.redactor.text(f"MISS {shown}: cannot match this request ({reason})"))
        return self._miss_answer(body)

    def _answer(self, served: ServedInteraction) -> http.Response:
        """The recorded answer, as a copy of a response made once per status and header set.

        ``Response.make`` type-checks every field (~30 µs, a quarter of serving a
        request); a copy with its own data and headers costs a fraction of that.
        """
        recorded = served.interaction.response
        shape = (recorded.status, tuple(recorded.headers.items()))
        known = self._prototypes.get(shape)
        if known is None:
            prototype = http.Response.make(recorded.status, b"", _served_headers(recorded.headers))
            fields = prototype.headers.fields
            encoded = any(name.lower() == b"content-encoding" for name, _ in fields)
            known = self._prototypes[shape] = (prototype, tuple(f for f in fields if f[0].lower() != b"content-length"),
                                               encoded)
        prototype, fields, encoded = known
        response = copy.copy(prototype)
        response.data = copy.copy(prototype.data)
        content = served.content
        if encoded:  # a recorded Content-Encoding: let mitmproxy encode the body
            response.headers = http.Headers(prototype.headers.fields)
            response.content = content
        else:
            response.headers = http.Headers((*fields, (b"content-length", str(len(content)).encode())))
            response.raw_content = content
        response.timestamp_start = response.timestamp_end = time.time()
        return response

    def _miss(self, live: LiveRequest) -> http.Response:
        query = "&".join(f"{k}={v}" for k, v in live.query)
        shown = f"{live.method} {live.path}" + (f"?{query}" if query else "")
        closest = self.index.closest(live)
        candidates: list[dict[str, Any]] = [
            {
                "cassette": served.cassette,
                "interaction": served.interaction.index,
                "endpoint": served.interaction.endpoint,
                "request": f"{served.request.method} {served.interaction.request.url_path}",
                "why_not": reasons,
            }
            for served, reasons in closest
        ]
        # The first reason goes into the message, so the client's exception text (an SDK's) shows it.
        why = f": {candidates[0]['why_not'][0]}" if candidates else ": no cassette is loaded"
        body = {
            "error": {
                "type": "cassette_miss",
                "message": f"no recorded interaction matches {shown}{why}",
                "request": {"method": live.method, "path": live.path, "query": dict(live.query)},
                "candidates": candidates,
            }
        }
        nearest = ""
        headers = {}
        if candidates:
            best, reasons = candidates[0]["request"], candidates[0]["why_not"]
            nearest = f"; closest: {best} ({'; '.join(reasons)})"
            if shared_segments(live.path, closest[0][0].request.path) == 0:
                # nothing near: say so first, so the far candidate is not read as a near miss
                first = live.path.strip("/").split("/", 1)[0]
                nearest = (f"; nothing is recorded under /{first}" if first else "; nothing is recorded at /") + nearest
            # A header is ASCII on one line: what is not (a CR LF from the request's path), escaped.
            headers["Conformance-Miss"] = header_text(self.redactor.text(f"closest {best}: {reasons[0]}"))
        line = self.redactor.text(f"MISS {shown}{nearest}")
        _echo(line)
        self.session.misses.append({"request": self.redactor.text(shown), "closest": candidates[0]["request"]
                                    if candidates else None, "why_not": candidates[0]["why_not"] if candidates else []})
        return self._miss_answer(body, headers)

    def _miss_answer(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> http.Response:
        """The one answer to a request no cassette has: the miss status, the error as JSON, redacted, and the
        header the official SDKs read before retrying a 5xx — a miss is one miss, not three and a backoff."""
        return http.Response.make(ctx.options.serve_miss_status, self.redactor.text(json.dumps(body, indent=2)),
                                  {"Content-Type": "application/json", "Stripe-Should-Retry": "false", **(headers or {})})


def _is_reset(flow: http.HTTPFlow) -> bool:
    """``POST /__conformance__/reset`` to the server itself: in reverse mode any request is; in forward mode, one
    addressed to the very address the client connected to — URL (or tunnel) and Host header both — never one
    for another host or port, through a tunnel or not (an application's own local service may have that path)."""
    request = flow.request
    if request.method != "POST" or request.path != RESET_PATH:
        return False
    if all(mode.startswith("reverse") for mode in ctx.options.mode):
        return True
    address = flow.client_conn.sockname
    if not address:
        return False
    own_host, own_port = address[0], address[1]
    hosts = {own_host, ctx.options.listen_host or own_host} | ({"localhost"} if own_host in ("127.0.0.1", "::1")
                                                                 else set())
    named = request.headers.get("host", "")
    host, _, port = named.rpartition(":") if named.rpartition(":")[2].isdigit() else (named, "", "")
    return request.host in hosts and request.port == own_port and host in hosts and port in ("", str(own_port))


class OfflineGuard:
    """Nothing leaves this machine, by construction rather than by the absence of a bug: every upstream
    connection is refused before it exists, the connection strategy is held at lazy, a host no cassette was
    recorded from is refused (URL and Host header both), raw streams are killed, bodies are read whole."""

    def __init__(self, server: CassetteServer) -> None:
        self.server = server
        self.forward = False  # a forward proxy answers only for the hosts its cassettes came from

    def configure(self, updated: set[str]) -> None:
        if "mode" in updated:
            self.forward = any(not mode.startswith("reverse") for mode in ctx.options.mode)
        if "connection_strategy" in updated and ctx.options.connection_strategy != "lazy":
            # eager connects when a client does, before any request could be answered from a cassette
            ctx.options.update(connection_strategy="lazy")

    def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        """Serving is offline: every connection upstream, for every flow, is refused before it is opened."""
        data.server.error = "card-conformance serve never connects upstream"

    def next_layer(self, nextlayer: layer.NextLayer) -> None:
        """A raw stream mitmproxy would relay without a hook (an ignored host) gets one: tcp_start kills it."""
        chosen = nextlayer.layer
        if isinstance(chosen, layers.TCPLayer) and chosen.flow is None:
            nextlayer.layer = layers.TCPLayer(nextlayer.context)
        elif isinstance(chosen, layers.UDPLayer) and chosen.flow is None:
            nextlayer.layer = layers.UDPLayer(nextlayer.context)

    def http_connect(self, flow: http.HTTPFlow) -> None:
        """A CONNECT is accepted only for a host the cassettes were recorded from; any other is refused."""
        if self._foreign(flow):
            flow.response = self.server.foreign_host(flow)

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        """A streamed body would be sent upstream as it arrives: read it whole and answer it like any other."""
        flow.request.stream = False

    def request(self, flow: http.HTTPFlow) -> None:
        if self.forward and self._foreign(flow) and not _is_reset(flow):
            flow.response = self.server.foreign_host(flow)

    def _foreign(self, flow: http.HTTPFlow) -> bool:
        """Whether a request names a host no cassette was recorded from, in its URL or in its Host header."""
        hosts = self.server.cassettes.hosts
        # host: the URL's (or the CONNECT's); pretty_host: the Host header's when there is one
        return flow.request.host not in hosts or flow.request.pretty_host not in hosts

    def tcp_start(self, flow: tcp.TCPFlow) -> None:
        flow.kill()  # raw bytes after a CONNECT are not HTTP: nothing to answer, nothing to relay

    def udp_start(self, flow: udp.UDPFlow) -> None:
        flow.kill()


def serve_addons() -> list[Any]:
    """The serving addons, in hook order: the cassettes load first, the guard refuses before an answer."""
    cassettes = Cassettes()
    server = CassetteServer(cassettes)
    return [cassettes, OfflineGuard(server), server]


addons = serve_addons()
