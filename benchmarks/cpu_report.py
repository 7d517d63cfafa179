"""Where the CPU went: reads the folded stacks ``bin/bench-gateway --cpu-profile DIR``
wrote (``benchmarks/cpu_sampler``) and prints, per process, the functions with the
largest share of its samples, by their own time and with what they call.

    python -m benchmarks.cpu_report DIR [--process tickets] [--top 30]
"""

from __future__ import annotations

import argparse
import collections
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Profile:
    samples: int
    own: collections.Counter
    inclusive: collections.Counter


def read_folded(lines: list[str]) -> Profile:
    """Folded lines (``a;b;c 12``) summed into own and inclusive counts per frame (a
    frame counted once per sample however deep it recurses)."""
    own: collections.Counter = collections.Counter()
    inclusive: collections.Counter = collections.Counter()
    samples = 0
    for line in lines:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        samples += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
    return Profile(samples, own, inclusive)


def profiles(directory: Path) -> dict[str, Profile]:
    """One profile per process name (the files of its pids together)."""
    by_name: dict[str, list[str]] = collections.defaultdict(list)
    for path in sorted(directory.glob("*.folded")):
        by_name[path.name.split(".")[0]] += path.read_text(encoding="utf-8").splitlines()
    return {name: read_folded(lines) for name, lines in by_name.items()}


def report(profile: Profile, top: int) -> list[str]:
    def share(count: int) -> str:
        return f"{100 * count / profile.samples:5.1f}%"

    lines = [f"samples: {profile.samples} (5 ms of CPU each)", "own time:"]
    lines += [f"  {share(n)} {frame}" for frame, n in profile.own.most_common(top)]
    lines.append("with what they call:")
    lines += [f"  {share(n)} {frame}" for frame, n in profile.inclusive.most_common(top)]
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--process", help="only this process (e.g. tickets-service)")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)
    for name, profile in sorted(profiles(args.directory).items()):
        if args.process and args.process != name:
            continue
        print(f"== {name}")
        print("\n".join(report(profile, args.top)))


if __name__ == "__main__":
    main()
