"""The GTP server loop, light enough to start answering before torch and numba load.

A reader thread queues input lines, so that a streaming command (lz-analyze)
stops when the next command arrives, and acts on GoGui's ``# interrupt`` line at once
(a running genmove answers with its best move so far). Until the engine is ready only
the static identity commands are answered; the rest wait for it. When the controller goes away
(its end of stdout closed: a GUI or match tool killed), the loop ends quietly with status 0.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
from typing import IO

MAX_LINE = 65536
ENGINE_NAME = "alphago-py"
ENGINE_VERSION = "0.1.0"
_STATIC = {"protocol_version": "2", "name": ENGINE_NAME, "version": ENGINE_VERSION}


def _static_response(line: str) -> str | None:
    """Answer protocol_version/name/version without the engine; None for anything else."""
    text = line.replace("\t", " ").split("#", 1)[0].strip()
    parts = text.split()
    if not parts:
        return None
    cid = parts.pop(0) if parts[0].isdigit() else ""
    if len(parts) == 1 and parts[0] in _STATIC:
        return f"={cid} {_STATIC[parts[0]]}\n\n"
    return None


def discard_output(stdout: IO[bytes]) -> None:
    """Point a broken stdout at /dev/null, so that what is still buffered or written later
    (a streaming analysis, the interpreter's last flush) goes nowhere instead of raising."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no file descriptor behind it (tests)
        pass


def serve_lazy(lazy, stdin: IO[bytes], stdout: IO[bytes]) -> int:
    lines: queue.Queue[str | None] = queue.Queue()
    lock = threading.Lock()
    gone = threading.Event()  # the controller closed its end of stdout
    interrupt = threading.Event()  # GoGui's '# interrupt' line: the engine's interrupt

    def write(text: str) -> None:
        with lock:
            if gone.is_set():
                return
            try:
                stdout.write(text.encode("utf-8", errors="replace"))
                stdout.flush()
            except (BrokenPipeError, ConnectionResetError):
                gone.set()
                discard_output(stdout)

    def reader():
        for raw in iter(stdin.readline, b""):
            if raw.strip() == b"# interrupt":
                interrupt.set()  # acted on now: the main loop is busy with the command
            lines.put(raw[: MAX_LINE + 2].decode("utf-8", errors="replace"))
        lines.put(None)

    threading.Thread(target=reader, daemon=True).start()
    engine = None
    while (engine is None or not engine.quit) and not gone.is_set():
        line = lines.get()
        if line is None:
            break
        if engine is None and not lazy.ready.is_set():
            quick = _static_response(line)
            if quick is not None:
                write(quick)
                continue
        if engine is None:
            try:
                engine = lazy.get()
            except Exception as exc:
                print(f"error: cannot start the engine: {exc}", file=sys.stderr)
                return 1
            engine.out = write
            engine.pending = lines
            engine.interrupt = interrupt
        response = engine.handle(line)
        if response is not None:
            write(response)
    if gone.is_set():
        note("the controller closed the connection; exiting")
    return 0


def note(text: str) -> None:
    """A notice on stderr (start-up, shutdown); a closed or broken stderr loses the notice,
    nothing else."""
    try:
        print(f"alphago: {text}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass
