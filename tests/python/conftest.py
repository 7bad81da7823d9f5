"""Shared fixtures for the Python-side checks (test tooling only): paths, the ONNX Runtime
library, and a real prediction-api server process on 127.0.0.1."""
import contextlib
import os
import pathlib
import socket
import subprocess
import time

import pytest
import requests

ROOT = pathlib.Path(__file__).resolve().parents[2]
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
SERVER = TARGET / "release" / "prediction-api"


@pytest.fixture(scope="session")
def root() -> pathlib.Path:
    return ROOT


@pytest.fixture(scope="session")
def ort_library() -> pathlib.Path:
    path = pathlib.Path(os.environ.get("ORT_DYLIB_PATH") or ROOT / ".onnxruntime/libonnxruntime.so.1.31.1")
    assert path.is_file(), f"{path} is missing: run `make setup`"
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(repository: pathlib.Path, *args: str, env: dict | None = None):
    """Starts the release server on a free loopback port and yields its base URL; stops it
    (SIGTERM, then SIGKILL) afterwards. Start-up is bounded to 60 s."""
    assert SERVER.is_file(), f"{SERVER} is missing: `cargo build --release --bins` first"
    port = free_port()
    cmd = [str(SERVER), "--host", "127.0.0.1", "--port", str(port), "--model-repository", str(repository), *args]
    log = open(repository.parent / f"server-{port}.log", "w+")
    # The audit trail goes beside the log, never into the checkout, unless a test chooses.
    defaults = {"LOG_LEVEL": "warn", "AUDIT_DB": str(repository.parent / f"audit-{port}.db")}
    process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **defaults, **(env or {})})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise AssertionError(f"server exited with {process.returncode}:\n{log.read()}")
            try:
                if requests.get(f"{url}/v2/health/live", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("server did not start within 60 s")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="session")
def server_url(tmp_path_factory) -> str:
    """A server on the committed models/ (copied, so tests cannot change the repository)."""
    import shutil

    repo = tmp_path_factory.mktemp("server") / "models"
    shutil.copytree(ROOT / "models", repo)
    with running_server(repo) as url:
        yield url
