"""python-baseline: THE COMPARISON BASELINE of the benchmark. The shape of the Python service
prediction-api replaces: FastAPI with pydantic request models, synchronous endpoints (run on
Starlette's thread pool), a pandas DataFrame per request and scikit-learn's predict and
predict_proba, under uvicorn with one worker.

Routes: POST /predict/iris and /predict/housing (one record or an array of records), POST
/v2/models/{name}/infer (KServe V2 JSON only; Triton's binary extension is not supported),
GET /v2/health/ready and /health.

Run from the repository root after bench/python/train.py:
  .bench/venv-python/bin/python -m uvicorn --app-dir bench/python baseline:app --workers 1
"""

from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from fastapi import FastAPI, HTTPException
from schemas import FEATURES, HousingRecord, IrisRecord, V2Request

MODELS_DIR = Path(".bench/models")
MODELS = {name: joblib.load(MODELS_DIR / f"{name}.joblib") for name in ("iris", "housing")}

api = FastAPI(title="python-baseline")


def _frame(name: str, records: list) -> pd.DataFrame:
    return pd.DataFrame([record.model_dump() for record in records], columns=FEATURES[name])


@api.get("/health")
def health() -> dict:
    return {"status": "healthy", "models": sorted(MODELS)}


@api.get("/v2/health/ready")
def ready() -> dict:
    return {"ready": True}


@api.post("/predict/iris")
def predict_iris(body: IrisRecord | list[IrisRecord]):
    records = body if isinstance(body, list) else [body]
    answers = []
    if records:
        model = MODELS["iris"]
        frame = _frame("iris", records)
        labels = model.predict(frame)
        probabilities = model.predict_proba(frame)
        classes = [str(c) for c in model.classes_]
        for label, row in zip(labels, probabilities):
            answers.append(
                {
                    "model": "iris",
                    "prediction": str(label),
                    "probabilities": dict(zip(classes, (float(p) for p in row))),
                    "version": 1,
                }
            )
    return answers if isinstance(body, list) else answers[0]


@api.post("/predict/housing")
def predict_housing(body: HousingRecord | list[HousingRecord]):
    records = body if isinstance(body, list) else [body]
    answers = []
    if records:
        prices = MODELS["housing"].predict(_frame("housing", records))
        answers = [
            {"model": "housing", "prediction": round(float(p), 2), "version": 1} for p in prices
        ]
    return answers if isinstance(body, list) else answers[0]


@api.post("/v2/models/{name}/infer")
def infer(name: str, request: V2Request):
    model = MODELS.get(name)
    if model is None:
        raise HTTPException(404, f"unknown model '{name}'")
    columns = {}
    for tensor in request.inputs:
        if tensor.data is None:
            raise HTTPException(400, "binary tensor data is not supported")
        columns[tensor.name] = np.asarray(tensor.data).reshape(-1)
    try:
        frame = pd.DataFrame(columns, columns=FEATURES[name])
    except ValueError as e:
        raise HTTPException(400, str(e)) from e
    if frame.isna().any().any():
        raise HTTPException(400, "an input is missing")
    rows = len(frame)
    if name == "iris":
        labels = model.predict(frame)
        probabilities = model.predict_proba(frame)
        outputs = [
            {"name": "label", "datatype": "BYTES", "shape": [rows], "data": labels.tolist()},
            {
                "name": "probabilities",
                "datatype": "FP32",
                "shape": [rows, probabilities.shape[1]],
                "data": probabilities.ravel().tolist(),
            },
        ]
    else:
        prices = model.predict(frame)
        outputs = [
            {"name": "variable", "datatype": "FP32", "shape": [rows, 1], "data": prices.tolist()}
        ]
    answer = {"model_name": name, "model_version": "1", "outputs": outputs}
    if request.id is not None:
        answer["id"] = request.id
    return answer


async def app(scope, receive, send):
    """The ASGI entry point: the seed has no binary tensors, so a Triton binary request gets a
    clear 400 here instead of a failed JSON parse deep inside FastAPI."""
    if scope["type"] == "http" and any(
        key == b"inference-header-content-length" for key, _ in scope["headers"]
    ):
        body = b'{"error": "binary tensor data is not supported by python-baseline"}'
        await send(
            {
                "type": "http.response.start",
                "status": 400,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})
        return
    await api(scope, receive, send)
