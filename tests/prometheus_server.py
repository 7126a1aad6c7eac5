"""A real Prometheus for the tests that need one (Debian's ``prometheus``, the package
``make system-tools`` installs for promtool): find it, start it on 127.0.0.1, wait until it is
ready for the test, always stop it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import pytest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def binaries() -> tuple[str, str]:
    """``prometheus`` and ``promtool``; a failure in CI when missing, a skip elsewhere."""
    found = shutil.which("prometheus"), shutil.which("promtool")
    if all(found):
        return found  # type: ignore[return-value]
    reason = "prometheus or promtool is not installed: run `make system-tools` (Debian package `prometheus`)"
    # GitHub Actions sets CI=true on every runner (docs.github.com, "Variables reference", checked
    # 2026-12-03): there a missing server is a failure, as promtool's is in tests/test_slo.py.
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@contextmanager
def running(server: str, root: Path, config: str, storage: Path, ready: Callable[[str], bool], *,
            within: float, waiting_for: str, extra: tuple[str, ...] = ()) -> Iterator[str]:
    """Prometheus with ``config`` and ``storage`` on a free port, its URL once ``ready(url)`` holds
    (connection errors count as not yet); it fails the test after ``within`` seconds or if the
    server exits, with the end of its log."""
    (root / "prometheus.yml").write_text(config)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = root / "prometheus.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [server, f"--config.file={root / 'prometheus.yml'}", f"--storage.tsdb.path={storage}",
             f"--web.listen-address=127.0.0.1:{port}", *extra], stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + within
            while True:
                if process.poll() is not None:
                    pytest.fail(f"prometheus exited with {process.returncode}: {log_path.read_text()[-2000:]}")
                try:
                    if ready(url):
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"{waiting_for} in {within:g}s: {log_path.read_text()[-2000:]}")
                time.sleep(0.1)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
