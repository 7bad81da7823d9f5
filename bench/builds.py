#!/usr/bin/env python3
"""Builds of prediction-api (or one build with different flags) side by side at full load.

The harness (bench/run.py) runs one binary, target/release/prediction-api. To tell whether a
change to the server pays, the build before it and the build after it have to run in the same
rounds: on this shared 2-core machine one cell's req/s moves by ±30% with the machine's speed,
and only ratios within a round are steady enough to compare. So: copy each build's binary
somewhere (`cp target/release/prediction-api /tmp/before`), name them on the command line, and
this runs them one after the other in every round, in a rotating order (reversed every other
round), each cell on a fresh process with a fresh audit database, under wrk at 64 connections
with the harness's rotating requests.

    python3 bench/builds.py [--workload v2-binary-100] [--rounds 16] [--duration 6]
        off=/tmp/before:--audit-db=off before=/tmp/before after=/tmp/after

Each server is NAME=BINARY, optionally followed by `:` and extra flags separated by commas
(`--audit-db=off`, `--batching=off`). A server whose flags name no `--audit-db` gets one in
its cell's fresh folder. The first server is the base of the paired ratios; every other pair
is compared too (the median ratio, how many rounds it was above 1, and a 95%
distribution-free interval for the median, as the harness reports it). Beside req/s it prints
how the machine's time was split in each server's cells (user, system, softirq, idle, from
/proc/stat: idle CPU at full load is throughput lost), and the audit rows each server dropped
(read from its /metrics before it stops: a comparison with dropped rows is not a fair one).

With `--pin`, each server runs on the second core only and wrk on the first (taskset): the
server's throughput on one core of its own, as with the load generator on another machine.
Its ratios are steadier (the two no longer take turns on both cores, and no idle time shows
up between them), and they weigh everything the server spends per request, the audit writer
included, exactly: the core is always busy.

Linux only (/proc); needs wrk (`make bench-build`). 127.0.0.1 only; every server is stopped,
every run bounded in time.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import run

CONNECTIONS = 64
SHOWN_FIELDS = ("user", "system", "softirq", "idle", "steal")


SERVER_CORE = ("taskset", "-c", "1")
CLIENT_CORE = ("taskset", "-c", "0")


def server(spec: str, folder: Path, pinned: bool) -> run.Server:
    """NAME=BINARY[:FLAG,FLAG...] as a harness server whose audit database is in `folder`."""
    name, _, rest = spec.partition("=")
    binary, _, flags = rest.partition(":")
    if not name or not binary:
        raise SystemExit(f"builds: expected NAME=BINARY[:FLAGS], got {spec!r}")
    if not Path(binary).is_file():
        raise SystemExit(f"builds: {binary} is not a file")
    extra = [f for f in flags.split(",") if f]
    if not any(f.startswith("--audit-db") for f in extra):
        extra.append(f"--audit-db={folder / name / 'audit.db'}")

    core = SERVER_CORE if pinned else ()

    def argv(ports: list[int]) -> list[str]:
        return [
            *core, binary, "--host", "127.0.0.1", "--port", str(ports[0]),
            "--model-repository", str(run.ROOT / "models"), "--log-level", "warn", *extra,
        ]  # fmt: skip

    return run.Server(name=name, description=spec, argv=argv)


def cell(server: run.Server, script: Path, seconds: int, folder: Path, pinned: bool) -> dict:
    client = CLIENT_CORE if pinned else ()
    try:
        with run.warmed(server, folder, script, CONNECTIONS, client) as running:
            before = run.cpu_ticks()
            measured = run.wrk(running.port, script, CONNECTIONS, seconds, client)
            after = run.cpu_ticks()
            # None: a server that exports no count (a build without the trail's metrics).
            dropped = run.audit_rows_dropped(running.port) or 0
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if measured.problem:
        raise RuntimeError(f"{server.name}: {measured.problem}")
    spent = {kind: after[kind] - before[kind] for kind in after}
    total = max(1, sum(spent.values()))
    split = {kind: ticks / total for kind, ticks in spent.items()}
    return {"rps": measured.rps, "split": split, "dropped": dropped}


def compare(name: str, base: str, ratios: list[float]) -> str:
    above = sum(r > 1 for r in ratios)
    interval = run.median_interval(ratios)
    shown = f"{interval[0]:.3f} … {interval[1]:.3f}" if interval else "–"
    return (
        f"| {name} / {base} | {statistics.median(ratios):.3f} | {above} of {len(ratios)} "
        f"| {shown} |"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="v2-binary-100", choices=list(run.workloads()))
    parser.add_argument("--rounds", type=int, default=16)
    parser.add_argument("--duration", type=int, default=6, help="seconds per cell")
    parser.add_argument(
        "--pin", action="store_true", help="servers on the second core, wrk on the first"
    )
    parser.add_argument(
        "servers", nargs="+", help="NAME=BINARY[:FLAG,FLAG...]; the first is the base"
    )
    args = parser.parse_args(argv)
    if len(args.servers) < 2:
        raise SystemExit("builds: name at least two servers")
    workload = run.workloads()[args.workload]
    workdir = Path(tempfile.mkdtemp(prefix="builds-"))
    try:
        servers = [server(spec, workdir, args.pin) for spec in args.servers]
        names = [s.name for s in servers]
        if len(set(names)) != len(names):
            raise SystemExit("builds: server names must differ")
        script = workdir / "requests.lua"
        script.write_text(run.lua_script(workload.native, f"{workload.name}, builds"))
        cells: dict[str, list[dict]] = {n: [] for n in names}
        for number in range(args.rounds):
            shift = number % len(servers)
            order = servers[shift:] + servers[:shift]
            if number % 2:
                order.reverse()
            for s in order:
                cells[s.name].append(cell(s, script, args.duration, workdir / "cell", args.pin))
            run.log(
                f"round {number + 1}: "
                + ", ".join(f"{n} {cells[n][-1]['rps']:,.0f}" for n in names)
                + " req/s"
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    median = statistics.median
    print(
        f"\n{args.workload}, wrk at {CONNECTIONS} connections, {args.rounds} rounds of "
        f"{args.duration} s, servers in a rotating order"
        + (", each server on core 1 and wrk on core 0" if args.pin else "")
        + "; medians over rounds\n"
    )
    header = " | ".join(f"{f} %" for f in SHOWN_FIELDS)
    print(f"| server | req/s | {header} | audit rows dropped |")
    print("|---|---:|" + "---:|" * len(SHOWN_FIELDS) + "---:|")
    for n in names:
        split = " | ".join(
            f"{100 * median(c['split'][f] for c in cells[n]):.1f}" for f in SHOWN_FIELDS
        )
        dropped = sum(c["dropped"] for c in cells[n])
        print(f"| {n} | {median(c['rps'] for c in cells[n]):,.0f} | {split} | {dropped:,.0f} |")
    print("\n| paired | median ratio | above 1 | 95% CI of the median |")
    print("|---|---:|---:|---:|")
    for i, base in enumerate(names):
        for other in names[i + 1 :]:
            pairs = zip(cells[base], cells[other])
            ratios = [o["rps"] / b["rps"] for b, o in pairs if b["rps"] > 0]
            print(compare(other, base, ratios))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
