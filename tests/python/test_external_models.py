"""Models produced elsewhere are served as they are: scikit-learn estimators exported by skl2onnx
with its default options (so classifiers carry a ZipMap output), with no metadata.json, answer
through the TF-Serving V1, KServe V2, MLflow and record APIs the same as scikit-learn itself."""
import pathlib

import numpy as np
import pytest
import requests
from conftest import running_server
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType, Int64TensorType, StringTensorType
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

TIMEOUT = 30


def iris_pipeline() -> Pipeline:
    X, y = load_iris(return_X_y=True)
    return Pipeline([("scale", StandardScaler()), ("classify", LogisticRegression(max_iter=1000))]).fit(X, y)


def save(repository: pathlib.Path, name: str, onnx_model) -> None:
    """Writes `<repository>/<name>/1/model.onnx`, with no metadata.json beside it."""
    folder = repository / name / "1"
    folder.mkdir(parents=True)
    (folder / "model.onnx").write_bytes(onnx_model.SerializeToString())


def mixed_data():
    """Two columns, a colour (string) and a size (number), and a target that depends on both."""
    rng = np.random.default_rng(7)
    colour = rng.choice(["red", "green", "blue"], 80)
    size = rng.uniform(0.0, 10.0, 80).astype(np.float32)
    X = np.empty((80, 2), dtype=object)
    X[:, 0], X[:, 1] = colour, size
    y = 2.0 * size + 5.0 * (colour == "red") - 3.0 * (colour == "blue")
    return X, y


@pytest.fixture(scope="module")
def models():
    """The scikit-learn estimators the served graphs were exported from."""
    X, y = load_diabetes(return_X_y=True)
    rng = np.random.default_rng(3)
    Xi = rng.integers(0, 50, size=(40, 3))
    return {
        "iris": iris_pipeline(),
        "double": LinearRegression().fit(X, y),
        "int64": LinearRegression().fit(Xi, Xi @ np.array([1.5, -2.0, 0.25]) + 4.0),
        "sk_mixed": mixed_pipeline(OneHotEncoder()),
        "sk_mixed_lenient": mixed_pipeline(OneHotEncoder(handle_unknown="ignore")),
    }


def mixed_pipeline(encoder: OneHotEncoder) -> Pipeline:
    """One-hot colour plus scaled size into a linear regression."""
    columns = ColumnTransformer([("onehot", encoder, [0]), ("scale", StandardScaler(), [1])])
    return Pipeline([("columns", columns), ("regress", LinearRegression())]).fit(*mixed_data())


@pytest.fixture(scope="module")
def server(tmp_path_factory, models) -> str:
    repository = tmp_path_factory.mktemp("external") / "models"
    iris_graph = convert_sklearn(models["iris"], initial_types=[("input", FloatTensorType([None, 4]))])
    save(repository, "sk_iris", iris_graph)
    fixed = convert_sklearn(models["iris"], initial_types=[("input", FloatTensorType([1, 4]))])
    save(repository, "sk_iris_batch1", fixed)
    double = convert_sklearn(models["double"], initial_types=[("features", DoubleTensorType([None, 10]))])
    save(repository, "sk_double", double)
    int64 = convert_sklearn(models["int64"], initial_types=[("counts", Int64TensorType([None, 3]))])
    save(repository, "sk_int64", int64)
    for name in ("sk_mixed", "sk_mixed_lenient"):
        two_inputs = [("colour", StringTensorType([None, 1])), ("size", FloatTensorType([None, 1]))]
        save(repository, name, convert_sklearn(models[name], initial_types=two_inputs))
    with running_server(repository) as url:
        yield url


