"""GTP v2: a protocol engine (framing, ids, errors) and the Go command handlers.

``GtpEngine.handle(line)`` returns the full response text for one input line
("=id result\\n\\n" or "?id message\\n\\n"), or None for an empty/comment line.
Handlers are ``cmd_<name>`` methods (``-`` in names becomes ``_``) that return a
string or raise ``GtpError``. Nothing here writes to stdout: the server loop in
``serve`` does, and only protocol bytes; logs go to stderr.
"""

from __future__ import annotations

import logging
import math
import queue
import re
import threading
import time
from pathlib import Path
from typing import Callable

import numpy as np

from alphago import coords, sgf
from alphago.board import BLACK, MAX_SIZE, MIN_SIZE, WHITE, IllegalMove, Position
from alphago.kernels import board as kb
from alphago.mcts import SearchResult
from alphago.player import RESIGN
from alphago.timecontrol import Clock, TimeSettings

from alphago.gtp_analysis import AnalysisCommands
from alphago.gtp_args import GtpError, color_name, parse_color  # noqa: F401 (re-exported)
from alphago.gtp_front import ENGINE_NAME, ENGINE_VERSION, MAX_LINE

log = logging.getLogger("alphago.gtp")


def fixed_handicap_points(n: int, count: int) -> list[int]:
    """GTP's fixed handicap layout (4th line from 13x13, 3rd below; centre on odd boards)."""
    if n < 7 or count < 2:
        raise GtpError("invalid number of stones")
    limit = 4 if n % 2 == 0 or n == 7 else 9
    if count > limit:
        raise GtpError("invalid number of stones")
    e = 3 if n >= 13 else 2
    lo, hi, mid = e, n - 1 - e, n // 2

    def pt(col, row_from_bottom):
        return (n - 1 - row_from_bottom) * n + col

    corners = [pt(lo, lo), pt(hi, hi), pt(lo, hi), pt(hi, lo)]  # D4 Q16 D16 Q4
    sides = [pt(lo, mid), pt(hi, mid), pt(mid, lo), pt(mid, hi)]  # D10 Q10 K4 K16
    centre = pt(mid, mid)
    if count <= 4:
        return corners[:count]
    if count == 5:
        return corners + [centre]
    if count == 6:
        return corners + sides[:2]
    if count == 7:
        return corners + sides[:2] + [centre]
    if count == 8:
        return corners + sides
    return corners + sides + [centre]


