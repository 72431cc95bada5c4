"""Engine-vs-engine matches over GTP: games, scoring, win rates, Elo, SPRT, SGFs.

Every engine is a command line. Our own Position referees every move: an
illegal move, a crash or a hang loses the game (the engine is restarted and
the match goes on). One JSON line per finished game is appended to
``games.jsonl``, so an interrupted match resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import math
import os
import queue
import shlex
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from alphago import coords, sgf
from alphago.board import BLACK, WHITE, IllegalMove, Position

log = logging.getLogger("alphago.match")


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

    def start(self) -> None:
        self.close()
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
        head = got[0]
        if not head or head[0] not in "=?":
            raise EngineFailure(f"{self.name} answered {head!r}")
        text = "\n".join([head[1:].lstrip("0123456789").strip()] + got[1:]).strip()
        return head[0] == "=", text

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


@dataclasses.dataclass(frozen=True)
class GameConfig:
    size: int = 19
    komi: float = 7.5
    handicap: int = 0
    max_moves: int | None = None  # None: 3 * size^2
    time_settings: tuple[float, float, int] | None = None  # GTP/Canadian: main, byo, stones
    move_timeout: float | None = None  # seconds; None: from the time settings, else 600
    time_grace: float = 0.5  # seconds of transport lag forgiven per move before a time loss
    scorer: str = "internal"  # internal, players, referee
    referee: str | None = None


@dataclasses.dataclass
class GameRecord:
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


class Clock:
    """A player's clock under GTP (Canadian) time settings: ``main`` seconds, then
    ``byo_stones`` moves in every ``byo_time`` seconds. byo_time 0 and byo_stones 0:
    absolute time. One byo-yomi stone makes Japanese byo-yomi with one period."""

    def __init__(self, main: float, byo_time: float, byo_stones: int, grace: float = 0.5):
        self.main, self.byo_time, self.byo_stones = float(main), float(byo_time), int(byo_stones)
        self.grace = grace
        self.main_left = self.main
        self.in_byo = self.main <= 0 and self.byo_stones > 0
        self.byo_left = self.byo_time
        self.stones_left = self.byo_stones

    def time_left(self) -> tuple[float, int]:
        """What GTP ``time_left`` says now: (seconds, stones; 0 stones in main time)."""
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
        if seconds > self.byo_left + self.grace:
            return False
        self.byo_left -= seconds
        self.stones_left -= 1
        if self.stones_left <= 0:  # a new byo-yomi period
            self.byo_left, self.stones_left = self.byo_time, self.byo_stones
        return True


def _timeout(cfg: GameConfig) -> float:
    if cfg.move_timeout:
        return cfg.move_timeout
    if cfg.time_settings:
        main, byo, _ = cfg.time_settings
        return main + byo + 30
    return 600.0


def _setup(client: GtpClient, cfg: GameConfig, handicap_points: list[int]) -> None:
    for cmd in (f"boardsize {cfg.size}", "clear_board", f"komi {cfg.komi}"):
        ok, text = client.send(cmd, 30)
        if not ok:
            raise EngineFailure(f"{client.name} refused {cmd!r}: {text}")
    if cfg.time_settings:
        m, b, s = cfg.time_settings
        client.send(f"time_settings {int(m)} {int(b)} {int(s)}", 30)
    if handicap_points:
        verts = " ".join(coords.to_gtp(p, cfg.size) for p in handicap_points)
        ok, text = client.send(f"set_free_handicap {verts}", 30)
        if not ok:
            raise EngineFailure(f"{client.name} refused handicap: {text}")


def _handicap_points(cfg: GameConfig) -> list[int]:
    if cfg.handicap < 2:
        return []
    from alphago.gtp import fixed_handicap_points

    return fixed_handicap_points(cfg.size, cfg.handicap)


def _play_opening(pos: Position, clients: dict, opening) -> None:
    """The opening's moves on our board and on both engines' boards."""
    for color, p in opening:
        pos.play(p, color)
        cmd = f"play {'b' if color == BLACK else 'w'} {coords.to_gtp(p, pos.size)}"
        for c in clients.values():
            ok, text = c.send(cmd, 30)
            if not ok:
                raise EngineFailure(f"{c.name} refused the opening's {cmd!r}: {text}")


def play_game(gid: int, black: GtpClient, white: GtpClient, cfg: GameConfig,
              sgf_dir: Path, referee: GtpClient | None = None,
              opening: tuple[tuple[int, int], ...] = ()) -> GameRecord:
    """One game; ``opening``: (colour, point) moves played for both sides before the
    engines' first genmove."""
    pos = Position(cfg.size, cfg.komi, superko=True)
    hcap = _handicap_points(cfg)
    clients = {BLACK: black, WHITE: white}
    spent = {black.name: 0.0, white.name: 0.0}
    result, reason, detail, winner_color = "", "", "", 0
    failed = []
    for color, c in ((BLACK, black), (WHITE, white)):
        try:
            _setup(c, cfg, hcap)
        except EngineFailure as exc:
            c.close()
            failed.append((color, str(exc)))
    if failed:  # a broken engine loses; if both are broken nobody wins
        winner_color = 3 - failed[0][0] if len(failed) == 1 else 0
        result = {BLACK: "B+F", WHITE: "W+F"}.get(winner_color, "Void")
        return _finish(gid, black, white, pos, winner_color, result, "setup failed",
                       "; ".join(d for _, d in failed), spent, sgf_dir, hcap)
    if hcap:
        pos.setup(black=hcap)
        pos.to_move = WHITE
    try:
        _play_opening(pos, clients, opening)
    except (EngineFailure, IllegalMove) as exc:
        return _finish(gid, black, white, pos, 0, "Void", "opening failed", str(exc), spent,
                       sgf_dir, hcap)
    max_moves = cfg.max_moves or 3 * cfg.size * cfg.size
    timeout = _timeout(cfg)
    clocks = ({c: Clock(*cfg.time_settings, grace=cfg.time_grace) for c in (BLACK, WHITE)}
              if _has_clock(cfg) else None)
    longest = {black.name: 0.0, white.name: 0.0}
    least_left = {}
    while True:
        color = pos.to_move
        mover, other = clients[color], clients[3 - color]
        cname = "b" if color == BLACK else "w"
        if clocks is not None:
            left, stones = clocks[color].time_left()
            least_left[mover.name] = round(min(left, least_left.get(mover.name, left)), 2)
            try:  # as servers do: the engine's clock before every move
                mover.send(f"time_left {cname} {max(0, int(left))} {stones}", 30)
            except EngineFailure:
                pass  # the genmove below finds out whether it is alive
        t0 = time.monotonic()
        try:
            ok, text = mover.send(f"genmove {cname}", timeout)
        except EngineFailure as exc:
            mover.close()
            reason = "timeout" if "timed out" in str(exc) else "crash"
            winner_color, detail = 3 - color, str(exc)
            break
        took = time.monotonic() - t0
        spent[mover.name] += took
        longest[mover.name] = round(max(longest[mover.name], took), 3)
        if clocks is not None and not clocks[color].spend(took):
            winner_color, reason, detail = 3 - color, "time", f"{took:.2f} s for the last move"
            break
        move = text.strip().lower()
        if not ok:
            winner_color, reason, detail = 3 - color, "genmove failed", text
            break
        if move == "resign":
            winner_color, reason = 3 - color, "resign"
            break
        try:
            p = coords.from_gtp(move, cfg.size)
            pos.play(p, color)
        except (coords.CoordError, IllegalMove) as exc:
            winner_color, reason, detail = 3 - color, "illegal move", f"{move}: {exc}"
            break
        try:
            ok, text = other.send(f"play {cname} {move}", 60)
        except EngineFailure as exc:
            other.close()
            winner_color, reason, detail = color, "crash", str(exc)
            break
        if not ok:
            winner_color, reason, detail = color, "refused a legal move", f"{move}: {text}"
            break
        if pos.passes >= 2:
            reason = "score"
            break
        if len(pos.moves) >= max_moves:
            reason = "move cap"
            break
    if reason in ("score", "move cap"):
        result, detail = score_game(pos, black, white, cfg, referee)
        winner_color = sgf.parse_winner(result)
    elif winner_color:
        result = ("B" if winner_color == BLACK else "W") + ("+R" if reason == "resign" else "+F")
        if reason in ("timeout", "time"):
            result = result[:2] + "T"
    rec = _finish(gid, black, white, pos, winner_color, result, reason, detail, spent,
                  sgf_dir, hcap)
    if clocks is not None:
        rec.max_move_seconds, rec.min_time_left = longest, least_left
    return rec


