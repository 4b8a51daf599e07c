# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every benchmark measures the same way: the spread of samples, the ad-hoc floor, a timed playbook run."""
from __future__ import annotations

import statistics
import subprocess
import time
import typing as t

# The end of this task is the verdict: the diagnosis has named its findings, only the report is left.
VERDICT_TASK = "TASK [Diagnose]"


def spread(samples: t.Iterable[t.Optional[float]]) -> dict:
    """Median, min and max of the samples that were measured (None is a sample that was not)."""
    measured = [sample for sample in samples if sample is not None]
    if not measured:
        return {"median": None, "min": None, "max": None, "samples": []}
    return {"median": statistics.median(measured), "min": min(measured), "max": max(measured), "samples": measured}


def adhoc_floor(inventory: str, run_env: dict, cwd: str) -> dict:
    """What an operator does by hand: one command on every end, no analysis. The floor any diagnosis stands on."""
    start = time.perf_counter()
    proc = subprocess.run(["ansible", "wireguard", "-i", inventory, "-m", "ansible.builtin.command", "-a", "wg show all dump"],
                          env=run_env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    return {"seconds": time.perf_counter() - start, "rc": proc.returncode}


def timed_playbook(argv: list, run_env: dict, cwd: str, starts: t.Optional[t.Mapping[str, str]] = None) -> dict:
    """Run a playbook, timing it from its streamed output.

    Returns seconds (the whole run), rc, `verdict` (the end of the Diagnose task), one mark per entry of
    `starts` (name: the prefix of the line that starts it, first occurrence), `lines` (each line with the
    second it was read) and `tail` (the last 40 lines, for an error message).
    """
    starts = starts or {}
    marks: dict[str, float] = {}
    tail: list[str] = []
    lines: list[str] = []
    in_verdict = False
    start = time.perf_counter()
    with subprocess.Popen(argv, env=run_env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            now = time.perf_counter() - start
            tail = (tail + [line])[-40:]
            lines.append("%8.1f %s" % (now, line))
            for name, prefix in starts.items():
                if line.startswith(prefix):
                    marks.setdefault(name, now)
            if line.startswith(("TASK [", "PLAY [", "PLAY RECAP")):
                if in_verdict:
                    marks.setdefault("verdict", now)
                in_verdict = line.startswith(VERDICT_TASK)
        rc = proc.wait()
    return {"seconds": time.perf_counter() - start, "rc": rc, **marks, "lines": lines, "tail": "".join(tail)}
