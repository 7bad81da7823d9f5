#!/usr/bin/env python3
"""Latency at half of the maximum load, which a closed-loop generator like wrk cannot hold.

For each workload, on a fresh prediction-api process per round: wrk measures the maximum
requests/s at the given connection count, then oha (installed by bench/setup.sh into
.bench/oha) sends exactly half that rate for a fixed time with the same connections, with
latency correction (a request is timed from when it should have been sent, so a stall
counts for every request it delayed). Every answer is checked before measuring; any non-2xx
answer fails the cell. Medians over the rounds; 127.0.0.1 only, every run bounded in time.

    python3 bench/half_load.py [--rounds 3] [--duration 10] [--connections 16]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import run

OHA = run.BENCH / "oha" / "bin" / "oha"
WORKLOADS = ["iris-1", "housing-1", "v2-json-100"]


@dataclass
class Cell:
    max_rps: float
    rate: int
    achieved_rps: float
    p50_ms: float
    p99_ms: float


def oha(port: int, request: run.Request, connections: int, seconds: int, rate: int) -> dict:
    """One rate-limited oha run; its JSON summary."""
    with tempfile.NamedTemporaryFile(suffix=".body") as body:
        body.write(request.body)
        body.flush()
        argv = [
            str(OHA), "--no-tui", "--output-format", "json", "-z", f"{seconds}s",
            "-c", str(connections), "-q", str(rate), "--latency-correction",
            "--wait-ongoing-requests-after-deadline",
            "-m", "POST", "-D", body.name,
        ]  # fmt: skip
        for name, value in request.headers.items():
            argv += ["-H", f"{name}: {value}"]
        argv.append(f"http://127.0.0.1:{port}{request.path}")
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:
        raise RuntimeError(f"oha failed: {done.stderr.strip()[:300]}")
    return json.loads(done.stdout)


def measure(workload: run.Workload, server: run.Server, args, workdir: Path) -> Cell:
    running = run.Running(server, workdir)
    try:
        running.wait_ready()
        problem = run.validate(running, workload)
        if problem:
            raise RuntimeError(f"{workload.name}: {problem}")
        requests = run.requests_for(server, workload)
        script = workdir / f"{workload.name}.lua"
        script.write_text(run.lua_script(requests, workload.name))
        run.wrk(running.port, script, args.connections, 2)
        full = run.wrk(running.port, script, args.connections, args.duration)
        if full.problem:
            raise RuntimeError(f"{workload.name} at full load: {full.problem}")
        rate = max(1, int(full.rps / 2))
        summary = oha(running.port, requests[0], args.connections, args.duration, rate)
        codes = summary.get("statusCodeDistribution", {})
        failed = {code: n for code, n in codes.items() if not str(code).startswith("2")}
        errors = summary.get("errorDistribution") or {}
        if failed or errors or not codes:
            raise RuntimeError(f"{workload.name} at half load: answers {codes}, errors {errors}")
        percentiles = summary["latencyPercentiles"]
        return Cell(
            max_rps=full.rps,
            rate=rate,
            achieved_rps=summary["summary"]["requestsPerSec"],
            p50_ms=percentiles["p50"] * 1e3,
            p99_ms=percentiles["p99"] * 1e3,
        )
    finally:
        running.stop()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args(argv)
    for needed, how in ((OHA, "bench/setup.sh"), (run.prediction_api_bin(), "cargo build --release")):
        if not Path(needed).exists():
            print(f"half_load: {needed} is missing: run {how}", file=sys.stderr)
            return 2
    server = run.prediction_api("prediction-api", [])
    workloads = run.workloads()
    cells: dict[str, list[Cell]] = {name: [] for name in WORKLOADS}
    with tempfile.TemporaryDirectory(prefix="half-load-") as tmp:
        for round_number in range(1, args.rounds + 1):
            for name in WORKLOADS:
                cell = measure(workloads[name], server, args, Path(tmp))
                cells[name].append(cell)
                run.log(
                    f"round {round_number} {name}: max {cell.max_rps:,.0f} req/s, at "
                    f"{cell.rate:,} req/s p50 {cell.p50_ms:.2f} ms p99 {cell.p99_ms:.2f} ms"
                )
    print(f"Latency at half of the maximum load, {args.connections} connections, medians of "
          f"{args.rounds} rounds of {args.duration} s (oha with latency correction)\n")
    print("| workload | max req/s (wrk) | half-load rate | achieved req/s | p50 | p99 |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, runs in cells.items():
        median = lambda values: statistics.median(values)  # noqa: E731
        print(
            f"| {name} | {median(c.max_rps for c in runs):,.0f} | "
            f"{median(c.rate for c in runs):,.0f} | {median(c.achieved_rps for c in runs):,.0f} | "
            f"{median(c.p50_ms for c in runs):.2f} ms | {median(c.p99_ms for c in runs):.2f} ms |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