class GtpEngine(AnalysisCommands):
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
        self.last_result: SearchResult | None = None

    # ----- framing ---------------------------------------------------------------
    @staticmethod
    def preprocess(line: str) -> str:
        line = line.replace("\t", " ")
        line = "".join(ch for ch in line if ch >= " " or ch == "\n")
        return line.split("#", 1)[0].strip()

    def commands(self) -> list[str]:
        names = []
        for attr in dir(self):
            if attr.startswith("cmd_"):
                names.append(_command_name(attr[4:]))
        return sorted(names)

    def handle(self, raw: str) -> str | None:
        if len(raw) > MAX_LINE:
            raw = raw[:MAX_LINE]
        line = self.preprocess(raw)
        if not line:
            return None
        self.stop_pondering()
        parts = line.split()
        cid = ""
        if parts[0].isdigit():
            cid = parts.pop(0)
            if not parts:
                return f"?{cid} missing command\n\n"
        name, args = parts[0], parts[1:]
        handler = getattr(self, "cmd_" + _method_name(name), None)
        if handler is None or name not in self.commands():
            return f"?{cid} unknown command\n\n"
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

    def _args(self, args: list[str], count: int) -> None:
        if len(args) < count:
            raise GtpError("syntax error")

    def _new_position(self) -> None:
        self.pos = Position(self.size, self.komi)
        self.handicap_points = []
        self.player.new_game()

    def _play(self, color: int, p: int) -> None:
        try:
            self.pos.play(p, color)
        except IllegalMove:
            raise GtpError("illegal move") from None

    def _time_for_move(self, color: int) -> float | None:
        return self.clock.budget(color, self.pos)

    def _search(self, color: int, cleanup: bool = False) -> SearchResult:
        if color != self.pos.to_move:
            self.pos.to_move = color
        t0 = time.perf_counter()
        res = self.player.genmove(self.pos, self._time_for_move(color), cleanup=cleanup)
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

    def cmd_known_command(self, args, cid):
        self._args(args, 1)
        return "true" if args[0] in self.commands() else "false"

    def cmd_list_commands(self, args, cid):
        return "\n".join(self.commands())

    def cmd_quit(self, args, cid):
        self.quit = True
        return ""

    # ----- setup -----------------------------------------------------------------
    def cmd_boardsize(self, args, cid):
        self._args(args, 1)
        try:
            n = int(args[0])
        except ValueError:
            raise GtpError("boardsize not an integer") from None
        if not MIN_SIZE <= n <= MAX_SIZE:
            raise GtpError("unacceptable size")
        self.size = n
        self._new_position()
        return ""

    def cmd_clear_board(self, args, cid):
        self._new_position()
        return ""

    def cmd_komi(self, args, cid):
        self._args(args, 1)
        try:
            komi = float(args[0])
        except ValueError:
            raise GtpError("komi not a float") from None
        if not math.isfinite(komi) or abs(komi) > 1000:
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
        self._args(args, 1)
        try:
            count = int(args[0])
        except ValueError:
            raise GtpError("handicap not an integer") from None
        if self.pos.st[kb.F_COLOR].any() or self.pos.moves:
            raise GtpError("board not empty")
        return count

    def cmd_fixed_handicap(self, args, cid):
        points = fixed_handicap_points(self.size, self._handicap_count(args))
        self._place_handicap(points)
        return " ".join(coords.to_gtp(p, self.size) for p in points)

    def cmd_place_free_handicap(self, args, cid):
        count = self._handicap_count(args)
        if count < 2 or count >= self.size * self.size:
            raise GtpError("invalid number of stones")
        points: list[int] = []
        for k in range(min(count, 9), 1, -1):  # the largest fixed layout that fits
            try:
                points = fixed_handicap_points(self.size, k)
                break
            except GtpError:
                continue
        if len(points) < count:  # more than the fixed layout: the policy's favourite points
            pri = self.player.policy(self.pos)[:-1].copy()
            pri[points] = -1
            extra = [int(p) for p in np.argsort(-pri)[: count - len(points)]]
            points = points + extra
        self._place_handicap(points)
        return " ".join(coords.to_gtp(p, self.size) for p in points)

    def cmd_set_free_handicap(self, args, cid):
        if self.pos.st[kb.F_COLOR].any() or self.pos.moves:
            raise GtpError("board not empty")
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
        self._args(args, 1)
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
        self._args(args, 1)
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
        self._args(args, 1)
        color = parse_color(args[0])
        pts = np.flatnonzero(self.pos.st[kb.F_COLOR] == color)
        return " ".join(coords.to_gtp(int(p), self.size) for p in pts)

    def cmd_captures(self, args, cid):
        self._args(args, 1)
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

        self._args(args, 1)
        status = args[0].lower()
        if status not in ("alive", "dead", "seki", "black_territory", "white_territory", "dame"):
            raise GtpError("invalid status")
        groups = status_list(self.pos, status, seed=self.seed)
        return "\n".join(" ".join(coords.to_gtp(p, self.size) for p in g) for g in groups)

    # ----- time ------------------------------------------------------------------
    def cmd_time_settings(self, args, cid):
        if len(args) != 3:
            raise GtpError("syntax error")
        try:
            main, byo, stones = float(args[0]), float(args[1]), int(args[2])
        except ValueError:
            raise GtpError("syntax error") from None
        if min(main, byo, stones) < 0 or not math.isfinite(main + byo):
            raise GtpError("syntax error")
        self.clock = Clock(TimeSettings.canadian(main, byo, stones))
        return ""

    def cmd_kgs_time_settings(self, args, cid):
        self._args(args, 1)
        kind = args[0].lower()
        try:
            nums = [float(a) for a in args[1:]]
        except ValueError:
            raise GtpError("syntax error") from None
        if any(x < 0 or not math.isfinite(x) for x in nums):
            raise GtpError("syntax error")
        need = {"none": 0, "absolute": 1, "byoyomi": 3, "canadian": 3}
        if kind not in need:
            raise GtpError("unknown time system")
        if len(nums) != need[kind]:
            raise GtpError("syntax error")
        if kind == "none":
            settings = TimeSettings()
        elif kind == "absolute":
            settings = TimeSettings.canadian(nums[0], 0, 0)
        elif kind == "byoyomi":
            settings = TimeSettings.byoyomi(nums[0], nums[1], int(nums[2]))
        else:
            settings = TimeSettings.canadian(nums[0], nums[1], int(nums[2]))
        self.clock = Clock(settings)
        return ""

    def cmd_time_left(self, args, cid):
        if len(args) != 3:
            raise GtpError("syntax error")
        color = parse_color(args[0])
        try:
            left, stones = float(args[1]), int(args[2])
        except ValueError:
            raise GtpError("syntax error") from None
        if left < 0 or stones < 0 or not math.isfinite(left):
            raise GtpError("syntax error")
        self.clock.update(color, left, stones)
        return ""

    # ----- SGF -------------------------------------------------------------------
    def cmd_loadsgf(self, args, cid):
        if not args:
            raise GtpError("missing filename")
        path = Path(args[0])
        try:
            data = path.read_bytes()
            rec = sgf.parse_sgf(str(path), data)
        except (OSError, sgf.BadGame):
            raise GtpError("cannot load file") from None
        if not MIN_SIZE <= rec.size <= MAX_SIZE:
            raise GtpError("cannot load file")
        stop = len(rec.moves)
        if len(args) > 1:
            stop = self._loadsgf_stop(args[1], rec)
        pos = Position(rec.size, rec.komi if rec.komi is not None else
                       (0.5 if rec.handicap else 5.5))
        if rec.setup_black or rec.setup_white:
            pos.setup(rec.setup_black, rec.setup_white)
        if rec.moves:
            pos.to_move = rec.moves[0][0]
        elif rec.setup_black and not rec.setup_white:
            pos.to_move = WHITE
        for color, p in rec.moves[: max(0, stop)]:
            try:
                pos.play(p, color)
            except IllegalMove:
                raise GtpError("cannot load file") from None
        self.size, self.komi, self.pos = rec.size, pos.komi, pos
        self.handicap_points = list(rec.setup_black) if not rec.setup_white else []
        self.player.new_game()
        return color_name(pos.to_move)

    def _loadsgf_stop(self, arg: str, rec) -> int:
        if arg.isdigit():
            return max(0, int(arg) - 1)  # position before move number K
        try:
            p = coords.from_gtp(arg, rec.size)
        except coords.CoordError:
            raise GtpError("cannot load file") from None
        for i, (_, q) in enumerate(rec.moves):
            if q == p:
                return i
        return len(rec.moves)

    def cmd_printsgf(self, args, cid):
        p = self.pos
        data = sgf.game_to_sgf(p.size, p.moves, komi=p.komi, setup_black=self.handicap_points,
                               handicap=len(self.handicap_points)).decode()
        if args:
            try:
                Path(args[0]).write_text(data)
            except OSError as exc:
                raise GtpError(f"cannot write file: {exc.strerror}") from None
            return ""
        return "\n" + data.strip()

# command names with a dash after their family prefix (kgs-, lz-, kata-, gogui-, alphago-)
_DASHED = ("kgs", "lz", "kata", "gogui", "alphago")


def _command_name(method_suffix: str) -> str:
    family, _, rest = method_suffix.partition("_")
    return f"{family}-{rest}" if family in _DASHED and rest else method_suffix


def _method_name(command: str) -> str:
    return command.replace("-", "_")
