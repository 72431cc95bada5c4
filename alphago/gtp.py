"""GTP v2: the protocol engine (framing, ids, errors, the command registry) and the game
commands; the other handler groups are mixed in: analysis and pondering
(``gtp_analysis``), time (``gtp_time``), game records (``gtp_sgf``).

``GtpEngine.handle(line)`` returns the full response text for one input line
("=id result\\n\\n" or "?id message\\n\\n"), or None for an empty/comment line.
Handlers are ``cmd_<name>`` methods (``-`` in names becomes ``_``) that return a
string or raise ``GtpError``; arguments are parsed by ``gtp_args``. Nothing here writes
to stdout: the server loop (``gtp_front.serve_lazy``) does, and only protocol bytes; logs
go to stderr.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
from typing import Callable

import numpy as np

from alphago import coords
from alphago.board import (BLACK, MAX_SIZE, MIN_SIZE, WHITE, IllegalMove, Position,
                           fixed_handicap_points, max_fixed_handicap)
from alphago.gtp_analysis import AnalysisCommands
from alphago.gtp_args import (GtpError, color_name, need_args, parse_color, parse_float,
                              parse_int)
from alphago.gtp_front import ENGINE_NAME, ENGINE_VERSION, MAX_LINE
from alphago.gtp_sgf import SgfCommands
from alphago.gtp_time import TimeCommands
from alphago.mcts import SearchResult
from alphago.player import RESIGN
from alphago.timecontrol import Clock, MoveTime, TimeSettings

__all__ = ["GtpEngine", "GtpError", "fixed_handicap_points", "parse_color"]

log = logging.getLogger("alphago.gtp")


class GtpEngine(AnalysisCommands, TimeCommands, SgfCommands):
    """Go state + commands. ``player`` supplies moves (MCTS, policy or anything with
    the same genmove/analyze/policy methods)."""

    def __init__(self, player, komi: float = 7.5, size: int = 19,
                 out: Callable[[str], None] | None = None, ponder: bool = False,
                 seed: int = 0):
        self.player = player
        self.size = size
        self.komi = komi
        self.pos = Position(size, komi)
        self.clock = Clock(TimeSettings())
        self.out = out or (lambda s: None)
        self.handicap_points: list[int] = []
        self.quit = False
        self.seed = seed
        self.ponder = ponder
        self.pending: queue.Queue[str] | None = None  # next input lines (stops analysis)
        # set by the server's reader on GoGui's '# interrupt' line: the running genmove
        # answers with its best move so far (gogui-interrupt); cleared by each command
        self.interrupt = threading.Event()
        self.last_result: SearchResult | None = None

    # ----- framing ---------------------------------------------------------------
    @staticmethod
    def preprocess(line: str) -> str:
        line = line.replace("\t", " ")
        line = "".join(ch for ch in line if ch >= " " or ch == "\n")
        return line.split("#", 1)[0].strip()

    def commands(self) -> list[str]:
        return sorted(_registry(type(self)))

    def handle(self, raw: str) -> str | None:
        if len(raw) > MAX_LINE:
            raw = raw[:MAX_LINE]
        line = self.preprocess(raw)
        if not line:
            return None
        self.interrupt.clear()
        self.stop_pondering()
        parts = line.split()
        cid = ""
        if parts[0].isdigit():
            cid = parts.pop(0)
            if not parts:
                return f"?{cid} missing command\n\n"
        name, args = parts[0], parts[1:]
        method = _registry(type(self)).get(name)
        if method is None:
            return f"?{cid} unknown command\n\n"
        handler = getattr(self, method)
        try:
            result = handler(args, cid)
        except GtpError as exc:
            return f"?{cid} {exc}\n\n"
        except Exception as exc:  # never die on a command: report and carry on
            log.exception("command %r failed", line)
            return f"?{cid} internal error: {exc.__class__.__name__}: {exc}\n\n"
        if result is None:  # streaming command already wrote its own response
            return None
        return f"={cid} {result}".rstrip(" ") + "\n\n" if result else f"={cid}\n\n"

    # ----- helpers ---------------------------------------------------------------
    def _vertex(self, s: str) -> int:
        try:
            return coords.from_gtp(s, self.size)
        except coords.CoordError:
            raise GtpError("invalid coordinate") from None

    def _new_position(self) -> None:
        self.pos = Position(self.size, self.komi)
        self.handicap_points = []
        self.player.new_game()

    def _play(self, color: int, p: int) -> None:
        try:
            self.pos.play(p, color)
        except IllegalMove:
            raise GtpError("illegal move") from None

    def _time_for_move(self, color: int) -> MoveTime | None:
        return self.clock.budget(color, self.pos)

    def _search(self, color: int, cleanup: bool = False, banned=None) -> SearchResult:
        if color != self.pos.to_move:
            self.pos.to_move = color
        t0 = time.perf_counter()
        res = self.player.genmove(self.pos, self._time_for_move(color), cleanup=cleanup,
                                  banned=banned, interrupt=self.interrupt.is_set)
        self.clock.spent(color, time.perf_counter() - t0)
        self.last_result = res
        return res

    # ----- administrative --------------------------------------------------------
    def cmd_protocol_version(self, args, cid):
        return "2"

    def cmd_name(self, args, cid):
        return ENGINE_NAME

    def cmd_version(self, args, cid):
        return ENGINE_VERSION

    def cmd_gogui_interrupt(self, args, cid):
        """Listed so that GoGui sends '# interrupt' to stop a genmove (the server's reader
        acts on that line); as a command it does nothing."""
        return ""

    def cmd_known_command(self, args, cid):
        need_args(args, 1)
        return "true" if args[0] in self.commands() else "false"

    def cmd_list_commands(self, args, cid):
        return "\n".join(self.commands())

    def cmd_quit(self, args, cid):
        self.quit = True
        return ""

    # ----- setup -----------------------------------------------------------------
    def cmd_boardsize(self, args, cid):
        need_args(args, 1)
        n = parse_int(args[0], "boardsize not an integer")
        if not MIN_SIZE <= n <= MAX_SIZE:
            raise GtpError("unacceptable size")
        self.size = n
        self._new_position()
        return ""

    def cmd_clear_board(self, args, cid):
        self._new_position()
        return ""

    def cmd_clear_cache(self, args, cid):
        """KataGo's: forget the search tree and the evaluation cache (a fresh search of
        the same position, memory given back); the game stays as it is."""
        if hasattr(self.player, "clear"):
            self.player.clear()
        return ""

    def cmd_stop(self, args, cid):
        """KataGo's: end pondering (every command does that before it runs)."""
        return ""

    def cmd_komi(self, args, cid):
        need_args(args, 1)
        komi = parse_float(args[0], "komi not a float")
        if abs(komi) > 1000:
            raise GtpError("komi not a float")
        self.komi = komi
        self.pos.komi = komi
        return ""

    def _place_handicap(self, points: list[int]) -> None:
        self.pos.setup(black=points)
        self.pos.to_move = WHITE
        self.handicap_points = list(points)

    def _handicap_count(self, args) -> int:
        """The stone count of a handicap command, on an empty board only."""
        need_args(args, 1)
        count = parse_int(args[0], "handicap not an integer")
        self._require_empty_board()
        return count

    def _require_empty_board(self) -> None:
        if self.pos.colors.any() or self.pos.moves:
            raise GtpError("board not empty")

    def cmd_fixed_handicap(self, args, cid):
        try:
            points = fixed_handicap_points(self.size, self._handicap_count(args))
        except ValueError as exc:
            raise GtpError(str(exc)) from None
        self._place_handicap(points)
        return " ".join(coords.to_gtp(p, self.size) for p in points)

    def cmd_place_free_handicap(self, args, cid):
        count = self._handicap_count(args)
        if count < 2 or count >= self.size * self.size:
            raise GtpError("invalid number of stones")
        k = min(count, max_fixed_handicap(self.size))  # the largest fixed layout that fits
        points = fixed_handicap_points(self.size, k) if k >= 2 else []
        if len(points) < count:  # more than the fixed layout: the policy's favourite points
            pri = self.player.policy(self.pos)[:-1].copy()
            pri[points] = -1
            extra = [int(p) for p in np.argsort(-pri)[: count - len(points)]]
            points = points + extra
        self._place_handicap(points)
        return " ".join(coords.to_gtp(p, self.size) for p in points)

    def cmd_set_free_handicap(self, args, cid):
        self._require_empty_board()
        try:
            points = [coords.from_gtp(a, self.size) for a in args]
        except coords.CoordError:
            raise GtpError("bad vertex list") from None
        nn = self.size * self.size
        if len(set(points)) != len(points) or nn in points:
            raise GtpError("bad vertex list")
        if not 2 <= len(points) < nn:
            raise GtpError("invalid number of stones")
        self._place_handicap(points)
        return ""

    # ----- moves -----------------------------------------------------------------
    def cmd_play(self, args, cid):
        if len(args) < 2:
            raise GtpError("syntax error")
        color = parse_color(args[0])
        p = self._vertex(args[1])
        self._play(color, p)
        return ""

    def _genmove(self, args, cleanup=False):
        need_args(args, 1)
        color = parse_color(args[0])
        res = self._search(color, cleanup)
        if res.move == RESIGN:
            return "resign"
        self._play(color, res.move)
        return coords.to_gtp(res.move, self.size)

    def cmd_genmove(self, args, cid):
        reply = self._genmove(args)
        self.start_pondering()
        return reply

    def cmd_kgs_genmove_cleanup(self, args, cid):
        return self._genmove(args, cleanup=True)

    def cmd_reg_genmove(self, args, cid):
        need_args(args, 1)
        color = parse_color(args[0])
        saved = self.pos.copy()
        try:
            res = self._search(color)
        finally:
            self.pos = saved
        return "resign" if res.move == RESIGN else coords.to_gtp(res.move, self.size)

    def cmd_undo(self, args, cid):
        if not self.pos.can_undo():
            raise GtpError("cannot undo")
        self.pos.undo()
        return ""

    # ----- information -----------------------------------------------------------
    def cmd_showboard(self, args, cid):
        p = self.pos
        text = str(p)
        extra = (f"\n{color_name(p.to_move)} to move, komi {p.komi:g}, "
                 f"captures B {p.captures(BLACK)} W {p.captures(WHITE)}")
        return "\n" + text + extra

    def cmd_list_stones(self, args, cid):
        need_args(args, 1)
        color = parse_color(args[0])
        pts = np.flatnonzero(self.pos.colors.ravel() == color)
        return " ".join(coords.to_gtp(int(p), self.size) for p in pts)

    def cmd_captures(self, args, cid):
        need_args(args, 1)
        return str(self.pos.captures(parse_color(args[0])))

    def _dead_stones(self) -> np.ndarray:
        from alphago.scoring import dead_stones

        return dead_stones(self.pos, seed=self.seed)

    def cmd_final_score(self, args, cid):
        from alphago.scoring import final_score

        try:
            return final_score(self.pos, seed=self.seed)
        except ValueError:
            raise GtpError("cannot score") from None

    def cmd_final_status_list(self, args, cid):
        from alphago.scoring import status_list

        need_args(args, 1)
        status = args[0].lower()
        if status not in ("alive", "dead", "seki", "black_territory", "white_territory", "dame"):
            raise GtpError("invalid status")
        groups = status_list(self.pos, status, seed=self.seed)
        return "\n".join(" ".join(coords.to_gtp(p, self.size) for p in g) for g in groups)


# command names with a dash after their family prefix (kgs-, lz-, kata-, gogui-, alphago-)
_DASHED = ("kgs", "lz", "kata", "gogui", "alphago")


def _command_name(method_suffix: str) -> str:
    family, _, rest = method_suffix.partition("_")
    return f"{family}-{rest}" if family in _DASHED and rest else method_suffix


@functools.lru_cache(maxsize=None)
def _registry(cls) -> dict[str, str]:
    """{command name: handler method name} of an engine class, built once."""
    return {_command_name(attr[4:]): attr for attr in dir(cls) if attr.startswith("cmd_")}
