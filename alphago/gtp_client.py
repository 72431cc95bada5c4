"""The client side of GTP: an engine in a subprocess, one command at a time, with
timeouts and restart. The match tool, its referee and the RL loop's gate drive engines
through it."""

from __future__ import annotations

import queue
import shlex
import subprocess
import threading
import time
from pathlib import Path

# the first command after a (re)start also waits for the engine's start-up (loading a
# network, compiling kernels: up to a minute on a first run), which is not a move
STARTUP_SECONDS = 300.0


class EngineFailure(Exception):
    """The engine died, hung, or answered nonsense."""


class GtpClient:
    """A GTP engine in a subprocess, with timeouts and restart."""

    def __init__(self, name: str, command: str, log_dir: Path | None = None):
        self.name = name
        self.command = command
        self.log_dir = log_dir
        self.proc: subprocess.Popen | None = None
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.starting = False
        self.killed = False

    def start(self) -> None:
        self.close()
        if self.killed:
            raise EngineFailure(f"{self.name}: stopped with its match")
        err = subprocess.DEVNULL
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            err = open(self.log_dir / f"{self.name}.stderr.log", "ab")
        try:
            self.proc = subprocess.Popen(shlex.split(self.command), stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=err)
        except OSError as exc:
            raise EngineFailure(f"{self.name}: cannot start {self.command!r}: {exc}") from exc
        self.lines = queue.Queue()
        self.starting = True
        threading.Thread(target=self._reader, args=(self.proc, self.lines), daemon=True).start()

    @staticmethod
    def _reader(proc, lines):
        for raw in iter(proc.stdout.readline, b""):
            lines.put(raw.decode("utf-8", errors="replace"))
        lines.put(None)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def send(self, command: str, timeout: float = 60.0) -> tuple[bool, str]:
        """(success, text) of one command; raises EngineFailure on death or timeout."""
        if not self.alive():
            self.start()
        if self.starting:
            timeout = max(timeout, STARTUP_SECONDS)
        try:
            self.proc.stdin.write((command + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise EngineFailure(f"{self.name} died ({exc})") from exc
        deadline = time.monotonic() + timeout
        got: list[str] = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise EngineFailure(f"{self.name} timed out on {command.split()[0]}")
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise EngineFailure(f"{self.name} exited during {command.split()[0]}")
            if line.strip() == "" and got:
                break
            if line.strip() == "" and not got:
                continue
            got.append(line.rstrip("\r\n"))
        self.starting = False
        head = got[0]
        if not head or head[0] not in "=?":
            raise EngineFailure(f"{self.name} answered {head!r}")
        text = "\n".join([head[1:].lstrip("0123456789").strip()] + got[1:]).strip()
        return head[0] == "=", text

    def kill(self) -> None:
        """End the engine at once, whatever it is doing, for good (an interrupted match)."""
        self.killed = True
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()

    def close(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(b"quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=3)
            except (OSError, subprocess.TimeoutExpired, ValueError):
                self.proc.kill()
                self.proc.wait()
        self.proc = None
