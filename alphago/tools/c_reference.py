"""The bench's C reference: ``ref_playout.c`` built with the system compiler, called
through ctypes. Light playouts by the same rules and algorithm as the numba kernel, so
that the bench can report the rules core's speed as a fraction of compiled C."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

SOURCE = Path(__file__).with_name("ref_playout.c")


class CReferenceUnavailable(RuntimeError):
    """No C compiler, or the reference did not build."""


def compiler() -> str | None:
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def build(out_dir: str | Path | None = None) -> Path:
    """Compile the reference into a shared library (``-O2``, as a plain C program is
    built); returns its path."""
    cc = compiler()
    if cc is None:
        raise CReferenceUnavailable("no C compiler (cc, gcc or clang) on PATH")
    out_dir = Path(out_dir or tempfile.mkdtemp(prefix="alphago-cref-"))
    lib = out_dir / "ref_playout.so"
    cmd = [cc, "-O2", "-shared", "-fPIC", "-o", str(lib), str(SOURCE)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise CReferenceUnavailable(f"{' '.join(cmd)} failed: {proc.stderr.strip()[:500]}")
    return lib


class CPlayouts:
    """``run(count)`` plays ``count`` light playouts on an n x n board in C."""

    def __init__(self, lib_path: str | Path, size: int = 19, komi: float = 7.5,
                 max_moves: int | None = None, seed: int = 1):
        lib = ctypes.CDLL(str(lib_path))
        self._fn = lib.ref_playouts
        self._fn.restype = ctypes.c_longlong
        self._fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_double,
                             ctypes.c_uint64, ctypes.POINTER(ctypes.c_longlong)]
        self.size, self.komi, self.seed = size, komi, seed
        self.max_moves = 3 * size * size if max_moves is None else max_moves
        self.wins = 0
        self.moves = 0

    def run(self, count: int) -> int:
        """Plays ``count`` playouts; returns ``count``. ``wins``/``moves`` hold black's wins
        and the moves played by this call."""
        wins = ctypes.c_longlong()
        self.seed += 1
        moves = self._fn(self.size, count, self.max_moves, self.komi, self.seed,
                         ctypes.byref(wins))
        if moves < 0:
            raise ValueError(f"board size {self.size} is outside the reference's 2..25")
        self.wins, self.moves = wins.value, moves
        return count
