#!/usr/bin/env python3
"""The audit trail's CPU per request: the server with the trail off and on, side by side.

Throughput at full load (bench/run.py) is what the trail's cost is judged by, but on a small
shared machine one round's throughput moves by ±30% with the machine's speed, so a few
percent take dozens of rounds to see. This measures the cost directly: both servers run at
the same time, each loaded by its own oha at the same fixed rate (well below full load, so
neither is starved), and each server's CPU time per request is read from /proc
(schedstat, nanoseconds, every thread; the audit writer's thread separately). Whatever
slows the machine down slows both alike, so the ratio of the two is steady to about ±2% in
a handful of rounds. Each round starts both servers afresh, with a new database; which one
is started first alternates.

What it leaves out: the kernel's write-back of the trail's files runs in kernel threads, not
in the server, and a closed-loop load (bench/run.py) has effects a fixed rate does not.

With --closed-loop it measures at full load instead, as the harness does: in each round the
two servers run one after the other (the first alternating), each started afresh with a new
database, under wrk at 64 connections with the harness's rotating requests, and it reports
the paired req/s ratio beside the CPU per request (the server's threads, the writer's, and
the whole machine's busy time, wrk included) and the page faults per request. That tells a
trail that costs CPU apart from one that costs the request threads in other ways.

    python3 bench/audit_cpu.py [--workload v2-binary-100] [--rate 3000] [--duration 8]
                               [--rounds 6] [--mode async] [--closed-loop]

Linux only (/proc); needs the release binary and oha (`make bench-build`). 127.0.0.1 only;
every run is bounded in time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import run

OHA = run.BENCH / "oha" / "bin" / "oha"
CONNECTIONS = 16
# The harness's connection count for the audit comparisons.
CLOSED_LOOP_CONNECTIONS = 64


def thread_counters(pid: int) -> tuple[int, int, int]:
    """CPU nanoseconds of every thread of `pid` (schedstat), of its audit writer thread, and
    the minor page faults of every thread (field 10 of stat)."""
    total = writer = faults = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        task = f"/proc/{pid}/task/{tid}"
        try:
            ns = int(Path(f"{task}/schedstat").read_text().split()[0])
            name = Path(f"{task}/comm").read_text().strip()
            minor = int(Path(f"{task}/stat").read_text().rsplit(")", 1)[1].split()[7])
        except (OSError, ValueError, IndexError):
            continue  # a thread that ended meanwhile
        total += ns
        faults += minor
        if name == "audit-writer":
            writer += ns
    return total, writer, faults


def machine_busy_s() -> float:
    """Busy CPU seconds of the whole machine since boot (user, nice, system, irq, softirq)."""
    ticks = run.cpu_ticks()
    busy = sum(ticks[kind] for kind in ("user", "nice", "system", "irq", "softirq"))
    return busy / os.sysconf("SC_CLK_TCK")


def closed_loop_cell(server, script: Path, args, folder: Path) -> dict:
    """One server under wrk at full load: req/s and what each request cost."""
    with run.warmed(server, folder, script, CLOSED_LOOP_CONNECTIONS) as running:
        pid = running.process.pid
        before, busy = thread_counters(pid), machine_busy_s()
        measured = run.wrk(running.port, script, CLOSED_LOOP_CONNECTIONS, args.duration)
        after, busy_after = thread_counters(pid), machine_busy_s()
    if measured.problem:
        raise RuntimeError(measured.problem)
    n = measured.requests
    return {
        "rps": measured.rps,
        "server_us": (after[0] - before[0]) / n / 1e3,
        "writer_us": (after[1] - before[1]) / n / 1e3,
        "machine_us": (busy_after - busy) / n * 1e6,
        "faults": (after[2] - before[2]) / n,
    }


def closed_loop(args, off, on, workdir: Path) -> int:
    workload = run.workloads()[args.workload]
    script = workdir / "requests.lua"
    script.write_text(run.lua_script(workload.native, f"{workload.name}, closed loop"))
    rounds = []
    for number in range(args.rounds):
        order = [off, on] if number % 2 == 0 else [on, off]
        cells = {s.name: closed_loop_cell(s, script, args, workdir / s.name) for s in order}
        a, b = cells[off.name], cells[on.name]
        rounds.append((a, b))
        run.log(
            f"round {number + 1}: off {a['rps']:,.0f} req/s {a['server_us']:.1f} µs/request, "
            f"on {b['rps']:,.0f} req/s {b['server_us']:.1f} µs/request (writer "
            f"{b['writer_us']:.1f}), req/s ratio {b['rps'] / a['rps']:.3f}"
        )
    median = statistics.median
    ratio = sorted(b["rps"] / a["rps"] for a, b in rounds)
    print(
        f"\n{args.workload}, closed loop at {CLOSED_LOOP_CONNECTIONS} connections, "
        f"{args.rounds} rounds of {args.duration} s, trail {args.mode}: medians"
    )
    print("| measure | trail off | trail on | on / off (paired) |")
    print("|---|---:|---:|---:|")
    print(
        f"| req/s | {median(a['rps'] for a, _ in rounds):,.0f} | "
        f"{median(b['rps'] for _, b in rounds):,.0f} | {median(ratio):.3f} |"
    )
    for key, label in (
        ("server_us", "server CPU per request"),
        ("machine_us", "machine busy CPU per request"),
    ):
        print(
            f"| {label} | {median(a[key] for a, _ in rounds):.1f} µs | "
            f"{median(b[key] for _, b in rounds):.1f} µs | "
            f"{median(b[key] / a[key] for a, b in rounds):.3f} |"
        )
    writer = median(b["writer_us"] for _, b in rounds)
    print(f"| of which the writer thread | – | {writer:.1f} µs | – |")
    print(
        f"| page faults per request | {median(a['faults'] for a, _ in rounds):.3f} | "
        f"{median(b['faults'] for _, b in rounds):.3f} | – |"
    )
    print(f"\nrounds' req/s ratios: {', '.join(f'{x:.3f}' for x in ratio)}")
    return 0


def start_oha(port: int, request: run.Request, body: Path, seconds: int, rate: int):
    argv = [
        str(OHA), "--no-tui", "--output-format", "json", "-z", f"{seconds}s",
        "-c", str(CONNECTIONS), "-q", str(rate), "-m", "POST", "-D", str(body),
    ]  # fmt: skip
    for name, value in request.headers.items():
        argv += ["-H", f"{name}: {value}"]
    argv.append(f"http://127.0.0.1:{port}{request.path}")
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def answered(process, seconds: int) -> int:
    """The 2xx answers of a finished oha run; any other answer fails the round."""
    out, err = process.communicate(timeout=seconds + 60)
    if process.returncode != 0:
        raise RuntimeError(f"oha failed: {err.strip()[:300]}")
    codes = json.loads(out).get("statusCodeDistribution", {})
    failed = {code: n for code, n in codes.items() if not str(code).startswith("2")}
    if failed or not codes:
        raise RuntimeError(f"answers {codes}")
    return sum(codes.values())


def one_round(servers, request, body, args, workdir: Path, first: int) -> list[tuple]:
    """Both servers under load at once; (µs per request, writer µs per request) of each."""
    order = servers[first:] + servers[:first]
    running = []
    try:
        for server in order:
            folder = workdir / server.name
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            running.append(run.Running(server, folder))
        for r in running:
            r.wait_ready()
        warm = [start_oha(r.port, request, body, 2, args.rate) for r in running]
        for process in warm:
            answered(process, 2)
        before = [thread_counters(r.process.pid) for r in running]
        load = [start_oha(r.port, request, body, args.duration, args.rate) for r in running]
        counts = [answered(process, args.duration) for process in load]
        after = [thread_counters(r.process.pid) for r in running]
    finally:
        for r in running:
            r.stop()
    by_name = {}
    for r, b, a, n in zip(running, before, after, counts):
        by_name[r.server.name] = ((a[0] - b[0]) / n / 1e3, (a[1] - b[1]) / n / 1e3)
    return [by_name[s.name] for s in servers]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="v2-binary-100", choices=list(run.workloads()))
    parser.add_argument("--rate", type=int, default=3000, help="requests/s sent to each server")
    parser.add_argument("--duration", type=int, default=8, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--mode", default="async", choices=["async", "durable"])
    parser.add_argument(
        "--closed-loop",
        action="store_true",
        help="full load with wrk, the servers one after the other (--rate is ignored)",
    )
    args = parser.parse_args(argv)
    if args.closed_loop:
        generator = (shutil.which("wrk") or "wrk", "make bench-build")
    else:
        generator = (OHA, "bench/setup.sh")
    needs = (generator, (run.prediction_api_bin(), "cargo build --release"))
    for needed, how in needs:
        if not Path(needed).exists():
            print(f"audit_cpu: {needed} is missing: run {how}", file=sys.stderr)
            return 2
    request = run.workloads()[args.workload].native[0]
    with tempfile.TemporaryDirectory(prefix="audit-cpu-") as tmp:
        workdir = Path(tmp)
        body = workdir / "request.body"
        body.write_bytes(request.body)
        off = run.prediction_api("trail-off", [])
        on = run.prediction_api(
            "trail-on",
            ["--audit-db", str(workdir / "trail-on" / "audit.db"), "--audit-mode", args.mode],
        )
        if args.closed_loop:
            return closed_loop(args, off, on, workdir)
        rounds = []
        for number in range(args.rounds):
            measured = one_round([off, on], request, body, args, workdir, number % 2)
            (off_us, _), (on_us, writer_us) = measured
            rounds.append((off_us, on_us, writer_us))
            run.log(
                f"round {number + 1}: off {off_us:.1f} µs/request, on {on_us:.1f} µs/request "
                f"(writer thread {writer_us:.1f}), ratio {on_us / off_us:.3f}"
            )
    ratios = sorted(on / off for off, on, _ in rounds)
    median = statistics.median
    print(
        f"\n{args.workload}, {args.rate} requests/s to each server, {args.rounds} rounds of "
        f"{args.duration} s, trail {args.mode}: server CPU per request, medians"
    )
    print("| trail off | trail on | of which the writer thread | on / off | rounds' ratios |")
    print("|---:|---:|---:|---:|---|")
    print(
        f"| {median(r[0] for r in rounds):.1f} µs | {median(r[1] for r in rounds):.1f} µs | "
        f"{median(r[2] for r in rounds):.1f} µs | {median(ratios):.3f} | "
        f"{', '.join(f'{x:.3f}' for x in ratios)} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
