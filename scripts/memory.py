#!/usr/bin/env python
"""Resident memory over long runs: lz-analyze on one position, and self-play.

    python scripts/memory.py analyze --seconds 600      # gtp_server.py, shipped model
    python scripts/memory.py selfplay --seconds 600     # policy self-play batches

Samples the process's resident set size (VmRSS) every second and prints a JSON summary:
peak, first-minute and last-minute medians (a leak shows as a rise between them), and
the cap that the settings imply (see docs/RESULTS.md, Reliability).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def sample(pid: int, seconds: float, stop: threading.Event | None = None) -> list[float]:
    out = []
    t0 = time.time()
    while time.time() - t0 < seconds and not (stop and stop.is_set()):
        r = rss_mb(pid)
        if r is None:
            break
        out.append(r)
        time.sleep(1.0)
    return out


def summary(samples: list[float], **extra) -> dict:
    minute = min(60, max(1, len(samples) // 4))
    return {"samples": len(samples), "peak_rss_mb": round(max(samples), 1),
            "first_minute_median_mb": round(statistics.median(samples[:minute]), 1),
            "last_minute_median_mb": round(statistics.median(samples[-minute:]), 1),
            "per_minute_max_mb": [round(max(samples[i:i + 60]), 1)
                                  for i in range(0, len(samples), 60)], **extra}


def analyze(seconds: float, server_args: list[str]) -> dict:
    cmd = [sys.executable, str(ROOT / "gtp_server.py"), "--threads", "1", *server_args]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, bufsize=1)
    lines = []
    reader = threading.Thread(target=lambda: [lines.append(x) for x in proc.stdout],
                              daemon=True)
    reader.start()
    for cmd_line in ("boardsize 19", "clear_board", "play b Q16", "play w D4", "play b Q3",
                     "play w D16", "lz-analyze b 100"):
        proc.stdin.write(cmd_line + "\n")
    proc.stdin.flush()
    samples = sample(proc.pid, seconds)
    proc.stdin.write("name\nquit\n")
    proc.stdin.flush()
    proc.wait(timeout=60)
    infos = [x for x in lines if x.startswith("info")]
    visits = 0
    if infos:
        words = infos[-1].split()
        visits = sum(int(words[i + 1]) for i, w in enumerate(words) if w == "visits")
    return summary(samples, mode="analyze", seconds=seconds, info_lines=len(infos),
                   root_visits_at_end=visits, server=" ".join(server_args))


SELFPLAY_CHILD = """
import sys, tempfile, time
sys.path.insert(0, {root!r})
import torch
torch.set_num_threads(1)
from alphago import selfplay
from alphago.evaluator import make_evaluator
ev = make_evaluator({model!r}, "auto", threads=1, batch_size=64)
out = tempfile.mkdtemp()
t0, k, games = time.time(), 0, 0
while time.time() - t0 < {seconds}:
    cfg = selfplay.SelfPlayConfig(games=64, size=19, seed=k, max_moves=500)
    played = selfplay.play_games(ev, cfg)
    selfplay.write_games(played, cfg, out, first_id=k * 64)
    games += len(played)
    k += 1
    print(games, flush=True)
"""


def selfplay_run(seconds: float) -> dict:
    code = SELFPLAY_CHILD.format(root=str(ROOT), model=str(ROOT / "data" / "policy_sl.pt"),
                                 seconds=seconds)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    games = []
    reader = threading.Thread(target=lambda: [games.append(int(x)) for x in proc.stdout],
                              daemon=True)
    reader.start()
    samples = sample(proc.pid, seconds + 600)
    proc.wait()
    reader.join(timeout=5)
    return summary(samples, mode="selfplay", seconds=seconds,
                   games=games[-1] if games else 0)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["analyze", "selfplay"])
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--server-args", default="", help="extra gtp_server.py options")
    args = ap.parse_args(argv)
    if args.mode == "analyze":
        res = analyze(args.seconds, args.server_args.split())
    else:
        res = selfplay_run(args.seconds)
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
