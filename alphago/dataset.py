"""SGF games -> compact position shards on disk -> batches of planes for torch.

A shard stores positions, not planes, so one copy of the data serves every
feature set: per position the stones bit-packed (2 bits a point), side to move,
ko point, the last ``HISTORY`` moves, the move played and the game's outcome from
the mover's view. About 120 bytes a 19x19 position; planes and a random
symmetry are made per batch by the numba kernels. Search self-play adds each
position's root visit distribution, sparse (``pi_moves``/``pi_probs``: the
``PI_TOP`` most visited moves and their shares), the policy target of expert
iteration, and the search's root value (``q``, the mover's view), which a value
target may mix with the outcome (``PositionShards(q_weight=...)``).
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from alphago import features, sgf
from alphago.features import HISTORY, FeatureSet

SHARD_FIELDS = ("stones", "to_move", "ko", "last", "move", "outcome", "game")
TARGET_FIELDS = ("pi_moves", "pi_probs")  # optional: search visit distributions
Q_FIELD = "q"  # optional: the search's root value before each move (search self-play)
PI_TOP = 16  # moves kept of a visit distribution (sparse; the rest is renormalised away)


@dataclasses.dataclass
class GameArrays:
    """Positions of one game, before each main-line move."""

    colors: np.ndarray  # [T, n*n] int8
    to_move: np.ndarray  # [T] int8
    ko: np.ndarray  # [T] int16
    last: np.ndarray  # [T, HISTORY] int16
    move: np.ndarray  # [T] int16
    outcome: np.ndarray  # [T] int8: +1 the mover won, -1 lost, 0 unknown
    pi_moves: np.ndarray | None = None  # [T, PI_TOP] int16, -1 padding: most visited moves
    pi_probs: np.ndarray | None = None  # [T, PI_TOP] float16: their visit shares
    q: np.ndarray | None = None  # [T] float16: the search's root value, the mover's view

    def select(self, keep: np.ndarray) -> "GameArrays":
        """The positions where ``keep`` is true."""
        return GameArrays(*(None if getattr(self, f.name) is None else getattr(self, f.name)[keep]
                            for f in dataclasses.fields(self)))


def sparse_targets(distributions: list[dict[int, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Visit distributions ({move: share}, one per position) -> (pi_moves, pi_probs), the
    ``PI_TOP`` largest shares of each, renormalised."""
    moves = np.full((len(distributions), PI_TOP), -1, np.int16)
    probs = np.zeros((len(distributions), PI_TOP), np.float16)
    for i, dist in enumerate(distributions):
        top = sorted(dist.items(), key=lambda kv: -kv[1])[:PI_TOP]
        total = sum(p for _, p in top) or 1.0
        for j, (m, p) in enumerate(top):
            moves[i, j], probs[i, j] = m, p / total
    return moves, probs


def game_arrays(rec: sgf.GameRecord) -> GameArrays:
    """Replay a record and collect every position before a move (raises BadGame)."""
    nn = rec.size * rec.size
    t = len(rec.moves)
    colors = np.empty((t, nn), np.int8)
    to_move = np.empty(t, np.int8)
    ko = np.empty(t, np.int16)
    for i, (pos, color, _) in enumerate(rec.replay()):
        colors[i] = pos.colors.ravel()
        to_move[i] = color
        ko[i] = pos.ko if color == pos.to_move else -1
    moves = np.array([p for _, p in rec.moves], np.int16)
    last = np.full((t, HISTORY), -1, np.int16)
    for k in range(HISTORY):  # last[i, k] = move i-1-k
        last[k + 1:, k] = moves[: max(t - k - 1, 0)]
    winner = rec.winner
    outcome = np.where(to_move == winner, 1, -1).astype(np.int8) if winner else np.zeros(t, np.int8)
    return GameArrays(colors, to_move, ko, last, moves, outcome)


def pack_colors(colors: np.ndarray) -> np.ndarray:
    """[M, n*n] int8 -> [M, 2, ceil(n*n/8)] uint8 (black bits, white bits)."""
    return np.stack([np.packbits(colors == 1, axis=1), np.packbits(colors == 2, axis=1)], axis=1)


