"""What run_load.py measures besides locust's client-side times: CPU seconds the server processes spent (so a
run on a busy machine still tells what one request costs), the server-side time of each request from
gunicorn's access log (locust's time minus this is time spent queued for a free worker), and the load average.
Linux only (/proc)."""

from __future__ import annotations

import os
import re
import statistics
import threading
from collections import defaultdict
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
#: gunicorn --access-logformat: method, path, status, request time in microseconds.
ACCESS_FORMAT = "%(m)s %(U)s %(s)s %(D)s"
_ID = re.compile(r"/\d+(?=/|$)")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def descendants(pid: int) -> list[int]:
    """The process and all its descendants (gunicorn master and workers, celery and its pool)."""
    parents: dict[int, list[int]] = defaultdict(list)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parts = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        parents[int(parts[1])].append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(parents.get(current, []))
    return found


class CpuMeter:
    """CPU seconds used between start() and stop() by named groups of processes. Processes that appear during
    the interval (new database backends) count from zero; processes that exit during it are counted up to
    their last sample, so stop() should be called before the servers are stopped."""

    def __init__(self, groups):
        self.groups = groups  # {label: callable returning the group's pids now}
        self.before: dict[str, dict[int, float]] = {}
        self.used: dict[str, float] = {}

    def _sample(self) -> dict[str, dict[int, float]]:
        return {label: {pid: cpu_seconds(pid) for pid in pids()} for label, pids in self.groups.items()}

    def start(self) -> None:
        self.before = self._sample()

    def stop(self) -> None:
        after = self._sample()
        self.used = {label: sum(max(0.0, cpu - self.before.get(label, {}).get(pid, 0.0))
                                for pid, cpu in after[label].items()) for label in after}


class LoadSampler(threading.Thread):
    """The 1-minute load average every 5 s while the benchmark runs."""

    def __init__(self):
        super().__init__(daemon=True)
        self.samples: list[float] = []
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.wait(5):
            self.samples.append(os.getloadavg()[0])


def _percentile(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def server_times(access_log: Path) -> list[tuple[str, int, float, float, float]]:
    """(METHOD path-with-{id}, requests, p50, p95, p99 in ms) from the gunicorn access log, busiest first."""
    times: dict[str, list[float]] = defaultdict(list)
    for line in access_log.read_text().splitlines():
        parts = line.split()
        if len(parts) != 4 or not parts[3].isdigit():
            continue
        times[f"{parts[0]} {_ID.sub('/{id}', parts[1])}"].append(int(parts[3]) / 1000)
    rows = [(key, len(v), _percentile(v, 50), _percentile(v, 95), _percentile(v, 99)) for key, v in times.items()]
    return sorted(rows, key=lambda r: -r[1])
