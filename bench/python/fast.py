"""python-fast: the fastest Python variant of the service this benchmark could make without
leaving FastAPI. Same routes and pydantic models as the baseline, but:

- async endpoints: no hop to the thread pool; a run of these small graphs takes less time
  than the hop would;
- ONNX Runtime on the committed models/*/1/model.onnx graphs (the very files prediction-api
  serves), one intra-op thread per process, tensors built with numpy, no pandas;
- bodies validated by pydantic straight from bytes (validate_json) and answers written by
  orjson, skipping FastAPI's dict round trips;
- Triton's binary tensor extension for V2 (FP32/FP64 inputs);
- two uvicorn worker processes, one per core.

Run from the repository root:
  .bench/venv-python/bin/python -m uvicorn --app-dir bench/python fast:app --workers 2
"""

import numpy as np
import onnxruntime as ort
import orjson
from fastapi import FastAPI, Request, Response
from pydantic import TypeAdapter, ValidationError
from schemas import (
    FEATURES,
    HOUSING_STRINGS,
    IRIS_CLASSES,
    HousingRecord,
    IrisRecord,
    V2Request,
)


def _session(name: str) -> ort.InferenceSession:
    options = ort.SessionOptions()
    # One process per core already: more threads inside a run would only contend.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(
        f"models/{name}/1/model.onnx", options, providers=["CPUExecutionProvider"]
    )


SESSIONS = {name: _session(name) for name in ("iris", "housing")}
BODIES = {
    "iris": TypeAdapter(IrisRecord | list[IrisRecord]),
    "housing": TypeAdapter(HousingRecord | list[HousingRecord]),
}
V2_BODY = TypeAdapter(V2Request)
NUMPY_TYPES = {"FP32": np.float32, "FP64": np.float64}
BINARY_HEADER = "inference-header-content-length"

app = FastAPI(title="python-fast")


def _json(value, status: int = 200) -> Response:
    return Response(orjson.dumps(value), status, media_type="application/json")


def _error(status: int, message: str) -> Response:
    return _json({"error": message}, status)


def _run(name: str, feeds: dict) -> list:
    return SESSIONS[name].run(None, feeds)


def _record_feeds(name: str, records: list) -> dict:
    count = len(records)
    feeds = {}
    for feature in FEATURES[name]:
        if feature in HOUSING_STRINGS:
            column = np.array([getattr(r, feature) for r in records], dtype=object)
        else:
            column = np.fromiter((getattr(r, feature) for r in records), np.float32, count)
        feeds[feature] = column.reshape(count, 1)
    return feeds


@app.get("/health")
async def health() -> Response:
    return _json({"status": "healthy", "models": sorted(SESSIONS)})


@app.get("/v2/health/ready")
async def ready() -> Response:
    return _json({"ready": True})


@app.post("/predict/{name}")
async def predict(name: str, request: Request) -> Response:
    if name not in SESSIONS:
        return _error(404, f"unknown model '{name}'")
    try:
        body = BODIES[name].validate_json(await request.body())
    except ValidationError as e:
        return _error(422, str(e))
    records = body if isinstance(body, list) else [body]
    answers = []
    if records:
        outputs = _run(name, _record_feeds(name, records))
        if name == "iris":
            labels, probabilities = outputs
            for label, row in zip(labels.tolist(), probabilities.tolist()):
                answers.append(
                    {
                        "model": "iris",
                        "prediction": label,
                        "probabilities": dict(zip(IRIS_CLASSES, row)),
                        "version": 1,
                    }
                )
        else:
            answers = [
                {"model": "housing", "prediction": round(price, 2), "version": 1}
                for price in outputs[0].ravel().tolist()
            ]
    return _json(answers if isinstance(body, list) else answers[0])


def _v2_feeds(name: str, call: V2Request, binary: bytes) -> dict:
    feeds = {}
    offset = 0
    for tensor in call.inputs:
        if tensor.data is not None:
            kind = object if tensor.datatype == "BYTES" else NUMPY_TYPES.get(tensor.datatype)
            if kind is None:
                raise ValueError(f"datatype {tensor.datatype} is not supported")
            array = np.asarray(tensor.data, dtype=kind)
        else:
            kind = NUMPY_TYPES.get(tensor.datatype)
            size = (tensor.parameters or {}).get("binary_data_size")
            if kind is None or not isinstance(size, int) or offset + size > len(binary):
                raise ValueError(f"input '{tensor.name}': unsupported binary tensor")
            little_endian = np.dtype(kind).newbyteorder("<")
            count = size // little_endian.itemsize
            array = np.frombuffer(binary, little_endian, count, offset)
            offset += size
        feeds[tensor.name] = array.reshape(tensor.shape).astype(
            object if tensor.datatype == "BYTES" else np.float32, copy=False
        )
    missing = set(FEATURES[name]) - set(feeds)
    if missing:
        raise ValueError(f"missing inputs: {sorted(missing)}")
    return feeds


@app.post("/v2/models/{name}/infer")
async def infer(name: str, request: Request) -> Response:
    if name not in SESSIONS:
        return _error(404, f"unknown model '{name}'")
    body = await request.body()
    header_length = request.headers.get(BINARY_HEADER)
    try:
        split = int(header_length) if header_length is not None else len(body)
        call = V2_BODY.validate_json(body[:split])
        feeds = _v2_feeds(name, call, body[split:])
    except (ValueError, ValidationError) as e:
        return _error(400, str(e))
    outputs = _run(name, feeds)
    described = []
    for meta, value in zip(SESSIONS[name].get_outputs(), outputs):
        datatype = "BYTES" if value.dtype == object else "FP32"
        described.append(
            {
                "name": meta.name,
                "datatype": datatype,
                "shape": list(value.shape),
                "data": value.ravel().tolist(),
            }
        )
    answer = {"model_name": name, "model_version": "1", "outputs": described}
    if call.id is not None:
        answer["id"] = call.id
    return _json(answer)
