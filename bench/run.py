#!/usr/bin/env python3
"""Puts prediction-api beside the Python stacks it replaces, under the same load.

Every server is started by this script on a free 127.0.0.1 port, waited for, checked with
one request per workload (a server that answers wrongly is never measured), loaded with wrk,
then stopped. Rounds are interleaved: round 1 of every server, then round 2 of every server,
and so on, each round on a freshly started process, so background noise and warm caches fall
on all servers alike. Each cell reports the median over rounds.

Standard library only. Run from anywhere: python3 bench/run.py --help
Needs `bench/setup.sh` (wrk, the Python environments, the scikit-learn models) and the release
binaries (`cargo build --release -p prediction-api -p upper-bound --bins`); `make bench` does
all of it.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime
import http.client
import json
import math
import os
import platform
import random
import re
import shlex
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / ".bench"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
if not TARGET.is_absolute():
    TARGET = ROOT / TARGET
PY = BENCH / "venv-python" / "bin" / "python"
MLSERVER = BENCH / "venv-mlserver" / "bin" / "mlserver"
MLSERVER_PY = BENCH / "venv-mlserver" / "bin" / "python"

READY_PATH = "/v2/health/ready"
START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 15
BASELINE = "python-baseline"
UPPER_BOUND = "axum-upper-bound"

IRIS_FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
IRIS_CLASSES = {"setosa", "versicolor", "virginica"}
HOUSING_NUMERIC = [
    "lotSize", "age", "landValue", "livingArea", "pctCollege",
    "bedrooms", "fireplaces", "bathrooms", "rooms",
]  # fmt: skip
HOUSING_STRINGS = ["heating", "fuel", "sewer", "waterfront", "newConstruction", "centralAir"]


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


# -- Servers -------------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    description: str
    # argv for a port; ports[0] is the HTTP port, the others are spare ports it may need.
    argv: Callable[[list[int]], list[str]]
    ports: int = 1
    env: dict = field(default_factory=dict)
    cwd: Path = ROOT
    # "native" (the workload's own request), "mlserver" (mapped to V2 with pandas content
    # type), or absent: the server cannot take the workload, and `unsupported` says why.
    mode: str = "native"
    unsupported: dict = field(default_factory=dict)
    # Paths that must exist before the server can start, with the command that makes them.
    needs: list = field(default_factory=list)

    def missing(self) -> str | None:
        for path, remedy in self.needs:
            if not Path(path).exists():
                return f"{path} is missing ({remedy})"
        return None


def prediction_api_bin() -> Path:
    return TARGET / "release" / "prediction-api"


def upper_bound_bin() -> Path:
    return TARGET / "release" / "upper-bound"


_HELP_CACHE: dict[str, str] = {}


def prediction_api_help() -> str:
    """`prediction-api --help`, to learn which flags this binary has."""
    if "help" not in _HELP_CACHE:
        try:
            run = subprocess.run(
                [prediction_api_bin(), "--help"], capture_output=True, text=True, timeout=30
            )
            _HELP_CACHE["help"] = run.stdout
        except (OSError, subprocess.TimeoutExpired):
            _HELP_CACHE["help"] = ""
    return _HELP_CACHE["help"]


def binary_flags() -> set[str]:
    return set(re.findall(r"(--[a-z][a-z0-9-]*)", prediction_api_help()))


def prediction_api(name: str, extra: list[str]) -> Server:
    def argv(ports: list[int]) -> list[str]:
        base = [str(prediction_api_bin()), "--host", "127.0.0.1", "--port", str(ports[0])]
        base += ["--model-repository", "models", "--log-level", "warn"]
        # The audit trail is off unless a variant turns it on (to measure its cost); a
        # binary without the flag has no trail.
        if "--audit-db" in binary_flags() and "--audit-db" not in extra:
            base += ["--audit-db", "off"]
        return base + extra

    what = "default settings" if not extra else "with " + shlex.join(extra)
    audit = "audit trail on" if "--audit-db" in extra else "audit off"
    return Server(
        name=name,
        description=f"prediction-api, release build, {audit}, {what}",
        argv=argv,
        needs=[(prediction_api_bin(), "cargo build --release --bin prediction-api")],
    )


def uvicorn(module: str, workers: int, ports: list[int]) -> list[str]:
    return [
        str(PY), "-m", "uvicorn", "--app-dir", "bench/python", f"{module}:app",
        "--host", "127.0.0.1", "--port", str(ports[0]), "--workers", str(workers),
        "--loop", "uvloop", "--http", "httptools", "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip


BINARY_NOT_IN_SEED = "no Triton binary tensors: the seed's Python service never had them"
BINARY_NOT_IN_MLSERVER = (
    "MLServer 1.7.1's REST server does not implement Triton's binary tensor extension "
    "(such a request gets a 500)"
)

VARIANTS: dict[str, list[str]] = {
    "prediction-api": [],
    # Needs a binary with --batching; skipped with a message when the flag is absent.
    "prediction-api-batching-off": ["--batching", "off"],
}


def servers(extra_variants: dict[str, list[str]]) -> dict[str, Server]:
    found = {name: prediction_api(name, args) for name, args in VARIANTS.items()}
    for name, args in extra_variants.items():
        found[name] = prediction_api(name, args)
    found[BASELINE] = Server(
        name=BASELINE,
        description="THE BASELINE: FastAPI + pydantic + scikit-learn (pandas DataFrame per "
        "request), sync endpoints, uvicorn with 1 worker",
        argv=lambda ports: uvicorn("baseline", 1, ports),
        unsupported={"v2-binary-100": BINARY_NOT_IN_SEED},
        needs=[(PY, "bench/setup.sh"), (BENCH / "models" / "iris.joblib", "bench/setup.sh")],
    )
    found["python-fast"] = Server(
        name="python-fast",
        description="FastAPI, async endpoints, pydantic validate_json, ONNX Runtime on "
        "models/*/1/model.onnx, orjson, uvicorn with 2 workers",
        argv=lambda ports: uvicorn("fast", 2, ports),
        needs=[(PY, "bench/setup.sh")],
    )
    found["mlserver"] = Server(
        name="mlserver",
        description="MLServer 1.7.1, scikit-learn runtime (the baseline's joblib models), "
        "V2 REST only, parallel_workers 0 (bench/mlserver/settings.json)",
        argv=lambda ports: [str(MLSERVER), "start", "."],
        ports=3,
        cwd=ROOT / "bench" / "mlserver",
        mode="mlserver",
        unsupported={"v2-binary-100": BINARY_NOT_IN_MLSERVER},
        needs=[(MLSERVER, "bench/setup.sh"), (BENCH / "models" / "iris.joblib", "bench/setup.sh")],
    )
    found[UPPER_BOUND] = Server(
        name=UPPER_BOUND,
        description="bench/upper-bound: the same routes on axum, bodies parsed in full by "
        "serde_json, a constant answer: the ceiling for JSON over HTTP here",
        argv=lambda ports: [str(upper_bound_bin()), "--host", "127.0.0.1", "--port", str(ports[0])],
        needs=[(upper_bound_bin(), "cargo build --release -p upper-bound")],
    )
    return found


def server_env(server: Server, ports: list[int]) -> dict:
    env = dict(os.environ)
    env.pop("API_PORT", None)
    if server.name == "mlserver":
        env["MLSERVER_HTTP_PORT"] = str(ports[0])
        env["MLSERVER_GRPC_PORT"] = str(ports[1])
        env["MLSERVER_METRICS_PORT"] = str(ports[2])
    env.update(server.env)
    return env


def free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class Running:
    """A started server: its process group (so workers go down with it), port and log."""

    def __init__(self, server: Server, workdir: Path):
        self.server = server
        self.ports = free_ports(server.ports)
        self.port = self.ports[0]
        self.log_path = workdir / f"{server.name}-{self.port}.log"
        self.log = open(self.log_path, "wb")
        self.started = time.monotonic()
        # A session of its own: the whole tree (uvicorn workers, MLServer's inference
        # worker) shares the group id, and stopping the group stops exactly what we started.
        self.process = subprocess.Popen(
            server.argv(self.ports),
            cwd=server.cwd,
            env=server_env(server, self.ports),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def wait_ready(self, poll_s: float = 0.05, timeout_s: float = START_TIMEOUT_S) -> float:
        """Seconds from start until GET /v2/health/ready answered 200."""
        deadline = self.started + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"exited with {self.process.returncode}; {self.tail()}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", READY_PATH)
                status = connection.getresponse().status
                connection.close()
                if status == 200:
                    return time.monotonic() - self.started
            except OSError:
                pass
            time.sleep(poll_s)
        raise RuntimeError(f"not ready after {timeout_s} s; {self.tail()}")

    def tail(self) -> str:
        self.log.flush()
        lines = self.log_path.read_text(errors="replace").strip().splitlines()
        return "log: " + (" | ".join(lines[-5:]) if lines else "(empty)")

    def stop(self) -> None:
        if self.process.poll() is None:
            for sig, wait_s in ((signal.SIGTERM, STOP_TIMEOUT_S), (signal.SIGKILL, 5)):
                try:
                    os.killpg(self.process.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.process.wait(timeout=wait_s)
                    break
                except subprocess.TimeoutExpired:
                    continue
        # Workers that outlived their parent still carry the group id.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.log.close()


# -- Workloads -----------------------------------------------------------------------------


@dataclass
class Request:
    path: str
    headers: dict
    body: bytes


@dataclass
class Workload:
    name: str
    rows: int
    description: str
    # The requests wrk rotates through, for native servers and for MLServer.
    native: list
    mlserver: list
    mlserver_note: str


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def number(text: str) -> float | int:
    value = float(text)
    return int(value) if value.is_integer() and "." not in text else value


def iris_record(row: dict) -> dict:
    return {k: number(row[k]) for k in IRIS_FEATURES}


def housing_record(row: dict) -> dict:
    record = {k: number(row[k]) for k in HOUSING_NUMERIC}
    record.update({k: row[k] for k in HOUSING_STRINGS})
    return record


def compact(value) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


JSON = {"Content-Type": "application/json"}


def v2_json(records: list[dict], features: list[str], strings: list[str], mlserver: bool):
    """A V2 request with one [N, 1] input per feature. For MLServer's scikit-learn runtime:
    the pandas content type (its default numpy codec takes one input only), string columns
    marked as such, and every output the native servers return (iris: the probabilities)."""
    inputs = []
    for name in features:
        tensor = {
            "name": name,
            "shape": [len(records), 1],
            "datatype": "BYTES" if name in strings else "FP32",
            "data": [r[name] for r in records],
        }
        if mlserver and name in strings:
            tensor["parameters"] = {"content_type": "str"}
        inputs.append(tensor)
    body = {"inputs": inputs}
    if mlserver:
        body["parameters"] = {"content_type": "pd"}
        if features == IRIS_FEATURES:
            body["outputs"] = [{"name": "predict"}, {"name": "predict_proba"}]
    return body


def v2_binary(records: list[dict]) -> Request:
    """Triton's binary extension: a JSON header, then each input's little-endian FP32 bytes.
    No binary outputs are asked for, so every server answers JSON, as for the JSON workload."""
    blobs, inputs = [], []
    for name in IRIS_FEATURES:
        blob = struct.pack(f"<{len(records)}f", *(float(r[name]) for r in records))
        blobs.append(blob)
        inputs.append(
            {
                "name": name,
                "shape": [len(records), 1],
                "datatype": "FP32",
                "parameters": {"binary_data_size": len(blob)},
            }
        )
    header = compact({"inputs": inputs})
    headers = {
        "Content-Type": "application/octet-stream",
        "Inference-Header-Content-Length": str(len(header)),
    }
    return Request("/v2/models/iris/infer", headers, header + b"".join(blobs))


def workloads() -> dict[str, Workload]:
    # Fixed seeds: every run sends the same bytes, varied rows drawn from the real CSVs.
    iris_rows = [iris_record(r) for r in read_csv(ROOT / "data" / "iris_raw.csv")]
    housing_rows = [housing_record(r) for r in read_csv(ROOT / "data" / "housing_raw.csv")]
    rng = random.Random(42)
    iris_singles = rng.sample(iris_rows, 64)
    housing_singles = rng.sample(housing_rows, 64)
    iris_thousands = [[rng.choice(iris_rows) for _ in range(1000)] for _ in range(4)]
    iris_hundreds = [[rng.choice(iris_rows) for _ in range(100)] for _ in range(8)]
    v2_path = "/v2/models/iris/infer"
    housing_v2 = "/v2/models/housing/infer"

    def ml(records, features=IRIS_FEATURES, path=v2_path):
        return Request(path, JSON, compact(v2_json(records, features, HOUSING_STRINGS, True)))

    found = [
        Workload(
            "iris-1",
            1,
            "one iris record as a JSON object, POST /predict/iris (64 rows of the CSV in turn)",
            [Request("/predict/iris", JSON, compact(r)) for r in iris_singles],
            [ml([r]) for r in iris_singles],
            "a V2 JSON request of four [1,1] tensors (pandas content type) to "
            "/v2/models/iris/infer, asking for predict and predict_proba",
        ),
        Workload(
            "housing-1",
            1,
            "one housing record (9 numbers, 6 strings) as a JSON object, POST /predict/housing "
            "(64 rows of the CSV in turn)",
            [Request("/predict/housing", JSON, compact(r)) for r in housing_singles],
            [ml([r], HOUSING_NUMERIC + HOUSING_STRINGS, housing_v2) for r in housing_singles],
            "a V2 JSON request of fifteen [1,1] tensors (pandas content type, strings as "
            "BYTES with the str content type) to /v2/models/housing/infer",
        ),
        Workload(
            "iris-1000",
            1000,
            "a JSON array of 1,000 iris records, POST /predict/iris (4 different arrays)",
            [Request("/predict/iris", JSON, compact(rs)) for rs in iris_thousands],
            [ml(rs) for rs in iris_thousands],
            "a V2 JSON request of four [1000,1] tensors (pandas content type) asking for "
            "predict and predict_proba",
        ),
        Workload(
            "v2-json-100",
            100,
            "KServe V2 JSON, four FP32 inputs of shape [100,1], POST /v2/models/iris/infer "
            "(8 different batches)",
            [
                Request(v2_path, JSON, compact(v2_json(rs, IRIS_FEATURES, [], False)))
                for rs in iris_hundreds
            ],
            [ml(rs) for rs in iris_hundreds],
            "the same tensors plus the pandas content type and predict_proba in the outputs",
        ),
        Workload(
            "v2-binary-100",
            100,
            "the same V2 request in Triton's binary extension: a JSON header "
            "(Inference-Header-Content-Length) then 4 x 400 bytes of FP32; JSON answers",
            [v2_binary(rs) for rs in iris_hundreds],
            [],
            "",
        ),
    ]
    return {w.name: w for w in found}


def requests_for(server: Server, workload: Workload) -> list[Request]:
    return workload.mlserver if server.mode == "mlserver" else workload.native


# -- Checking answers ------------------------------------------------------------------------


def post(port: int, request: Request, timeout_s: float = 30) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
    try:
        connection.request("POST", request.path, body=request.body, headers=request.headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def audit_rows_dropped(port: int) -> int | None:
    """The server's count of audit rows it could not keep, or None when it exports none.

    An audit variant that dropped rows measured less work than it claims to do: its cell is
    noted in the report.
    """
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/metrics")
        text = connection.getresponse().read().decode(errors="replace")
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()
    match = re.search(r"^prediction_api_audit_rows_dropped_total (\S+)$", text, re.MULTILINE)
    return int(float(match.group(1))) if match else None


def check_answer(workload: Workload, body: bytes) -> str | None:
    """None when the answer is sane for the workload, else what is wrong with it."""
    try:
        answer = json.loads(body)
    except ValueError:
        return f"not JSON: {body[:120]!r}"
    rows = workload.rows
    if isinstance(answer, dict) and "outputs" in answer:
        outputs = answer["outputs"]
        if not outputs:
            return "no outputs"
        for output in outputs:
            shape, data = output.get("shape") or [0], output.get("data") or []
            if shape[0] != rows:
                return f"output {output.get('name')} has shape {shape}, expected {rows} rows"
            size = 1
            for dim in shape:
                size *= dim
            if len(data) != size:
                return f"output {output.get('name')}: {len(data)} elements for shape {shape}"
        first = outputs[0]
        if first.get("datatype") == "BYTES" and not set(first["data"]) <= IRIS_CLASSES:
            return f"labels outside the iris classes: {first['data'][:3]}"
        return None
    answers = [answer] if workload.rows == 1 else answer
    if not isinstance(answers, list) or len(answers) != rows:
        return f"expected {rows} predictions, got {str(answer)[:120]}"
    for item in answers:
        prediction = item.get("prediction") if isinstance(item, dict) else None
        if workload.name.startswith("iris") and prediction not in IRIS_CLASSES:
            return f"not an iris class: {str(item)[:120]}"
        if workload.name.startswith("housing") and not isinstance(prediction, (int, float)):
            return f"not a price: {str(item)[:120]}"
    return None


def validate(running: Running, workload: Workload) -> str | None:
    for request in requests_for(running.server, workload)[:2]:
        try:
            status, body = post(running.port, request)
        except OSError as e:
            return f"request failed: {e}"
        if status != 200:
            return f"status {status}: {body[:200]!r}"
        problem = check_answer(workload, body)
        if problem:
            return problem
    return None


# -- wrk -----------------------------------------------------------------------------------


def lua_string(data: bytes) -> str:
    """A Lua string literal for any bytes: printable ASCII as is, the rest as \\ddd."""
    out = []
    for byte in data:
        if 0x20 <= byte < 0x7F and byte not in (0x22, 0x5C):
            out.append(chr(byte))
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def lua_script(requests: list[Request], title: str) -> str:
    lines = [
        f"-- {title}; written by bench/run.py",
        "-- The requests are formatted once in init (after wrk has set the Host header) and",
        "-- sent in turn, so the load generator spends no time building them.",
        "local bodies = {}",
    ]
    for r in requests:
        headers = ", ".join(f'["{k}"] = {lua_string(v.encode())}' for k, v in r.headers.items())
        lines.append(
            f"bodies[#bodies + 1] = {{{lua_string(r.path.encode())}, {{{headers}}}, "
            f"{lua_string(r.body)}}}"
        )
    lines += [
        "local formatted = {}",
        "local next_index = 0",
        "function init(args)",
        "  for i, b in ipairs(bodies) do",
        '    formatted[i] = wrk.format("POST", b[1], b[2], b[3])',
        "  end",
        "end",
        "function request()",
        "  next_index = next_index % #formatted + 1",
        "  return formatted[next_index]",
        "end",
        "",
    ]
    return "\n".join(lines)


UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


def duration_ms(text: str) -> float:
    match = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", text)
    if not match:
        raise ValueError(f"unreadable wrk duration {text!r}")
    return float(match.group(1)) * UNITS_MS[match.group(2)]


@dataclass
class Measurement:
    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    requests: int = 0
    non_2xx: int = 0
    socket_errors: int = 0
    problem: str | None = None


def parse_wrk(output: str) -> Measurement:
    m = Measurement()
    if found := re.search(r"Requests/sec:\s*([0-9.]+)", output):
        m.rps = float(found.group(1))
    if found := re.search(r"(\d+) requests in", output):
        m.requests = int(found.group(1))
    if found := re.search(r"Non-2xx or 3xx responses:\s*(\d+)", output):
        m.non_2xx = int(found.group(1))
    if found := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    ):
        m.socket_errors = sum(int(g) for g in found.groups())
    for percent, attribute in (("50", "p50_ms"), ("99", "p99_ms")):
        if found := re.search(rf"^\s*{percent}%\s+(\S+)", output, re.MULTILINE):
            setattr(m, attribute, duration_ms(found.group(1)))
    if m.requests == 0:
        m.problem = "no request completed"
    elif m.non_2xx:
        m.problem = f"{m.non_2xx} non-2xx answers"
    return m


def wrk(
    port: int, script: Path, connections: int, seconds: int, prefix: tuple[str, ...] = ()
) -> Measurement:
    """wrk for `seconds` at `connections`; `prefix` runs it under another command (taskset)."""
    threads = 1 if connections == 1 else 2
    argv = [
        *prefix, "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
        "--latency", "-s", str(script), f"http://127.0.0.1:{port}",
    ]  # fmt: skip
    try:
        run = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    except subprocess.TimeoutExpired:
        return Measurement(problem="wrk did not finish in time")
    if run.returncode != 0:
        return Measurement(problem=f"wrk failed: {run.stderr.strip()[:200]}")
    return parse_wrk(run.stdout)


# -- The run -------------------------------------------------------------------------------


# /proc/stat's first fields, in order.
CPU_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


def cpu_ticks() -> dict[str, int]:
    """The whole machine's CPU time since boot by kind (/proc/stat), in clock ticks."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    return dict(zip(CPU_FIELDS, (int(f) for f in fields)))


