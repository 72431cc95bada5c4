"""SGF in and out over sgfmill: sources, game records, filters, dedup, splits, writing.

A source is a ``.sgf`` file, a directory tree of them, or a ``.tar``/``.tar.gz``/
``.tgz``/``.zip`` archive, read in place and streamed member by member. A file
that cannot be used is skipped with a reason counted in ``SkipStats``.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import hashlib
import itertools
import os
import signal
import re
import tarfile
import threading
import zipfile
from pathlib import Path
from typing import Iterable, Iterator

from sgfmill import sgf as sgfmill_sgf

from alphago import coords
from alphago.board import BLACK, WHITE, IllegalMove, Position

MAX_SGF_BYTES = 4 << 20  # a single game record is never this big; skip rather than parse
_TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tar.xz")


class BadGame(ValueError):
    """A record that cannot be used; ``reason`` is a short category for counting."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class SkipStats(collections.Counter):
    """Counts of skipped files by reason, plus a few examples of each."""

    def __init__(self):
        super().__init__()
        self.examples: dict[str, list[str]] = collections.defaultdict(list)

    def skip(self, reason: str, name: str, detail: str = "") -> None:
        self[reason] += 1
        if len(self.examples[reason]) < 3:
            self.examples[reason].append(f"{name}: {detail}" if detail else name)

    def summary(self) -> str:
        if not self:
            return "nothing skipped"
        return ", ".join(f"{reason}: {count}" for reason, count in self.most_common())


# ----- sources -------------------------------------------------------------
def _is_tar(name: str) -> bool:
    return name.lower().endswith(_TAR_SUFFIXES)


def _iter_tar(path: Path) -> Iterator[tuple[str, bytes]]:
    with tarfile.open(path, mode="r|*") as tar:  # streaming: never unpacked to disk
        for member in tar:
            if member.isfile() and member.name.lower().endswith(".sgf"):
                if member.size > MAX_SGF_BYTES:
                    continue
                f = tar.extractfile(member)
                if f is not None:
                    yield f"{path.name}:{member.name}", f.read()


def _iter_zip(path: Path) -> Iterator[tuple[str, bytes]]:
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if not info.is_dir() and info.filename.lower().endswith(".sgf"):
                if info.file_size <= MAX_SGF_BYTES:
                    yield f"{path.name}:{info.filename}", zf.read(info)


def iter_sgf_bytes(source: str | os.PathLike, stats: SkipStats | None = None
                   ) -> Iterator[tuple[str, bytes]]:
    """(name, raw bytes) of every SGF in a file, directory tree or archive."""
    path = Path(source)
    name = path.name.lower()
    try:
        if path.is_dir():
            for sub in sorted(path.rglob("*")):
                if sub.is_file() and (sub.suffix.lower() in (".sgf", ".zip") or _is_tar(sub.name)):
                    yield from iter_sgf_bytes(sub, stats)
        elif _is_tar(name):
            yield from _iter_tar(path)
        elif name.endswith(".zip"):
            yield from _iter_zip(path)
        elif path.is_file():
            yield str(path), path.read_bytes()
        else:
            raise FileNotFoundError(f"no such SGF source: {source}")
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        if isinstance(exc, FileNotFoundError) and stats is None:
            raise
        if stats is None:
            raise BadGame("unreadable archive", f"{source}: {exc}") from exc
        stats.skip("unreadable archive", str(source), str(exc))


# ----- records ---------------------------------------------------------------
@dataclasses.dataclass
class GameRecord:
    """The main line of one game, in flat points of its own board size."""

    name: str
    size: int
    komi: float | None  # None when the record has no usable KM
    handicap: int
    result: str  # the raw RE value ("B+R", "W+0.5", "Void", "")
    moves: list[tuple[int, int]]  # [(colour, point)], pass = size*size
    setup_black: list[int] = dataclasses.field(default_factory=list)
    setup_white: list[int] = dataclasses.field(default_factory=list)
    black_name: str = ""
    white_name: str = ""
    black_rank: str = ""
    white_rank: str = ""
    date: str = ""

    @property
    def winner(self) -> int:
        """BLACK, WHITE, or 0 for a draw, void or unknown result."""
        return parse_winner(self.result)

    @property
    def move_hash(self) -> str:
        """Identity of the game for dedup and splitting: size, setup and moves."""
        h = hashlib.sha1(f"{self.size};{sorted(self.setup_black)};{sorted(self.setup_white)};"
                         .encode())
        h.update(",".join(f"{c}{p}" for c, p in self.moves).encode())
        return h.hexdigest()

    def start_position(self, superko: bool = False, default_komi: float = 7.5) -> Position:
        """The position before the first move: setup stones placed, the first mover (White
        after black setup stones alone) to play; ``default_komi`` when KM is missing."""
        pos = Position(self.size, komi=self.komi if self.komi is not None else default_komi,
                       superko=superko)
        if self.setup_black or self.setup_white:
            pos.setup(self.setup_black, self.setup_white)
        if self.moves:
            pos.to_move = self.moves[0][0]
        elif self.setup_black and not self.setup_white:
            pos.to_move = WHITE
        return pos

    def replay(self, superko: bool = False) -> Iterator[tuple[Position, int, int]]:
        """Yield (position before the move, colour, move) along the main line.

        The same Position object is updated in place; copy it to keep one.
        Raises BadGame on an illegal move. Real records follow rules with simple
        ko (a Japanese triple ko voids a game rather than forbidding a move), so
        superko is off by default.
        """
        pos = self.start_position(superko)
        for i, (color, p) in enumerate(self.moves):
            yield pos, color, p
            _play(pos, i, color, p)

    def position_after(self, count: int, superko: bool = False,
                       default_komi: float = 7.5) -> Position:
        """Position after the first ``count`` moves (raises BadGame on an illegal move)."""
        pos = self.start_position(superko, default_komi)
        for i, (color, p) in enumerate(self.moves[:max(0, count)]):
            _play(pos, i, color, p)
        return pos

    def final_position(self, superko: bool = False) -> Position:
        """Position after the whole main line (raises BadGame on an illegal move)."""
        return self.position_after(len(self.moves), superko)