def unpack_colors(stones: np.ndarray, nn: int) -> np.ndarray:
    bits = np.unpackbits(stones, axis=2)[:, :, :nn]
    return (bits[:, 0] + 2 * bits[:, 1]).astype(np.int8)


class ShardWriter:
    """Appends games to numbered .npz shards of about ``shard_size`` positions."""

    def __init__(self, out_dir: str | os.PathLike, split: str, shard_size: int = 250_000,
                 prefix: str = "shard_"):
        self.dir = Path(out_dir) / split
        self.dir.mkdir(parents=True, exist_ok=True)
        self.shard_size = shard_size
        self.prefix = prefix
        self.index = len(list(self.dir.glob(f"{prefix}*.npz")))
        self.buf: list[tuple[GameArrays, int]] = []
        self.buffered = 0
        self.positions = 0
        self.games = 0

    def add(self, arrays: GameArrays, game_id: int) -> None:
        self.buf.append((arrays, game_id))
        self.buffered += len(arrays.move)
        self.games += 1
        if self.buffered >= self.shard_size:
            self.flush()

    def flush(self) -> None:
        if not self.buf:
            return
        fields = [f.name for f in dataclasses.fields(GameArrays)
                  if all(getattr(a, f.name) is not None for a, _ in self.buf)]
        cat = {k: np.concatenate([getattr(a, k) for a, _ in self.buf]) for k in fields}
        game = np.concatenate([np.full(len(a.move), g, np.int32) for a, g in self.buf])
        path = self.dir / f"{self.prefix}{self.index:05d}.npz"
        tmp = path.with_suffix(".tmp.npz")
        extra = {k: cat[k] for k in TARGET_FIELDS + (Q_FIELD,) if k in cat}
        np.savez(tmp, stones=pack_colors(cat["colors"]), to_move=cat["to_move"], ko=cat["ko"],
                 last=cat["last"], move=cat["move"], outcome=cat["outcome"], game=game, **extra)
        os.replace(tmp, path)
        self.positions += len(game)
        self.index += 1
        self.buf, self.buffered = [], 0


def prepare(sources: Iterable[str], out_dir: str | os.PathLike, game_filter: sgf.GameFilter,
            val_fraction: float = 0.02, shard_size: int = 250_000, max_games: int | None = None,
            progress: bool = True, part: tuple[int, int] = (0, 1)) -> dict:
    """Write train/val shards from SGF sources; returns (and saves) a summary.
    ``part=(k, p)``: this process's share of the files (see ``prepare_parallel``)."""
    from tqdm import tqdm

    k, p = part
    stats = sgf.SkipStats()
    prefix = f"shard_p{k:03d}_" if p > 1 else "shard_"
    writers = {s: ShardWriter(out_dir, s, shard_size, prefix) for s in ("train", "val")}
    size = None
    games = sgf.load_games(list(sources), dataclasses.replace(game_filter, validate=False), stats,
                           part=part)
    for local, rec in enumerate(tqdm(games, disable=not progress, unit="game",
                                     smoothing=0.05)):
        gid = local * p + k  # unique across the parts
        if size is None:
            size = rec.size
        if rec.size != size:
            stats.skip("board size", rec.name, "one board size per shard set")
            continue
        try:
            arrays = game_arrays(rec)
        except sgf.BadGame as exc:
            stats.skip(exc.reason, rec.name, exc.detail)
            continue
        writers[sgf.split_of(rec, val_fraction)].add(arrays, gid)
        if max_games and sum(w.games for w in writers.values()) >= max_games:
            break
    for w in writers.values():
        w.flush()
    summary = {"board_size": size, "val_fraction": val_fraction,
               "games": {s: w.games for s, w in writers.items()},
               "positions": {s: w.positions for s, w in writers.items()},
               "skipped": dict(stats), "skip_examples": dict(stats.examples)}
    if p == 1:
        Path(out_dir, "summary.json").write_text(json.dumps(summary, indent=1,
                                                            ensure_ascii=False))
    return summary


def _prepare_part(args) -> dict:
    sources, out_dir, game_filter, val_fraction, shard_size, part = args
    return prepare(sources, out_dir, game_filter, val_fraction, shard_size, progress=False,
                   part=part)


