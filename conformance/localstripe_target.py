"""Run localstripe (from PyPI) as a local target bound to 127.0.0.1.

localstripe's own entry point listens on every interface and pickles its store
to a fixed file in /tmp after every write; this launcher binds loopback only and
keeps the store in memory, so several instances can run side by side.

    python -m conformance.localstripe_target --port 8420
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
from collections.abc import Iterator

from .processes import free_port, stop, wait_until_listening

__all__ = ["serve", "running"]


def serve(host: str, port: int) -> None:
    try:
        from aiohttp import web
        from localstripe import resources, server
    except ImportError:
        sys.exit("localstripe is not installed: pip install 'card-conformance[demo]'")

    resources.store.dump_to_disk = lambda: None  # in memory only
    web.run_app(server.app, host=host, port=port, access_log=None, print=None)


@contextlib.contextmanager
def running(port: int | None = None, timeout: float = 20.0) -> Iterator[str]:
    """Start localstripe in a child process; yields its base URL and stops it afterwards."""
    port = port or free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "conformance.localstripe_target", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        problem = wait_until_listening(process, "127.0.0.1", port, timeout)
        if problem:
            detail = process.stderr.read().strip()[-500:] if process.poll() is not None and process.stderr else ""
            raise RuntimeError(f"localstripe {problem} {detail}".strip())
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8420)
    args = parser.parse_args()
    serve(args.host, args.port)


if __name__ == "__main__":
    main()
