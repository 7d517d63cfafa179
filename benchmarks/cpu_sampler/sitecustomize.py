"""A CPU sampler for the processes of a benchmarked stack (``bin/bench-gateway
--cpu-profile DIR``); loaded by Python at start-up only when this folder is on
``PYTHONPATH``, and active only when ``PASOKH_CPU_PROFILE_DIR`` is set.

Why not py-spy: under eventlet it reports the frames of suspended greenthreads, so
idle waits (and, on a saturated machine, time spent runnable but descheduled) look
like CPU in whatever call last switched to the hub. This sampler ticks on the
process's own CPU time (``ITIMER_PROF``) and records the frame that is really
running when the tick arrives, so a sample is 5 ms of this process's CPU. Only the
services (``pasokh_common.runner``: one OS thread, greenthreads on it) are sampled by
default: Python runs a signal handler in the main thread, so a process whose work is
in other OS threads (the relays) would be sampled late and in the wrong frame.
Stacks are written as folded lines
(``frame;frame;frame count``) to ``<DIR>/<name>.<pid>.folded`` every 1,000 samples
and at exit; ``python -m benchmarks.cpu_report DIR`` reads them.
"""

import os

_DIR = os.environ.get("PASOKH_CPU_PROFILE_DIR")


def _start(directory: str) -> None:
    import atexit
    import collections
    import signal

    interval = 0.005
    argv = open("/proc/self/cmdline").read().split("\0")  # noqa: SIM115
    if not any(
        os.environ.get("PASOKH_CPU_PROFILE_MATCH", "pasokh_common.runner") in a for a in argv
    ):
        return
    name = _process_name([a for a in argv if a])
    counts: collections.Counter = collections.Counter()
    taken = [0]
    here = os.getcwd() + os.sep

    def stack(frame) -> str:
        parts = []
        while frame is not None:
            code = frame.f_code
            where = code.co_filename.split("site-packages/")[-1].removeprefix(here)
            parts.append(f"{code.co_name} ({where}:{code.co_firstlineno})")
            frame = frame.f_back
        return ";".join(reversed(parts))

    def dump() -> None:
        with open(os.path.join(directory, f"{name}.{os.getpid()}.folded"), "w") as out:
            out.writelines(f"{line} {count}\n" for line, count in counts.items())

    def sample(signum, frame) -> None:
        counts[stack(frame)] += 1
        taken[0] += 1
        if taken[0] % 1000 == 0:
            dump()

    def stop() -> None:
        # Before the interpreter drops its handlers: a tick after that would kill the
        # process (SIGPROF's default action).
        signal.setitimer(signal.ITIMER_PROF, 0)
        dump()

    signal.signal(signal.SIGPROF, sample)
    signal.setitimer(signal.ITIMER_PROF, interval, interval)
    atexit.register(stop)


def _process_name(argv: list[str]) -> str:
    """``gateway`` for the runner's ``gateway ...`` service, ``notify-relay`` for
    ``relay_main --service notify`` (the tickets relay has no ``--service``), else
    the script's or module's name."""
    module = argv[argv.index("-m") + 1] if "-m" in argv[:-1] else argv[min(1, len(argv) - 1)]
    if module == "pasokh_common.runner" and len(argv) > 3:
        return argv[3]
    if module.endswith("relay_main"):
        service = argv[argv.index("--service") + 1] if "--service" in argv[:-1] else "tickets"
        return f"{service}-relay"
    return os.path.basename(module).removesuffix(".py").rsplit(".", 1)[-1]


if _DIR:
    _start(_DIR)
