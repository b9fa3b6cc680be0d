"""The checks of every replayed answer, in the order they run: the documentation first, then the recording."""

from __future__ import annotations

from typing import Any

from conformance.api_profile import Judgement, route_text
from conformance.checks.compare import compare_bodies
from conformance.checks.exchange import CheckState, Exchange, check, route_key, sent_parameters
from conformance.checks.parameters import covers, parameter_paths, parameter_text, parameter_values, without_indexes
from conformance.contract import expanded_paths
from conformance.findings import MISSING, Finding
from conformance.paths import parse_path, value_at
from conformance.rules import CONTRACT_RULES
from conformance.text import snippet, value_text

__all__ = ["documented_invariants", "contract_conforms", "route_exists", "status_matches", "body_is_json", "body_matches_recording",
           "route_is_missing", "no_such_route", "both_errors", "same_json_text"]


@check
def documented_invariants(exchange: Exchange, state: CheckState) -> Judgement:
    """What the API's documentation promises (the profile's rules), whatever the recording says."""
    if exchange.body is None or route_is_missing(exchange):
        return Judgement()
    return state.documented(exchange)


@check
def contract_conforms(exchange: Exchange, state: CheckState) -> Judgement:
    """What the OpenAPI description (``--openapi``) says of the answer's shape, whatever the recording says."""
    if state.contract is None or route_is_missing(exchange):
        return Judgement()
    request = exchange.interaction.request
    judged = frozenset(CONTRACT_RULES) if state.contract.operation(request.method, exchange.path) is not None \
        else frozenset()
    body = request.body.value if request.body is not None and request.body.kind == "form" else None
    return Judgement(state.contract.validate(request.method, exchange.path, exchange.status, exchange.body,
                                             expanded_paths(exchange.query, body), strict=state.rules.strict), judged)


def error_message(body: object) -> str | None:
    """The message of a Stripe error object, on one line."""
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return snippet(message) if isinstance(message, str) else None


_NO_ROUTE_WORDS = ("unrecognized request url", "no matching path", "no route", "not found: /")


def route_is_missing(exchange: Exchange) -> bool:
    """A 404/405 that is not Stripe saying "no such object": a body that is no Stripe error (text, HTML,
    empty), or an error saying the URL itself is unknown."""
    return no_such_route(exchange.status, exchange.body)


def no_such_route(status: int, body: object) -> bool:
    """A 404/405 whose body is no Stripe error, or an error whose words say the URL itself is unknown (what
    `check` also reads to call a recording a weak reference)."""
    if status not in (404, 405):
        return False
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return True
    message = str(error.get("message") or "").lower()
    return any(words in message for words in _NO_ROUTE_WORDS)


@check
def route_exists(exchange: Exchange, state: CheckState) -> list[Finding]:
    if not route_is_missing(exchange):
        return []
    if exchange.recorded_status == exchange.status and (
            not isinstance(exchange.expected, dict) or no_such_route(exchange.recorded_status, exchange.expected)):
        return []  # the recording met the same missing route (a page, or Stripe's "Unrecognized request URL")
    request = exchange.interaction.request
    operation = state.contract.operation(request.method, request.path) if state.contract is not None else None
    route = state.profile.routes.match(request.method, request.path)
    # the route table's name first: the same problem reads alike with or without a contract
    known = route.route.template if route else operation.template if operation is not None else None
    route_named = route_text(request.method, known if known else request.path)
    said = error_message(exchange.body) or (exchange.body_text or "an empty body")
    return [Finding("route.missing", "", f"the target has no route {route_named} "
                                         f"({exchange.status}: {snippet(said, 80)})",
                    route_named, exchange.status)]


@check
def status_matches(exchange: Exchange, state: CheckState) -> list[Finding]:
    recorded = exchange.recorded_status
    if exchange.status == recorded or route_is_missing(exchange):
        return []
    said = [error_message(exchange.body) or "", _provoking_input(exchange, state) if recorded >= 400 else ""]
    because = "; ".join(part for part in said if part)
    return [Finding("status", "", f"status: expected {recorded}, got {exchange.status}" + (f" ({because})" if because else ""),
                    recorded, exchange.status)]


def _provoking_input(exchange: Exchange, state: CheckState, limit: int = 4) -> str:
    """What a request meant to fail sent that the requests of its endpoint the recording answered with success
    did not (``exp_month=13``); every parameter it sent when none did; nothing when it sent nothing else."""
    sent = sent_parameters(exchange.interaction)
    valid = state.valid_parameters.get(route_key(exchange.interaction))
    differ = [(name, value) for name, value in sent.items() if valid is None or (name, str(value)) not in valid]
    if not differ:
        return ""
    shown = ", ".join(parameter_text(name, value) for name, value in differ[:limit])
    return f"the request sent {shown}" + (f" and {len(differ) - limit} more" if len(differ) > limit else "")


@check
def body_is_json(exchange: Exchange, state: CheckState) -> list[Finding]:
    if exchange.expected is None or exchange.body_problem is None or route_is_missing(exchange):
        return []
    return [Finding("body.json", "", exchange.body_problem, "JSON", exchange.body_text)]


PARAMETERS_NOT_APPLIED = "parameters-not-applied"


def _name_unapplied_parameters(exchange: Exchange, state: CheckState, findings: list[Finding]) -> None:
    """A value that differs where this request or an earlier update of the same card set it is one problem
    however many parameters: the target does not apply (or keep) what it was sent (``name``, ``address_city``,
    ``metadata[order_id]``). Only a parameter the request sent counts, not its neighbours: a token request's
    ``card[number]`` says nothing of the answer's ``card.brand``."""
    if exchange.status >= 300:
        return
    request = exchange.interaction.request
    body = request.body.value if request.body is not None and request.body.kind == "form" else None
    sent = parameter_paths(body) if request.method == "POST" else frozenset()
    route = state.routes_of(exchange).sent
    subject = route.subject if route is not None else None
    if subject is not None:
        sent |= state.requested.get(subject, frozenset())
    if not sent:
        return
    for finding in findings:
        if not covers(sent, finding.path):
            continue
        # a key missing altogether is the object's shape (keys.missing), not a parameter left unapplied
        if finding.rule == "value" or (finding.rule == "type" and finding.actual is None and finding.expected is not None):
            finding.problem = PARAMETERS_NOT_APPLIED


def _values_set(exchange: Exchange, state: CheckState) -> dict[str, object]:
    """path -> value of what this request sets that is otherwise compared by shape (a token request's
    ``card[exp_month]``, as a card update's ``exp_month``): its answer compares them exactly."""
    keys = state.profile.comparison.set_by_request
    request = exchange.interaction.request
    if not keys or request.body is None or request.body.kind != "form" or exchange.status >= 300:
        return {}
    return {path: value for path, value in parameter_values(request.body.value).items()
            if path.rsplit(".", 1)[-1] in keys}


def _same(sent: object, shown: object) -> bool:
    """A form's text and the answer's JSON value: ``"12"`` is ``12``."""
    return isinstance(sent, str) and not isinstance(shown, (dict, list, bool)) and shown is not None \
        and sent.strip() == str(shown)


def _name_request_values(setting: dict[str, object], expected: object, findings: list[Finding]) -> None:
    """A finding on a value the request set, where the recording shows what was sent, says so: the answer is
    judged against the request, not a recorded accident."""
    for finding in findings:
        sent = setting.get(finding.path, MISSING)
        if sent is MISSING or finding.rule not in ("value", "type") or not _same(sent, finding.expected):
            continue
        finding.message = (f"{finding.path}: expected {value_text(finding.expected, MISSING)} as the request set it "
                           f"({parameter_text(finding.path, sent)}), got {value_text(finding.actual, MISSING)}")


def _follow_set_values(setting: dict[str, object], expected: object, state: CheckState) -> None:
    """The object an answer shows a set value in (a token's ``card``) keeps it: later answers about it compare
    it exactly too."""
    for path in setting:
        parts = parse_path(path)
        holder = value_at(expected, parts[:-1]) if len(parts) > 1 else None
        object_id = holder.get("id") if isinstance(holder, dict) else None
        if isinstance(object_id, str) and parts[-1] not in state.set_fields.get(object_id, frozenset()):
            state.set_fields = {**state.set_fields,
                                object_id: state.set_fields.get(object_id, frozenset()) | {str(parts[-1])}}


