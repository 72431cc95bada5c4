"""One game between two GTP engines: setup, turns, adjudication, the SGF record.

Our own Position referees every move: an illegal move, a crash, a hang, a refused legal
move or a fallen flag loses the game. Two passes or the move cap end it with a score by
the configured scorer (the players, a referee engine, or dead stones agreed by both
engines, else judged by playouts). With ``GameConfig.adjudicate`` the referee also scores
the position every ``ADJUDICATE_EVERY`` moves late in the game, and a lead it finds large
enough, check after check, ends the game (engines that seldom resign otherwise play every
game out to the count).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from pathlib import Path

import numpy as np

from alphago import coords, sgf
from alphago.board import BLACK, WHITE, IllegalMove, Position, fixed_handicap_points
from alphago.gtp_client import EngineFailure, GtpClient

log = logging.getLogger("alphago.match")

ADJUDICATE_EVERY = 10  # moves between two of the referee's checks of a decided game


@dataclasses.dataclass(frozen=True)
class GameConfig:
    size: int = 19
    komi: float = 7.5
    handicap: int = 0
    max_moves: int | None = None  # None: 3 * size^2
    time_settings: tuple[float, float, int] | None = None  # GTP/Canadian: main, byo, stones
    # > 0: Japanese byo-yomi, this many periods of time_settings[1] seconds (one move each)
    byoyomi_periods: int = 0
    move_timeout: float | None = None  # seconds; None: from the time settings, else 600
    time_grace: float = 0.5  # seconds of transport lag forgiven per move before a time loss
    scorer: str = "internal"  # internal, players, referee
    referee: str | None = None
    # (first move checked, margin in points, checks in a row): the referee's score of the
    # position as it stands ends the game once one side leads by the margin that many times
    adjudicate: tuple[int, float, int] | None = None


@dataclasses.dataclass
class GameResult:
    """One finished game, as a line of ``games.jsonl``."""

    game: int
    black: str
    white: str
    winner: str | None  # engine name, None for a draw/no result
    result: str  # SGF RE value, e.g. "B+R", "W+3.5", "0", "Void"
    reason: str  # score, resign, illegal, timeout, crash, move cap ...
    moves: int
    seconds: dict[str, float]  # total thinking time per engine
    sgf: str  # the record's path relative to the match folder
    detail: str = ""
    # with a clock: per engine the longest move (s) and the least time it had left
    max_move_seconds: dict[str, float] = dataclasses.field(default_factory=dict)
    min_time_left: dict[str, float] = dataclasses.field(default_factory=dict)


class MatchClock:
    """A player's clock as the match keeps it, under GTP (Canadian) time settings: ``main``
    seconds, then ``byo_stones`` moves in every ``byo_time`` seconds. byo_time 0 and
    byo_stones 0: absolute time. With ``periods`` > 0, Japanese byo-yomi instead: that many
    periods of ``byo_time`` seconds; a move within a period keeps it, a longer one uses up
    the periods it overran, and the flag falls when none is left. (The engine's own clock
    is ``timecontrol.Clock``.)"""

    def __init__(self, main: float, byo_time: float, byo_stones: int, grace: float = 0.5,
                 periods: int = 0):
        self.main, self.byo_time, self.byo_stones = float(main), float(byo_time), int(byo_stones)
        self.periods = int(periods)
        if self.periods > 0:
            self.byo_stones = 1
        self.grace = grace
        self.main_left = self.main
        self.in_byo = self.main <= 0 and self.byo_stones > 0
        self.byo_left = self.byo_time
        self.stones_left = self.byo_stones
        self.periods_left = self.periods

    def time_left(self) -> tuple[float, int]:
        """What GTP ``time_left`` says now: (seconds, stones; 0 stones in main time). In
        Japanese byo-yomi, as KGS says it: a period's seconds and the periods left."""
        if self.in_byo and self.periods > 0:
            return self.byo_time, self.periods_left
        if self.in_byo:
            return self.byo_left, self.stones_left
        return self.main_left, 0

    def spend(self, seconds: float) -> bool:
        """Charge one move's time; False when the flag fell."""
        if not self.in_byo:
            if seconds <= self.main_left:
                self.main_left -= seconds
                return True
            if self.byo_stones <= 0:  # absolute time
                ok = seconds <= self.main_left + self.grace
                self.main_left = 0.0
                return ok
            seconds -= self.main_left
            self.main_left = 0.0
            self.in_byo = True
            self.byo_left, self.stones_left = self.byo_time, self.byo_stones
        if self.periods > 0:
            return self._spend_periods(seconds)
        if seconds > self.byo_left + self.grace:
            return False
        self.byo_left -= seconds
        self.stones_left -= 1
        if self.stones_left <= 0:  # a new byo-yomi period
            self.byo_left, self.stones_left = self.byo_time, self.byo_stones
        return True

    def _spend_periods(self, seconds: float) -> bool:
        over = max(0.0, seconds - self.grace)
        used = int(over // self.byo_time) if self.byo_time > 0 else self.periods_left
        if used >= self.periods_left:
            self.periods_left = 0
            return False
        self.periods_left -= used
        return True


@dataclasses.dataclass
class Ending:
    """How play stopped: the winner's colour (0: none yet or no winner), why, details."""

    winner: int
    reason: str
    detail: str = ""


def _timeout(cfg: GameConfig) -> float:
    if cfg.move_timeout:
        return cfg.move_timeout
    if cfg.time_settings:
        main, byo, _ = cfg.time_settings
        return main + byo * max(1, cfg.byoyomi_periods) + 30
    return 600.0


def _has_clock(cfg: GameConfig) -> bool:
    """Time settings that limit time (GTP: byo_time > 0 with 0 stones means no limit)."""
    if not cfg.time_settings:
        return False
    main, byo, stones = cfg.time_settings
    return not (byo > 0 and stones == 0)


def handicap_points(cfg: GameConfig) -> list[int]:
    return fixed_handicap_points(cfg.size, cfg.handicap) if cfg.handicap >= 2 else []


def setup_engine(client: GtpClient, cfg: GameConfig, hcap: list[int]) -> None:
    """A new game on the engine's board: size, komi, time settings, handicap stones."""
    for cmd in (f"boardsize {cfg.size}", "clear_board", f"komi {cfg.komi}"):
        ok, text = client.send(cmd, 30)
        if not ok:
            raise EngineFailure(f"{client.name} refused {cmd!r}: {text}")
    if cfg.time_settings:
        _send_time_settings(client, cfg)
    if hcap:
        verts = " ".join(coords.to_gtp(p, cfg.size) for p in hcap)
        ok, text = client.send(f"set_free_handicap {verts}", 30)
        if not ok:
            raise EngineFailure(f"{client.name} refused handicap: {text}")


def _send_time_settings(client: GtpClient, cfg: GameConfig) -> None:
    """GTP's time_settings; Japanese byo-yomi as ``kgs-time_settings byoyomi`` to an
    engine that knows it, else as its nearest GTP form, one period (one stone per period):
    the match's clock applies the real rules either way."""
    m, b, s = cfg.time_settings
    if cfg.byoyomi_periods > 0:
        ok, listed = client.send("list_commands", 30)
        if ok and "kgs-time_settings" in listed.split():
            client.send(f"kgs-time_settings byoyomi {int(m)} {int(b)} {cfg.byoyomi_periods}",
                        30)
            return
        s = 1
    client.send(f"time_settings {int(m)} {int(b)} {int(s)}", 30)


def _gtp_color(color: int) -> str:
    return "b" if color == BLACK else "w"


class Adjudicator:
    """Ends a decided game early (``cfg.adjudicate``, None: never): from its first move on,
    every ``ADJUDICATE_EVERY`` moves the referee scores the position as it stands; a side
    ahead by at least the margin in that many checks in a row wins, reason 'adjudicated'."""

    def __init__(self, cfg: GameConfig, hcap: list[int]):
        self.cfg, self.hcap = cfg, hcap
        self.leads: list[tuple[int, str]] = []  # (move, score) of the checks in a row

    @property
    def verdict(self) -> str:
        """The score the last check found: an adjudicated game's result."""
        return self.leads[-1][1]

    def check(self, pos: Position, referee: GtpClient | None) -> Ending | None:
        rule, n = self.cfg.adjudicate, len(pos.moves)
        if rule is None or referee is None or n < rule[0] or (n - rule[0]) % ADJUDICATE_EVERY:
            return None
        _, margin, times = rule
        score = _referee_score(pos, self.cfg, referee, self.hcap)
        winner, lead = _lead(score)
        if not winner or lead < margin:
            self.leads = []
            return None
        if self.leads and sgf.parse_winner(self.verdict) != winner:
            self.leads = []
        self.leads.append((n, score))
        if len(self.leads) < times:
            return None
        return Ending(winner, "adjudicated", "referee: " + ", ".join(
            f"{s} at move {m}" for m, s in self.leads))


def replay_adjudication(record: sgf.GameRecord, rule: tuple[int, float, int],
                        referee: GtpClient) -> tuple[Ending, int] | None:
    """Where ``rule`` would have ended a recorded game (the Ending and its move number), or
    None if it would have been played out: to choose a rule from past games."""
    cfg = GameConfig(size=record.size, komi=record.komi if record.komi is not None else 7.5,
                     handicap=len(record.setup_black), scorer="referee", adjudicate=rule)
    pos = Position(cfg.size, cfg.komi, superko=True)
    if record.setup_black:
        pos.setup(black=record.setup_black)
        pos.to_move = WHITE
    judge = Adjudicator(cfg, list(record.setup_black))
    for color, p in record.moves:
        pos.play(p, color)
        end = judge.check(pos, referee)
        if end is not None:
            return end, len(pos.moves)
    return None


class Game:
    """One game's state: the board, both engines, their clocks and time spent."""

    def __init__(self, gid: int, black: GtpClient, white: GtpClient, cfg: GameConfig):
        self.gid, self.cfg = gid, cfg
        self.pos = Position(cfg.size, cfg.komi, superko=True)
        self.hcap = handicap_points(cfg)
        self.clients = {BLACK: black, WHITE: white}
        self.spent = {black.name: 0.0, white.name: 0.0}
        self.longest = {black.name: 0.0, white.name: 0.0}
        self.least_left: dict[str, float] = {}
        self.clocks = ({c: MatchClock(*cfg.time_settings, grace=cfg.time_grace,
                                      periods=cfg.byoyomi_periods)
                        for c in (BLACK, WHITE)} if _has_clock(cfg) else None)
        self.played = False  # a turn was played (clock figures are recorded)
        self.adjudicator = Adjudicator(cfg, self.hcap)

    # ----- setup
    def setup(self, opening) -> Ending | None:
        """Both engines ready, handicap and opening on every board; an Ending if not."""
        failed = []
        for color, c in self.clients.items():
            try:
                setup_engine(c, self.cfg, self.hcap)
            except EngineFailure as exc:
                c.close()
                failed.append((color, str(exc)))
        if failed:  # a broken engine loses; if both are broken nobody wins
            winner = 3 - failed[0][0] if len(failed) == 1 else 0
            return Ending(winner, "setup failed", "; ".join(d for _, d in failed))
        if self.hcap:
            self.pos.setup(black=self.hcap)
            self.pos.to_move = WHITE
        try:
            self._play_opening(opening)
        except (EngineFailure, IllegalMove) as exc:
            return Ending(0, "opening failed", str(exc))
        return None

    def _play_opening(self, opening) -> None:
        for color, p in opening:
            self.pos.play(p, color)
            cmd = f"play {_gtp_color(color)} {coords.to_gtp(p, self.pos.size)}"
            for c in self.clients.values():
                ok, text = c.send(cmd, 30)
                if not ok:
                    raise EngineFailure(f"{c.name} refused the opening's {cmd!r}: {text}")

    # ----- turns
    def turn(self) -> Ending | None:
        """The side to move plays one move, relayed to the other; an Ending when play stops."""
        self.played = True
        color = self.pos.to_move
        mover, other = self.clients[color], self.clients[3 - color]
        self._send_time_left(color, mover)
        t0 = time.monotonic()
        try:
            ok, text = mover.send(f"genmove {_gtp_color(color)}", _timeout(self.cfg))
        except EngineFailure as exc:
            mover.close()
            return Ending(3 - color, "timeout" if "timed out" in str(exc) else "crash", str(exc))
        took = time.monotonic() - t0
        self.spent[mover.name] += took
        self.longest[mover.name] = round(max(self.longest[mover.name], took), 3)
        if self.clocks is not None and not self.clocks[color].spend(took):
            return Ending(3 - color, "time", f"{took:.2f} s for the last move")
        move = text.strip().lower()
        if not ok:
            return Ending(3 - color, "genmove failed", text)
        if move == "resign":
            return Ending(3 - color, "resign")
        try:
            self.pos.play(coords.from_gtp(move, self.cfg.size), color)
        except (coords.CoordError, IllegalMove) as exc:
            return Ending(3 - color, "illegal move", f"{move}: {exc}")
        return self._relay(color, other, move)

    def _send_time_left(self, color: int, mover: GtpClient) -> None:
        if self.clocks is None:
            return
        left, stones = self.clocks[color].time_left()
        self.least_left[mover.name] = round(min(left, self.least_left.get(mover.name, left)), 2)
        try:  # as servers do: the engine's clock before every move
            mover.send(f"time_left {_gtp_color(color)} {max(0, int(left))} {stones}", 30)
        except EngineFailure:
            pass  # the genmove that follows finds out whether it is alive

    def _relay(self, color: int, other: GtpClient, move: str) -> Ending | None:
        try:
            ok, text = other.send(f"play {_gtp_color(color)} {move}", 60)
        except EngineFailure as exc:
            other.close()
            return Ending(color, "crash", str(exc))
        if not ok:
            return Ending(color, "refused a legal move", f"{move}: {text}")
        if self.pos.passes >= 2:
            return Ending(0, "score")
        if len(self.pos.moves) >= (self.cfg.max_moves or 3 * self.cfg.size ** 2):
            return Ending(0, "move cap")
        return None

    # ----- adjudication
    def adjudicate(self, end: Ending, referee: GtpClient | None) -> str:
        """The SGF result of an ended game (scored when play ran out)."""
        if end.reason == "adjudicated":
            return self.adjudicator.verdict
        if end.reason in ("score", "move cap"):
            result, end.detail = score_game(self.pos, self.clients[BLACK], self.clients[WHITE],
                                            self.cfg, referee, self.hcap)
            end.winner = sgf.parse_winner(result)
            return result
        if not end.winner:
            return "Void"
        letter = "B" if end.winner == BLACK else "W"
        return letter + ("+R" if end.reason == "resign" else
                         "+T" if end.reason in ("timeout", "time") else "+F")

    def record(self, end: Ending, result: str, sgf_dir: Path) -> GameResult:
        """Write the SGF and return the game's line."""
        black, white = self.clients[BLACK], self.clients[WHITE]
        sgf_dir.mkdir(parents=True, exist_ok=True)
        path = sgf_dir / f"game_{self.gid:05d}.sgf"
        path.write_bytes(sgf.game_to_sgf(
            self.pos.size, self.pos.moves, komi=self.pos.komi, result=result, black=black.name,
            white=white.name, setup_black=self.hcap, handicap=len(self.hcap),
            comment=f"{end.reason} {end.detail}".strip(), date=time.strftime("%Y-%m-%d")))
        rec = GameResult(self.gid, black.name, white.name,
                         {BLACK: black.name, WHITE: white.name}.get(end.winner),
                         result or "Void", end.reason, len(self.pos.moves),
                         {k: round(v, 2) for k, v in self.spent.items()},
                         str(path.relative_to(sgf_dir.parent)), end.detail[:300])
        if self.clocks is not None and self.played:
            rec.max_move_seconds, rec.min_time_left = self.longest, self.least_left
        return rec


def play_game(gid: int, black: GtpClient, white: GtpClient, cfg: GameConfig,
              sgf_dir: Path, referee: GtpClient | None = None,
              opening: tuple[tuple[int, int], ...] = (),
              voided: threading.Event | None = None) -> GameResult | None:
    """One game; ``opening``: (colour, point) moves played for both sides before the
    engines' first genmove. ``voided`` set by the time the game ends (the match was
    stopped and killed its engines) means the ending is no result: nothing is written
    and None is returned."""
    game = Game(gid, black, white, cfg)
    end = game.setup(opening)
    if end is not None:
        result = "Void" if end.reason == "opening failed" else \
            {BLACK: "B+F", WHITE: "W+F"}.get(end.winner, "Void")
    else:
        while end is None:
            end = game.turn() or game.adjudicator.check(game.pos, referee)
        result = None
    if voided is not None and voided.is_set():
        return None
    return game.record(end, result or game.adjudicate(end, referee), sgf_dir)


# ----- scoring ------------------------------------------------------------------------
def _dead_list(client: GtpClient, size: int) -> set[int] | None:
    try:
        ok, text = client.send("final_status_list dead", 120)
    except EngineFailure:
        return None
    if not ok:
        return None
    try:
        return {coords.from_gtp(v, size) for v in text.split()}
    except coords.CoordError:
        return None


def _players_score(pos, black, white, cfg, hcap) -> tuple[str, str]:
    scores = []
    for c in (black, white):
        try:
            ok, text = c.send("final_score", 120)
            scores.append(text.upper() if ok else None)
        except EngineFailure:
            scores.append(None)
    if scores[0] and scores[0] == scores[1]:
        return scores[0], "players agree"
    detail = f"players disagree: {scores[0]} vs {scores[1]}; internal score used"
    result, _ = score_game(pos, black, white, dataclasses.replace(cfg, scorer="internal"),
                           None, hcap)
    return result, detail


def _referee_score(pos: Position, cfg: GameConfig, referee: GtpClient,
                   hcap: list[int]) -> str | None:
    """The referee engine's final_score of the game replayed on its board, or None."""
    try:
        setup_engine(referee, cfg, hcap)
        for color, p in pos.moves:
            referee.send(f"play {_gtp_color(color)} {coords.to_gtp(p, pos.size)}", 60)
        ok, text = referee.send("final_score", 300)
        if ok and text:
            return text.upper()
    except EngineFailure as exc:
        referee.close()
        log.warning("referee failed: %s", exc)
    return None


def _lead(score: str | None) -> tuple[int, float]:
    """(winner's colour, points) of a result such as 'W+12.5'; (0, 0) for anything else."""
    winner = sgf.parse_winner(score or "")
    try:
        return winner, float(score[2:]) if winner else 0.0
    except ValueError:  # B+R, B+T, ...: not a count
        return 0, 0.0


def score_game(pos: Position, black: GtpClient, white: GtpClient, cfg: GameConfig,
               referee: GtpClient | None, hcap: list[int] = ()) -> tuple[str, str]:
    """(SGF result, detail) by the configured scorer; ``hcap``: the handicap stones the
    referee needs on its board."""
    from alphago.scoring import dead_stones, without_dead

    if cfg.scorer == "players":
        return _players_score(pos, black, white, cfg, list(hcap))
    if cfg.scorer == "referee" and referee is not None:
        result = _referee_score(pos, cfg, referee, list(hcap))
        if result:
            return result, f"referee {referee.name}"
    dead_b, dead_w = _dead_list(black, pos.size), _dead_list(white, pos.size)
    if dead_b is not None and dead_b == dead_w:
        dead = np.zeros(pos.size * pos.size, bool)
        dead[list(dead_b)] = True
        detail = "dead stones agreed"
    else:
        dead = dead_stones(pos)
        detail = "dead stones by playouts (engines disagreed)"
    return without_dead(pos, dead).result_string(), detail