def prepare_parallel(sources: Iterable[str], out_dir: str | os.PathLike,
                     game_filter: sgf.GameFilter, procs: int, val_fraction: float = 0.02,
                     shard_size: int = 250_000) -> dict:
    """``prepare`` in ``procs`` processes, each reading every procs-th file into shards of
    its own; the summary adds up the parts. The same train/validation split as one process
    (it is decided by each game's hash); duplicates are dropped within a part only."""
    import multiprocessing

    if procs <= 1:
        return prepare(sources, out_dir, game_filter, val_fraction, shard_size, progress=False)
    jobs = [(list(sources), out_dir, game_filter, val_fraction, shard_size, (k, procs))
            for k in range(procs)]
    from alphago.procs import die_with_parent

    with multiprocessing.get_context("spawn").Pool(procs, die_with_parent,
                                                   (os.getpid(),)) as pool:
        parts = pool.map(_prepare_part, jobs)
    sizes = {s["board_size"] for s in parts if s["board_size"] is not None}
    if len(sizes) > 1:
        raise ValueError(f"the sources hold several board sizes: {sorted(sizes)}")
    summary = {"board_size": sizes.pop() if sizes else None, "val_fraction": val_fraction,
               "parts": procs}
    for key in ("games", "positions", "skipped"):
        total: dict = {}
        for s in parts:
            for name, v in s[key].items():
                total[name] = total.get(name, 0) + v
        summary[key] = total
    Path(out_dir, "summary.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False))
    return summary


class PositionShards:
    """All positions of one split in memory (packed); batches of planes on demand.

    ``batch(indices, rng)`` returns (planes [B,C,n,n] uint8, move [B] int64,
    outcome [B] float32), each sample under a random symmetry when augmenting; with
    ``targets=True`` a fourth array, the policy targets [B, n*n+1] float32 in the net's
    frame: the visit distribution where the shards hold one (``has_targets``), else the
    played move. With ``q_weight`` > 0 the value target of a position whose shard holds
    the search's root value (``has_q``) is ``mix_value_target``'s, else the outcome.
    """

    def __init__(self, shard_dir: str | os.PathLike | Sequence[str | os.PathLike], split: str,
                 feature_set: FeatureSet | str, augment: bool = True,
                 max_positions: int | None = None, per_game: int = 0, seed: int = 0,
                 plies: bool = False, q_weight: float = 0.0):
        """``shard_dir``: one shard folder, or several (e.g. a window of self-play
        generations), all of one board size. A game is a game id within one folder: two
        folders that reuse ids (e.g. the same ``--first-id`` with another seed) stay
        separate games for ``per_game``. ``plies``: keep ``data["ply"]``, each position's
        place among its game's positions in the shards (its move number, 0 for the
        first, where the game's every position was written)."""
        if not 0.0 <= q_weight <= 1.0:
            raise ValueError(f"q_weight must be within 0..1, not {q_weight}")
        self.fs = features.get_feature_set(feature_set) if isinstance(feature_set, str) \
            else feature_set
        self.augment = augment
        self.q_weight = q_weight
        dirs = [shard_dir] if isinstance(shard_dir, (str, os.PathLike)) else list(shard_dir)
        paths = [(i, p) for i, d in enumerate(dirs) for p in shard_files(d, split)]
        if not paths:
            raise FileNotFoundError(f"no {split} shards under {', '.join(map(str, dirs))}")
        parts, folder = _read_shards(paths, max_positions)
        # visit targets where any shard has them (a mixed replay: the others' played move
        # as theirs); root values likewise (the others: NaN, none)
        self.has_targets = _fill_missing(parts, TARGET_FIELDS,
                                         lambda j: one_hot_targets(parts["move"][j]))
        self.has_q = _fill_missing(parts, (Q_FIELD,), lambda j: (
            np.full(len(parts["move"][j]), np.nan, np.float16),))
        self.data = {k: np.concatenate(v)[:max_positions] for k, v in parts.items()
                     if all(a is not None for a in v)}  # optional fields no file holds: out
        folder = folder[:len(self)]  # ascending: folders are read in order
        if plies or per_game > 0:
            keys = _game_keys(self.data["game"], folder)
        if plies:  # a game's positions are written one after another, in playing order
            self.data["ply"] = _run_ranks(keys).astype(np.int32)
        if per_game > 0:  # the paper's fix for value overfitting: few positions per game
            keep = _indices_per_game(keys, per_game, np.random.default_rng(seed))
            self.data = {k: v[keep] for k, v in self.data.items()}
            folder = folder[keep]
        self._folder_starts = np.searchsorted(folder, np.arange(len(dirs)))
        self.size = folder_board_size(dirs[0])

    def __len__(self) -> int:
        return len(self.data["move"])

    def game_keys(self) -> np.ndarray:
        """One int64 key per position naming its game: equal keys, same game (a game is a
        game id within one folder)."""
        folder = np.searchsorted(self._folder_starts, np.arange(len(self)), side="right") - 1
        return _game_keys(self.data["game"], folder)

    def batch(self, indices: np.ndarray, rng: np.random.Generator | None = None,
              targets: bool = False):
        from alphago import symmetry

        idx = np.sort(np.asarray(indices))
        d = self.data
        n, nn = self.size, self.size * self.size
        if self.augment:
            rng = rng or np.random.default_rng()
            syms = rng.integers(0, symmetry.NUM_SYMMETRIES, len(idx))
        else:
            syms = np.zeros(len(idx), np.int64)
        colors = unpack_colors(d["stones"][idx], nn)
        planes = features.batch_planes(colors, d["to_move"][idx], d["ko"][idx], d["last"][idx],
                                       syms, n, self.fs)
        moves = symmetry.moves_in_net_frame(d["move"][idx], syms, n)
        value = d["outcome"][idx].astype(np.float32)
        if self.q_weight > 0 and self.has_q:
            value = mix_value_target(value, d[Q_FIELD][idx], self.q_weight)
        out = planes, moves, value
        if not targets:
            return out
        return (*out, self._targets(idx, syms, moves, n))

    def _targets(self, idx: np.ndarray, syms: np.ndarray, moves: np.ndarray, n: int):
        from alphago import symmetry

        dense = np.zeros((len(idx), n * n + 1), np.float32)
        if not self.has_targets:
            dense[np.arange(len(idx)), moves] = 1.0
            return dense
        pm, pp = self.data["pi_moves"][idx].astype(np.int64), self.data["pi_probs"][idx]
        valid = pm >= 0
        rows = np.repeat(np.arange(len(idx)), valid.sum(1))
        net = symmetry.moves_in_net_frame(pm[valid], np.repeat(syms, valid.sum(1)), n)
        dense[rows, net] = pp[valid].astype(np.float32)
        return dense


def existing_splits(shard_dirs: Sequence[str | os.PathLike], splits: Sequence[str],
                    feature_set: str, **kwargs) -> dict[str, "PositionShards"]:
    """A ``PositionShards`` (``kwargs`` passed on) by name for each of ``splits`` that the
    folders hold, in that order; a split none of them holds is left out."""
    out = {}
    for split in splits:
        try:
            out[split] = PositionShards(shard_dirs, split, feature_set, augment=False, **kwargs)
        except FileNotFoundError:
            continue
    return out


def shard_files(folder: str | os.PathLike, split: str) -> list[Path]:
    """A shard folder's shard files of one split (``train`` or ``val``), in order."""
    return sorted(Path(folder, split).glob("shard_*.npz"))


def folder_board_size(folder: str | os.PathLike) -> int:
    """The board size a shard folder's ``summary.json`` records (19 without one)."""
    summary = Path(folder, "summary.json")
    return json.loads(summary.read_text())["board_size"] if summary.exists() else 19


def one_hot_targets(move: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(pi_moves, pi_probs) that put all of a position's target on the move played, in
    the sparse form of visit targets (a row without a move gets none)."""
    moves = np.full((len(move), PI_TOP), -1, np.int16)
    probs = np.zeros((len(move), PI_TOP), np.float16)
    real = move >= 0
    moves[real, 0], probs[real, 0] = move[real], 1.0
    return moves, probs


def _read_shards(paths: list[tuple[int, Path]], max_positions: int | None
                 ) -> tuple[dict[str, list], np.ndarray]:
    """The files' arrays field by field, in order, until ``max_positions`` are read (None
    where a file lacks an optional field), and each position's folder index."""
    parts = {k: [] for k in SHARD_FIELDS + TARGET_FIELDS + (Q_FIELD,)}
    folder = []
    total = 0
    for i, path in paths:
        with np.load(path) as z:
            for k in SHARD_FIELDS:
                if k in z.files:
                    parts[k].append(z[k])
            for k in TARGET_FIELDS + (Q_FIELD,):
                parts[k].append(z[k] if k in z.files else None)
        folder.append(np.full(len(parts["move"][-1]), i, np.int64))
        total += len(parts["move"][-1])
        if max_positions and total >= max_positions:
            break
    return parts, np.concatenate(folder)


def _fill_missing(parts: dict[str, list], fields: tuple[str, ...],
                  fill: Callable[[int], tuple[np.ndarray, ...]]) -> bool:
    """Whether any shard file holds ``fields``; if so, each file without them (file j)
    gets ``fill(j)``, one array a field, so that all files pool in one array. Files are
    left as they are when none holds them."""
    has = [all(parts[k][j] is not None for k in fields) for j in range(len(parts["move"]))]
    if any(has):
        for j, ok in enumerate(has):
            if not ok:
                for k, arr in zip(fields, fill(j)):
                    parts[k][j] = arr
    return any(has)


def mix_value_target(outcome: np.ndarray, q: np.ndarray, weight: float) -> np.ndarray:
    """The value target ``(1 - weight) * outcome + weight * q`` where a position has a
    root value ``q`` (finite) and a known outcome (non-zero), else the outcome. The search's
    root value carries less noise than one game's result (the q+z average of AlphaZero
    replications); a mixed target of exactly 0 is nudged toward the outcome's sign, since 0
    marks a game without a known result."""
    q = q.astype(np.float32)
    use = np.isfinite(q) & (outcome != 0)
    out = outcome.astype(np.float32)
    out[use] = (1.0 - weight) * out[use] + weight * q[use]
    zero = use & (out == 0)
    out[zero] = 1e-6 * np.sign(outcome[zero])
    return out


def _game_keys(game: np.ndarray, folder: np.ndarray) -> np.ndarray:
    """One int64 key per position for the pair (folder index, game id), so that folders
    reusing the same ids still count as different games."""
    game = game.astype(np.int64)
    if len(game) == 0:
        return game
    low = game - game.min()
    return folder.astype(np.int64) * (int(low.max()) + 1) + low


def _run_ranks(values: np.ndarray) -> np.ndarray:
    """Each element's index within its run of equal consecutive values (int64)."""
    if len(values) == 0:
        return np.zeros(0, np.int64)
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    return np.arange(len(values)) - np.repeat(starts, np.diff(np.r_[starts, len(values)]))


def _indices_per_game(game: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Up to ``k`` position indices of every game id, drawn uniformly without
    replacement (all of a game's positions when it has ``k`` or fewer). Sorted int64."""
    order = rng.permutation(len(game))
    shuffled = game[order]
    by_game = np.argsort(shuffled, kind="stable")  # each game's positions, in random order
    rank = _run_ranks(shuffled[by_game])
    return np.sort(order[by_game[rank < k]])


def iter_batches(n: int, batch_size: int, seed: int, rank: int = 0, world: int = 1,
                 start: int = 0) -> Iterator[np.ndarray]:
    """Shuffled index batches, one rank's share of each epoch; endless, resumable
    (``start`` skips that many batches of this rank)."""
    k = start
    while True:
        per_epoch = n // (batch_size * world)
        if per_epoch == 0:
            raise ValueError(f"{n} positions are fewer than one batch per rank")
        e, skip = divmod(k, per_epoch)
        order = np.random.default_rng([seed, e]).permutation(n)
        mine = order[rank::world]
        for b in range(skip, per_epoch):
            yield mine[b * batch_size:(b + 1) * batch_size]
            k += 1