def _has_clock(cfg: GameConfig) -> bool:
    """Time settings that limit time (GTP: byo_time > 0 with 0 stones means no limit)."""
    if not cfg.time_settings:
        return False
    main, byo, stones = cfg.time_settings
    return not (byo > 0 and stones == 0)


def _finish(gid, black, white, pos, winner_color, result, reason, detail, spent, sgf_dir, hcap):
    sgf_dir.mkdir(parents=True, exist_ok=True)
    path = sgf_dir / f"game_{gid:05d}.sgf"
    data = sgf.game_to_sgf(pos.size, pos.moves, komi=pos.komi, result=result, black=black.name,
                           white=white.name, setup_black=hcap, handicap=len(hcap),
                           comment=f"{reason} {detail}".strip(),
                           date=time.strftime("%Y-%m-%d"))
    path.write_bytes(data)
    winner = {BLACK: black.name, WHITE: white.name}.get(winner_color)
    return GameRecord(gid, black.name, white.name, winner, result or "Void", reason,
                      len(pos.moves), {k: round(v, 2) for k, v in spent.items()},
                      str(path.relative_to(sgf_dir.parent)),
                      detail[:300])


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


def score_game(pos: Position, black: GtpClient, white: GtpClient, cfg: GameConfig,
               referee: GtpClient | None) -> tuple[str, str]:
    """(SGF result, detail) by the configured scorer."""
    from alphago.scoring import dead_stones, without_dead

    if cfg.scorer == "players":
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
        cfg = dataclasses.replace(cfg, scorer="internal")
        result, _ = score_game(pos, black, white, cfg, None)
        return result, detail
    if cfg.scorer == "referee" and referee is not None:
        try:
            _setup(referee, cfg, [])
            for color, p in pos.moves:
                referee.send(f"play {'b' if color == BLACK else 'w'} "
                             f"{coords.to_gtp(p, pos.size)}", 60)
            ok, text = referee.send("final_score", 300)
            if ok and text:
                return text.upper(), f"referee {referee.name}"
        except EngineFailure as exc:
            referee.close()
            log.warning("referee failed: %s", exc)
    dead_b, dead_w = _dead_list(black, pos.size), _dead_list(white, pos.size)
    nn = pos.size * pos.size
    if dead_b is not None and dead_b == dead_w:
        dead = np.zeros(nn, bool)
        dead[list(dead_b)] = True
        detail = "dead stones agreed"
    else:
        dead = dead_stones(pos)
        detail = "dead stones by playouts (engines disagreed)"
    return without_dead(pos, dead).result_string(), detail


