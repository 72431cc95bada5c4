"""Statistics of game records: Wilson intervals, Elo, SPRT, per-pair summaries,
Bradley-Terry ratings, and the ratings plot (SVG, no plotting library). Records are the
dicts of ``games.jsonl`` (``black``, ``white``, ``winner``, ``reason``, ``moves``,
``seconds``; timed games add ``max_move_seconds`` and ``min_time_left``)."""

from __future__ import annotations

import math
from html import escape

import numpy as np


def wilson(wins: float, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = wins / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def mean_se_by_group(x: np.ndarray, groups: np.ndarray) -> tuple[float, float]:
    """The mean of ``x`` and its standard error when values of one group (the positions of
    one game) are not independent: the cluster-robust estimate, sqrt(G / (G - 1) *
    sum over groups of (sum of x - mean)^2) / N. NaN for the error below two groups."""
    x = np.asarray(x, np.float64)
    if len(x) == 0:
        return math.nan, math.nan
    mean = float(x.mean())
    _, g = np.unique(groups, return_inverse=True)
    n_groups = int(g.max()) + 1
    if n_groups < 2:
        return mean, math.nan
    sums = np.bincount(g, weights=x - mean, minlength=n_groups)
    return mean, math.sqrt(n_groups / (n_groups - 1) * float((sums ** 2).sum())) / len(x)


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


def is_void(record: dict) -> bool:
    """A game that was never played out (an engine failed to start, the opening failed):
    it is reported, but it is neither a win nor a draw for anybody."""
    return record.get("result") == "Void"


def pair_summary(records: list[dict], a: str, b: str) -> dict:
    """Wins, draws (half a win each), Wilson interval and Elo of ``a`` against ``b``, over the
    games they played out; void games are only counted (``void``) and listed in ``reasons``."""
    both = [r for r in records if {r["black"], r["white"]} == {a, b}]
    games = [r for r in both if not is_void(r)]
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
            "void": len(both) - n,
            "winrate": score / n if n else None, "ci95": [lo, hi],
            "elo": elo_from_p(score / n) if n else None,
            "elo_ci95": [elo_from_p(lo), elo_from_p(hi)] if n else None,
            "wins_by_colour": by_colour,
            "avg_move_seconds": {e: round(s / nmoves, 3) for e, s in moves.items()},
            "reasons": dict(_count(r["reason"] for r in both)),
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
        if i is None or j is None or is_void(r):
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


def ratings_svg(points: list[tuple[str, float, float | None, bool]], title: str,
                connect: bool = False, width: int = 480, height: int = 280) -> str:
    """Ratings as an SVG plot: one point per (label, Elo, 95% half-width or None, filled),
    in the order given, with error bars where a half-width is known; ``connect`` joins
    them with a line (ratings over generations)."""
    pad = 44
    ys = [e for _, e, _, _ in points] or [0.0]
    bars = [(e - h, e + h) for _, e, h, _ in points if h is not None and math.isfinite(h)]
    y0 = min(ys + [lo for lo, _ in bars]) - 10
    y1 = max(ys + [hi for _, hi in bars]) + 10
    step = (width - 2 * pad) / max(1, len(points) - 1)

    def px(i):
        return pad + i * step if len(points) > 1 else width / 2

    def py(y):
        return height - pad - (y - y0) / (y1 - y0) * (height - 2 * pad)

    font = 'font-family="sans-serif"'
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">',
             '<rect width="100%" height="100%" fill="white"/>',
             f'<text x="{pad}" y="20" {font} font-size="13">{escape(title)}</text>',
             f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" '
             f'stroke="black"/>',
             f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="black"/>',
             f'<text x="4" y="{pad}" {font} font-size="11">{y1:.0f}</text>',
             f'<text x="4" y="{height - pad}" {font} font-size="11">{y0:.0f}</text>']
    if connect and len(points) > 1:
        pts = " ".join(f"{px(i):.1f},{py(e):.1f}" for i, (_, e, _, _) in enumerate(points))
        parts.append(f'<polyline points="{pts}" fill="none" stroke="#1565c0" stroke-width="2"/>')
    for i, (label, elo, half, filled) in enumerate(points):
        x = px(i)
        if half is not None and math.isfinite(half):
            parts.append(f'<line x1="{x:.1f}" y1="{py(elo - half):.1f}" x2="{x:.1f}" '
                         f'y2="{py(elo + half):.1f}" stroke="#1565c0"/>')
        parts.append(f'<circle cx="{x:.1f}" cy="{py(elo):.1f}" r="4" '
                     f'fill="{"#1565c0" if filled else "white"}" stroke="#1565c0"/>')
        every = max(1, math.ceil(len(points) / 10))  # at most about ten labels
        if i % every == 0 or i == len(points) - 1:
            parts.append(f'<text x="{x:.1f}" y="{height - pad + 16}" {font} font-size="11" '
                         f'text-anchor="middle">{escape(label)}</text>')
    parts.append('</svg>')
    return "".join(parts)
