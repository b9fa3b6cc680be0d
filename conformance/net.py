"""Addresses on the network: URLs of targets and upstreams, reachability, free ports; the cap on an answer."""

from __future__ import annotations

import errno
import socket
import time
from urllib.parse import urlsplit

from conformance.errors import ProxyError, TargetError
from conformance.redaction import without_credentials

__all__ = ["parse_http_url", "check_reachable", "check_port_free", "free_port", "DEFAULT_MAX_BODY", "size_text"]

DEFAULT_MAX_BODY = 10_000_000  # bytes: a card answer is ~1 KB, a page of 100 customers with their cards < 1 MB


def size_text(size: float) -> str:
    """``10 MB``, ``1.5 KB``, ``512 bytes`` (decimal units, as --max-body reads them)."""
    for unit, factor in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if size >= factor:
            return f"{size / factor:.3g} {unit}"
    return f"{size:.0f} bytes"


def parse_http_url(url: str, what: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL, or a TargetError saying what is wrong (``what``: "target")."""
    shown = without_credentials(url)
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:  # an unclosed IPv6 bracket, say
        raise TargetError(f"{what} {shown!r} is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not hostname:
        raise TargetError(f"{what} {shown!r} is not an http:// or https:// URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise TargetError(f"{what} {shown!r} has an invalid port") from None
    return parts.scheme, hostname, port


def check_reachable(url: str, what: str, timeout: float = 5.0, wait: float = 0.0) -> None:
    """One clear error before the first request when nothing listens at ``url``; ``wait`` seconds for one that
    is still starting (a container, a server started beside the command)."""
    _, host, port = parse_http_url(url, what)
    deadline = time.monotonic() + wait
    while True:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            return
        except OSError as error:
            if time.monotonic() < deadline:
                time.sleep(0.2)
                continue
            reason = error.strerror or str(error) or type(error).__name__
            waited = f" (waited {wait:g}s)" if wait else ""
            hint = "" if wait else "; is it running?" + (
                " (--wait-for-target SECONDS waits for one that is starting)" if what == "target" else "")
            raise TargetError(f"cannot reach {what} {without_credentials(url)}: {reason}{waited}{hint}") from None


def check_port_free(host: str, port: int) -> None:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise ProxyError(
                    f"port {port} on {host} is already in use; choose another with --listen-port, "
                    "or omit it to get a free one"
                ) from None
            raise ProxyError(f"cannot listen on {host}:{port}: {error.strerror}") from None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port
