"""Run the benchmarks side by side on this machine; print a table and write bench/results/latest.json.

    python bench/run.py [--requests N] [--rounds R] [--only NAME] [--openapi spec3.json]

Benchmarks are measurements, not tests: nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from conformance.mitm import MitmProcess, addon_path  # noqa: E402
from conformance.net import free_port  # noqa: E402
from conformance.stripe import STRIPE  # noqa: E402

API_KEY = "sk_test_" + "bench0000000000000000000"


@contextmanager
def upstream(delay_ms: float = 0.0) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, str(HERE / "upstream.py"), str(port), str(delay_ms)])
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("benchmark upstream did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def mitmdump(upstream_url: str, *extra: str) -> Iterator[MitmProcess]:
    port = free_port()
    with tempfile.TemporaryDirectory() as confdir:
        mitm = MitmProcess(
            ["--mode", f"reverse:{upstream_url}", "--set", f"confdir={confdir}", *extra],
            "127.0.0.1", port, echo=lambda line: None,
        )
        mitm.start()
        try:
            yield mitm
        finally:
            mitm.stop()


CARD_PATH = "/v1/customers/cus_NhD8HD2bY8dP3V/sources/card_1NBLeN2eZvKYlo2CIg1o7Pzs"
CARD_UPDATE = ("POST", CARD_PATH, b"name=Jenny+Rosen&metadata%5Border_id%5D=6735&address_city=Paris")


def alternating(first: MitmProcess, second: MitmProcess, requests: list[tuple[str, str, bytes]],
                warm_up: int = 0) -> list[tuple[float, float]]:
    """Send the same requests through two proxies, alternating request by request (A B, B A, …).

    Both sides meet the same moments of a shared machine, so its drift, which
    is larger than the differences measured here, cancels out. Returns
    (requests/s, proxy CPU µs per request) for each side.
    """
    headers = {"Authorization": f"Bearer {API_KEY}", "Stripe-Version": "2023-08-16"}
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    proxies = (first, second)
    clients = [httpx.Client(base_url=f"http://{p.host}:{p.port}", headers=headers, timeout=10) for p in proxies]
    try:
        for client in clients:
            for _ in range(warm_up):  # connections, caches
                client.request(CARD_UPDATE[0], CARD_UPDATE[1], content=CARD_UPDATE[2], headers=form)
        cpu = [cpu_seconds(p.process.pid) for p in proxies if p.process]
        spent = [0.0, 0.0]
        for index, (method, path, content) in enumerate(requests):
            for side in (0, 1) if index % 2 == 0 else (1, 0):
                started = time.perf_counter()
                response = clients[side].request(method, path, content=content, headers=form if content else None)
                spent[side] += time.perf_counter() - started
                if response.status_code != 200:
                    raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:200]}")
        used = [cpu_seconds(p.process.pid) - before for p, before in zip(proxies, cpu) if p.process]
    finally:
        for client in clients:
            client.close()
    return [(len(requests) / seconds, cpu_used / len(requests) * 1e6) for seconds, cpu_used in zip(spent, used)]


def bench_record(requests: int, rounds: int) -> list[dict[str, object]]:
    """Recorder throughput vs plain mitmdump: same upstream and client, requests alternating between the two.

    Two pairs: mitmdump as it runs by default (one line per flow) against the
    recorder as ``conformance record`` runs it (one line per recorded
    interaction instead), and both silent.
    """
    recorder = ["-s", addon_path("recorder")]
    pairs = {
        ("plain mitmdump", "mitmdump + recorder"): ([], [*recorder, "--set", "flow_detail=0"]),
        ("plain mitmdump, silent", "mitmdump + recorder, silent"):
            (["--set", "flow_detail=0"], [*recorder, "--set", "flow_detail=0", "--set", "record_echo=false"]),
    }
    rows: list[dict[str, object]] = []
    with upstream() as up, tempfile.TemporaryDirectory() as out:
        for (plain_name, recorder_name), (plain_args, recorder_args) in pairs.items():
            plain: list[tuple[float, float]] = []
            recorded: list[tuple[float, float]] = []
            for round_ in range(rounds):
                cassette = ["--set", f"cassette={out}/{len(rows)}-{round_}.yaml"]
                with mitmdump(up, *plain_args) as first, mitmdump(up, *recorder_args, *cassette) as second:
                    a, b = alternating(first, second, [CARD_UPDATE] * requests, warm_up=50)
                plain.append(a)
                recorded.append(b)
            for name, runs in ((plain_name, plain), (recorder_name, recorded)):
                rows.append({
                    "benchmark": "record", "case": name,
                    "req_per_s": round(statistics.median(r for r, _ in runs), 1),
                    "proxy_cpu_us_per_req": round(statistics.median(c for _, c in runs)),
                })
            rows[-1]["ratio"] = round(statistics.median(r / p for (r, _), (p, _) in zip(recorded, plain)), 3)
            rows[-1]["goal"] = ">= 0.9"
    return rows


def write_replay_cassette(path: Path, count: int) -> list[tuple[str, str, bytes]]:
    """A cassette of card retrieves and updates answered by bench/upstream.py; returns the raw requests."""
    from upstream import CARD

    from conformance.cassette import Body, CassetteWriter, Interaction, Request, Response

    card = json.loads(CARD)
    base = f"/v1/customers/{card['customer']}/sources/{card['id']}"
    form = {"name": "Jenny Rosen", "metadata": {"order_id": "6735"}}
    sent = []
    fixtures = {"fixtures": [card["customer"], card["id"]]}  # the bench upstream knows them without a create
    with CassetteWriter(path, "replay-bench", fixtures) as writer:
        for index in range(count):
            headers = {"Authorization": "Bearer [REDACTED:sk_test]", "Stripe-Version": "2023-08-16"}
            if index % 2:
                headers["Content-Type"] = "application/x-www-form-urlencoded"
                request = Request("POST", base, {}, headers, Body("form", form))
            else:
                request = Request("GET", base.replace("/sources/", "/cards/"), {}, headers)
            writer.append(Interaction(request, Response(200, {"Content-Type": "application/json"}, Body("json", card))))
            sent.append((request.method, request.path, request.content()))
    return sent


def bench_replay(requests: int, rounds: int) -> list[dict[str, object]]:
    """conformance run vs a plain httpx keep-alive loop sending the same requests (start-up excluded)."""
    from conformance.settings import RunChoices

    count = max(requests, 10)
    plain: list[float] = []
    floor: list[float] = []
    cold: list[float] = []
    ours: list[float] = []
    startup: list[float] = []
    cpu: dict[str, list[float]] = {"plain": [], "cold": [], "ours": []}  # this process's CPU seconds
    with upstream() as up, tempfile.TemporaryDirectory() as out:
        os.environ["CONFORMANCE_CACHE_DIR"] = str(Path(out) / "cache")
        cassette = Path(out) / "replay.yaml"
        headers = {"Authorization": f"Bearer {API_KEY}", "Stripe-Version": "2023-08-16"}
        settings = RunChoices(STRIPE, API_KEY).settings()  # as `conformance run` builds them
        for round_ in range(rounds):
            cassette = Path(out) / f"replay-{round_}.yaml"
            sent = write_replay_cassette(cassette, count)
            with httpx.Client(base_url=up, timeout=10) as client:
                client.get("/v1/warmup")
                started, started_cpu = time.perf_counter(), time.process_time()
                for method, path, content in sent:
                    extra = {"Content-Type": "application/x-www-form-urlencoded"} if content else {}
                    response = client.request(method, path, content=content, headers={**headers, **extra})
                    response.json()
                plain.append(time.perf_counter() - started)
                cpu["plain"].append(time.process_time() - started_cpu)
            # The floor: httpx's transport alone (what the runner sends through), no client layer.
            with httpx.HTTPTransport() as transport:
                base_url, timeouts = httpx.URL(up), httpx.Timeout(10).as_dict()
                started = time.perf_counter()
                for method, path, content in sent:
                    extra = {"Content-Type": "application/x-www-form-urlencoded"} if content else {}
                    request = httpx.Request(method, base_url.copy_with(raw_path=path.encode()), content=content,
                                            headers={**headers, **extra}, extensions={"timeout": timeouts})
                    response = transport.handle_request(request)
                    response.read()
                    response.close()
                    response.json()
                floor.append(time.perf_counter() - started)
            for times, spent in ((cold, cpu["cold"]), (ours, cpu["ours"])):  # the first parses, the next reads the cache
                started_cpu = time.process_time()
                result = settings.run([cassette], up)
                spent.append(time.process_time() - started_cpu)
                assert result.verdict.exit_code == 0, "the benchmark cassette must replay clean"
                times.append(result.seconds)
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "conformance", "run", "--help"], check=True, capture_output=True)
            startup.append(time.perf_counter() - started)
    base, mine, first = statistics.median(plain), statistics.median(ours), statistics.median(cold)
    # Ratios of the runs made back to back in each round, then their median: drift of a shared
    # machine between rounds cancels out.
    paired = statistics.median(o / p for o, p in zip(ours, plain))
    paired_cold = statistics.median(c / p for c, p in zip(cold, plain))
    overhead_us = statistics.median((o - f) / count * 1e6 for o, f in zip(ours, floor))
    # CPU time, less moved by a loaded machine than wall time: what the first run costs over a cached one.
    cpu_ratio = {key: statistics.median(c / p for c, p in zip(cpu[key], cpu["plain"])) for key in ("cold", "ours")}
    first_cpu_us = statistics.median((c - o) / count * 1e6 for c, o in zip(cpu["cold"], cpu["ours"]))
    return [
        {"benchmark": "replay", "case": f"plain httpx loop ({count} req)", "seconds": round(base, 3),
         "req_per_s": round(count / base, 1)},
        {"benchmark": "replay", "case": "httpx transport loop (floor)", "seconds": round(statistics.median(floor), 3),
         "req_per_s": round(count / statistics.median(floor), 1),
         "ratio": round(statistics.median(f / p for f, p in zip(floor, plain)), 3)},
        {"benchmark": "replay", "case": "conformance run, parse cached", "seconds": round(mine, 3),
         "req_per_s": round(count / mine, 1), "ratio": round(paired, 3), "goal": "<= 1.15 (time)",
         "overhead_us_per_req": round(overhead_us), "cpu_ratio": round(cpu_ratio["ours"], 3),
         "note": f"{overhead_us:+.0f} µs/req over the floor; CPU {cpu_ratio['ours']:.2f}x the loop's"},
        {"benchmark": "replay", "case": "conformance run, first (parses)", "seconds": round(first, 3),
         "req_per_s": round(count / first, 1), "ratio": round(paired_cold, 3), "goal": "<= 1.5 (time)",
         "cpu_ratio": round(cpu_ratio["cold"], 3), "first_read_cpu_us_per_req": round(first_cpu_us),
         "note": f"CPU {cpu_ratio['cold']:.2f}x the loop's, {first_cpu_us:+.0f} µs/req over a cached run"},
        {"benchmark": "replay", "case": "CLI start-up (run --help)", "seconds": round(statistics.median(startup), 3),
         "req_per_s": "", "goal": "well under 1 s"},
    ]


def bench_parse(requests: int, rounds: int) -> list[dict[str, object]]:
    """Reading a cassette: our strict reader vs yaml.load_all(CSafeLoader) on the same file; the parse cache."""
    import yaml

    from conformance.cassette import iter_interactions
    from conformance.cassette.reader import read_documents

    count = max(requests, 10)
    with tempfile.TemporaryDirectory() as out:
        cassette = Path(out) / "parse.yaml"
        write_replay_cassette(cassette, count)
        data = cassette.read_bytes()

        def timed(read: Callable[[], object]) -> float:
            started = time.perf_counter()
            read()
            return (time.perf_counter() - started) / count * 1e6

        theirs, ours, cold, warm = [], [], [], []
        for round_ in range(max(rounds, 3)):  # alternating, so drift of a shared machine cancels in the ratios
            theirs.append(timed(lambda: list(yaml.load_all(data, Loader=yaml.CSafeLoader))))
            ours.append(timed(lambda: list(read_documents(data))))
            os.environ["CONFORMANCE_CACHE_DIR"] = str(Path(out) / f"cache-{round_}")
            cold.append(timed(lambda: list(iter_interactions(cassette))))  # parse, validate, fill the cache
            warm.append(timed(lambda: list(iter_interactions(cassette))))  # from the cache, validated again
    base = statistics.median(theirs)
    return [
        {"benchmark": "parse", "case": f"yaml.load_all(CSafeLoader), µs/interaction ({count})",
         "seconds": round(base, 1)},
        {"benchmark": "parse", "case": "strict reader, µs/interaction", "seconds": round(statistics.median(ours), 1),
         "ratio": round(statistics.median(o / t for o, t in zip(ours, theirs)), 3), "goal": "<= 1.0 (time)"},
        {"benchmark": "parse", "case": "iter_interactions cold (reader + validation)",
         "seconds": round(statistics.median(cold), 1), "ratio": round(statistics.median(c / base for c in cold), 3)},
        {"benchmark": "parse", "case": "iter_interactions warm (parse cache)", "seconds": round(statistics.median(warm), 1),
         "ratio": round(statistics.median(w / base for w in warm), 3)},
    ]


def _serve_requests(count: int) -> list[tuple[str, str, bytes]]:
    """Distinct card retrieves and updates: each is answered once by both servers."""
    requests = []
    for index in range(count):
        card = f"card_{index:020d}"
        if index % 2:
            requests.append(("POST", f"/v1/customers/cus_NhD8HD2bY8dP3V/sources/{card}", b"name=Jenny+Rosen"))
        else:
            requests.append(("GET", f"/v1/customers/cus_NhD8HD2bY8dP3V/cards/{card}", b""))
    return requests


def bench_serve(requests: int, rounds: int) -> list[dict[str, object]]:
    """conformance serve vs mitmproxy's --server-replay, answering the same recorded traffic, request by request."""
    traffic = _serve_requests(max(requests, 10))
    ours: list[tuple[float, float]] = []
    theirs: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory() as out:
        flows, cassette = Path(out) / "flows.mitm", Path(out) / "serve.yaml"
        with upstream() as up:  # record the same traffic both ways
            with mitmdump(up, "--set", "flow_detail=0", "-w", str(flows)) as proxy:
                _send_all(proxy, traffic)
            with mitmdump(up, "--set", "flow_detail=0", "-s", addon_path("recorder"), "--set",
                          f"cassette={cassette}", "--set", "record_echo=false") as proxy:
                _send_all(proxy, traffic)
        offline = "http://127.0.0.1:9"  # nothing listens there: both must answer on their own
        builtin = ["--server-replay", str(flows), "--set", "server_replay_extra=kill",
                   "--set", "server_replay_ignore_host=true", "--set", "server_replay_ignore_port=true"]
        addon = ["-s", addon_path("server"), "--set", f"serve_cassettes={cassette}", "--set", "serve_reload=false"]
        lazy = ["--set", "flow_detail=0", "--set", "connection_strategy=lazy"]
        for _ in range(rounds):
            with mitmdump(offline, *lazy, *builtin) as first, mitmdump(offline, *lazy, *addon) as second:
                a, b = alternating(first, second, traffic)
            theirs.append(a)
            ours.append(b)
    return [
        {"benchmark": "serve", "case": "mitmdump --server-replay", "req_per_s": round(statistics.median(r for r, _ in theirs), 1),
         "proxy_cpu_us_per_req": round(statistics.median(c for _, c in theirs))},
        {"benchmark": "serve", "case": "conformance serve (addon)", "req_per_s": round(statistics.median(r for r, _ in ours), 1),
         "proxy_cpu_us_per_req": round(statistics.median(c for _, c in ours)),
         "ratio": round(statistics.median(o / t for (o, _), (t, _) in zip(ours, theirs)), 3), "goal": ">= 1.0"},
    ]


def _send_all(proxy: MitmProcess, requests: list[tuple[str, str, bytes]]) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    with httpx.Client(base_url=f"http://{proxy.host}:{proxy.port}", headers=headers, timeout=10) as client:
        for method, path, content in requests:
            response = client.request(method, path, content=content, headers=form if content else None)
            if response.status_code != 200:
                raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:200]}")


def _write_set(directory: Path, total: int, per_cassette: int = 100) -> None:
    """``total`` interactions in cassettes of ``per_cassette``, answered by bench/upstream.py."""
    directory.mkdir(parents=True, exist_ok=True)
    for number in range(max(1, total // per_cassette)):
        write_replay_cassette(directory / f"set-{number:05d}.yaml", min(per_cassette, total))


def _measured(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of a command run as a child process; it must succeed."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, rusage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4; keep Popen from waiting again
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])}… exited with {process.returncode}")
    return seconds, rusage.ru_maxrss / 1024


def bench_scale(requests: int, rounds: int) -> list[dict[str, object]]:
    """Cassette sets of growing size: load, check and replay time, and peak memory, each in its own process."""
    default = "100,1000,10000,100000" if requests >= 100 else "100"  # tiny for the smoke test
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", default).split(",")]
    rows: list[dict[str, object]] = []
    with upstream() as up, tempfile.TemporaryDirectory() as out:
        for size in sizes:
            directory = Path(out) / str(size)
            _write_set(directory, size)
            env = {**os.environ, "CONFORMANCE_CACHE_DIR": str(Path(out) / f"cache-{size}")}
            load = [sys.executable, "-c", "import sys; from conformance.cassette import find_cassettes, "
                    "iter_interactions; [None for p in find_cassettes([sys.argv[1]]) for _ in iter_interactions(p)]",
                    str(directory)]
            cli = [sys.executable, "-m", "conformance"]
            figures = {
                "load (parse)": _measured(load, env),
                "load (cached)": _measured(load, env),
                "check": _measured([*cli, "check", str(directory)], env),
                "run": _measured([*cli, "run", str(directory), "--target", up, "--api-key", API_KEY], env),
            }
            for step, (seconds, peak) in figures.items():
                rows.append({"benchmark": "scale", "case": f"{size:>6} interactions: {step}",
                             "seconds": round(seconds, 2), "req_per_s": round(size / seconds, 1),
                             "peak_mb": round(peak, 1),
                             "goal": "linear; < 300 MB at 100,000" if step == "run" else ""})
    return rows