# ----- statistics ---------------------------------------------------------------
def wilson(wins: float, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = wins / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def elo_from_p(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return -400 * math.log10(1 / p - 1)


def sprt_llr(wins: float, losses: float, elo0: float, elo1: float) -> float:
    """Log-likelihood ratio of elo1 against elo0 (logistic model, draws count half)."""
    p0 = 1 / (1 + 10 ** (-elo0 / 400))
    p1 = 1 / (1 + 10 ** (-elo1 / 400))
    return wins * math.log(p1 / p0) + losses * math.log((1 - p1) / (1 - p0))


def sprt_decision(wins, losses, elo0, elo1, alpha, beta) -> str | None:
    llr = sprt_llr(wins, losses, elo0, elo1)
    if llr >= math.log((1 - beta) / alpha):
        return "H1"
    if llr <= math.log(beta / (1 - alpha)):
        return "H0"
    return None


def pair_summary(records: list[dict], a: str, b: str) -> dict:
    games = [r for r in records if {r["black"], r["white"]} == {a, b}]
    n = len(games)
    wins_a = sum(1 for r in games if r["winner"] == a)
    wins_b = sum(1 for r in games if r["winner"] == b)
    draws = n - wins_a - wins_b
    score = wins_a + 0.5 * draws
    lo, hi = wilson(score, n)
    by_colour = {f"{a}_as_black": sum(1 for r in games if r["black"] == a and r["winner"] == a),
                 f"{a}_as_white": sum(1 for r in games if r["white"] == a and r["winner"] == a),
                 f"{b}_as_black": sum(1 for r in games if r["black"] == b and r["winner"] == b),
                 f"{b}_as_white": sum(1 for r in games if r["white"] == b and r["winner"] == b)}
    moves = {e: sum(r["seconds"].get(e, 0) for r in games) for e in (a, b)}
    nmoves = max(1, sum(r["moves"] for r in games) // 2)
    return {"engines": [a, b], "games": n, "wins": {a: wins_a, b: wins_b}, "draws": draws,
            "winrate": score / n if n else None, "ci95": [lo, hi],
            "elo": elo_from_p(score / n) if n else None,
            "elo_ci95": [elo_from_p(lo), elo_from_p(hi)] if n else None,
            "wins_by_colour": by_colour,
            "avg_move_seconds": {e: round(s / nmoves, 3) for e, s in moves.items()},
            "reasons": dict(_count(r["reason"] for r in games)),
            **_clock_summary(games, (a, b))}


def _clock_summary(games: list[dict], names) -> dict:
    timed = [r for r in games if r.get("min_time_left")]
    if not timed:
        return {}
    lost = {e: sum(1 for r in timed if r["reason"] in ("time", "timeout")
                   and r["winner"] is not None and r["winner"] != e) for e in names}
    longest = {e: max((r["max_move_seconds"].get(e, 0.0) for r in timed), default=0.0)
               for e in names}
    least = {e: min((r["min_time_left"][e] for r in timed if e in r["min_time_left"]),
                    default=None) for e in names}
    return {"timed_games": len(timed), "time_losses": lost, "max_move_seconds": longest,
            "min_time_left": least}


def _count(items):
    out: dict[str, int] = {}
    for x in items:
        out[x] = out.get(x, 0) + 1
    return sorted(out.items())


def bradley_terry(records: list[dict], names: list[str], iters: int = 200
                  ) -> dict[str, tuple[float, float]]:
    """Maximum-likelihood Elo ratings (mean 0) with 95% half-widths, draws as half wins.
    A weak prior (one draw against a virtual average player) keeps unbeaten engines finite."""
    k = len(names)
    idx = {n: i for i, n in enumerate(names)}
    w = np.full((k, k), 0.0)
    for r in records:
        i, j = idx.get(r["black"]), idx.get(r["white"])
        if i is None or j is None:
            continue
        if r["winner"] == r["black"]:
            w[i, j] += 1
        elif r["winner"] == r["white"]:
            w[j, i] += 1
        else:
            w[i, j] += 0.5
            w[j, i] += 0.5
    gamma = np.ones(k)
    for _ in range(iters):  # MM updates (Hunter 2004) with the prior games
        wins = w.sum(1) + 0.5
        denom = np.array([sum((w[i, j] + w[j, i]) / (gamma[i] + gamma[j])
                              for j in range(k) if j != i) + 1 / (gamma[i] + 1)
                          for i in range(k)])
        gamma = wins / denom
        gamma /= np.exp(np.mean(np.log(gamma)))
    r = 400 * np.log10(gamma)
    ci = {}
    for i in range(k):  # Fisher information of each rating with the others held fixed
        info = sum((w[i, j] + w[j, i]) * gamma[i] * gamma[j] / (gamma[i] + gamma[j]) ** 2
                   for j in range(k) if j != i) + gamma[i] / (gamma[i] + 1) ** 2
        se = (400 / math.log(10)) / math.sqrt(info) if info > 0 else float("inf")
        ci[names[i]] = (float(r[i]), 1.96 * se)
    return ci


def plot_ratings(ratings: dict[str, tuple[float, float]], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.warning("matplotlib not installed: no ratings plot")
        return False
    names = list(ratings)
    fig, ax = plt.subplots(figsize=(max(4, len(names) * 1.2), 3.5))
    ax.errorbar(range(len(names)), [ratings[n][0] for n in names],
                yerr=[ratings[n][1] for n in names], fmt="o", capsize=4)
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_ylabel("Elo (mean 0)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


# ----- the match driver -------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class MatchConfig:
    engines: tuple[tuple[str, str], ...]  # (name, command)
    games: int = 10  # per pair
    game: GameConfig = GameConfig()
    parallel: int = 1
    sprt: tuple[float, float, float, float] | None = None
    seed: int = 0
    # each pair of games (colours swapped) starts from the next of these move sequences
    openings: tuple[tuple[tuple[int, int], ...], ...] = ()


def opening_for(cfg: MatchConfig, gid: int) -> tuple[tuple[int, int], ...]:
    """The opening of game ``gid``: games 2k and 2k+1 of every pairing share one."""
    if not cfg.openings:
        return ()
    return cfg.openings[(gid % cfg.games) // 2 % len(cfg.openings)]


def load_openings(sources, moves: int, size: int = 19, limit: int = 1000, seed: int = 0
                  ) -> tuple[tuple[tuple[int, int], ...], ...]:
    """The first ``moves`` moves of up to ``limit`` games (SGF files, directories or
    archives) of board ``size``, without handicap or passes: a seeded random choice among
    the first ``5 * limit`` such games found."""
    if moves < 1:
        raise ValueError("opening moves must be at least 1")
    flt = sgf.GameFilter(sizes=(size,), min_moves=moves, allow_handicap=False)
    found = []
    for rec in sgf.load_games(sources, flt, sgf.SkipStats()):
        head = tuple(rec.moves[:moves])
        if not rec.setup_black and not rec.setup_white and all(
                p != size * size for _, p in head):
            found.append(head)
            if len(found) >= 5 * limit:  # enough to choose from; an archive may be huge
                break
    if not found:
        raise ValueError(f"no game of {moves}+ moves on {size}x{size} without handicap in "
                         f"{sources}")
    order = np.random.default_rng(seed).permutation(len(found))
    return tuple(found[i] for i in order[:limit])


def schedule(cfg: MatchConfig) -> list[tuple[int, str, str]]:
    """(game id, black, white): every pair plays ``games`` games, colours alternating."""
    names = [n for n, _ in cfg.engines]
    out = []
    gid = 0
    for a, b in itertools.combinations(names, 2):
        for g in range(cfg.games):
            out.append((gid, a, b) if g % 2 == 0 else (gid, b, a))
            gid += 1
    return out


def load_records(path: Path) -> list[dict]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            log.warning("skipping a damaged line in %s", path)
    return out


class _Worker:
    """Engine processes owned by one parallel slot."""

    def __init__(self, cfg: MatchConfig, out: Path, slot: int):
        self.clients = {n: GtpClient(n, c, out / "logs" / f"slot{slot}")
                        for n, c in cfg.engines}
        self.referee = (GtpClient("referee", cfg.game.referee, out / "logs" / f"slot{slot}")
                        if cfg.game.scorer == "referee" and cfg.game.referee else None)

    def close(self):
        for c in list(self.clients.values()) + ([self.referee] if self.referee else []):
            c.close()


def run_match(cfg: MatchConfig, out_dir: str | os.PathLike, progress: bool = True) -> dict:
    from tqdm import tqdm

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    jsonl = out / "games.jsonl"
    records = load_records(jsonl)
    done = {r["game"] for r in records}
    todo = [g for g in schedule(cfg) if g[0] not in done]
    lock = threading.Lock()
    slots: queue.Queue[_Worker] = queue.Queue()
    workers = [_Worker(cfg, out, s) for s in range(max(1, cfg.parallel))]
    for w in workers:
        slots.put(w)
    stop = threading.Event()

    def run_one(item):
        gid, b, w = item
        if stop.is_set():
            return None
        worker = slots.get()
        try:
            rec = play_game(gid, worker.clients[b], worker.clients[w], cfg.game, out / "sgf",
                            worker.referee, opening_for(cfg, gid))
        finally:
            slots.put(worker)
        with lock:
            with jsonl.open("a") as f:
                f.write(json.dumps(dataclasses.asdict(rec)) + "\n")
            records.append(dataclasses.asdict(rec))
            if cfg.sprt and _sprt_done(cfg, records):
                stop.set()
        return rec

    bar = tqdm(total=len(todo), disable=not progress, unit="game")
    try:
        with ThreadPoolExecutor(max_workers=max(1, cfg.parallel)) as pool:
            futures = [pool.submit(run_one, item) for item in todo]
            for fut in as_completed(futures):
                rec = fut.result()
                bar.update(1)
                if rec is not None:
                    bar.set_postfix_str(f"{rec.black} vs {rec.white}: {rec.result}")
    finally:
        bar.close()
        for w in workers:
            w.close()
    summary = summarize(cfg, records, out)
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


def _sprt_done(cfg: MatchConfig, records: list[dict]) -> bool:
    a, b = cfg.engines[0][0], cfg.engines[1][0]
    s = pair_summary(records, a, b)
    wins, losses = s["wins"][a] + s["draws"] / 2, s["wins"][b] + s["draws"] / 2
    return sprt_decision(wins, losses, *cfg.sprt) is not None


def summarize(cfg: MatchConfig, records: list[dict], out: Path) -> dict:
    names = [n for n, _ in cfg.engines]
    pairs = [pair_summary(records, a, b) for a, b in itertools.combinations(names, 2)]
    summary: dict = {"games": len(records), "pairs": pairs}
    if cfg.sprt and len(names) >= 2:
        a, b = names[0], names[1]
        s = pairs[0]
        wins, losses = s["wins"][a] + s["draws"] / 2, s["wins"][b] + s["draws"] / 2
        summary["sprt"] = {"elo0": cfg.sprt[0], "elo1": cfg.sprt[1], "alpha": cfg.sprt[2],
                           "beta": cfg.sprt[3], "llr": sprt_llr(wins, losses, *cfg.sprt[:2]),
                           "decision": sprt_decision(wins, losses, *cfg.sprt)}
    if len(names) >= 2:
        bt = bradley_terry(records, names)
        summary["ratings"] = {n: {"rating": bt[n][0], "rating_ci95": bt[n][1]} for n in names}
        if len(names) >= 3:
            plot_ratings(bt, out / "ratings.png")
    return summary
