"""Child processes that listen on a loopback port: free ports, waiting until they answer, stopping them."""

from __future__ import annotations

import socket
import subprocess
import time

__all__ = ["free_port", "wait_until_listening", "stop"]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_until_listening(process: subprocess.Popen, host: str, port: int, timeout: float) -> str | None:
    """None once ``host:port`` accepts connections; else why not (the process exited, or the time ran out)."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            return f"exited with code {process.returncode}"
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return None
        except OSError:
            if time.monotonic() > deadline:
                return f"did not listen on {host}:{port} within {timeout:.0f}s"
            time.sleep(0.05)


def stop(process: subprocess.Popen, timeout: float = 10.0) -> int:
    """SIGTERM, then SIGKILL if it does not end in time; the exit code."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode
