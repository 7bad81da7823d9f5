"""The real KServe V2 client, `tritonclient.http`, against the release server: health, model
metadata and readiness, and inference for both committed models in JSON and in the client's
default binary form, checked against the trainer's expected outputs for the test split
(models/<name>/expected_predictions.json) and the record API's answers for rows of the
committed data."""
import csv
import pathlib

import numpy as np
import pytest
import requests
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

ROOT = pathlib.Path(__file__).resolve().parents[2]
ROWS = 40


def read_rows(name: str, target: str) -> list[dict]:
    """Rows of data/<name>_raw.csv without the target column, numbers as floats; every 3rd
    row, so that the iris rows span all three species."""
    with open(ROOT / "data" / f"{name}_raw.csv", newline="") as f:
        rows = list(csv.DictReader(f))[::3][:ROWS]
    return [{k: _number_or_text(v) for k, v in row.items() if k != target} for row in rows]


def _number_or_text(value: str):
    try:
        return float(value)
    except ValueError:
        return value


@pytest.fixture(scope="module")
def client(server_url):
    with httpclient.InferenceServerClient(server_url.removeprefix("http://")) as c:
        yield c


@pytest.fixture(scope="module")
def iris_rows():
    return read_rows("iris", "species")


@pytest.fixture(scope="module")
def housing_rows():
    return read_rows("housing", "price")


def record_answers(server_url: str, model: str, rows: list[dict]) -> list[dict]:
    response = requests.post(f"{server_url}/predict/{model}", json=rows, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def build_inputs(client, model: str, rows: list[dict], binary: bool) -> list:
    """One [N, 1] input per feature, typed from the model's metadata."""
    inputs = []
    for spec in client.get_model_metadata(model)["inputs"]:
        values = [row[spec["name"]] for row in rows]
        if spec["datatype"] == "BYTES":
            array = np.array([v.encode() for v in values], dtype=np.object_).reshape(-1, 1)
        else:
            array = np.array(values, dtype=np.float32).reshape(-1, 1)
        tensor = httpclient.InferInput(spec["name"], list(array.shape), spec["datatype"])
        inputs.append(tensor.set_data_from_numpy(array, binary_data=binary))
    return inputs


def infer(client, model: str, rows: list[dict], binary: bool, outputs: list[str] | None = None):
    """JSON inputs and outputs when `binary` is False; the client's defaults otherwise (binary
    inputs, and binary outputs whether listed or not)."""
    requested = None
    if outputs is not None:
        requested = [httpclient.InferRequestedOutput(n, binary_data=binary) for n in outputs]
    elif not binary:
        names = [o["name"] for o in client.get_model_metadata(model)["outputs"]]
        requested = [httpclient.InferRequestedOutput(n, binary_data=False) for n in names]
    return client.infer(model, build_inputs(client, model, rows, binary), outputs=requested)


def test_server_is_live_and_ready(client):
    assert client.is_server_live()
    assert client.is_server_ready()


def test_model_metadata(client):
    iris = client.get_model_metadata("iris")
    assert iris["name"] == "iris"
    assert iris["versions"] == ["1"]
    assert iris["platform"] == "onnxruntime_onnx"
    assert [i["name"] for i in iris["inputs"]] == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    assert all(i["datatype"] == "FP32" and i["shape"] == [-1, 1] for i in iris["inputs"])
    outputs = {o["name"]: o for o in iris["outputs"]}
    assert (outputs["label"]["datatype"], outputs["label"]["shape"]) == ("BYTES", [-1])
    assert (outputs["probabilities"]["datatype"], outputs["probabilities"]["shape"]) == ("FP32", [-1, 3])
    housing = client.get_model_metadata("housing", model_version="1")
    datatypes = [i["datatype"] for i in housing["inputs"]]
    assert (datatypes.count("FP32"), datatypes.count("BYTES")) == (9, 6)
    assert housing["outputs"] == [{"name": "variable", "datatype": "FP32", "shape": [-1, 1]}]


def test_model_configuration(client):
    config = client.get_model_config("iris")
    assert (config["name"], config["platform"], config["backend"]) == ("iris", "onnxruntime_onnx", "onnxruntime")
    # Batched: the batch dimension is implicit, as in Triton's configuration.
    assert config["max_batch_size"] > 0
    assert all(i["data_type"] == "TYPE_FP32" and i["dims"] == [1] for i in config["input"])
    outputs = {o["name"]: o for o in config["output"]}
    assert (outputs["label"]["data_type"], outputs["label"]["dims"]) == ("TYPE_STRING", [])
    assert (outputs["probabilities"]["data_type"], outputs["probabilities"]["dims"]) == ("TYPE_FP32", [3])
    assert config["instance_group"][0]["kind"] == "KIND_CPU"
    housing = client.get_model_config("housing", model_version="1")
    assert [o["dims"] for o in housing["output"]] == [[1]]
    with pytest.raises(InferenceServerException):
        client.get_model_config("nope")


def test_inference_statistics(client, iris_rows):
    before = client.get_inference_statistics("iris")["model_stats"][0]
    rows = np.array([[r[k] for k in ("sepal_length", "sepal_width", "petal_length", "petal_width")] for r in iris_rows[:5]], dtype=np.float32)
    inputs = []
    for i, name in enumerate(("sepal_length", "sepal_width", "petal_length", "petal_width")):
        tensor = httpclient.InferInput(name, [5, 1], "FP32")
        tensor.set_data_from_numpy(rows[:, i : i + 1])
        inputs.append(tensor)
    client.infer("iris", inputs)
    after = client.get_inference_statistics("iris", model_version="1")["model_stats"][0]
    assert (after["name"], after["version"]) == ("iris", "1")
    assert int(after["inference_count"]) - int(before["inference_count"]) == 5
    success = after["inference_stats"]["success"]
    assert int(success["count"]) - int(before["inference_stats"]["success"]["count"]) == 1
    everything = client.get_inference_statistics()["model_stats"]
    assert {"iris", "housing"} <= {m["name"] for m in everything}


def test_model_readiness(client):
    assert client.is_model_ready("iris")
    assert client.is_model_ready("housing", model_version="1")
    assert not client.is_model_ready("nope")
    assert not client.is_model_ready("iris", model_version="9")


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_iris_labels_and_probabilities_match_the_record_api(client, server_url, iris_rows, binary):
    result = infer(client, "iris", iris_rows, binary)
    assert result.get_response()["model_version"] == "1"
    assert ("data" in result.get_output("label")) is not binary
    # JSON BYTES come back as str, binary ones as bytes: the client decodes only the latter.
    labels = [v if isinstance(v, str) else v.decode() for v in result.as_numpy("label").reshape(-1)]
    probabilities = result.as_numpy("probabilities")
    assert probabilities.shape == (len(iris_rows), 3)
    expected = record_answers(server_url, "iris", iris_rows)
    assert labels == [a["prediction"] for a in expected]
    assert labels[0] == "setosa"  # the first row of the data is a setosa
    assert set(labels) == {"setosa", "versicolor", "virginica"}
    classes = client.get_model_metadata("iris")["outputs"][1]["parameters"]["classes"]
    table = np.array([[a["probabilities"][c] for c in classes] for a in expected])
    np.testing.assert_allclose(probabilities, table, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_housing_prices_match_the_record_api(client, server_url, housing_rows, binary):
    # The six categorical inputs are BYTES: in binary mode they travel length-prefixed.
    result = infer(client, "housing", housing_rows, binary, outputs=None if binary else ["variable"])
    prices = result.as_numpy("variable")
    assert prices.shape == (len(housing_rows), 1)
    expected = [a["prediction"] for a in record_answers(server_url, "housing", housing_rows)]
    np.testing.assert_allclose(prices.reshape(-1), expected, rtol=1e-4)


def test_requested_outputs_and_request_id(client, iris_rows):
    inputs = build_inputs(client, "iris", iris_rows[:2], binary=True)
    outputs = [httpclient.InferRequestedOutput("label", binary_data=True)]
    result = client.infer("iris", inputs, model_version="1", outputs=outputs, request_id="abc")
    response = result.get_response()
    assert response["id"] == "abc"
    assert [o["name"] for o in response["outputs"]] == ["label"]
    assert result.as_numpy("label").shape == (2,)


def test_errors_reach_the_client_with_their_status(client, iris_rows):
    inputs = build_inputs(client, "iris", iris_rows[:1], binary=True)
    with pytest.raises(InferenceServerException) as unknown:
        client.infer("nope", inputs)
    assert unknown.value.status() == "404"
    with pytest.raises(InferenceServerException) as missing:
        client.infer("iris", inputs[:3])
    assert missing.value.status() == "400"
    assert "petal_width" in missing.value.message()


def expected_predictions(name: str) -> tuple[list[dict], list]:
    """The trainer's deployment validation output: every test row with the linfa model's
    answer (models/<name>/expected_predictions.json)."""
    import json

    data = json.loads((ROOT / "models" / name / "expected_predictions.json").read_text())
    return [r["features"] for r in data["records"]], [r["expected"] for r in data["records"]]


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_answers_equal_the_trainers_expected_outputs(client, binary):
    rows, labels = expected_predictions("iris")
    result = infer(client, "iris", rows, binary)
    got = [v if isinstance(v, str) else v.decode() for v in result.as_numpy("label").reshape(-1)]
    assert got == labels
    rows, prices = expected_predictions("housing")
    result = infer(client, "housing", rows, binary, outputs=None if binary else ["variable"])
    np.testing.assert_allclose(result.as_numpy("variable").reshape(-1), prices, rtol=1e-4)


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_class_count_gives_tritons_classification_strings(client, iris_rows, binary):
    """`InferRequestedOutput(class_count=k)`: the k most probable classes of each row, as
    `value:index:label`, in the order and with the values of the probabilities themselves."""
    rows = iris_rows[:12]
    probabilities = infer(client, "iris", rows, binary, ["probabilities"]).as_numpy("probabilities")
    requested = [httpclient.InferRequestedOutput("probabilities", binary_data=binary, class_count=2)]
    result = client.infer("iris", build_inputs(client, "iris", rows, binary), outputs=requested)
    classes = result.as_numpy("probabilities")
    assert classes.shape == (len(rows), 2)
    for row, top in zip(probabilities, classes):
        order = np.argsort(-row, kind="stable")[:2]
        for rank, element in enumerate(top):
            text = element.decode() if isinstance(element, bytes) else element
            value, index, label = text.split(":")
            assert int(index) == order[rank]
            assert label == ["setosa", "versicolor", "virginica"][order[rank]]
            assert float(value) == pytest.approx(row[order[rank]], abs=1e-6)


def test_class_count_on_a_string_output_is_refused(client, iris_rows):
    requested = [httpclient.InferRequestedOutput("label", class_count=1)]
    with pytest.raises(InferenceServerException, match="label"):
        client.infer("iris", build_inputs(client, "iris", iris_rows[:1], True), outputs=requested)
