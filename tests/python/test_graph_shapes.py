"""Graphs produced elsewhere whose shapes are not the plain `[N, features] -> [N, ...]`: outputs
sized by the data, scalars and constants, fixed shapes, inputs that do not share the batch,
half-precision and string inputs. Each is written with onnx.helper, served by a real server,
and checked against what the graph computes."""
import concurrent.futures
import json
import pathlib
import re
import shutil
import subprocess
import time

import numpy as np
import pytest
import requests
import tritonclient.http as triton
from conftest import ROOT, SERVER, running_server
from onnx import TensorProto, helper, numpy_helper

TIMEOUT = 30
F32, F16, I64, STR = TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.INT64, TensorProto.STRING
I32 = TensorProto.INT32
# Weights of the convolution below: 4 filters of 3 x 3 over 3 channels, fixed so answers can be checked.
CONV_W = np.arange(4 * 3 * 3 * 3, dtype=np.float32).reshape(4, 3, 3, 3) / 100


def model(nodes, inputs, outputs, initializers=()):
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(*i) for i in inputs],
        [helper.make_tensor_value_info(*o) for o in outputs],
        initializer=list(initializers),
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)


def save(repository: pathlib.Path, name: str, onnx_model) -> None:
    folder = repository / name / "1"
    folder.mkdir(parents=True)
    (folder / "model.onnx").write_bytes(onnx_model.SerializeToString())


GRAPHS = {
    # The distinct values of the request: an output whose size comes from the data.
    "unique": model(
        [
            helper.make_node("Reshape", ["x", "flat_shape"], ["flat"]),
            helper.make_node("Unique", ["flat"], ["y"]),
        ],
        [("x", F32, ["N", 2])],
        [("y", F32, ["K"])],
        [helper.make_tensor("flat_shape", I64, [1], [-1])],
    ),
    "fixed2": model([helper.make_node("Identity", ["x"], ["y"])], [("x", F32, [2, 4])], [("y", F32, [2, 4])]),
    "vector3": model([helper.make_node("Identity", ["x"], ["y"])], [("x", F32, [3])], [("y", F32, [3])]),
    "half": model([helper.make_node("Identity", ["x"], ["y"])], [("x", F16, ["N", 2])], [("y", F16, ["N", 2])]),
    # One output per row, one for the whole request, one constant.
    "whole": model(
        [
            helper.make_node("Identity", ["x"], ["y"]),
            helper.make_node("ReduceSum", ["x"], ["total"], keepdims=0),
            helper.make_node("Constant", [], ["c"], value=helper.make_tensor("cv", I64, [3], [1, 2, 3])),
        ],
        [("x", F32, ["N", 1])],
        [("y", F32, ["N", 1]), ("total", F32, []), ("c", I64, [3])],
    ),
    # A weight vector beside the rows.
    "weighted": model(
        [helper.make_node("Mul", ["x", "w"], ["y"])],
        [("x", F32, ["N", 2]), ("w", F32, [2])],
        [("y", F32, ["N", 2])],
    ),
    "add": model(
        [helper.make_node("Add", ["a", "b"], ["y"])],
        [("a", F32, ["N", "W"]), ("b", F32, ["M", "V"])],
        [("y", F32, ["N", "W"])],
    ),
    "text": model([helper.make_node("Identity", ["s"], ["t"])], [("s", STR, ["N", 1])], [("t", STR, ["N", 1])]),
    # An image model exported with dynamic height and width and an unpadded 3 x 3 convolution:
    # images of 1 x 1 pixel, as a warm-up of zeros in dimensions of 1 would make, do not run.
    "conv": model(
        [
            helper.make_node("Conv", ["image", "w"], ["c"], kernel_shape=[3, 3]),
            helper.make_node("GlobalAveragePool", ["c"], ["g"]),
            helper.make_node("Flatten", ["g"], ["y"]),
        ],
        [("image", F32, ["N", 3, "H", "W"])],
        [("y", F32, ["N", 4])],
        [numpy_helper.from_array(CONV_W, "w")],
    ),
    # Integer division by an input: zeros divide by zero, which the runtime refuses.
    "ratio": model([helper.make_node("Div", ["a", "b"], ["q"])], [("a", I32, ["N", 1]), ("b", I32, ["N", 1])], [("q", I32, ["N", 1])]),
    # Inputs declared without a shape take any: one that runs as a scalar, and one whose matrix
    # product needs an inner dimension of 2, which no synthetic input guesses.
    "anyrank": model([helper.make_node("Relu", ["x"], ["y"])], [("x", F32, None)], [("y", F32, None)]),
    "anyrank_product": model(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        [("x", F32, None)],
        [("y", F32, None)],
        [numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3), "w")],
    ),
    # Features left dynamic at export ([N, K]) while the weights need K = 2: the warm-up reads
    # the size from the weights; with weights computed in the graph it cannot, and the graph is
    # served unwarmed.
    "dynamic_width_computed": model(
        [
            helper.make_node("Constant", [], ["w"], value=numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3))),
            helper.make_node("MatMul", ["x", "w"], ["y"]),
        ],
        [("x", F32, ["N", "K"])],
        [("y", F32, ["N", 3])],
    ),
    "dynamic_width": model(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        [("x", F32, ["N", "K"])],
        [("y", F32, ["N", 3])],
        [numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3), "w")],
    ),
    # No inputs at all: the same answer for every request.
    "constant": model(
        [helper.make_node("Constant", [], ["c"], value=helper.make_tensor("cv", I64, [3], [1, 2, 3]))],
        [],
        [("c", I64, [3])],
    ),
}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    repo = tmp_path_factory.mktemp("shapes") / "models"
    shutil.copytree(ROOT / "models" / "housing", repo / "housing")
    for name, graph in GRAPHS.items():
        save(repo, name, graph)
    audit = repo.parent / "audit.db"
    with running_server(repo, "--audit-db", str(audit)) as url:
        yield url, audit