def bench_workers(requests: int, rounds: int) -> list[dict[str, object]]:
    """--workers 1, 2, 4 against a target that answers after 20 ms: speedup should be >= 0.8 N."""
    from conformance.settings import RunChoices

    settings = RunChoices(STRIPE, API_KEY).settings()
    rows: list[dict[str, object]] = []
    with upstream(delay_ms=20) as up, tempfile.TemporaryDirectory() as out:
        os.environ["CONFORMANCE_CACHE_DIR"] = str(Path(out) / "cache")
        directory = Path(out) / "set"
        total = 240 if requests >= 100 else 24  # tiny for the smoke test
        _write_set(directory, total, per_cassette=total // 12)
        cassettes = sorted(directory.glob("*.yaml"))
        settings.run(cassettes[:1], up)  # warm the parse cache
        base = None
        for workers in (1, 2, 4):
            seconds = statistics.median(settings.run(cassettes, up, workers=workers).seconds
                                        for _ in range(max(1, rounds // 2)))
            base = base or seconds
            rows.append({"benchmark": "workers", "case": f"--workers {workers} ({total} req, 20 ms each)",
                         "seconds": round(seconds, 2), "req_per_s": round(total / seconds, 1),
                         "ratio": round(base / seconds, 2), "goal": f">= {0.8 * workers:.1f} (speedup)"})
    return rows


def bench_matrix(requests: int, rounds: int) -> list[dict[str, object]]:
    """A matrix over N targets against N single runs of the same suite: goal <= 1.0x the N runs' time with
    --workers 1, approaching one run's time with --workers N. Targets: bench/upstream.py answering after 20 ms
    (a remote target), and the reference suite against the test fake (a fast local one, a process each; the
    replay's own CPU then bounds what threads can win). Start-up excluded;
    the matrix includes building its cells and writing JSON, Markdown and HTML."""
    from conformance.report.matrix import build_matrix, write_matrix_json
    from conformance.report.matrix_views import write_matrix_html, write_matrix_markdown
    from conformance.settings import RunChoices

    count = 3
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as out, contextlib.ExitStack() as stack:
        os.environ["CONFORMANCE_CACHE_DIR"] = str(Path(out) / "cache")
        slow = Path(out) / "slow"
        total = 120 if requests >= 100 else 12  # tiny for the smoke test
        _write_set(slow, total, per_cassette=total // 6)
        from conformance.replay.runner import target_process

        fake = f"{shlex.quote(sys.executable)} {shlex.quote(str(HERE.parent / 'tests' / 'stripe_fake.py'))} --port {{port}}"
        cases = [
            (f"{total} req, 20 ms each", sorted(slow.glob("*.yaml")),
             [stack.enter_context(upstream(delay_ms=20)) for _ in range(count)]),
            ("reference suite, test fake", sorted((HERE.parent / "cassettes").glob("*.yaml")),
             [stack.enter_context(target_process(fake)) for _ in range(count)]),
        ]
        for label, cassettes, urls in cases:
            settings = RunChoices(STRIPE, API_KEY).settings()
            settings.run(cassettes[:1], urls[0])  # warm the parse cache
            targets = {f"t{n}": url for n, url in enumerate(urls)}

            def singles() -> float:
                return sum(settings.run(cassettes, url).seconds for url in urls)  # noqa: B023

            def matrix(workers: int) -> float:
                started = time.perf_counter()
                results = settings.run_targets(cassettes, targets, dict.fromkeys(targets, "magic"),  # noqa: B023
                                               workers=workers)
                document = build_matrix(results, {}, [str(c) for c in cassettes], api=STRIPE)  # noqa: B023
                write_matrix_json(document, Path(out) / "m.json")
                write_matrix_markdown(document, Path(out) / "m.md")
                write_matrix_html(document, Path(out) / "m.html")
                return time.perf_counter() - started

            figures: dict[str, list[float]] = {"single": [], "serial": [], "parallel": []}
            steps: list[tuple[str, Callable[[], float]]] = [
                ("single", singles), ("serial", lambda: matrix(1)), ("parallel", lambda: matrix(count))]
            for number in range(max(1, rounds)):
                for key, step in steps[number % 3:] + steps[:number % 3]:  # each goes first in turn
                    figures[key].append(step())
            sent = count * _interactions(cassettes)
            single = statistics.median(figures["single"])
            rows.append({"benchmark": "matrix", "case": f"{count} single runs, back to back ({label})",
                         "seconds": round(single, 3), "req_per_s": round(sent / single, 1)})
            for key, workers, goal, share in (("serial", 1, "<= 1.0 (time, to the single runs)", 1),
                                              ("parallel", count, "-> 1.0 (time, to one single run)", count)):
                seconds = statistics.median(figures[key])
                ratio = statistics.median(m / (s / share) for m, s in zip(figures[key], figures["single"]))
                rows.append({"benchmark": "matrix", "case": f"matrix of {count}, --workers {workers} ({label})",
                             "seconds": round(seconds, 3), "req_per_s": round(sent / seconds, 1),
                             "ratio": round(ratio, 2), "goal": goal})
    os.environ.pop("CONFORMANCE_CACHE_DIR", None)
    return rows


def _interactions(cassettes: list[Path]) -> int:
    from conformance.cassette import count_interactions

    return sum(count_interactions(path) for path in cassettes)


# --openapi PATH: Stripe's spec3.json/spec3.yaml for the contract benchmark (default: a generated spec of its size)
OPENAPI: Path | None = None
TEST_SPEC = HERE.parent / "tests" / "schemas" / "cards-openapi.yaml"


def _generated_spec(path: Path) -> None:
    """A spec of Stripe's size (~800 schemas, ~400 paths, 3+ MB) around the tests' card description."""
    from tests.openapi_gen import generated_spec

    path.write_text(json.dumps(generated_spec(800, 25)))


def bench_contract(requests: int, rounds: int) -> list[dict[str, object]]:
    """--openapi: reading and converting the spec (JSON, YAML, cached), compiling, validating a response, and a
    replay judged by the contract next to a plain httpx loop."""
    import yaml

    with tempfile.TemporaryDirectory() as out:
        spec_json = Path(out) / "spec.json"
        if OPENAPI is not None:
            spec_json.write_bytes(OPENAPI.read_bytes() if OPENAPI.suffix == ".json" else
                                  json.dumps(yaml.load(OPENAPI.read_bytes(), Loader=yaml.CSafeLoader)).encode())
            label = OPENAPI.name
        else:
            _generated_spec(spec_json)
            label = "a generated spec of Stripe's size"
        spec_yaml = Path(out) / "spec.yaml"
        spec_yaml.write_text(yaml.dump(json.loads(spec_json.read_text()), Dumper=yaml.CSafeDumper, sort_keys=False))
        size = f"{spec_json.stat().st_size / 1e6:.1f} MB JSON, {spec_yaml.stat().st_size / 1e6:.1f} MB YAML"
        rows, contract = _contract_loading(spec_json, spec_yaml, Path(out) / "cache", rounds, f"{label}; {size}")
        rows += _contract_validation(contract)
        rows += _contract_replay(Path(out), requests, rounds)
    os.environ.pop("CONFORMANCE_CACHE_DIR", None)
    return rows


def _contract_loading(spec_json: Path, spec_yaml: Path, cache: Path, rounds: int,
                      note: str) -> tuple[list[dict[str, object]], Any]:
    """Reading and converting the spec (JSON, YAML, no cache), loading it converted from the cache, compiling the
    card operations' schemas; the rows and the contract loaded last."""
    from conformance.contract import load_contract

    timings: dict[str, list[float]] = {"json": [], "yaml": [], "cached": [], "compile": []}
    for _ in range(rounds):
        for name, spec in (("json", spec_json), ("yaml", spec_yaml)):
            os.environ["CONFORMANCE_CACHE"] = "0"
            started = time.perf_counter()
            load_contract(spec, STRIPE)
            timings[name].append(time.perf_counter() - started)
        os.environ.pop("CONFORMANCE_CACHE")
        os.environ["CONFORMANCE_CACHE_DIR"] = str(cache)
        load_contract(spec_yaml, STRIPE)  # fills the cache
        started = time.perf_counter()
        contract = load_contract(spec_yaml, STRIPE)
        timings["cached"].append(time.perf_counter() - started)
        started = time.perf_counter()
        for method, path in (("GET", "/v1/customers/cus_1/cards/card_1"), ("POST", "/v1/customers/cus_1/sources/card_1"),
                             ("GET", "/v1/customers/cus_1/cards"), ("DELETE", "/v1/customers/cus_1/sources/card_1"),
                             ("GET", "/v1/customers/cus_1"), ("POST", "/v1/customers")):
            contract.validate(method, path, 200, {})  # the first validation compiles the operation's schema
        timings["compile"].append(time.perf_counter() - started)
    rows: list[dict[str, object]] = [
        {"benchmark": "contract", "case": case, "seconds": round(statistics.median(timings[name]), 3),
         "req_per_s": "", "goal": "< 2 s (load + compile)" if name != "compile" else "",
         "note": note if name == "json" else ""}
        for name, case in (("json", "read + convert JSON (no cache)"), ("yaml", "read + convert YAML (no cache)"),
                           ("cached", "load, converted spec cached"), ("compile", "compile the 6 card operations"))]
    return rows, contract


def _contract_validation(contract: Any) -> list[dict[str, object]]:
    """Validating answers of each kind against the loaded contract, per answer."""
    from upstream import CARD

    card = json.loads(CARD)
    listing = {"object": "list", "data": [card] * 10, "has_more": False, "url": "/v1/customers/cus_1/cards"}
    bad = {**card, "exp_year": "2030", "regulated_status": None}
    rows: list[dict[str, object]] = []
    for case, method, path, body in (
            ("validate a card", "GET", "/v1/customers/cus_1/cards/card_1", card),
            ("validate an updated card (anyOf)", "POST", "/v1/customers/cus_1/sources/card_1", card),
            ("validate a list of 10 cards", "GET", "/v1/customers/cus_1/cards", listing),
            ("explain a card with 2 problems", "GET", "/v1/customers/cus_1/cards/card_1", bad)):
        n = 2000
        started = time.perf_counter()
        for _ in range(n):
            contract.validate(method, path, 200, body)
        per = (time.perf_counter() - started) / n
        rows.append({"benchmark": "contract", "case": case, "seconds": "", "req_per_s": round(1 / per),
                     "note": f"{per * 1e6:.1f} µs"})
    return rows


def _contract_replay(out: Path, requests: int, rounds: int) -> list[dict[str, object]]:
    """A replay with --openapi (the tests' card description: the bench upstream's answers conform) and without,
    next to a plain httpx loop of the same requests."""
    from conformance.settings import RunChoices

    count = max(requests, 10)
    plain_settings = RunChoices(STRIPE, API_KEY).settings()
    judged = RunChoices(STRIPE, API_KEY, openapi=OPENAPI or TEST_SPEC).settings()
    headers = {"Authorization": f"Bearer {API_KEY}", "Stripe-Version": "2023-08-16"}
    plain: list[float] = []
    with_contract: list[float] = []
    without: list[float] = []
    with upstream() as up:
        for round_ in range(rounds):
            cassette = out / f"replay-{round_}.yaml"
            sent = write_replay_cassette(cassette, count)
            for settings, times in ((plain_settings, None), (plain_settings, without), (judged, with_contract)):
                result = settings.run([cassette], up)  # the first fills the parse cache
                assert result.verdict.exit_code == 0 and not any(
                    i.findings for c in result.cassettes for i in c.interactions), "must replay clean"
                if times is not None:
                    times.append(result.seconds)
            with httpx.Client(base_url=up, timeout=10) as client:
                client.get("/v1/warmup")
                started = time.perf_counter()
                for method, path, content in sent:
                    extra = {"Content-Type": "application/x-www-form-urlencoded"} if content else {}
                    client.request(method, path, content=content, headers={**headers, **extra}).json()
                plain.append(time.perf_counter() - started)
    return [
        {"benchmark": "contract", "case": f"plain httpx loop ({count} req)", "seconds": round(statistics.median(plain), 3),
         "req_per_s": round(count / statistics.median(plain), 1)},
        {"benchmark": "contract", "case": "conformance run, cached", "seconds": round(statistics.median(without), 3),
         "req_per_s": round(count / statistics.median(without), 1),
         "ratio": round(statistics.median(w / p for w, p in zip(without, plain)), 3)},
        {"benchmark": "contract", "case": "conformance run --openapi, cached",
         "seconds": round(statistics.median(with_contract), 3),
         "req_per_s": round(count / statistics.median(with_contract), 1),
         "ratio": round(statistics.median(w / p for w, p in zip(with_contract, plain)), 3), "goal": "<= 1.3 (time)"},
    ]


# --against DIR: another checkout of card-conformance whose `conformance run` the fixed-cost benchmark alternates
# with this one's (an older commit, as `git worktree add DIR COMMIT` makes it)
AGAINST: Path | None = None


def bench_fixed(requests: int, rounds: int) -> list[dict[str, object]]:
    """A one-interaction `conformance run` in a process of its own, start to exit: the fixed cost every run pays
    (start-up, imports, reading the cassette, the reports), with the bytecode and the parse cache an installed
    package has after its first run (each checkout's bytecode in a folder of its own, never in the checkout). The
    floor beside it is an interpreter that imports only the libraries a run cannot do without (httpx with the
    httpcore it sends through, Click, Rich's progress bar). With --against DIR, the same run of that checkout
    alternates with this one's, each going first in turn, and the ratios are of the runs made back to back."""
    count = max(1, rounds * 4) if requests >= 100 else 1  # tiny for the smoke test
    sides = {"this checkout": HERE.parent, **({f"--against {AGAINST.name}": AGAINST} if AGAINST else {})}
    times: dict[str, list[float]] = {name: [] for name in [*sides, "floor"]}
    cpu: dict[str, list[float]] = {name: [] for name in times}
    with upstream() as up, tempfile.TemporaryDirectory() as out:
        cassette = Path(out) / "one.yaml"
        write_replay_cassette(cassette, 1)
        env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        env.update(CONFORMANCE_CACHE_DIR=str(Path(out) / "cache"), PYTHONPATH="")
        command = [sys.executable, "-m", "conformance", "run", str(cassette), "--target", up, "--api-key", API_KEY,
                   "--json-report", str(Path(out) / "r.json")]
        runs = {name: (command, checkout, {**env, "PYTHONPYCACHEPREFIX": str(Path(out) / f"bytecode-{index}")})
                for index, (name, checkout) in enumerate(sides.items())}
        runs["floor"] = ([sys.executable, "-c", "import httpx, httpcore, click, rich.progress"], HERE.parent,
                         {**env, "PYTHONPYCACHEPREFIX": str(Path(out) / "bytecode-floor")})
        for argv, checkout, child_env in runs.values():  # bytecode written, the parse cache filled, files read once
            subprocess.run(argv, cwd=checkout, env=child_env, check=True, capture_output=True, timeout=120)
        order = list(runs.items())
        for number in range(count):
            for name, (argv, checkout, child_env) in order[number % len(order):] + order[:number % len(order)]:
                seconds, used = _timed_child(argv, checkout, child_env)
                times[name].append(seconds)
                cpu[name].append(used)
    return _fixed_rows(times, cpu)


def _fixed_rows(times: dict[str, list[float]], cpu: dict[str, list[float]]) -> list[dict[str, object]]:
    """The fixed-cost figures: medians of wall and CPU seconds; this checkout's ratios of CPU and of wall time to
    the other checkout's, pair by pair."""
    rows: list[dict[str, object]] = [
        {"benchmark": "fixed", "case": "imports a run cannot avoid" if name == "floor" else
         f"run of 1 interaction, {name}", "seconds": round(statistics.median(t), 3),
         "cpu_seconds": round(statistics.median(cpu[name]), 3), "goal": "<= 0.3 s" if name == "this checkout" else "",
         "note": f"{statistics.median(cpu[name]):.3f} s CPU" + ("; httpx, httpcore, Click, Rich: the floor" if name == "floor"
                                                              else "")} for name, t in times.items()]
    other = next((name for name in times if name.startswith("--against")), None)
    if other is not None:
        mine, theirs = "this checkout", other
        rows[0]["ratio"] = round(statistics.median(m / t for m, t in zip(cpu[mine], cpu[theirs])), 3)
        wall = statistics.median(m / t for m, t in zip(times[mine], times[theirs]))
        rows[0]["note"] = f"{rows[0]['note']}; ratio of CPU to {other[10:]}, back to back (wall {wall:.2f}x)"
    return rows


def _timed_child(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(seconds, CPU seconds: user + system) of a command run as a child process; it must succeed. The CPU time
    is what a shared machine's load leaves alone."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, rusage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4; keep Popen from waiting again
    if process.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(command[:5])}… exited with {process.returncode}")
    return seconds, rusage.ru_utime + rusage.ru_stime


ANY_SESSION = """
import json, os, sys, stripe

stripe.api_key = "sk_test_anytraffic"
stripe.api_base = stripe.upload_api_base = os.environ["STRIPE_API_BASE"]
stripe.max_network_retries = 0
for round in range(int(sys.argv[1])):
    coupon = stripe.Coupon.create(percent_off=25, duration="once", metadata={"round": str(round)})
    stripe.Coupon.retrieve(coupon.id)
    stripe.Coupon.list(limit=3)
    intent = stripe.PaymentIntent.create(amount=1000 + round, currency="usd")
    stripe.PaymentIntent.retrieve(intent.id)
    with open("receipt.png", "rb") as handle:
        uploaded = stripe.File.create(purpose="dispute_evidence", file=handle)
    stripe.File.retrieve(uploaded.id)
    stripe.Coupon.delete(coupon.id)
"""


def bench_any(requests: int, rounds: int) -> list[dict[str, object]]:
    """Traffic beyond the cards (tests/generic_fake.py: prefix-less coupon ids, a client secret holding its
    intent's id, multipart uploads of 4 KB, lists, deletes), the official SDK in its own process: the session
    direct, through plain mitmdump, through mitmdump with the recorder, served offline by the serve addon (every
    proxy started before the clock), then the recording replayed by `conformance run` against a fresh server
    (its process start-up included). A served session that misses, or a replay that finds anything, stops the
    benchmark."""
    sessions = max(1, requests // 8)  # 8 requests per session round
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    timings: dict[str, list[float]] = {"direct": [], "plain": [], "record": [], "serve": [], "run": []}
    with tempfile.TemporaryDirectory() as out:
        work = Path(out)
        (work / "session.py").write_text(ANY_SESSION)
        (work / "receipt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 16)
        fake = f"{shlex.quote(sys.executable)} {shlex.quote(str(HERE.parent / 'tests' / 'generic_fake.py'))} {{port}}"
        from conformance.replay.runner import target_process

        def timed(label: str, command: list[str], base: str | None = None) -> None:
            extra = {"STRIPE_API_BASE": base} if base else {}
            started = time.perf_counter()
            done = subprocess.run(command, cwd=work, env={**env, **extra}, capture_output=True, text=True, timeout=600)
            timings[label].append(time.perf_counter() - started)
            if done.returncode != 0:
                raise RuntimeError(f"{label}: exit {done.returncode}: {(done.stdout + done.stderr)[-800:]}")

        session = [sys.executable, "session.py", str(sessions)]
        for _ in range(rounds):
            cassette = work / "session.yaml"
            cassette.unlink(missing_ok=True)
            with target_process(fake) as server:
                timed("direct", session, server)
                with mitmdump(server, "--set", "flow_detail=0") as proxy:
                    timed("plain", session, f"http://{proxy.host}:{proxy.port}")
                with mitmdump(server, "--set", "flow_detail=0", "-s", addon_path("recorder"), "--set",
                              f"cassette={cassette}", "--set", "record_echo=false") as proxy:
                    timed("record", session, f"http://{proxy.host}:{proxy.port}")
            with mitmdump("http://127.0.0.1:9", "--set", "flow_detail=0", "--set", "connection_strategy=lazy", "-s",
                          addon_path("server"), "--set", f"serve_cassettes={cassette}", "--set",
                          "serve_reload=false") as proxy:
                timed("serve", session, f"http://{proxy.host}:{proxy.port}")
                summary = httpx.post(f"http://{proxy.host}:{proxy.port}/__conformance__/reset", timeout=10).json()
                if summary["misses"]:
                    raise RuntimeError(f"serve missed: {summary['misses'][:3]}")
            with target_process(fake) as fresh:
                timed("run", [sys.executable, "-m", "conformance", "run", str(cassette), "--target", fresh,
                              "--json-report", str(work / "run.json")])
            report = json.loads((work / "run.json").read_text())
            if report["summary"]["passed"] != sessions * 8:
                raise RuntimeError(f"replay: {report['summary']}")

    def median(label: str) -> float:
        return statistics.median(timings[label])

    def ratio(label: str, base: str) -> float:
        return round(statistics.median(t / b for t, b in zip(timings[label], timings[base])), 3)

    total = sessions * 8
    return [
        {"benchmark": "any", "case": f"SDK session, {total} req, direct", "seconds": round(median("direct"), 3)},
        {"benchmark": "any", "case": "through plain mitmdump", "seconds": round(median("plain"), 3),
         "ratio": ratio("plain", "direct")},
        {"benchmark": "any", "case": "through mitmdump + recorder", "seconds": round(median("record"), 3),
         "ratio": ratio("record", "plain"), "note": "ratio to plain mitmdump"},
        {"benchmark": "any", "case": "served offline (serve addon, 0 misses)", "seconds": round(median("serve"), 3),
         "ratio": ratio("serve", "plain"), "note": "ratio to plain mitmdump"},
        {"benchmark": "any", "case": "conformance run, fresh server (0 findings)", "seconds": round(median("run"), 3),
         "req_per_s": round(total / median("run"), 1)},
    ]


BENCHMARKS: dict[str, Callable[[int, int], list[dict[str, object]]]] = {
    "any": bench_any,
    "contract": bench_contract,
    "fixed": bench_fixed,
    "matrix": bench_matrix,
    "parse": bench_parse,
    "record": bench_record,
    "replay": bench_replay,
    "serve": bench_serve,
    "scale": bench_scale,
    "workers": bench_workers,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds; the median is reported")
    parser.add_argument("--only", choices=sorted(BENCHMARKS), action="append")
    parser.add_argument("--json", type=Path, default=HERE / "results" / "latest.json")
    parser.add_argument("--openapi", type=Path, metavar="SPEC",
                        help="Stripe's spec3.json or spec3.yaml for the contract benchmark (default: a generated one)")
    parser.add_argument("--against", type=Path, metavar="DIR",
                        help="another checkout (git worktree add DIR COMMIT) the fixed-cost benchmark alternates with")
    args = parser.parse_args()
    global OPENAPI, AGAINST
    OPENAPI = args.openapi
    AGAINST = args.against.resolve() if args.against else None

    rows: list[dict[str, object]] = []
    for name in args.only or BENCHMARKS:
        rows.extend(BENCHMARKS[name](args.requests, args.rounds))
    machine = f"{platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()}"
    print(f"{'benchmark':<10} {'case':<38} {'req/s':>9} {'seconds':>8} {'cpu µs/req':>11} {'peak MB':>8} "
          f"{'ratio':>7}  goal   ({machine})")
    for row in rows:
        ratio = f"{row['ratio']:.2f}x" if "ratio" in row else ""
        print(f"{row['benchmark']:<10} {row['case']:<38} {row.get('req_per_s', ''):>9} {row.get('seconds', ''):>8} "
              f"{row.get('proxy_cpu_us_per_req', ''):>11} {row.get('peak_mb', ''):>8} {ratio:>7}  "
              f"{row.get('goal', '')}  {row.get('note', '')}".rstrip())
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"machine": machine, "results": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
