"""The benchmark harness's paired comparison: its confidence interval for a median and its
round-by-round ratios, checked against exact binomial figures and simulated rounds."""
import importlib.util
import math
import random
import statistics
import sys

import pytest


@pytest.fixture(scope="module")
def bench(root):
    spec = importlib.util.spec_from_file_location("bench_run", root / "bench" / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


def test_no_interval_below_six_values(bench):
    # With 5 values even [min, max] covers the median with only 1 - 2/32 = 93.75 %.
    assert bench.median_interval([1.0, 2.0, 3.0, 4.0, 5.0]) is None
    assert bench.median_interval([float(v) for v in range(6)]) == (0.0, 5.0)


def test_interval_ranks_match_the_binomial_tables(bench):
    # n = 30: P(X <= 9) = 0.0214 <= 0.025 < P(X <= 10), so ranks 10 and 21 (1-based).
    values = [float(v) for v in range(1, 31)]
    random.Random(7).shuffle(values)
    assert bench.median_interval(values) == (10.0, 21.0)
    assert sum(math.comb(30, j) for j in range(10)) / 2**30 <= 0.025


def test_interval_covers_the_true_median_at_least_95_percent(bench):
    rng = random.Random(11)
    misses = 0
    trials = 2000
    for _ in range(trials):
        sample = [rng.lognormvariate(0.0, 0.3) for _ in range(20)]
        low, high = bench.median_interval(sample)
        assert low <= statistics.median(sample) <= high
        misses += not low <= 1.0 <= high  # the lognormal's median is e^0 = 1
    assert misses / trials <= 0.05


def test_paired_ratios_skip_failed_rounds(bench):
    m = bench.Measurement
    base = [m(rps=100.0, requests=500), m(rps=0.0, problem="no request completed"), m(rps=80.0)]
    other = [m(rps=90.0, requests=450), m(rps=70.0), m(rps=88.0, problem="3 non-2xx answers")]
    assert bench.paired_ratios(base, other) == [0.9]
