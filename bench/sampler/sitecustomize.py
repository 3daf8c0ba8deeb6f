"""A wall-clock sampling profiler for the benchmark's child processes (front door, Rasa), loaded only when
bench/turn_profile.py puts this directory on PYTHONPATH and sets BENCH_PROFILE_OUT.

Every BENCH_PROFILE_INTERVAL_MS (default 2) it reads every thread's stack and adds, under the current phase (the
text of the file BENCH_PROFILE_OUT.phase, which the driver rewrites between phases), the seconds since its last
sample. Weighting by the time that passed, not counting samples, matters: the sampler needs the interpreter lock, so
while another thread runs Python it samples only every `sys.getswitchinterval()` (5 ms), and a count would charge that
thread 2 ms for 5. At exit it writes `{"phases": {phase: {"thread:NAME;f1;f2;...": seconds}}}` (collapsed stacks,
outermost first) to BENCH_PROFILE_OUT.<pid>.json. Wall-clock, so time inside TensorFlow's, ONNX Runtime's or
SQLite's C code is charged to the Python call that waits for it; idle samples (a loop or worker waiting) are kept,
and the report tells them apart.
Never imported by product code; standard library only (Python 3.10 and 3.11).
"""

from __future__ import annotations

import atexit
import collections
import json
import os
import sys
import threading
import time
from types import FrameType


def _name(frame: FrameType) -> str:
    code = frame.f_code
    return f"{'/'.join(code.co_filename.split('/')[-2:])}:{code.co_name}"


def _start(out: str, interval_s: float) -> None:
    phases: dict[str, collections.defaultdict[str, float]] = collections.defaultdict(
        lambda: collections.defaultdict(float)
    )
    stop = threading.Event()
    phase_file = out + ".phase"

    def current_phase() -> str:
        try:
            with open(phase_file, encoding="utf-8") as file:
                return file.read().strip() or "none"
        except OSError:
            return "none"

    def sample() -> None:
        phase, ticks, last = current_phase(), 0, time.perf_counter()
        while not stop.wait(interval_s):
            now = time.perf_counter()
            elapsed, last = now - last, now
            ticks += 1
            if ticks % 50 == 0:
                phase = current_phase()
            threads = {t.ident: t.name for t in threading.enumerate()}
            for ident, frame in sys._current_frames().items():
                thread = threads.get(ident, "?")
                if thread == "fd-sampler":
                    continue
                names = []
                walker: FrameType | None = frame
                while walker is not None:
                    names.append(_name(walker))
                    walker = walker.f_back
                names.append(f"thread:{thread.split('-')[0].split('_')[0]}")
                phases[phase][";".join(reversed(names))] += elapsed

    thread = threading.Thread(target=sample, name="fd-sampler", daemon=True)
    thread.start()

    def dump() -> None:
        stop.set()
        thread.join(1)
        with open(f"{out}.{os.getpid()}.json", "w", encoding="utf-8") as file:
            json.dump({"argv": sys.argv, "phases": phases}, file)

    atexit.register(dump)


if os.environ.get("BENCH_PROFILE_OUT"):
    _start(os.environ["BENCH_PROFILE_OUT"], float(os.environ.get("BENCH_PROFILE_INTERVAL_MS", "2")) / 1000)