def infer(url: str, name: str, inputs: list[dict]) -> requests.Response:
    return requests.post(f"{url}/v2/models/{name}/infer", json={"inputs": inputs}, timeout=TIMEOUT)


def fp32(name: str, values) -> dict:
    a = np.asarray(values, dtype=np.float32)
    return {"name": name, "shape": list(a.shape), "datatype": "FP32", "data": a.ravel().tolist()}


def test_an_output_sized_by_the_data_never_hands_one_clients_rows_to_another(served):
    url, _ = served
    both = infer(url, "unique", [fp32("x", [[2, 2], [1, 1]])])
    assert both.status_code == 200, both.text
    assert both.json()["outputs"][0]["data"] == [1.0, 2.0]

    def one(k: int) -> tuple[int, list]:
        answer = infer(url, "unique", [fp32("x", [[k, k]])])
        return k, answer.json()["outputs"][0]["data"] if answer.status_code == 200 else answer.text

    # Concurrent single rows: a graph that batched them would split one `y` of as many values
    # as requests among them, each then getting some other request's value.
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(one, range(400), timeout=120))
    wrong = [(k, y) for k, y in answers if y != [float(k)]]
    assert not wrong, wrong[:10]


def test_a_fixed_shape_is_the_shape_the_graph_takes(served):
    url, _ = served
    rows = np.arange(8, dtype=np.float32).reshape(2, 4)
    assert infer(url, "fixed2", [fp32("x", rows)]).json()["outputs"][0]["data"] == rows.ravel().tolist()
    for bad in (np.zeros((3, 4)), np.zeros((4, 4)), np.zeros((1, 4))):
        answer = infer(url, "fixed2", [fp32("x", bad)])
        assert answer.status_code == 400, answer.text
        assert "dimension 0" in answer.json()["error"]
    assert infer(url, "vector3", [fp32("x", [1, 2, 3])]).status_code == 200
    answer = infer(url, "vector3", [fp32("x", [1, 2, 3, 4, 5, 6])])
    assert answer.status_code == 400, answer.text


