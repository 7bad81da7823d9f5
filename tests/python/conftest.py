"""Shared fixtures for the Python-side checks (test tooling only)."""
import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def root() -> pathlib.Path:
    return ROOT


@pytest.fixture(scope="session")
def ort_library() -> pathlib.Path:
    path = pathlib.Path(os.environ.get("ORT_DYLIB_PATH") or ROOT / ".onnxruntime/libonnxruntime.so.1.31.1")
    assert path.is_file(), f"{path} is missing: run `make setup`"
    return path
