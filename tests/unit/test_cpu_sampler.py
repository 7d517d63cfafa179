"""The CPU sampler for benchmarked stacks (``benchmarks/cpu_sampler``) and its report:
a real process that burns CPU in a known function, then the folded stacks it wrote."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from benchmarks.cpu_report import profiles, read_folded, report

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLER = REPO_ROOT / "benchmarks" / "cpu_sampler"

BURNER = textwrap.dedent(
    """
    import time

    def spin_here(seconds):
        end = time.process_time() + seconds
        while time.process_time() < end:
            sum(range(200))

    def sleep_here(seconds):
        time.sleep(seconds)

    sleep_here(0.3)
    spin_here(0.5)
    sleep_here(0.3)
    """
)


def _run(tmp_path: Path, **env: str) -> dict:
    script = tmp_path / "burner.py"
    script.write_text(BURNER)
    out = tmp_path / "profile"
    out.mkdir()
    subprocess.run(
        [sys.executable, str(script)],
        env={
            **{k: v for k, v in os.environ.items() if k != "PASOKH_CPU_PROFILE_DIR"},
            "PYTHONPATH": str(SAMPLER),
            "PASOKH_CPU_PROFILE_DIR": str(out),
            "PASOKH_CPU_PROFILE_MATCH": "burner.py",
            **env,
        },
        check=True,
        timeout=60,
    )
    return profiles(out)


def test_samples_are_cpu_time_in_the_running_function(tmp_path: Path):
    found = _run(tmp_path)
    assert list(found) == ["burner"]
    burner = found["burner"]
    spinning = sum(n for frame, n in burner.inclusive.items() if frame.startswith("spin_here"))
    sleeping = sum(n for frame, n in burner.inclusive.items() if frame.startswith("sleep_here"))
    # 0.5 s of CPU spinning at 5 ms a sample; the 0.6 s asleep costs no CPU, so (almost)
    # no samples.
    assert spinning >= 0.8 * 100, burner.inclusive.most_common(5)
    assert sleeping <= 0.1 * spinning


def test_nothing_is_sampled_unless_the_process_matches(tmp_path: Path):
    assert _run(tmp_path, PASOKH_CPU_PROFILE_MATCH="pasokh_common.runner") == {}


def test_a_service_is_named_by_the_runner_argument():
    import importlib.util

    spec = importlib.util.spec_from_file_location("sampler", SAMPLER / "sitecustomize.py")
    sampler = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sampler)
    runner = ["python", "-m", "pasokh_common.runner", "tickets", "services.tickets.service:X"]
    assert sampler._process_name(runner) == "tickets"
    relay = ["python", "-m", "pasokh_common.eventlog.relay_main", "--service", "sla"]
    assert sampler._process_name(relay) == "sla-relay"
    assert sampler._process_name(["python", "/tmp/burner.py"]) == "burner"


def test_the_report_counts_own_and_inclusive_shares():
    profile = read_folded(["main;a;b 3", "main;a 1", "main;c;a 4", "garbage"])
    assert profile.samples == 8
    assert profile.own == {"b": 3, "a": 5}
    assert profile.inclusive["a"] == 8 and profile.inclusive["main"] == 8
    lines = report(profile, top=2)
    assert lines[0] == "samples: 8 (5 ms of CPU each)"
    assert "   62.5% a" in lines
