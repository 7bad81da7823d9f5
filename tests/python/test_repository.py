"""Triton's model repository extension with the real client, `tritonclient.http`, against the
release server: load a model from uploaded files, infer, reload a new version, infer, unload,
read the index; and the server's resident memory across 200 load/unload cycles."""
import json
import os
import pathlib
import shutil

import numpy as np
import onnx
import pytest
import requests
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from conftest import ROOT, SERVER, running_server

TOKEN = "python-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
IRIS = ROOT / "models" / "iris" / "1" / "model.onnx"
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
SETOSA = [5.1, 3.5, 1.4, 0.2]


def iris_with_labels(labels: list[str]) -> bytes:
    """The committed iris graph answering with other class names: same inputs, other labels."""
    model = onnx.load(IRIS)
    (tensor,) = [t for t in model.graph.initializer if t.name == "class_labels"]
    del tensor.string_data[:]
    tensor.string_data.extend(label.encode() for label in labels)
    return model.SerializeToString()


@pytest.fixture()
def repository(tmp_path) -> pathlib.Path:
    repo = tmp_path / "models"
    shutil.copytree(ROOT / "models" / "iris", repo / "iris")
    return repo


def label(client, name: str) -> str:
    inputs = []
    for feature, value in zip(FEATURES, SETOSA):
        tensor = httpclient.InferInput(feature, [1, 1], "FP32")
        tensor.set_data_from_numpy(np.array([[value]], dtype=np.float32))
        inputs.append(tensor)
    outputs = [httpclient.InferRequestedOutput("label")]
    result = client.infer(name, inputs, outputs=outputs)
    (value,) = result.as_numpy("label")
    return value.decode() if isinstance(value, bytes) else str(value)


def test_tritonclient_loads_reloads_and_unloads_an_uploaded_model(repository):
    config = json.dumps({"allow_non_finite": False})
    with running_server(repository, env={"ADMIN_TOKEN": TOKEN}) as url:
        with httpclient.InferenceServerClient(url.removeprefix("http://")) as client:
            assert "model_repository" in client.get_server_metadata()["extensions"]
            client.load_model("flowers", headers=AUTH, config=config,
                              files={"file:1/model.onnx": IRIS.read_bytes()})
            assert client.is_model_ready("flowers")
            assert label(client, "flowers") == "setosa"

            client.load_model("flowers", headers=AUTH, config=config,
                              files={"file:2/model.onnx": iris_with_labels(["A", "B", "C"])})
            assert label(client, "flowers") == "A"
            assert client.get_model_metadata("flowers")["versions"] == ["2"]

            client.unload_model("flowers", headers=AUTH)
            with pytest.raises(InferenceServerException):
                label(client, "flowers")
            index = client.get_model_repository_index(headers=AUTH)
            states = {(row["name"], row["version"]): row["state"] for row in index}
            assert states[("flowers", "2")] == "UNAVAILABLE"
            assert states[("iris", "1")] == "READY"

            with pytest.raises(InferenceServerException, match="401|Authorization"):
                client.get_model_repository_index()


def server_pid(url: str) -> int:
    """The pid of the release server listening on `url`'s port (started by this test)."""
    port = url.rsplit(":", 1)[1]
    for proc in pathlib.Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if args and args[0] == str(SERVER).encode() and port.encode() in args:
            return int(proc.name)
    raise AssertionError(f"no server process on port {port}")


def rss_kib(pid: int) -> int:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def cycle(url: str) -> None:
    """Load iris from disk, run one inference on it, unload it."""
    for call in ("load", "unload"):
        response = requests.post(f"{url}/v2/repository/models/iris/{call}", headers=AUTH, timeout=60)
        assert response.status_code == 200, response.text
        if call == "load":
            record = dict(zip(FEATURES, SETOSA))
            answer = requests.post(f"{url}/predict/iris", json=record, timeout=30)
            assert answer.status_code == 200, answer.text


WARM_UP = 50
CYCLES = 200
ALLOWED_GROWTH_KIB = 5 * 1024


def test_two_hundred_load_unload_cycles_do_not_grow_memory(repository):
    with running_server(repository, env={"ADMIN_TOKEN": TOKEN}) as url:
        pid = server_pid(url)
        start = rss_kib(pid)
        for _ in range(WARM_UP):
            cycle(url)
        warm = rss_kib(pid)
        for _ in range(CYCLES):
            cycle(url)
        end = rss_kib(pid)
    print(f"\nRSS: {start / 1024:.1f} MiB at start, {warm / 1024:.1f} MiB after {WARM_UP} warm-up "
          f"cycles, {end / 1024:.1f} MiB after {CYCLES} more load/infer/unload cycles "
          f"(growth {(end - warm) / 1024:+.2f} MiB)")
    assert end - warm < ALLOWED_GROWTH_KIB
