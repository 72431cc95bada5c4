#!/usr/bin/env python
"""Send random, malformed and adversarial lines to gtp_server.py and check every answer
against a shadow board. Prints one JSON line with the figures.

    python scripts/fuzz_gtp.py --lines 100000 --seed 1
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import tempfile
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alphago.tools import fuzz  # noqa: E402
from alphago.board import BLACK, WHITE  # noqa: E402
from alphago.gtp import GtpEngine  # noqa: E402


def read_answer(proc) -> str:
    lines = []
    while True:
        raw = proc.stdout.readline()
        if not raw:
            raise RuntimeError("the engine died")
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if line == "" and lines:
            return "\n".join(lines)
        if line:
            lines.append(line)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--check-every", type=int, default=1, help="compare boards every K lines")
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    workdir = tempfile.mkdtemp(prefix="fuzz_gtp_")  # printsgf FILE writes fuzzed names here
    proc = subprocess.Popen([sys.executable, str(ROOT / "gtp_server.py"), "--uniform",
                             "--visits", "2", "--max-nodes", "500", "--size", "9"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, cwd=workdir)
    shadow = fuzz.Shadow(9)
    sent = errors = mismatches = 0
    t0 = time.time()
    for i in range(args.lines):
        line = fuzz.random_line(rng, shadow.size)
        words = [w for w in line.split() if not w.isdigit()][:1]
        if words == ["loadsgf"]:
            continue
        proc.stdin.write(line.encode("utf-8", errors="surrogateescape") + b"\n")
        if words == ["lz-analyze"]:  # interrupt the stream with the next command at once
            proc.stdin.write(b"name\n")
        proc.stdin.flush()
        sent += 1
        clean = GtpEngine.preprocess(line)
        if clean:
            answer = read_answer(proc)
            if answer[:1] not in "=?":
                raise SystemExit(f"bad answer {answer!r} to {line!r}")
            errors += answer.startswith("?")
            if words == ["lz-analyze"]:
                read_answer(proc)  # the answer to 'name'
            else:
                body = answer[1:].lstrip("0123456789").strip()
                try:
                    shadow.apply(clean, answer.startswith("="), body)
                except Exception:
                    print(repr(line), repr(clean), repr(answer), file=sys.stderr)
                    raise
        if i % args.check_every == 0:
            for color, name in ((BLACK, "b"), (WHITE, "w")):
                proc.stdin.write(f"list_stones {name}\n".encode())
                proc.stdin.flush()
                got = sorted(read_answer(proc)[1:].split())
                if got != shadow.stones(color):
                    mismatches += 1
                    shadow = fuzz.Shadow(shadow.size)
                    proc.stdin.write(b"clear_board\n")
                    proc.stdin.flush()
                    read_answer(proc)
                    break
    proc.stdin.write(b"quit\n")
    proc.stdin.flush()
    proc.wait(timeout=30)
    print(json.dumps({"lines": sent, "errors": errors, "board_mismatches": mismatches,
                      "seconds": round(time.time() - t0, 1), "exit_code": proc.returncode}))
    return 0 if mismatches == 0 and proc.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