def post(url: str, body) -> dict:
    response = requests.post(url, json=body, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()


def iris_rows() -> np.ndarray:
    return load_iris(return_X_y=True)[0]


def assert_iris_answers(models, rows: np.ndarray, labels, probabilities) -> None:
    """`labels` are class indices, `probabilities` an [N, 3] table in class order."""
    np.testing.assert_array_equal(np.asarray(labels), models["iris"].predict(rows))
    np.testing.assert_allclose(np.asarray(probabilities), models["iris"].predict_proba(rows), atol=1e-5)


def zipmap_table(rows_of_maps) -> list:
    """ZipMap rows `{"0": p, "1": p, "2": p}` as lists in class order."""
    for m in rows_of_maps:
        assert list(m) == ["0", "1", "2"], m
    return [[m[c] for c in ("0", "1", "2")] for m in rows_of_maps]


def test_sklearn_pipeline_over_v1_rows_and_columns(server, models):
    rows = iris_rows()
    answer = post(f"{server}/v1/models/sk_iris:predict", {"instances": rows.tolist()})
    predictions = answer["predictions"]
    assert len(predictions) == len(rows)
    assert set(predictions[0]) == {"output_label", "output_probability"}
    assert_iris_answers(
        models,
        rows,
        [p["output_label"] for p in predictions],
        zipmap_table([p["output_probability"] for p in predictions]),
    )
    # Column format: the single input's values, by name or as a bare list.
    for inputs in ({"input": rows.tolist()}, rows.tolist()):
        outputs = post(f"{server}/v1/models/sk_iris:predict", {"inputs": inputs})["outputs"]
        assert_iris_answers(models, rows, outputs["output_label"], zipmap_table(outputs["output_probability"]))
    status = requests.get(f"{server}/v1/models/sk_iris", timeout=TIMEOUT).json()
    assert status["model_version_status"][0]["state"] == "AVAILABLE"


def test_sklearn_pipeline_over_the_record_route(server, models):
    rows = iris_rows()[::10]
    answers = post(f"{server}/predict/sk_iris", rows.tolist())
    assert len(answers) == len(rows)
    assert_iris_answers(
        models,
        rows,
        [a["prediction"] for a in answers],
        zipmap_table([a["probabilities"] for a in answers]),
    )
    assert {a["model"] for a in answers} == {"sk_iris"}


def test_sklearn_pipeline_over_mlflow(server, models):
    rows = iris_rows()[::7]
    for body in ({"dataframe_split": {"data": rows.tolist()}}, {"instances": rows.tolist()}):
        predictions = post(f"{server}/v1/models/sk_iris/invocations", body)["predictions"]
        assert_iris_answers(
            models,
            rows,
            [p["output_label"] for p in predictions],
            zipmap_table([p["output_probability"] for p in predictions]),
        )


def test_sklearn_pipeline_over_v2(server, models):
    rows = iris_rows()
    metadata = requests.get(f"{server}/v2/models/sk_iris", timeout=TIMEOUT)
    assert metadata.status_code == 200, metadata.text
    described = {o["name"]: o for o in metadata.json()["outputs"]}
    assert described["output_label"]["datatype"] == "INT64"
    assert described["output_probability"]["datatype"] == "FP32"
    assert described["output_probability"]["shape"] == [-1, 3]
    body = {
        "id": "sk-1",
        "inputs": [{"name": "input", "shape": list(rows.shape), "datatype": "FP32", "data": rows.ravel().tolist()}],
    }
    answer = post(f"{server}/v2/models/sk_iris/infer", body)
    assert answer["model_name"] == "sk_iris"
    assert answer["id"] == "sk-1"
    outputs = {o["name"]: o for o in answer["outputs"]}
    label, table = outputs["output_label"], outputs["output_probability"]
    assert label["datatype"] == "INT64" and label["shape"] == [len(rows)]
    assert table["datatype"] == "FP32" and table["shape"] == [len(rows), 3]
    assert_iris_answers(models, rows, label["data"], np.asarray(table["data"]).reshape(len(rows), 3))
    # Asking for the table alone gives it alone.
    body["outputs"] = [{"name": "output_probability"}]
    answer = post(f"{server}/v2/models/sk_iris/infer", body)
    assert [o["name"] for o in answer["outputs"]] == ["output_probability"]


def test_a_double_input_regressor(server, models):
    X, _ = load_diabetes(return_X_y=True)
    rows = X[:25]
    expected = models["double"].predict(rows)
    by_row = post(f"{server}/v1/models/sk_double:predict", {"instances": rows.tolist()})["predictions"]
    np.testing.assert_allclose(np.asarray(by_row, dtype=float), expected, rtol=1e-9)
    by_column = post(f"{server}/v1/models/sk_double:predict", {"inputs": {"features": rows.tolist()}})["outputs"]
    np.testing.assert_allclose(np.asarray(by_column, dtype=float), expected, rtol=1e-9)


def test_an_int64_input_model(server, models):
    rows = np.array([[1, 2, 3], [10, 0, 40], [0, 0, 0], [49, 49, 49]])
    expected = models["int64"].predict(rows)
    predictions = post(f"{server}/v1/models/sk_int64:predict", {"instances": rows.tolist()})["predictions"]
    np.testing.assert_allclose(np.asarray(predictions, dtype=float), expected, rtol=1e-5, atol=1e-4)
    # A fractional value for an integer input is the client's error, naming the input.
    response = requests.post(
        f"{server}/v1/models/sk_int64:predict", json={"instances": [[1.5, 2, 3]]}, timeout=TIMEOUT
    )
    assert response.status_code == 422, response.text
    assert "counts" in response.json()["error"]


def test_a_graph_with_a_fixed_batch_of_one_serves_a_batch_of_five(server, models):
    rows = iris_rows()[[0, 40, 60, 110, 149]]
    predictions = post(f"{server}/v1/models/sk_iris_batch1:predict", {"instances": rows.tolist()})["predictions"]
    assert len(predictions) == 5
    assert_iris_answers(
        models,
        rows,
        [p["output_label"] for p in predictions],
        zipmap_table([p["output_probability"] for p in predictions]),
    )
    answers = post(f"{server}/predict/sk_iris_batch1", rows.tolist())
    assert [a["prediction"] for a in answers] == models["iris"].predict(rows).tolist()


# scikit-learn's default encoder refuses categories it did not see in training, and so does
# its ONNX graph; the lenient one encodes them as all zeros.
@pytest.mark.parametrize("name", ["sk_mixed", "sk_mixed_lenient"])
def test_a_string_and_a_numeric_input(server, models, name):
    X, _ = mixed_data()
    rows = X[:12]
    expected = models[name].predict(rows)
    colours, sizes = rows[:, 0].tolist(), [float(s) for s in rows[:, 1]]
    by_column = post(f"{server}/v1/models/{name}:predict", {"inputs": {"colour": colours, "size": sizes}})
    np.testing.assert_allclose(np.asarray(by_column["outputs"], dtype=float), expected, rtol=1e-4, atol=1e-4)
    records = [{"colour": c, "size": s} for c, s in zip(colours, sizes)]
    by_row = post(f"{server}/v1/models/{name}:predict", {"instances": records})
    np.testing.assert_allclose(np.asarray(by_row["predictions"], dtype=float), expected, rtol=1e-4, atol=1e-4)
    split = {"dataframe_split": {"columns": ["colour", "size"], "data": [list(r) for r in zip(colours, sizes)]}}
    by_mlflow = post(f"{server}/v1/models/{name}/invocations", split)
    np.testing.assert_allclose(np.asarray(by_mlflow["predictions"], dtype=float), expected, rtol=1e-4, atol=1e-4)
    # A number where the string column belongs is named in a 422.
    response = requests.post(
        f"{server}/v1/models/{name}:predict", json={"instances": [{"colour": 3, "size": 1.0}]}, timeout=TIMEOUT
    )
    assert response.status_code == 422, response.text
    assert "colour" in response.json()["error"]
