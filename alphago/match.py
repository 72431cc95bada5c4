"""Engine-vs-engine matches over GTP: the schedule, openings, parallel games, records
and the summary.

Every engine is a command line (``gtp_client``); each game is played and adjudicated by
``match_game``: an illegal move, a crash or a hang loses the game (the engine is restarted
and the match goes on). One JSON line per finished game is appended to ``games.jsonl``, so
an interrupted match resumes where it stopped; ``ratings`` turns the records into win
rates, Elo, SPRT decisions and ratings.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import os
import queue
import shlex
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from alphago import sgf
from alphago.gtp_client import GtpClient
from alphago.match_game import GameConfig, play_game
from alphago.ratings import (bradley_terry, pair_summary, ratings_svg, sprt_decision,
                             sprt_llr)

log = logging.getLogger("alphago.match")


# ----- the match driver -------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class MatchConfig:
    engines: tuple[tuple[str, str], ...]  # (name, command)
    games: int = 10  # per pair
    game: GameConfig = GameConfig()
    parallel: int = 1
    sprt: tuple[float, float, float, float] | None = None
    seed: int = 0
    # each pair of games (colours swapped) starts from the next of these move sequences;
    # with fixed colours each game starts from the next one
    openings: tuple[tuple[tuple[int, int], ...], ...] = ()
    # False: the engine named first in each pairing plays black in every game (a handicap
    # match: it takes the stones), as gogui-twogtp plays without -alternate
    alternate: bool = True


def openings_needed(games: int, alternate: bool = True) -> int:
    """How many distinct openings ``games`` games of one pairing start from."""
    return (games + 1) // 2 if alternate else games


def opening_for(cfg: MatchConfig, gid: int) -> tuple[tuple[int, int], ...]:
    """The opening of game ``gid``: games 2k and 2k+1 of every pairing share one (colours
    swapped); with fixed colours every game of a pairing has its own."""
    if not cfg.openings:
        return ()
    k = gid % cfg.games
    return cfg.openings[(k // 2 if cfg.alternate else k) % len(cfg.openings)]


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
    """(game id, black, white): every pair plays ``games`` games, colours alternating (or,
    with ``alternate`` off, the engine named first always black)."""
    names = [n for n, _ in cfg.engines]
    out = []
    gid = 0
    for a, b in itertools.combinations(names, 2):
        for g in range(cfg.games):
            out.append((gid, a, b) if g % 2 == 0 or not cfg.alternate else (gid, b, a))
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


class MatchSetupError(Exception):
    """A match that cannot start: an engine's or the referee's program is not there."""


def check_commands(cfg: MatchConfig) -> None:
    """Every engine's program, and the referee's, is found before any game is played, so
    that a mistyped command or a program missing from PATH stops the match at once
    instead of filling it with void games."""
    commands = list(cfg.engines)
    if cfg.game.scorer == "referee" and cfg.game.referee:
        commands.append(("referee", cfg.game.referee))
    problems = []
    for name, command in commands:
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            problems.append(f"{name}: cannot parse {command!r}: {exc}")
            continue
        if not argv:
            problems.append(f"{name}: empty command")
        elif shutil.which(argv[0]) is None:
            problems.append(f"{name}: program {argv[0]!r} not found (not on PATH, or not "
                            "an executable file)")
    if problems:
        raise MatchSetupError("; ".join(problems))


class _Worker:
    """Engine processes owned by one parallel slot."""

    def __init__(self, cfg: MatchConfig, out: Path, slot: int):
        self.clients = {n: GtpClient(n, c, out / "logs" / f"slot{slot}")
                        for n, c in cfg.engines}
        self.referee = (GtpClient("referee", cfg.game.referee, out / "logs" / f"slot{slot}")
                        if cfg.game.scorer == "referee" and cfg.game.referee else None)

    def _all(self) -> list[GtpClient]:
        return list(self.clients.values()) + ([self.referee] if self.referee else [])

    def close(self):
        for c in self._all():
            c.close()

    def kill(self):
        for c in self._all():
            c.kill()


def run_match(cfg: MatchConfig, out_dir: str | os.PathLike, progress: bool = True) -> dict:
    from tqdm import tqdm

    check_commands(cfg)
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
    aborted = threading.Event()  # interrupted: games cut short are not results

    def run_one(item):
        gid, b, w = item
        if stop.is_set():
            return None
        worker = slots.get()
        try:
            rec = play_game(gid, worker.clients[b], worker.clients[w], cfg.game, out / "sgf",
                            worker.referee, opening_for(cfg, gid), voided=aborted)
        finally:
            slots.put(worker)
        if rec is None or aborted.is_set():
            return None
        with lock:
            with jsonl.open("a") as f:
                f.write(json.dumps(dataclasses.asdict(rec)) + "\n")
            records.append(dataclasses.asdict(rec))
            if cfg.sprt and _sprt_done(cfg, records):
                stop.set()
        return rec

    bar = tqdm(total=len(todo), disable=not progress, unit="game")
    pool = ThreadPoolExecutor(max_workers=max(1, cfg.parallel))
    try:
        futures = [pool.submit(run_one, item) for item in todo]
        for fut in as_completed(futures):
            rec = fut.result()
            bar.update(1)
            if rec is not None:
                bar.set_postfix_str(f"{rec.black} vs {rec.white}: {rec.result}")
    except BaseException:  # Ctrl-C, SIGTERM, a game's error: end the games in play now
        aborted.set()
        stop.set()
        for w in workers:
            w.kill()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
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
            points = [(n, bt[n][0], bt[n][1], True) for n in names]
            (out / "ratings.svg").write_text(ratings_svg(points, "Bradley-Terry Elo (95%)"))
    return summary
