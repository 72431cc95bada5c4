"""KataGo-style analysis: the fields review tools read, for GTP's ``kata-analyze`` and the
JSON analysis engine (``alphago-analysis``).

The JSON engine speaks KataGo's analysis protocol (``docs/Analysis_Engine.md`` in the
KataGo repository): one JSON query per input line, one JSON response per analysed turn
per output line, errors as ``{"error": .., "field": .., "id": ..}`` lines that never stop
the engine. Queries are read on their own thread, so ``terminate`` reaches a search in
progress; positions are analysed one at a time in arrival order.

Winrates are the search's; ``utility`` is the win/loss utility ``2 * winrate - 1`` (the
engine has no score head); the score lead and ownership are Monte Carlo estimates from
playouts at the analysed position (``alphago.scoring.ownership``), reported at the root
only. Values are from Black's perspective by default (``--report-as``, as KataGo's
``reportAnalysisWinratesAs``); ``kata-analyze`` reports for the side to move, as KataGo's
GTP does.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import queue
import re
import threading
import time
from typing import IO, Callable

import numpy as np

from alphago import coords
from alphago.board import BLACK, MAX_SIZE, MIN_SIZE, WHITE, IllegalMove, Position
from alphago.gtp_front import ENGINE_VERSION
from alphago.mcts import MoveInfo, MoveRestriction, SearchResult, ban_table
from alphago.player import RESIGN

log = logging.getLogger("alphago.analysis")

PERSPECTIVES = ("BLACK", "WHITE", "SIDETOMOVE")
AREA_RULES = ("tromp-taylor", "chinese", "chinese-ogs", "chinese-kgs", "aga", "bga",
              "new-zealand", "stone-scoring")
TERRITORY_RULES = ("japanese", "korean")
UNSUPPORTED_FIELDS = ("includeMovesOwnership", "overrideSettings", "rootPolicyTemperature",
                      "rootFpuReductionMax", "whiteHandicapBonus")


class QueryError(Exception):
    """A query that cannot be analysed: reported as an error line naming ``field``."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


# ----- fields shared by kata-analyze and the JSON engine -------------------------------------
@dataclasses.dataclass
class RootEstimate:
    """Playout estimates at one position: ownership (+1 black) and Black's lead in points."""

    ownership: np.ndarray
    black_lead: float

    @classmethod
    def of(cls, pos: Position, playouts: int, seed: int = 0) -> "RootEstimate":
        from alphago.scoring import ownership

        own = ownership(pos, playouts, seed)
        return cls(own, float(own.sum() - pos.komi))


def move_fields(c: MoveInfo, order: int, n: int, flip: bool, pv_visits: bool = False) -> dict:
    """One candidate in KataGo's moveInfos shape; ``flip`` reports for the other player."""
    winrate, lcb = (1.0 - c.winrate, 1.0 - c.lcb) if flip else (c.winrate, c.lcb)
    out = {"move": coords.to_gtp(c.move, n), "visits": int(c.visits),
           "winrate": float(winrate), "prior": float(c.prior), "lcb": float(lcb),
           "utility": float(2 * winrate - 1), "order": order,
           "pv": [coords.to_gtp(m, n) for m in c.pv]}
    if pv_visits:
        out["pvVisits"] = [int(v) for v in c.pv_visits]
    return out


def candidate_fields(res: SearchResult, n: int, flip: bool, pv_visits: bool = False
                     ) -> list[dict]:
    """``pv_visits``: each move's ``pvVisits`` too (KataGo's includePVVisits)."""
    moves = [c for c in res.candidates if c.move != RESIGN]
    return [move_fields(c, i, n, flip, pv_visits) for i, c in enumerate(moves)]


