"""The audit trail with the real binary: exact row counts, and durable mode surviving SIGKILL."""
import concurrent.futures
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time

import pytest
import requests

from conftest import ROOT, SERVER, free_port, running_server

IRIS = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}


@pytest.fixture()
def repository(tmp_path):
    repo = tmp_path / "models"
    shutil.copytree(ROOT / "models", repo)
    return repo


def count_rows(db, where="1=1", args=()):
    with sqlite3.connect(db) as conn:
        return conn.execute(f"SELECT count(*) FROM predictions WHERE {where}", args).fetchone()[0]


def predict(url, n_rows, request_id):
    """One request: a single record when n_rows is 1, else a batch of n_rows records."""
    body = IRIS if n_rows == 1 else [IRIS] * n_rows
    r = requests.post(f"{url}/predict/iris", json=body, headers={"x-request-id": request_id}, timeout=30)
    assert r.status_code == 200, r.text
    return request_id, n_rows


def test_every_predicted_record_is_one_row(repository, tmp_path):
    db = tmp_path / "audit" / "predictions.db"
    sizes = [1, 3, 1, 10, 1, 1, 7, 2] * 5
    with running_server(repository, "--audit-db", str(db)) as url:
        for i, n in enumerate(sizes):
            predict(url, n, f"req-{i}")
        r = requests.post(f"{url}/v1/models/iris:predict", json={"instances": [IRIS] * 4}, timeout=30)
        assert r.status_code == 200
    # The server stopped (SIGTERM) and flushed its queue.
    assert count_rows(db) == sum(sizes) + 4
    assert count_rows(db, "request_id = ?", ("req-3",)) == 10
    assert count_rows(db, "status != 200") == 0

    out = subprocess.run([str(SERVER), "audit", "--db", str(db), "--model", "iris", "--limit", "5"],
                         capture_output=True, text=True, timeout=30, check=True)
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(lines) == 5
    assert [line["row"] for line in lines] == [1, 0, 1, 2, 3]
    assert lines[-1]["route"] == "/v1/models/{name}:predict"
    assert lines[-1]["features"] == IRIS


def test_a_large_batch_is_counted_by_the_view_and_decoded_by_the_cli(repository, tmp_path):
    db = tmp_path / "audit" / "predictions.db"
    records = [{**IRIS, "petal_length": round(1.0 + i / 100, 2)} for i in range(300)]
    with running_server(repository, "--audit-db", str(db)) as url:
        r = requests.post(f"{url}/predict/iris", json=records, headers={"x-request-id": "big"}, timeout=30)
        assert r.status_code == 200, r.text
        answers = r.json()
    assert count_rows(db, "request_id = ?", ("big",)) == 300
    with sqlite3.connect(db) as conn:
        layout, features = conn.execute(
            "SELECT layout, features FROM requests WHERE request_id = 'big'").fetchone()
    # The database holds a reference; the tensors are in the folder beside it.
    assert layout == "v2-binary"
    reference = json.loads(features)
    tensor_file = db.parent / "predictions.db-tensors" / reference["file"]
    assert tensor_file.stat().st_size >= reference["offset"] + reference["length"]

    out = subprocess.run([str(SERVER), "audit", "--db", str(db), "--limit", "300"],
                         capture_output=True, text=True, timeout=30, check=True)
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [line["row"] for line in lines] == list(range(300))
    for line, record, answer in zip(lines, records, answers):
        features = {name: value[0] for name, value in line["features"].items()}
        assert features == pytest.approx(record, rel=1e-6)
        probabilities = next(v for v in line["outputs"].values() if isinstance(v, list) and len(v) == 3)
        assert sorted(probabilities) == pytest.approx(sorted(answer["probabilities"].values()), abs=1e-6)


def start(repository, db, port):
    cmd = [str(SERVER), "--host", "127.0.0.1", "--port", str(port), "--model-repository", str(repository),
           "--audit-db", str(db), "--audit-mode", "durable"]
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "LOG_LEVEL": "warn"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, f"server exited with {process.returncode}"
        try:
            if requests.get(f"{url}/v2/health/live", timeout=1).status_code == 200:
                return process, url
        except requests.ConnectionError:
            time.sleep(0.05)
    process.kill()
    raise AssertionError("server did not start within 60 s")


def test_durable_rows_survive_sigkill(repository, tmp_path):
    db = tmp_path / "predictions.db"
    process, url = start(repository, db, free_port())
    try:
        # Single records and small batches go to the database; 100-record batches put their
        # tensors in the tensor files, which must survive too.
        sizes = [1, 2, 1, 5] * 50 + [100] * 6
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            acked = list(pool.map(lambda a: predict(url, a[1], f"d-{a[0]}"), enumerate(sizes)))
        # Right after the last acknowledged response: no shutdown, no flush.
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    # A restart opens (and recovers) the database; every acknowledged row is there.
    process, url = start(repository, db, free_port())
    try:
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            found = dict(conn.execute("SELECT request_id, count(*) FROM predictions GROUP BY request_id"))
        missing = [(rid, n) for rid, n in acked if found.get(rid) != n]
        assert not missing, f"acknowledged but not recorded: {missing[:5]}"
        assert sum(found.values()) == sum(sizes)
        out = subprocess.run([str(SERVER), "audit", "--db", str(db), "--limit", str(sum(sizes))],
                             capture_output=True, text=True, timeout=60, check=True)
        lines = [json.loads(line) for line in out.stdout.splitlines()]
        assert len(lines) == sum(sizes)
        assert all(line["features"] and line["outputs"] for line in lines), "every record reads back whole"
        assert out.stderr == ""
    finally:
        process.terminate()
        process.wait(timeout=15)
