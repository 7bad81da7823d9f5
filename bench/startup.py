#!/usr/bin/env python3
"""Start-up time and memory of each server: the time from process start to
GET /v2/health/ready = 200 with both models loaded (polled every millisecond, median of five
starts), resident memory at idle after ready, and the peak after 64 connections of single iris
predictions. Memory is summed over the server's process group (uvicorn's and MLServer's worker
processes included); the peak is the sum of each process's own high-water mark (VmHWM).

Standard library only; the same servers and set-up as bench/run.py.
Usage: python3 bench/startup.py [--servers a,b] [--starts 5] [--load 5] [--output FILE]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import run

IDLE_SETTLE_S = 1.0


def group_memory_kib(group: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) in KiB summed over every process whose process group is `group`."""
    rss = hwm = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The command name in field 2 may hold spaces; the fields after its ')' do not.
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != group:
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm += int(line.split()[1])
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
    return rss, hwm


def mib(kib: float) -> str:
    return f"{kib / 1024:.0f} MiB"


def measure(server: run.Server, starts: int, load_s: int, workdir: Path, script: Path):
    times = []
    idle = peak = None
    for attempt in range(1, starts + 1):
        running = run.Running(server, workdir)
        try:
            seconds = running.wait_ready(poll_s=0.001)
            times.append(seconds)
            run.log(f"{server.name}: start {attempt}: ready in {seconds * 1000:.0f} ms")
            if attempt == starts:
                time.sleep(IDLE_SETTLE_S)
                idle = group_memory_kib(running.process.pid)[0]
                result = run.wrk(running.port, script, 64, load_s)
                if result.problem:
                    run.log(f"{server.name}: load: {result.problem}")
                peak = group_memory_kib(running.process.pid)[1]
        finally:
            running.stop()
    return times, idle, peak


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Start-up time and memory of each server.")
    parser.add_argument("--servers", help="comma-separated servers (default: all)")
    parser.add_argument("--starts", type=int, default=5, help="starts per server (median)")
    parser.add_argument("--load", type=int, default=5, help="seconds of 64-connection load")
    parser.add_argument("--output", type=Path, help="also write the Markdown table here")
    args = parser.parse_args(argv)
    if not 1 <= args.starts <= 20 or not 1 <= args.load <= 120:
        parser.error("--starts 1..20, --load 1..120 s")
    os.chdir(run.ROOT)
    every = run.servers({})
    names = run.parse_list(args.servers, list(every), "servers")
    iris = run.workloads()["iris-1"]
    lines = [
        "| server | start to ready (median) | fastest / slowest | RSS idle | peak RSS after "
        "64-connection load |",
        "|---|---:|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as temporary:
        workdir = Path(temporary)
        for name in names:
            server = every[name]
            if reason := run.skip_reason(server):
                run.log(f"{name}: skipped: {reason}")
                continue
            script = workdir / f"{name}.lua"
            script.write_text(run.lua_script(run.requests_for(server, iris), f"iris-1 for {name}"))
            try:
                times, idle, peak = measure(server, args.starts, args.load, workdir, script)
            except RuntimeError as e:
                run.log(f"{name}: {e}")
                lines.append(f"| {name} | failed: {e} | | | |")
                continue
            lines.append(
                f"| {name} | {statistics.median(times) * 1000:,.0f} ms | "
                f"{min(times) * 1000:,.0f} / {max(times) * 1000:,.0f} ms | {mib(idle)} | "
                f"{mib(peak)} |"
            )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.output:
        args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