def kata_info_line(res: SearchResult, n: int, ownership: np.ndarray | None = None,
                   pv_visits: bool = False) -> str:
    """``kata-analyze``'s one line: ``info move .. visits .. winrate ..`` per candidate (floats,
    the side to move's perspective; with ``pv_visits`` each pv move's visits after the pv),
    then ``ownership`` and n*n values when given."""
    parts = []
    for f in candidate_fields(res, n, flip=False, pv_visits=pv_visits):
        parts.append(f"info move {f['move']} visits {f['visits']} utility {f['utility']:.6f} "
                     f"winrate {f['winrate']:.6f} prior {f['prior']:.6f} lcb {f['lcb']:.6f} "
                     f"order {f['order']} pv {' '.join(f['pv'])}"
                     + (f" pvVisits {' '.join(map(str, f['pvVisits']))}" if pv_visits else ""))
    if ownership is not None:
        parts.append("ownership " + " ".join(f"{v:.4f}" for v in ownership))
    return " ".join(parts)


# ----- queries ---------------------------------------------------------------------------------
@dataclasses.dataclass
class Query:
    id: str
    size: int
    komi: float
    initial: list[tuple[int, int]]  # (colour, point)
    moves: list[tuple[int, int]]
    initial_player: int | None
    turns: list[int]
    max_visits: int | None
    ownership: bool
    policy: bool
    pv_visits: bool
    report_every: float | None
    warnings: list[tuple[str, str]]  # (field, message)
    restrictions: list[MoveRestriction] = dataclasses.field(default_factory=list)


def _parse_color(value, field: str) -> int:
    c = str(value).strip().upper()
    if c in ("B", "BLACK"):
        return BLACK
    if c in ("W", "WHITE"):
        return WHITE
    raise QueryError(f"could not parse player {value!r}: expected \"B\" or \"W\"", field)


def _parse_location(value, n: int, field: str) -> int:
    text = str(value).strip()
    m = re.fullmatch(r"\(\s*(\d+)\s*,\s*(\d+)\s*\)", text)  # "(x,y)": column, row from the top
    if m:
        x, y = int(m.group(1)), int(m.group(2))
        if x < n and y < n:
            return y * n + x
        raise QueryError(f"location {text!r} is off the board", field)
    try:
        return coords.from_gtp(text, n)
    except coords.CoordError:
        raise QueryError(f"could not parse location {value!r}", field) from None


def _stone_list(q: dict, field: str, n: int) -> list[tuple[int, int]]:
    items = q.get(field, [])
    if not isinstance(items, list):
        raise QueryError(f"{field} must be a list of [player, location] pairs", field)
    out = []
    for item in items:
        if not isinstance(item, (list, tuple)) or len(item) != 2:
            raise QueryError(f"each entry of {field} must be [player, location]", field)
        out.append((_parse_color(item[0], field), _parse_location(item[1], n, field)))
    return out


def _restrictions(q: dict, n: int) -> list[MoveRestriction]:
    """``avoidMoves`` and ``allowMoves``: lists of {player, moves, untilDepth} (several
    allowMoves entries allow the union of their moves)."""
    out = []
    for field, allow in (("avoidMoves", False), ("allowMoves", True)):
        items = q.get(field, [])
        if not isinstance(items, list):
            raise QueryError(f"{field} must be a list of {{player, moves, untilDepth}}", field)
        for item in items:
            if not isinstance(item, dict) or not {"player", "moves", "untilDepth"} <= set(item):
                raise QueryError(f"each entry of {field} needs player, moves and untilDepth",
                                 field)
            depth, moves = item["untilDepth"], item["moves"]
            if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
                raise QueryError(f"untilDepth in {field} must be a positive integer", field)
            if not isinstance(moves, list):
                raise QueryError(f"moves in {field} must be a list of locations", field)
            out.append(MoveRestriction(allow, _parse_color(item["player"], field),
                                       tuple(_parse_location(m, n, field) for m in moves),
                                       depth))
    return out


def _int_field(q: dict, field: str, lo: int, hi: int, default=None):
    v = q.get(field, default)
    if v is default:
        return v
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != int(v) or not lo <= v <= hi:
        raise QueryError(f"{field} must be an integer within {lo}..{hi}", field)
    return int(v)