# What an object where an id stands (or the reverse) says, by where it is and whether the request asked
# for expand[] there: (the recording holds the object, the request asked) -> problem, message.
EXPANSION_PROBLEMS = {
    (True, True): ("not-expanded", "{path}: not expanded: the request asked for expand[]={param}, got its id {id}"),
    (True, False): ("expanded-unasked-in-recording", "{path}: the recording holds an expanded object the request "
                    "never asked for (no expand[]={param}); the target answers its id {id}"),
    (False, True): ("not-expanded-in-recording", "{path}: the recording holds its id {id} although the request "
                    "asked for expand[]={param}; the target expanded it"),
    (False, False): ("expanded-unasked", "{path}: expanded although the request did not ask for expand[]={param} "
                     "(the recording holds its id {id})"),
}


def _name_expansions(exchange: Exchange, findings: list[Finding]) -> None:
    """An object where the other side has its id is an expansion, and the finding says so: whether the request
    asked for it (``expand[]=customer``), and which side did what it asked — not "customer is string where the
    recording has object"."""
    request = exchange.interaction.request
    body = request.body.value if request.body is not None and request.body.kind == "form" else None
    asked: frozenset[str] | None = None
    for finding in findings:
        if finding.rule != "type" or finding.problem is not None:
            continue
        recorded_object = isinstance(finding.expected, dict)
        obj, text = (finding.expected, finding.actual) if recorded_object else (finding.actual, finding.expected)
        if not isinstance(obj, dict) or not isinstance(text, str) or \
                not (obj.get("id") == text or isinstance(obj.get("object"), str)):
            continue
        if asked is None:
            asked = expanded_paths(exchange.query, body)
        param = without_indexes(finding.path)
        finding.problem, template = EXPANSION_PROBLEMS[(recorded_object, param in asked)]
        finding.message = template.format(path=finding.path, param=param, id=value_text(text, MISSING))


def same_json_text(expected: Any, actual: Any) -> bool:
    """Whether two equal JSON values (``expected == actual``) also serialize to the same text: the same keys in the
    same order and the same JSON types (``true`` is no ``1``, ``1.0`` no ``1``, ``-0.0`` no ``0.0``). A walk of the
    types: serializing the answer for it cost as much as judging it."""
    if type(expected) is not type(actual):
        return False
    if isinstance(expected, dict):
        for (key, value), (other_key, other) in zip(expected.items(), actual.items()):
            if key != other_key or type(value) is not type(other):
                return False
            if isinstance(value, (dict, list, float)) and not same_json_text(value, other):
                return False
        return True
    if isinstance(expected, list):
        return all(same_json_text(value, other) for value, other in zip(expected, actual))
    return repr(expected) == repr(actual) if isinstance(expected, float) else True


def both_errors(expected: object, actual: object) -> bool:
    """Whether both bodies are API errors (``{"error": {…}}``): two statuses compare their bodies only then."""
    return all(isinstance(body, dict) and isinstance(body.get("error"), dict) for body in (expected, actual))


@check
def body_matches_recording(exchange: Exchange, state: CheckState) -> Judgement:
    """Key by key, under the comparison rules; when the status differs, only two Stripe errors are compared
    (a missing ``error.code`` is its own finding), other bodies differ by design."""
    expected, actual = exchange.expected, exchange.body
    judged: set[str] = set()  # the documented rules the comparison judged (a list's order)
    if expected is None or exchange.body_problem is not None or route_is_missing(exchange):
        return Judgement()
    if exchange.status != exchange.recorded_status:
        if not both_errors(expected, actual):
            return Judgement()
        findings = compare_bodies(expected, actual, state.rules, is_error=True, set_fields=state.set_fields,
                                  minted=state.minted)
    else:
        # Equal data and equal text (which tells true from 1): nothing to compare, not even minted values.
        if expected == actual and same_json_text(expected, actual):
            return Judgement()
        setting = _values_set(exchange, state)
        findings = compare_bodies(expected, actual, state.rules, is_error=exchange.recorded_status >= 400,
                                  set_fields=state.set_fields, minted=state.minted, judged=judged,
                                  exact=frozenset(setting))
        _name_request_values(setting, expected, findings)
        _follow_set_values(setting, expected, state)
        _name_unapplied_parameters(exchange, state, findings)
        _name_expansions(exchange, findings)
    if findings and state.contract is not None and state.contract.documents_body(
            exchange.interaction.request.method, exchange.path, exchange.status):
        # A key the recording lacks is the contract's to judge: listed, it is fine; unlisted, schema.additional.
        findings = [f for f in findings if f.rule != "keys.extra"]
    return Judgement(findings, frozenset(judged))
