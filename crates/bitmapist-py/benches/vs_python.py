"""bitmapist-rs against Python bitmapist 3.119, side by side in one run, interleaved.

    python crates/bitmapist-py/benches/vs_python.py \\
        --ours target/pyvenv-rs/bin/python --theirs target/pyvenv/bin/python [--rounds 3]

Starts a redis-server on a free port, seeds Python bitmapist's reference dataset into it
with Python bitmapist itself (``/work/shared/refbench/py_seed.py``, or ``--seed-script``),
copies it into an embedded store, then alternates the two packages (each in its own venv,
a fresh process per measurement) on: the 30x30 daily ``get_dates_data`` table (on Redis,
and on the embedded store for ours), 100,000 ``mark_event`` calls, and ours' batch call.
Checks that both packages compute the same table. Prints medians and ratios as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker(python: str, task: str, port: int, arg: str | None = None) -> dict:
    cmd = [python, str(HERE / "worker.py"), task, str(port)] + ([arg] if arg else [])
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=900)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stderr}")
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ours", required=True)
    ap.add_argument("--theirs", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--seed-script", default="/work/shared/refbench/py_seed.py")
    args = ap.parse_args()

    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="bitmapist-bench-"))
    redis_bin = shutil.which("redis-server")
    if not redis_bin:
        raise SystemExit("redis-server is not installed; install with: sudo apt-get install -y redis-server")
    server = subprocess.Popen(
        [redis_bin, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        t = time.perf_counter()
        subprocess.run([args.theirs, args.seed_script, "--port", str(port), "--flush", "--users", str(args.users)],
                       check=True, stdout=subprocess.DEVNULL)
        seeded = time.perf_counter() - t
        file_url = f"file://{tmp / 'bench.redb'}"
        copied = worker(args.ours, "copy-file", port, file_url)["keys"]

        res: dict[str, list[float]] = {k: [] for k in ("cohort_theirs", "cohort_ours", "cohort_ours_file",
                                                      "marks_theirs", "marks_ours", "marks_batch_ours")}
        left = {"theirs": 0, "ours": 0}
        same_table = True
        for r in range(args.rounds):
            order = [("theirs", args.theirs), ("ours", args.ours)]
            if r % 2:
                order.reverse()
            tables = {}
            for name, py in order:
                got = worker(py, "cohort", port)
                res[f"cohort_{name}"].append(got["seconds"])
                left[name] = max(left[name], got["bitop_keys_left"])
                tables[name] = got["table"]
            got = worker(args.ours, "cohort-file", port, file_url)
            res["cohort_ours_file"].append(got["seconds"])
            same_table &= tables["theirs"] == tables["ours"] == got["table"]
            for name, py in order:
                res[f"marks_{name}"].append(worker(py, "marks", port)["seconds"])
            res["marks_batch_ours"].append(worker(args.ours, "marks-batch", port)["seconds"])

        med = {k: statistics.median(v) for k, v in res.items()}
        report = {
            "users": args.users,
            "rounds": args.rounds,
            "seed_seconds": round(seeded, 1),
            "keys_copied_to_file": copied,
            "same_table": same_table,
            "bitop_keys_left": left,
            "median_seconds": {k: round(v, 5) for k, v in med.items()},
            "ratios": {
                "cohort_redis_x": round(med["cohort_theirs"] / med["cohort_ours"], 1),
                "cohort_file_x": round(med["cohort_theirs"] / med["cohort_ours_file"], 1),
                "marks_loop_x": round(med["marks_theirs"] / med["marks_ours"], 2),
                "marks_batch_x": round(med["marks_theirs"] / med["marks_batch_ours"], 1),
            },
            "loadavg": os.getloadavg(),
        }
        print(json.dumps(report, indent=2))
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