def _bool_field(q: dict, field: str) -> bool:
    v = q.get(field, False)
    if not isinstance(v, bool):
        raise QueryError(f"{field} must be true or false", field)
    return v


def _board_size(q: dict) -> int:
    for field in ("boardXSize", "boardYSize"):
        if field not in q:
            raise QueryError(f"{field} is required", field)
    x = _int_field(q, "boardXSize", MIN_SIZE, MAX_SIZE)
    y = _int_field(q, "boardYSize", MIN_SIZE, MAX_SIZE)
    if x != y:
        raise QueryError("only square boards are supported", "boardYSize")
    return x


def _rules_warning(q: dict) -> str | None:
    if "rules" not in q:
        raise QueryError("rules is required (e.g. \"chinese\" or \"tromp-taylor\")", "rules")
    rules = q["rules"]
    if isinstance(rules, dict):
        scoring = str(rules.get("scoring", "AREA")).upper()
        return None if scoring == "AREA" else "territory scoring is not supported: scored by area"
    if not isinstance(rules, str):
        raise QueryError("rules must be a string or an object", "rules")
    name = rules.strip().lower()
    if name in AREA_RULES:
        return None
    if name in TERRITORY_RULES:
        return "territory scoring is not supported: scored by area"
    raise QueryError(f"unknown rules {rules!r}", "rules")


def _komi(q: dict) -> float:
    komi = q.get("komi", 7.5)
    if isinstance(komi, bool) or not isinstance(komi, (int, float)) or not -150 <= komi <= 150 \
            or komi * 2 != int(komi * 2):
        raise QueryError("komi must be an integer or half-integer within -150..150", "komi")
    return float(komi)


def parse_query(q: dict) -> Query:
    """A validated query (raises QueryError naming the field at fault)."""
    n = _board_size(q)
    warnings = []
    rules_note = _rules_warning(q)
    if rules_note:
        warnings.append(("rules", rules_note))
    if "moves" not in q:
        raise QueryError("moves is required (an empty list for the initial position)", "moves")
    moves = _stone_list(q, "moves", n)
    turns = q.get("analyzeTurns", [len(moves)])
    if not isinstance(turns, list) or not turns or not all(
            isinstance(t, int) and not isinstance(t, bool) and 0 <= t <= len(moves)
            for t in turns):
        raise QueryError(f"analyzeTurns must be a list of turns within 0..{len(moves)}",
                         "analyzeTurns")
    every = q.get("reportDuringSearchEvery")
    if every is not None and (isinstance(every, bool) or not isinstance(every, (int, float))
                              or every <= 0):
        raise QueryError("reportDuringSearchEvery must be a positive number of seconds",
                         "reportDuringSearchEvery")
    for field in UNSUPPORTED_FIELDS:
        if field in q:
            warnings.append((field, "not supported by this engine, ignored"))
    initial_player = q.get("initialPlayer")
    return Query(id=q["id"], size=n, komi=_komi(q), initial=_stone_list(q, "initialStones", n),
                 moves=moves,
                 initial_player=None if initial_player is None else _parse_color(
                     initial_player, "initialPlayer"),
                 turns=list(dict.fromkeys(turns)),
                 max_visits=_int_field(q, "maxVisits", 1, 10_000_000),
                 ownership=_bool_field(q, "includeOwnership"),
                 policy=_bool_field(q, "includePolicy"),
                 pv_visits=_bool_field(q, "includePVVisits"),
                 report_every=None if every is None else float(every), warnings=warnings,
                 restrictions=_restrictions(q, n))


def positions_for(query: Query) -> dict[int, Position]:
    """The position at each turn asked for (raises QueryError on an illegal move)."""
    pos = Position(query.size, query.komi)
    if query.initial:
        points = [p for _, p in query.initial]
        twice = next((p for i, p in enumerate(points) if p in points[:i]), None)
        if twice is not None:
            raise QueryError(f"illegal initial stones: {coords.to_gtp(twice, query.size)} is "
                             "given twice", "initialStones")
        black = [p for c, p in query.initial if c == BLACK]
        white = [p for c, p in query.initial if c == WHITE]
        try:
            pos.setup(black=black, white=white)
        except (IllegalMove, ValueError) as exc:
            raise QueryError(f"illegal initial stones: {exc}", "initialStones") from None
    first = query.initial_player or (query.moves[0][0] if query.moves else BLACK)
    pos.to_move = first
    wanted = set(query.turns)
    out = {0: pos.copy()} if 0 in wanted else {}
    for turn, (color, p) in enumerate(query.moves, start=1):
        try:
            pos.play(p, color)
        except IllegalMove as exc:
            raise QueryError(f"illegal move {turn}: {coords.to_gtp(p, query.size)} ({exc})",
                             "moves") from None
        if turn in wanted:
            out[turn] = pos.copy()
    return out