@contextlib.contextmanager
def warmed(
    server: Server, folder: Path, script: Path, connections: int, wrk_prefix: tuple = ()
):
    """`server` started afresh with `folder` emptied for it, ready and warmed by 1 s of wrk
    with `script`; stopped when the block ends. Yields the Running server."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    running = Running(server, folder)
    try:
        running.wait_ready()
        warm = wrk(running.port, script, connections, 1, wrk_prefix)
        if warm.problem:
            raise RuntimeError(f"{server.name} warm-up: {warm.problem}")
        yield running
    finally:
        running.stop()


def command_output(argv: list, cwd: Path = ROOT) -> str:
    try:
        run = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=cwd)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    text = (run.stdout or run.stderr).strip()
    return text.splitlines()[0] if text else "unknown"


def package_versions(python: Path, names: list[str]) -> dict[str, str]:
    if not python.exists():
        return {}
    code = (
        "import importlib.metadata as m, json, sys\n"
        "out = {}\n"
        "for n in sys.argv[1:]:\n"
        "    try: out[n] = m.version(n)\n"
        "    except m.PackageNotFoundError: pass\n"
        "print(json.dumps(out))"
    )
    try:
        return json.loads(command_output([python, "-c", code, *names]))
    except ValueError:
        return {}


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Linux {platform.release()}"


def versions() -> str:
    python = package_versions(PY, ["fastapi", "uvicorn", "pydantic", "scikit-learn", "onnxruntime"])
    ml = package_versions(MLSERVER_PY, ["mlserver", "mlserver-sklearn", "scikit-learn"])
    parts = [
        command_output(["rustc", "--version"]),
        command_output([prediction_api_bin(), "--version"]),
        command_output([PY, "--version"]) if PY.exists() else "python: not set up",
        command_output(["wrk", "-v"]).split(" [")[0],
        ", ".join(f"{k} {v}" for k, v in python.items()),
        "MLServer side: " + ", ".join(f"{k} {v}" for k, v in ml.items()),
    ]
    return "; ".join(p for p in parts if p)


def parse_list(text: str | None, known: list[str], what: str) -> list[str]:
    if not text:
        return known
    chosen = [item.strip() for item in text.split(",") if item.strip()]
    unknown = [item for item in chosen if item not in known]
    if unknown:
        raise SystemExit(f"bench: unknown {what}: {', '.join(unknown)} (known: {', '.join(known)})")
    return chosen


def parse_variant(text: str) -> tuple[str, list[str]]:
    name, _, args = text.partition("=")
    if not name.startswith("prediction-api-") or not args:
        raise argparse.ArgumentTypeError("use NAME=ARGS, NAME starting with prediction-api-")
    return name, shlex.split(args)


def parse_comparison(text: str) -> tuple[str, str]:
    base, _, other = text.partition(":")
    if not base or not other or base == other:
        raise argparse.ArgumentTypeError("use BASE:OTHER, two different servers")
    return base, other


def arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Load-test prediction-api beside the Python servers it replaces.",
    )
    parser.add_argument("--rounds", type=int, default=3, help="measurements per cell (median)")
    parser.add_argument("--duration", type=int, default=5, help="seconds per measurement")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of load before each")
    parser.add_argument("--servers", help="comma-separated servers (default: all)")
    parser.add_argument("--workloads", help="comma-separated workloads (default: all)")
    parser.add_argument("--connections", default="1,16,64", help="comma-separated counts")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        type=parse_variant,
        metavar="NAME=ARGS",
        help="another prediction-api variant, e.g. 'prediction-api-pool-1=--session-pool-size 1'",
    )
    parser.add_argument(
        "--compare",
        action="append",
        default=[],
        type=parse_comparison,
        metavar="BASE:OTHER",
        help="report OTHER's throughput against BASE's round by round, with a 95%% confidence "
        "interval, e.g. 'prediction-api:prediction-api-audit'",
    )
    parser.add_argument("--output", type=Path, help="also write the Markdown report here")
    args = parser.parse_args(argv)
    if not 1 <= args.rounds <= 50 or not 1 <= args.duration <= 600 or not 0 <= args.warmup <= 60:
        parser.error("--rounds 1..50, --duration 1..600 s, --warmup 0..60 s")
    try:
        args.connections = [int(c) for c in args.connections.split(",")]
    except ValueError:
        parser.error("--connections takes integers, e.g. 1,16,64")
    if any(not 1 <= c <= 1024 for c in args.connections):
        parser.error("--connections: 1..1024")
    return args


def skip_reason(server: Server) -> str | None:
    if missing := server.missing():
        return missing
    if server.name.startswith("prediction-api"):
        flags = binary_flags()
        if not flags:
            return f"{prediction_api_bin()} does not answer --help"
        variant_args = server.argv([0])
        unknown = [a for a in variant_args if a.startswith("--") and a not in flags]
        if unknown:
            return f"this prediction-api binary has no {', '.join(unknown)} flag"
    return None


def fmt_rate(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def fmt_ms(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    return f"{value:.2f} ms" if value < 10 else f"{value:.1f} ms"


def fmt_ratio(value: float | None) -> str:
    if value is None:
        return "–"
    if value < 0.1:
        # Two significant digits: a server at 0.4 % of the ceiling must not read as 0.00.
        return f"{value:.2g}×"
    return f"{value:.2f}×" if value < 10 else f"{value:.1f}×"


def report(args, chosen_servers, chosen_workloads, results, notes, started) -> str:
    lines = [
        "# prediction-api beside the Python stacks",
        "",
        f"- date: {started.strftime('%Y-%m-%d %H:%M %Z').strip()}",
        f"- command: `{shlex.join(['python3', 'bench/run.py', *sys.argv[1:]])}`",
        f"- machine: {machine()}",
        f"- versions: {versions()}",
        f"- method: {args.rounds} round(s), interleaved across servers (every other round in "
        "reverse order), each on a fresh "
        f"process; per cell wrk --latency for {args.duration} s after {args.warmup} s of "
        "warm-up (1 thread for 1 connection, else 2); req/s, p50 and p99 are medians over "
        "rounds; rows/s = req/s x rows per request. wrk shares the 2 cores with the server.",
        "",
        "## Servers",
        "",
    ]
    for server in chosen_servers.values():
        lines.append(f"- **{server.name}**: {server.description}")
    for workload in chosen_workloads.values():
        lines += ["", f"## {workload.name}", "", workload.description + ".", ""]
        lines.append(
            "| server | connections | req/s | rows/s | p50 | p99 | vs python-baseline | "
            "vs axum-upper-bound |"
        )
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        for server in chosen_servers.values():
            for connections in args.connections:
                cell = results.get((workload.name, server.name, connections))
                lines.append(row_line(workload, server, connections, cell, results))
        if "mlserver" in chosen_servers and workload.mlserver_note:
            lines.append("")
            lines.append(f"mlserver gets {workload.mlserver_note}.")
    if args.compare:
        lines += comparison_section(args, chosen_workloads, results)
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in dict.fromkeys(notes)]
    return "\n".join(lines) + "\n"


# -- Paired comparisons ----------------------------------------------------------------------
#
# Throughput on a shared VM drifts by tens of percent between minutes, more than many
# differences worth measuring. Rounds interleave the servers, so the two measurements of one
# round saw the same machine: their ratio cancels the drift, and the spread of the ratios over
# rounds says how far the answer can be trusted.


def median_interval(values: list[float], confidence: float = 0.95) -> tuple[float, float] | None:
    """A distribution-free confidence interval for the median: the order statistics whose ranks
    a Binomial(n, 1/2) count puts outside with probability at most 1 - confidence (so the
    coverage is at least `confidence`). None when n is too small for any such interval."""
    n = len(values)
    ordered = sorted(values)
    tail = (1 - confidence) / 2
    cumulative, k = 0.0, 0
    # Largest k with P(X <= k - 1) <= tail: the interval is [x_(k), x_(n - k + 1)], 1-based.
    for j in range(n + 1):
        cumulative += math.comb(n, j) / 2**n
        if cumulative > tail:
            k = j
            break
    if k == 0:
        return None
    return ordered[k - 1], ordered[n - k]


def paired_ratios(base: list, other: list) -> list[float]:
    """OTHER's req/s over BASE's, round by round (rounds where either failed are left out)."""
    return [
        o.rps / b.rps
        for b, o in zip(base, other)
        if b.problem is None and o.problem is None and b.rps > 0
    ]


def fmt_change(ratio: float) -> str:
    return f"{(ratio - 1) * 100:+.1f} %"


def comparison_section(args, chosen_workloads, results) -> list[str]:
    lines = [
        "",
        "## Paired comparisons",
        "",
        "Each round measured both servers back to back on the same machine; a paired ratio is "
        "OTHER's req/s over BASE's in one round. *pooled*: all of OTHER's requests over all of "
        "BASE's. The interval is a 95 % distribution-free confidence interval for the median "
        "paired ratio (order statistics; none below 6 rounds).",
        "",
        "| other vs base | workload | connections | rounds | pooled | median paired | 95 % CI |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for base, other in args.compare:
        for workload in chosen_workloads.values():
            for connections in args.connections:
                cells = [results.get((workload.name, s, connections)) for s in (base, other)]
                if any(not isinstance(c, list) for c in cells):
                    continue
                ratios = paired_ratios(*cells)
                if not ratios:
                    continue
                rounds = min(len(cells[0]), len(cells[1]))
                pooled = sum(m.requests for m in cells[1][:rounds]) / max(
                    1, sum(m.requests for m in cells[0][:rounds])
                )
                interval = median_interval(ratios)
                shown = (
                    f"{fmt_change(interval[0])} … {fmt_change(interval[1])}" if interval else "–"
                )
                lines.append(
                    f"| {other} vs {base} | {workload.name} | {connections} | {len(ratios)} | "
                    f"{fmt_change(pooled)} | {fmt_change(statistics.median(ratios))} | {shown} |"
                )
    return lines


def median_cell(cell):
    if not cell or isinstance(cell, str):
        return None
    good = [m for m in cell if m.problem is None]
    if len(good) != len(cell):
        return None
    return (
        statistics.median(m.rps for m in good),
        statistics.median(m.p50_ms for m in good),
        statistics.median(m.p99_ms for m in good),
    )


def row_line(workload, server, connections, cell, results) -> str:
    head = f"| {server.name} | {connections} |"
    if isinstance(cell, str):
        return head + f" {cell} | | | | | |"
    if not cell:
        return head + " not run | | | | | |"
    failed = [m.problem for m in cell if m.problem]
    if failed:
        return head + f" failed: {failed[0]} | | | | | |"
    rps, p50, p99 = median_cell(cell)

    def ratio(reference: str) -> float | None:
        other = median_cell(results.get((workload.name, reference, connections)))
        return rps / other[0] if other and other[0] > 0 else None

    return (
        f"{head} {fmt_rate(rps)} | {fmt_rate(rps * workload.rows)} | {fmt_ms(p50)} | "
        f"{fmt_ms(p99)} | {fmt_ratio(ratio(BASELINE))} | {fmt_ratio(ratio(UPPER_BOUND))} |"
    )


def main(argv: list[str]) -> int:
    args = arguments(argv)
    os.chdir(ROOT)
    started = datetime.datetime.now().astimezone()
    all_servers = servers(dict(args.variant))
    all_workloads = workloads()
    chosen_servers = {
        n: all_servers[n] for n in parse_list(args.servers, list(all_servers), "servers")
    }
    chosen_workloads = {
        n: all_workloads[n] for n in parse_list(args.workloads, list(all_workloads), "workloads")
    }
    for pair in args.compare:
        if missing := [n for n in pair if n not in chosen_servers]:
            raise SystemExit(f"bench: --compare names servers not in the run: {', '.join(missing)}")
    if not subprocess.run(["sh", "-c", "command -v wrk"], capture_output=True).stdout:
        log("wrk is missing: run bench/setup.sh (or apt-get install -y wrk)")
        return 1

    notes: list[str] = []
    results: dict = {}
    for name, server in list(chosen_servers.items()):
        if reason := skip_reason(server):
            log(f"{name}: skipped: {reason}")
            notes.append(f"{name} skipped: {reason}")
            del chosen_servers[name]
    if not chosen_servers:
        log("no server can run")
        return 1
    for workload in chosen_workloads.values():
        for server in chosen_servers.values():
            if workload.name in server.unsupported:
                reason = server.unsupported[workload.name]
                notes.append(f"{server.name}, {workload.name}: n/a, {reason}")
                for c in args.connections:
                    results[(workload.name, server.name, c)] = "n/a"
            elif server.mode == "mlserver" and not workload.mlserver:
                for c in args.connections:
                    results[(workload.name, server.name, c)] = "n/a"

    cells = sum(
        1
        for w in chosen_workloads
        for s in chosen_servers
        for c in args.connections
        if (w, s, c) not in results
    )
    estimate = args.rounds * cells * (args.duration + args.warmup + 1)
    log(
        f"{len(chosen_servers)} servers, {len(chosen_workloads)} workloads, "
        f"{len(args.connections)} connection counts, {args.rounds} rounds: "
        f"about {estimate // 60} min {estimate % 60} s of load plus start-ups"
    )

    with tempfile.TemporaryDirectory(prefix="bench-") as temporary:
        workdir = Path(temporary)
        scripts = {}
        for server in chosen_servers.values():
            for workload in chosen_workloads.values():
                requests = requests_for(server, workload)
                if requests:
                    path = workdir / f"{server.name}-{workload.name}.lua"
                    path.write_text(lua_script(requests, f"{workload.name} for {server.name}"))
                    scripts[(server.name, workload.name)] = path
        broken: set[str] = set()
        for round_number in range(1, args.rounds + 1):
            # Every other round runs the servers in reverse order, so that no server always
            # follows the same one (whose dirty pages and warm caches it would inherit).
            order = list(chosen_servers.values())
            if round_number % 2 == 0:
                order.reverse()
            for server in order:
                if server.name in broken:
                    continue
                run_round(
                    args, server, chosen_workloads, scripts, (results, notes, broken),
                    workdir, round_number,
                )  # fmt: skip

    text = report(args, chosen_servers, chosen_workloads, results, notes, started)
    print(text)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
        log(f"report written to {args.output}")
    return 0


def run_round(args, server, chosen_workloads, scripts, state, workdir, number):
    """One round of one server: a fresh start, the answer checks, then every cell."""
    results, notes, broken = state
    log(f"round {number}: starting {server.name}")
    running = Running(server, workdir)
    try:
        try:
            seconds = running.wait_ready()
        except RuntimeError as e:
            log(f"{server.name}: did not start: {e}")
            notes.append(f"{server.name} did not start: {e}")
            broken.add(server.name)
            return
        log(f"{server.name}: ready in {seconds:.2f} s on port {running.port}")
        for workload in chosen_workloads.values():
            script = scripts.get((server.name, workload.name))
            # n/a, or an answer check that failed in an earlier round.
            if script is None or isinstance(
                results.get((workload.name, server.name, args.connections[0])), str
            ):
                continue
            # Checked on every start: a broken set-up must not yield fast-looking numbers.
            if problem := validate(running, workload):
                log(f"{server.name}, {workload.name}: wrong answer, not measured: {problem}")
                notes.append(f"{server.name}, {workload.name}: failed the answer check: {problem}")
                for c in args.connections:
                    results[(workload.name, server.name, c)] = "failed the answer check"
                continue
            for connections in args.connections:
                if args.warmup:
                    wrk(running.port, script, connections, args.warmup)
                m = wrk(running.port, script, connections, args.duration)
                if m.socket_errors:
                    notes.append(
                        f"{server.name}, {workload.name}, {connections} connections: "
                        f"{m.socket_errors} socket errors in round {number}"
                    )
                results.setdefault((workload.name, server.name, connections), []).append(m)
                dropped = audit_rows_dropped(running.port)
                if dropped:
                    notes.append(
                        f"{server.name}, {workload.name}, {connections} connections: the audit "
                        f"trail had dropped {dropped:,} rows by the end of round {number}"
                    )
                shown = m.problem or (
                    f"{m.rps:,.0f} req/s, p50 {m.p50_ms:.2f} ms, p99 {m.p99_ms:.2f} ms"
                )
                log(f"  {workload.name:14} c={connections:<3} {server.name}: {shown}")
            if running.process.poll() is not None:
                raise RuntimeError(f"{server.name} exited during the load; {running.tail()}")
    except RuntimeError as e:
        log(str(e))
        notes.append(str(e))
        broken.add(server.name)
    finally:
        running.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
