"""The GTP server loop, light enough to start answering before torch and numba load.

A reader thread queues input lines, so that a streaming command (lz-analyze)
stops when the next command arrives. Until the engine is ready only the static
identity commands are answered; the rest wait for it.
"""

from __future__ import annotations

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


def serve_lazy(lazy, stdin: IO[bytes], stdout: IO[bytes]) -> int:
    lines: queue.Queue[str | None] = queue.Queue()
    lock = threading.Lock()

    def write(text: str) -> None:
        with lock:
            stdout.write(text.encode("utf-8", errors="replace"))
            stdout.flush()

    def reader():
        for raw in iter(stdin.readline, b""):
            lines.put(raw[: MAX_LINE + 2].decode("utf-8", errors="replace"))
        lines.put(None)

    threading.Thread(target=reader, daemon=True).start()
    engine = None
    while engine is None or not engine.quit:
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
        response = engine.handle(line)
        if response is not None:
            write(response)
    return 0
