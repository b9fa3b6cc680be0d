"""Run localstripe (from PyPI) as a local target bound to 127.0.0.1.

localstripe's own entry point listens on every interface and pickles its store
to a fixed file in /tmp after every write; this launcher binds loopback only and
keeps the store in memory, so several instances can run side by side.

    python -m conformance.suite.localstripe_target --port 8420
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator

from conformance.net import free_port
from conformance.processes import listening

__all__ = ["serve", "running"]


def serve(host: str, port: int) -> None:
    try:
        from aiohttp import web
        from localstripe import resources, server
    except ImportError:
        from conformance.extras import MissingExtra, missing_modules

        print(f"Error: {MissingExtra('demo', 'localstripe_target', missing_modules('demo') or ['localstripe'])}", file=sys.stderr)
        sys.exit(2)

    resources.store.dump_to_disk = lambda: None  # in memory only
    web.run_app(server.app, host=host, port=port, access_log=None, print=None)


@contextlib.contextmanager
def running(port: int | None = None, timeout: float = 20.0) -> Iterator[str]:
    """Start localstripe in a child process; yields its base URL and stops it afterwards."""
    port = port or free_port()
    argv = [sys.executable, "-m", "conformance.suite.localstripe_target", "--port", str(port)]
    with listening(argv, port, "localstripe", timeout):
        yield f"http://127.0.0.1:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8420)
    args = parser.parse_args()
    serve(args.host, args.port)


if __name__ == "__main__":
    main()
