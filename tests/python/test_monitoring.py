"""The monitoring set-up against a real Prometheus: promtool accepts monitoring/, and every
PromQL expression of the Grafana dashboard and the alert rules returns at least one series
while Prometheus scrapes a test server that serves traffic (so a misspelt metric fails).

Needs `prometheus` and `promtool` on PATH (scripts/setup-prometheus.sh)."""
import json
import pathlib
import re
import shutil
import subprocess
import time

import pytest
import requests
import yaml

from conftest import ROOT, free_port, running_server

MONITORING = ROOT / "monitoring"
DASHBOARD = MONITORING / "grafana" / "dashboards" / "ml-dashboard.json"
ALERTS = MONITORING / "alerts.yml"
JOB = "prediction-api"
# Grafana fills in $__rate_interval; four scrape intervals is what it would choose here.
RATE_INTERVAL = "4s"


def tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is missing: run scripts/setup-prometheus.sh"
    return path


def test_promtool_accepts_the_configuration_and_the_rules():
    for args in (["check", "config", "prometheus.yml"], ["check", "rules", "alerts.yml"]):
        result = subprocess.run([tool("promtool"), *args], cwd=MONITORING, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr


def dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert panels, "the dashboard has no panels"
    exprs = [t["expr"] for p in panels for t in p["targets"]]
    return [e.replace("$__rate_interval", RATE_INTERVAL) for e in exprs]


COMPARISON = re.compile(r"(==|!=|>=|<=|>|<)\s*(-?[0-9.]+)\s*$")


def alert_expressions() -> list[str]:
    """Each rule's expression with its final threshold comparison made a `bool` one, so it
    returns its series whether or not the alert would fire."""
    rules = [r for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]]
    assert rules, "no alert rules"
    exprs = []
    for rule in rules:
        expr = rule["expr"].strip()
        assert COMPARISON.search(expr), f"{rule['alert']}: expected `<query> <op> <threshold>`: {expr}"
        exprs.append(COMPARISON.sub(r"\1 bool \2", expr))
    return exprs


def test_every_alert_has_a_threshold_and_the_dashboard_expressions_parse_locally():
    assert len(alert_expressions()) >= 5
    assert len(dashboard_expressions()) >= 10


@pytest.fixture()
def repository(tmp_path) -> pathlib.Path:
    """The committed models, plus a model whose graph cannot load (load-failure series and a
    503 for the error ratio)."""
    repo = tmp_path / "models"
    shutil.copytree(ROOT / "models", repo)
    broken = repo / "broken" / "1"
    broken.mkdir(parents=True)
    (broken / "model.onnx").write_bytes(b"this is not an ONNX graph")
    return repo


class Prometheus:
    """A Prometheus on 127.0.0.1 scraping one target every second, storing in a temp dir."""

    def __init__(self, workdir: pathlib.Path, target: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = workdir / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            f"scrape_configs:\n  - job_name: {JOB}\n    static_configs:\n      - targets: ['{target}']\n"
        )
        self.log = open(workdir / "prometheus.log", "w+")
        self.process = subprocess.Popen(
            [
                tool("prometheus"),
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=1h",
                "--log.level=warn",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, seconds: float = 30):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                raise AssertionError(f"prometheus exited with {self.process.returncode}:\n{self.log.read()}")
            try:
                if requests.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"prometheus not ready within {seconds} s")

    def query(self, expr: str) -> list:
        response = requests.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10)
        body = response.json()
        assert response.status_code == 200 and body["status"] == "success", f"{expr}: {body}"
        return body["data"]["result"]

    def names(self) -> set[str]:
        body = requests.get(f"{self.url}/api/v1/label/__name__/values", timeout=10).json()
        return set(body["data"])

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


IRIS = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
HOUSING = {
    "lotSize": 0.09, "age": 42, "landValue": 50000, "livingArea": 906, "pctCollege": 35,
    "bedrooms": 2, "fireplaces": 1, "bathrooms": 1.0, "rooms": 5, "heating": "electric",
    "fuel": "electric", "sewer": "septic", "waterfront": "No", "newConstruction": "No",
    "centralAir": "No",
}


def traffic(url: str):
    """One round of every kind of request the expressions need: predictions on both models
    (one row and a batch), a 404, a 503 (the broken model) and an inference error."""
    expect = [
        (requests.post(f"{url}/predict/iris", json=IRIS, timeout=10), 200),
        (requests.post(f"{url}/predict/iris", json=[IRIS] * 5, timeout=10), 200),
        (requests.post(f"{url}/predict/housing", json=HOUSING, timeout=10), 200),
        (requests.post(f"{url}/v1/models/housing:predict", json={"instances": [HOUSING] * 3}, timeout=10), 200),
        (requests.get(f"{url}/no/such/route", timeout=10), 404),
        (requests.post(f"{url}/predict/broken", json=IRIS, timeout=10), 503),
        (
            requests.post(
                f"{url}/v2/models/iris/infer",
                json={"inputs": [{"name": "nope", "shape": [1, 1], "datatype": "FP32", "data": [1.0]}]},
                timeout=10,
            ),
            400,
        ),
    ]
    for response, status in expect:
        assert response.status_code == status, f"{response.request.method} {response.url}: {response.status_code} {response.text}"


def test_every_dashboard_and_alert_expression_returns_a_series(repository, tmp_path):
    expressions = dashboard_expressions() + alert_expressions()
    with running_server(repository) as url:
        prometheus = Prometheus(tmp_path, url.removeprefix("http://"))
        try:
            prometheus.wait_ready()
            # Traffic while Prometheus scrapes: rate() needs two samples in its window, so
            # keep going for several scrape intervals after the target is up.
            # Enough rows for every model's drift window to report (at least 100 rows).
            for name, record in (("iris", IRIS), ("housing", HOUSING)):
                response = requests.post(f"{url}/predict/{name}", json=[record] * 120, timeout=30)
                assert response.status_code == 200, response.text
            deadline = time.monotonic() + 60
            up_since = None
            while True:
                traffic(url)
                if up_since is None and prometheus.query(f'up{{job="{JOB}"}} == 1'):
                    up_since = time.monotonic()
                if up_since is not None and time.monotonic() - up_since > 6:
                    break
                assert time.monotonic() < deadline, "prometheus never scraped the server"
                time.sleep(0.2)

            names = prometheus.names()
            referenced = set(re.findall(r"\b((?:prediction_api|process)_[a-z_]+)", " ".join(expressions)))
            assert referenced - names == set(), f"metrics named in expressions but not scraped: {referenced - names}"

            empty = [e for e in expressions if not prometheus.query(e)]
            assert not empty, "expressions without a series:\n" + "\n".join(empty)
        finally:
            prometheus.stop()