# ----- the engine ------------------------------------------------------------------------------
class AnalysisEngine:
    """Answers KataGo analysis queries with an ``MCTSPlayer``. ``submit(line)`` parses and
    queues (errors and actions answer at once); ``run_next()`` analyses one queued turn."""

    def __init__(self, player, write: Callable[[dict], None], visits: int = 400,
                 report_as: str = "BLACK", ownership_playouts: int = 200, seed: int = 0):
        if report_as not in PERSPECTIVES:
            raise ValueError(f"report_as must be one of {', '.join(PERSPECTIVES)}")
        self.player = player
        self.write = write
        self.visits = visits
        self.report_as = report_as
        self.ownership_playouts = ownership_playouts
        self.seed = seed
        self.tasks: queue.Queue = queue.Queue()
        self.terminated: set[tuple[str, int | None]] = set()
        self.clear_cache = False
        self.lock = threading.Lock()

    # ----- input
    def submit(self, line: str) -> None:
        text = line.strip()
        if not text:
            return
        try:
            q = json.loads(text)
        except json.JSONDecodeError as exc:
            self.write({"error": f"could not parse json: {exc}"})
            return
        if not isinstance(q, dict):
            self.write({"error": "a query must be a JSON object"})
            return
        if not isinstance(q.get("id"), str):
            self.write({"error": "id (a string) is required", "field": "id"})
            return
        if "action" in q:
            self._action(q)
            return
        try:
            query = parse_query(q)
            positions = positions_for(query)
        except QueryError as exc:
            self.write({"error": str(exc), "field": exc.field, "id": q["id"]})
            return
        for field, message in query.warnings:
            self.write({"warning": message, "field": field, "id": query.id})
        with self.lock:  # a new query under an old id starts afresh
            self.terminated = {t for t in self.terminated if t[0] != query.id}
        for turn in query.turns:
            self.tasks.put((query, turn, positions[turn]))

    def _action(self, q: dict) -> None:
        action = q["action"]
        if action == "query_version":
            self.write({**q, "version": ENGINE_VERSION, "git_hash": "<omitted>"})
        elif action == "clear_cache":  # done by the analysing thread before its next turn
            with self.lock:
                self.clear_cache = True
            self.write(dict(q))
        elif action == "terminate":
            target = q.get("terminateId")
            turns = q.get("turnNumbers")
            if not isinstance(target, str) or (turns is not None and not (
                    isinstance(turns, list) and all(isinstance(t, int) for t in turns))):
                self.write({"error": "terminate needs terminateId (string) and optional "
                                     "turnNumbers (list of integers)", "id": q["id"]})
                return
            with self.lock:
                for t in (turns if turns is not None else [None]):
                    self.terminated.add((target, t))
            self.write(dict(q))
        else:
            self.write({"error": f"unknown action {action!r}", "field": "action", "id": q["id"]})

    def close(self) -> None:
        """No more input: the queued turns are still analysed, then ``run_next`` ends."""
        self.tasks.put(None)

    # ----- analysis
    def _is_terminated(self, qid: str, turn: int) -> bool:
        with self.lock:
            return (qid, None) in self.terminated or (qid, turn) in self.terminated

    def run_next(self) -> bool:
        """Analyse one queued turn; False once the input is closed and the queue empty."""
        task = self.tasks.get()
        if task is None:
            return False
        query, turn, pos = task
        with self.lock:
            clear, self.clear_cache = self.clear_cache, False
        if clear:  # a fresh tree and evaluation cache
            self.player.clear()
        if self._is_terminated(query.id, turn):
            self.write({"id": query.id, "isDuringSearch": False, "noResults": True,
                        "turnNumber": turn})
            return True
        try:
            self.write(self.analyse(query, turn, pos))
        except Exception as exc:  # never die on a query: report it and go on
            log.exception("analysis of %s turn %d failed", query.id, turn)
            self.write({"error": f"internal error: {exc.__class__.__name__}: {exc}",
                        "id": query.id, "turnNumber": turn})
        return True

    def analyse(self, query: Query, turn: int, pos: Position) -> dict:
        visits = query.max_visits or self.visits
        t0 = time.perf_counter()
        last = [t0]

        def on_batch():
            if query.report_every and time.perf_counter() - last[0] >= query.report_every:
                last[0] = time.perf_counter()
                self.write(self._response(query, turn, pos, self.player.result(tree, t0),
                                          during=True))

        def stop():
            return self._is_terminated(query.id, turn)

        banned = (ban_table(query.restrictions, pos.to_move, pos.size)
                  if query.restrictions else None)
        with self.player.lock:
            tree = self.player.tree(pos.size)
            tree.set_root(pos, banned=banned)
            remaining = max(0, visits - tree.root_visits())
            if remaining and pos.passes < 2:
                tree.run(pos, remaining, None, stop, on_batch)
            res = self.player.result(tree, t0)
        return self._response(query, turn, pos, res, during=False)

    def _flip(self, pos: Position) -> bool:
        """Report for the other player than the side to move?"""
        if self.report_as == "SIDETOMOVE":
            return False
        return (pos.to_move == BLACK) != (self.report_as == "BLACK")

    def _response(self, query: Query, turn: int, pos: Position, res: SearchResult,
                  during: bool) -> dict:
        n, flip = pos.size, self._flip(pos)
        winrate = 1.0 - res.root_winrate if flip else res.root_winrate
        out = {"id": query.id, "isDuringSearch": during, "turnNumber": turn,
               "moveInfos": candidate_fields(res, n, flip, query.pv_visits),
               "rootInfo": {"winrate": float(winrate), "utility": float(2 * winrate - 1),
                            "visits": int(res.visits), "currentPlayer":
                                "B" if pos.to_move == BLACK else "W",
                            "thisHash": f"{pos.key & (2 ** 64 - 1):016X}"}}
        if not during:  # the score estimate always, ownership when asked
            est = RootEstimate.of(pos, self.ownership_playouts, self.seed)
            sign = self._black_sign(pos)
            out["rootInfo"]["scoreLead"] = sign * est.black_lead
            if query.ownership:
                out["ownership"] = [round(float(sign * v), 4) for v in est.ownership]
        if query.policy and not during:
            out["policy"] = self._policy(pos)
        return out

    def _black_sign(self, pos: Position) -> float:
        """+1 where reported values are Black's, -1 where White's."""
        side = {"BLACK": BLACK, "WHITE": WHITE}.get(self.report_as, pos.to_move)
        return 1.0 if side == BLACK else -1.0

    def _policy(self, pos: Position) -> list[float]:
        pri = self.player.policy(pos)
        legal = pos.legal_moves()
        return [round(float(p), 6) if legal[i] else -1.0 for i, p in enumerate(pri)]


def serve(engine: AnalysisEngine, stdin: IO[str]) -> int:
    """Read queries on a thread (so terminate reaches a running search) and analyse in this
    one until the input ends and every queued turn is answered."""

    def reader():
        try:
            for line in stdin:
                engine.submit(line)
        finally:
            engine.close()

    threading.Thread(target=reader, daemon=True).start()
    while engine.run_next():
        pass
    return 0