def _play(pos: Position, index: int, color: int, p: int) -> None:
    try:
        pos.play(p, color)
    except IllegalMove as exc:
        raise BadGame("illegal move",
                      f"move {index + 1} {coords.to_gtp(p, pos.size)}: {exc.reason}") from exc


def parse_winner(result: str) -> int:
    r = (result or "").strip().upper()
    if r.startswith("B+"):
        return BLACK
    if r.startswith("W+"):
        return WHITE
    return 0


_RANK_RE = re.compile(r"(\d+)\s*([kdp])", re.IGNORECASE)


def rank_value(rank: str) -> int | None:
    """Kyu/dan/pro rank on one scale: 1k -> 0, 2k -> -1, 1d -> 1, 9d -> 9, 1p -> 10."""
    m = _RANK_RE.search(rank or "")
    if not m:
        return None
    n, kind = int(m.group(1)), m.group(2).lower()
    if kind == "k":
        return 1 - n
    if kind == "d":
        return n
    return 9 + n


_NUMBER_RE = re.compile(r"[-+]?\d+(?:[.,]\d+)?")


def _parse_komi(root) -> float | None:
    if not root.has_property("KM"):
        return None
    raw = root.get_raw("KM").decode("latin-1")
    m = _NUMBER_RE.search(raw)
    if not m:
        return None
    komi = float(m.group(0).replace(",", "."))
    return komi if abs(komi) < 200 else None


def _text(root, prop: str) -> str:
    if not root.has_property(prop):
        return ""
    try:
        return str(root.get(prop)).strip()
    except (ValueError, UnicodeDecodeError):
        return root.get_raw(prop).decode("utf-8", errors="replace").strip()


def _points(pairs, n: int) -> list[int]:
    return sorted(coords.from_rowcol_sgfmill(rc, n) for rc in pairs)


def parse_sgf(name: str, data: bytes) -> GameRecord:
    """GameRecord of the main line of one SGF; raises BadGame with a reason."""
    if not data.strip():
        raise BadGame("empty file")
    try:
        game = sgfmill_sgf.Sgf_game.from_bytes(data)
    except ValueError as exc:
        reason = "unknown encoding" if "encoding" in str(exc) else "parse error"
        raise BadGame(reason, str(exc)) from exc
    try:
        return _record_from_game(name, game)
    except BadGame:
        raise
    except (ValueError, IndexError, KeyError, UnicodeDecodeError, coords.CoordError) as exc:
        raise BadGame("bad property", str(exc)) from exc


def _record_from_game(name: str, game) -> GameRecord:
    n = game.get_size()
    root = game.get_root()
    ab, aw, ae = root.get_setup_stones()
    moves = []
    for i, node in enumerate(game.get_main_sequence()):
        if i > 0 and any(node.has_property(k) for k in ("AB", "AW", "AE")):
            raise BadGame("setup after root", f"node {i}")
        colour, move = node.get_move()
        if colour is None:
            continue
        color = BLACK if colour == "b" else WHITE
        if move is not None and not (0 <= move[0] < n and 0 <= move[1] < n):
            raise BadGame("illegal move", f"off-board point in node {i}")
        moves.append((color, coords.from_rowcol_sgfmill(move, n)))
    try:
        handicap = int(_text(root, "HA") or 0)
    except ValueError:
        handicap = len(ab)
    return GameRecord(
        name=name, size=n, komi=_parse_komi(root), handicap=handicap,
        result=_text(root, "RE"), moves=moves,
        setup_black=_points(ab, n), setup_white=_points(aw, n),
        black_name=_text(root, "PB"), white_name=_text(root, "PW"),
        black_rank=_text(root, "BR"), white_rank=_text(root, "WR"), date=_text(root, "DT"))


