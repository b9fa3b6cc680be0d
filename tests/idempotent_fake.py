"""tests/stripe_fake.py under the name the retry tests first gave it: the fake keeps Stripe's retry contract itself
(a repeated ``Idempotency-Key`` answered with the first answer, ``Idempotent-Replayed: true`` and
``Original-Request``; the key with other parameters refused with an ``idempotency_error``; a request that failed
validation not saved), and its ``RETRY_DEVIATIONS`` break one rule each.

``python -m tests.idempotent_fake --port N [--deviation NAME]`` runs it as a process, as
``python -m tests.stripe_fake`` does.
"""

from __future__ import annotations

from http.server import ThreadingHTTPServer

from tests.stripe_fake import RETRY_DEVIATIONS, FakeStripe, Handler, Store

__all__ = ["RETRY_DEVIATIONS", "IdempotentFake", "server"]


def server(port: int, deviation: str | None = None) -> ThreadingHTTPServer:
    """The fake bound to 127.0.0.1:``port`` (0: a free one), not yet serving."""
    store = Store()
    store.deviation = deviation
    made = ThreadingHTTPServer(("127.0.0.1", port), type("BoundHandler", (Handler,), {"store": store}))
    made.daemon_threads = True
    return made


class IdempotentFake(FakeStripe):
    """The fake on a free loopback port in a thread, with one deviation (or none); the base URL on enter."""

    def __init__(self, deviation: str | None = None) -> None:
        super().__init__(deviation=deviation)


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--deviation", choices=RETRY_DEVIATIONS)
    args = parser.parse_args()
    server(args.port, args.deviation).serve_forever()


if __name__ == "__main__":
    main()