def test_outputs_that_are_not_per_row_are_answered_whole(served):
    url, audit = served
    answer = infer(url, "whole", [fp32("x", [[1], [2], [4]])])
    assert answer.status_code == 200, answer.text
    outputs = {o["name"]: o for o in answer.json()["outputs"]}
    assert outputs["total"]["shape"] == [] and outputs["total"]["data"] == [7.0]
    assert outputs["c"]["data"] == [1, 2, 3]

    records = [{"x": [1.0]}, {"x": [2.0]}, {"x": [4.0]}]
    answer = requests.post(f"{url}/predict/whole", json=records, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    for record in answer.json():
        assert record["outputs"]["c"] == [1, 2, 3], record
        assert record["outputs"]["total"] == 7.0, record
    single = requests.post(f"{url}/predict/whole", json={"x": [5.0]}, timeout=TIMEOUT).json()
    assert single["outputs"]["c"] == [1, 2, 3], single

    v1 = requests.post(f"{url}/v1/models/whole:predict", json={"instances": records}, timeout=TIMEOUT).json()
    assert [p["c"] for p in v1["predictions"]] == [[1, 2, 3]] * 3, v1
    columns = requests.post(f"{url}/v1/models/whole:predict", json={"inputs": {"x": [[1.0], [2.0]]}}, timeout=TIMEOUT)
    assert columns.json()["outputs"]["c"] == [1, 2, 3], columns.text
    assert columns.json()["outputs"]["y"] == [1.0, 2.0], columns.text

    # The trail: each record of the V2 request with the whole of `total` and `c`.
    rows = wait_for_rows(audit, "whole", 3 + 3 + 1 + 3 + 2)
    v2_rows = [r for r in rows if r["route"].startswith("/v2/")]
    assert [r["outputs"]["total"] for r in v2_rows] == [7.0] * 3, v2_rows
    assert [r["outputs"]["c"] for r in v2_rows] == [[1, 2, 3]] * 3, v2_rows


def test_a_graph_without_inputs_answers_every_record(served):
    url, _ = served
    v2 = infer(url, "constant", [])
    assert v2.status_code == 200, v2.text
    assert v2.json()["outputs"][0]["data"] == [1, 2, 3]
    records = requests.post(f"{url}/predict/constant", json=[{}, {}], timeout=TIMEOUT)
    assert [r["prediction"] for r in records.json()] == [[1, 2, 3]] * 2, records.text
    v1 = requests.post(f"{url}/v1/models/constant:predict", json={"instances": [{}, {}]}, timeout=TIMEOUT)
    assert v1.status_code == 200, v1.text
    assert v1.json()["predictions"] == [[1, 2, 3]] * 2, v1.text
    columns = requests.post(f"{url}/v1/models/constant:predict", json={"inputs": {}}, timeout=TIMEOUT)
    assert columns.json()["outputs"] == [1, 2, 3], columns.text
    none = requests.post(f"{url}/v1/models/constant:predict", json={"instances": []}, timeout=TIMEOUT)
    assert none.json()["predictions"] == [], none.text
    mlflow = requests.post(
        f"{url}/v1/models/constant/invocations", json={"dataframe_records": [{}, {}, {}]}, timeout=TIMEOUT
    )
    assert mlflow.status_code == 200, mlflow.text
    assert mlflow.json()["predictions"] == [[1, 2, 3]] * 3, mlflow.text


def wait_for_rows(audit: pathlib.Path, model_name: str, count: int) -> list[dict]:
    deadline = time.monotonic() + 20
    while True:
        out = subprocess.run(
            [str(SERVER), "audit", "--db", str(audit), "--model", model_name, "--limit", "1000"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        rows = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def test_an_input_that_does_not_hold_the_rows_is_taken_when_the_graph_does_not_batch(served):
    url, _ = served
    x = np.array([[1, 2], [3, 4], [5, 6]], dtype=np.float32)
    answer = infer(url, "weighted", [fp32("x", x), fp32("w", [10, 100])])
    assert answer.status_code == 200, answer.text
    assert answer.json()["outputs"][0]["data"] == (x * [10, 100]).ravel().tolist()


def test_half_precision_nan_and_infinity_are_refused_like_fp32(served):
    url, _ = served
    client = triton.InferenceServerClient(url.removeprefix("http://"))
    ok = triton.InferInput("x", [1, 2], "FP16")
    ok.set_data_from_numpy(np.array([[1.5, -2.0]], dtype=np.float16), binary_data=True)
    assert client.infer("half", [ok]).as_numpy("y").tolist() == [[1.5, -2.0]]
    bad = triton.InferInput("x", [1, 2], "FP16")
    bad.set_data_from_numpy(np.array([[np.nan, np.inf]], dtype=np.float16), binary_data=True)
    with pytest.raises(triton.InferenceServerException) as refused:
        client.infer("half", [bad])
    assert refused.value.status() == "422" and "NaN or infinite" in refused.value.message()


def test_a_string_holding_nul_is_refused_as_input_not_failed_as_a_server_error(served):
    url, _ = served
    text = {"name": "s", "shape": [2, 1], "datatype": "BYTES", "data": ["ok", "y\u0000"]}
    answer = infer(url, "text", [text])
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "bad_request" and "NUL" in answer.json()["error"]
    client = triton.InferenceServerClient(url.removeprefix("http://"))
    binary = triton.InferInput("s", [1, 1], "BYTES")
    binary.set_data_from_numpy(np.array([[b"a\x00b"]], dtype=np.object_), binary_data=True)
    with pytest.raises(triton.InferenceServerException) as refused:
        client.infer("text", [binary])
    assert refused.value.status() == "400"

    expected = json.loads((ROOT / "models" / "housing" / "expected_predictions.json").read_text())
    record = expected["records"][0]["features"]
    record["centralAir"] += "\u0000"
    answer = requests.post(f"{url}/predict/housing", json=record, timeout=TIMEOUT)
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "invalid_input" and "NUL" in answer.json()["error"]
    metrics = requests.get(f"{url}/metrics", timeout=TIMEOUT).text
    assert not re.search(r'http_requests_total\{[^}]*status="5xx"', metrics)


def test_errors_from_the_router_itself_are_in_the_api_shape(served):
    url, _ = served
    for path in ("/predict/%ff", "/v1/models/%ff", "/v1/models/iris/versions/%ff:predict"):
        method = requests.get if path == "/v1/models/%ff" else requests.post
        answer = method(f"{url}{path}", json={}, timeout=TIMEOUT)
        assert answer.status_code == 400, (path, answer.text)
        assert answer.headers["content-type"].startswith("application/json"), path
        assert answer.json()["code"] == "bad_request" and answer.json()["error"], path
    brotli = requests.post(
        f"{url}/v2/models/weighted/infer",
        data=b"\x0b\x01\x80{}\x03",
        headers={"Content-Type": "application/json", "Content-Encoding": "br"},
        timeout=TIMEOUT,
    )
    assert brotli.status_code == 415, brotli.text
    assert brotli.json()["code"] == "unsupported_media_type" and "br" in brotli.json()["error"]
    broken = requests.post(
        f"{url}/predict/housing", data=b"\x1f\x8b\x08\x00", headers={"Content-Encoding": "gzip"}, timeout=TIMEOUT
    )
    assert broken.status_code == 400 and "decompress" in broken.json()["error"], broken.text


def test_compressed_requests_are_decoded_as_tritonclient_sends_them(served):
    url, _ = served
    client = triton.InferenceServerClient(url.removeprefix("http://"))
    x = np.array([[1, 2], [3, 4]], dtype=np.float32)
    for algorithm in ("gzip", "deflate"):
        for binary in (True, False):
            inputs = [triton.InferInput("x", [2, 2], "FP32"), triton.InferInput("w", [2], "FP32")]
            inputs[0].set_data_from_numpy(x, binary_data=binary)
            inputs[1].set_data_from_numpy(np.array([2, 3], dtype=np.float32), binary_data=binary)
            result = client.infer("weighted", inputs, request_compression_algorithm=algorithm)
            assert result.as_numpy("y").tolist() == (x * [2, 3]).tolist(), (algorithm, binary)


def test_inputs_a_node_cannot_take_are_refused_with_the_runtimes_reason(served):
    url, _ = served
    answer = infer(url, "add", [fp32("a", [[1, 2]]), fp32("b", [[1, 2, 3]])])
    assert answer.status_code == 400, answer.text
    assert "broadcast" in answer.json()["error"]
    assert infer(url, "add", [fp32("a", [[1, 2]]), fp32("b", [[3, 4]])]).json()["outputs"][0]["data"] == [4, 6]


def test_inputs_of_different_lengths_are_refused_where_every_input_holds_the_rows(served):
    url, _ = served
    metadata = requests.get(f"{url}/v2/models/housing", timeout=TIMEOUT).json()
    inputs = []
    for i, spec in enumerate(metadata["inputs"]):
        rows = 2 if i == 0 else 1
        value = "No" if spec["datatype"] == "BYTES" else 1.0
        inputs.append({"name": spec["name"], "shape": [rows, 1], "datatype": spec["datatype"], "data": [value] * rows})
    answer = infer(url, "housing", inputs)
    assert answer.status_code == 400, answer.text
    assert "rows" in answer.json()["error"]


def test_graphs_that_do_not_run_on_zeros_of_one_pixel_still_load(served):
    url, _ = served
    images = np.arange(2 * 3 * 8 * 8, dtype=np.float32).reshape(2, 3, 8, 8) / 64
    answer = infer(url, "conv", [fp32("image", images)])
    assert answer.status_code == 200, answer.text
    # Each filter's response at every 6 x 6 position, averaged.
    windows = np.lib.stride_tricks.sliding_window_view(images, (3, 3), axis=(2, 3))
    expected = np.einsum("nchwij,fcij->nf", windows, CONV_W) / 36
    got = np.asarray(answer.json()["outputs"][0]["data"]).reshape(2, 4)
    assert np.allclose(got, expected, rtol=1e-4)
    ints = lambda name, values: {"name": name, "shape": [len(values), 1], "datatype": "INT32", "data": values}
    answer = infer(url, "ratio", [ints("a", [7, -9]), ints("b", [2, 3])])
    assert answer.status_code == 200, answer.text
    assert answer.json()["outputs"][0]["data"] == [3, -3]


def test_the_configuration_of_a_graph_that_does_not_batch_gives_whole_shapes(served):
    url, _ = served
    config = requests.get(f"{url}/v2/models/whole/config", timeout=TIMEOUT).json()
    assert config["max_batch_size"] == 0
    dims = {o["name"]: o["dims"] for o in config["output"]}
    assert dims == {"y": [-1, 1], "total": [], "c": [3]}
    fixed = requests.get(f"{url}/v2/models/fixed2/config", timeout=TIMEOUT).json()
    assert (fixed["max_batch_size"], fixed["input"][0]["dims"]) == (0, [2, 4])


def test_a_graph_without_a_batch_dimension_points_record_clients_to_v2(served):
    url, _ = served
    answer = requests.post(f"{url}/predict/vector3", json={"x": [1, 2, 3]}, timeout=TIMEOUT)
    assert answer.status_code == 422, answer.text
    assert "[3]" in answer.json()["error"] and "KServe V2" in answer.json()["error"]


def test_an_input_declared_without_a_shape_takes_any_rank(served):
    url, _ = served
    for values in ([[1, -2], [3, -4]], -1.5, [[[1, -1]], [[-2, 2]]]):
        answer = infer(url, "anyrank", [fp32("x", values)])
        assert answer.status_code == 200, answer.text
        output = answer.json()["outputs"][0]
        assert output["shape"] == list(np.shape(values))
        assert output["data"] == np.maximum(np.ravel(values), 0).tolist()
    x = np.array([[1, 2], [3, 4], [5, 6]], dtype=np.float32)
    answer = infer(url, "anyrank_product", [fp32("x", x)])
    assert answer.status_code == 200, answer.text
    expected = x @ np.arange(6, dtype=np.float32).reshape(2, 3)
    assert answer.json()["outputs"][0]["data"] == expected.ravel().tolist()
    # A shape the product cannot take is the client's to fix: 400 with the runtime's reason.
    answer = infer(url, "anyrank_product", [fp32("x", [[1, 2, 3]])])
    assert answer.status_code == 400, answer.text
    # The record routes stack the records' values, at the rank they come in; nothing says the
    # output holds one row per record, so each record is answered the whole output.
    answer = requests.post(f"{url}/predict/anyrank", json=[{"x": [1, -2]}, {"x": [-3, 4]}], timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    assert [a["prediction"] for a in answer.json()] == [[[1, 0], [0, 4]]] * 2


def test_a_zero_in_the_shape_of_a_graph_that_does_not_batch_is_run_not_refused(served):
    url, _ = served
    answer = infer(url, "unique", [fp32("x", np.zeros((0, 2)))])
    assert answer.status_code == 200, answer.text
    assert answer.json()["outputs"][0]["shape"] == [0]


def test_dynamic_widths_are_sized_from_the_weights_or_left_to_the_requests(served):
    url, audit = served
    x = np.array([[1, 2], [3, 4]], dtype=np.float32)
    expected = x @ np.arange(6, dtype=np.float32).reshape(2, 3)
    for name in ("dynamic_width", "dynamic_width_computed"):
        answer = infer(url, name, [fp32("x", x)])
        assert answer.status_code == 200, answer.text
        assert answer.json()["outputs"][0]["data"] == expected.ravel().tolist()
        answer = infer(url, name, [fp32("x", [[1, 2, 3]])])
        assert answer.status_code == 400, answer.text
        assert "MatMul" in answer.json()["error"]
    # Only the graph whose weights the warm-up cannot read was served without one.
    log = "".join(p.read_text() for p in audit.parent.glob("server-*.log"))
    unwarmed = [line for line in log.splitlines() if "served without a warm-up" in line]
    assert len(unwarmed) == 1 and "dynamic_width_computed" in unwarmed[0], unwarmed
    # …and model info says so, for that version only.
    info = requests.get(f"{url}/models/info", timeout=TIMEOUT).json()
    noted = sorted(
        model["name"]
        for model in info["models"]
        for version in model["versions"]
        if any("without a warm-up" in note for note in version.get("notes", []))
    )
    assert noted == ["dynamic_width_computed"], noted


def test_tf_serving_bytes_objects_are_bare_values_for_a_model_of_one_input(served):
    url, _ = served
    hello = "aGVsbG8="  # base64 of "hello"
    for body in ({"instances": [{"b64": hello}, "world"]}, {"inputs": {"b64": hello}}):
        answer = requests.post(f"{url}/v1/models/text:predict", json=body, timeout=TIMEOUT)
        assert answer.status_code == 200, answer.text
        values = answer.json().get("predictions") or answer.json().get("outputs")
        assert json.dumps(values).count("hello") == 1, values


def test_tf_serving_metadata_says_an_input_without_a_shape_has_an_unknown_rank(served):
    url, _ = served
    meta = requests.get(f"{url}/v1/models/anyrank/metadata", timeout=TIMEOUT).json()
    x = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]["inputs"]["x"]
    assert x["tensor_shape"] == {"dim": [], "unknown_rank": True}