# ----- filtering, dedup, split -------------------------------------------
@dataclasses.dataclass(frozen=True)
class GameFilter:
    """Which games to keep. ``min_rank`` uses ``rank_value`` (e.g. 6 for 6d)."""

    sizes: tuple[int, ...] = (19,)
    min_moves: int = 10
    allow_handicap: bool = True
    min_rank: int | None = None
    validate: bool = True  # replay and drop games with an illegal move
    dedup: bool = True

    def reject_reason(self, rec: GameRecord) -> str | None:
        if rec.size not in self.sizes:
            return "board size"
        if not rec.moves:
            return "no moves"
        if len(rec.moves) < self.min_moves:
            return "too few moves"
        if not self.allow_handicap and (rec.handicap > 1 or rec.setup_black):
            return "handicap"
        if self.min_rank is not None:
            ranks = [rank_value(rec.black_rank), rank_value(rec.white_rank)]
            if any(r is None or r < self.min_rank for r in ranks):
                return "rank"
        return None


def validate_record(rec: GameRecord) -> None:
    """Raise BadGame if any main-line move is illegal (simple-ko rules)."""
    rec.final_position(superko=False)


def load_games(sources: Iterable[str | os.PathLike] | str | os.PathLike,
               game_filter: GameFilter = GameFilter(),
               stats: SkipStats | None = None, time_limit: float | None = 10.0,
               part: tuple[int, int] = (0, 1)) -> Iterator[GameRecord]:
    """Usable games from any mix of sources, skipping (and counting) the rest.
    ``part=(k, p)``: only files k, k+p, k+2p, ... (one of p parallel readers; duplicates
    are then found within each part only)."""
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    stats = SkipStats() if stats is None else stats
    k, p = part

    def items():
        for source in sources:
            yield from iter_sgf_bytes(source, stats)

    picked = itertools.islice(items(), k, None, p) if p > 1 else items()
    yield from records_from_bytes(picked, game_filter, stats, time_limit)


class _FileTimeout(Exception):
    pass


@contextlib.contextmanager
def _deadline(seconds: float | None):
    """Raise _FileTimeout in this block after ``seconds`` (main thread only: elsewhere,
    and with None, no limit)."""
    usable = (seconds is not None and seconds > 0 and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return

    def fire(signum, frame):
        raise _FileTimeout

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def records_from_bytes(items: Iterable[tuple[str, bytes]], game_filter: GameFilter = GameFilter(),
                       stats: SkipStats | None = None, time_limit: float | None = 10.0
                       ) -> Iterator[GameRecord]:
    """Usable games from (name, raw bytes) pairs. Every file that cannot be used is
    skipped and counted in ``stats`` with a reason, whatever is wrong with it, including
    taking longer than ``time_limit`` seconds to parse and check."""
    stats = SkipStats() if stats is None else stats
    seen: set[str] = set()
    for name, data in items:
        if len(data) > MAX_SGF_BYTES:
            stats.skip("file too large", name)
            continue
        try:
            with _deadline(time_limit):
                rec = parse_sgf(name, data)
                reason = game_filter.reject_reason(rec)
                if reason is None and game_filter.dedup:
                    if rec.move_hash in seen:
                        reason = "duplicate"
                    seen.add(rec.move_hash)
                if reason is None and game_filter.validate:
                    validate_record(rec)
        except BadGame as exc:
            stats.skip(exc.reason, name, exc.detail)
            continue
        except _FileTimeout:
            stats.skip("time limit", name, f"over {time_limit} s")
            continue
        except (RecursionError, MemoryError) as exc:
            stats.skip("too deep or too big", name, exc.__class__.__name__)
            continue
        except Exception as exc:  # a loader bug must not stop a whole archive
            stats.skip("unexpected error", name, f"{exc.__class__.__name__}: {exc}"[:200])
            continue
        if reason:
            stats.skip(reason, name)
            continue
        yield rec


def split_of(rec: GameRecord, val_fraction: float = 0.02) -> str:
    """'train' or 'val', decided by the game's move hash: stable and game-level."""
    bucket = int(rec.move_hash[:8], 16) % 100000
    return "val" if bucket < val_fraction * 100000 else "train"


# ----- writing ---------------------------------------------------------------
def game_to_sgf(size: int, moves: list[tuple[int, int]], komi: float = 7.5, result: str = "",
                black: str = "", white: str = "", setup_black=(), setup_white=(),
                handicap: int = 0, comment: str = "", date: str = "",
                properties: dict[str, str] | None = None) -> bytes:
    """SGF bytes (UTF-8) of a finished or unfinished game."""
    game = sgfmill_sgf.Sgf_game(size=size)
    root = game.get_root()
    root.set("KM", float(komi))
    root.set("RU", "Chinese")
    root.set("AP", ("alphago-py", "0.1"))
    if handicap:
        root.set("HA", int(handicap))
    for prop, value in (("RE", result), ("PB", black), ("PW", white), ("GC", comment),
                        ("DT", date)):
        if value:
            root.set(prop, value)
    if setup_black or setup_white:
        root.set_setup_stones([coords.to_rowcol_sgfmill(p, size) for p in setup_black],
                              [coords.to_rowcol_sgfmill(p, size) for p in setup_white])
    for prop, value in (properties or {}).items():
        root.set(prop, value)
    for color, p in moves:
        node = game.extend_main_sequence()
        node.set_move("b" if color == BLACK else "w", coords.to_rowcol_sgfmill(p, size))
    return game.serialise()
