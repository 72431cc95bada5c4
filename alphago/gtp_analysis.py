"""GTP's analysis commands, pondering and GoGui's analyze commands: the handler group
``GtpEngine`` mixes in (``alphago/gtp.py`` holds the protocol and the game commands).

``lz-analyze`` streams Leela Zero's integer fields, ``kata-analyze`` KataGo's floats
(``ownership true`` adds the playout ownership map, from the side to move's perspective);
both stop when the next command arrives. The ``*-genmove_analyze`` forms search one move,
report, and play it. All four take ``avoid``/``allow COLOR VERTICES DEPTH`` clauses (the
search's ``ban_table``) and ``maxmoves N``; ``kata-`` ones ``pvVisits true``. Handlers use
the engine's ``pos``, ``player``, ``out`` and ``_search``.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
import time

import numpy as np

from alphago import coords
from alphago.analysis import RootEstimate, kata_info_line
from alphago.board import BLACK
from alphago.gtp_args import GtpError, color_name, parse_color
from alphago.mcts import MoveRestriction, SearchResult, ban_table
from alphago.player import RESIGN

log = logging.getLogger("alphago.gtp")
OWNERSHIP_PLAYOUTS = 200  # behind kata-analyze's ownership map


class AnalysisCommands:
    """lz-/kata- analysis, pondering and GoGui analysis handlers (a ``GtpEngine`` mixin)."""

    # ----- pondering -------------------------------------------------------------
    def start_pondering(self) -> None:
        """Search the opponent's turn in the background until the next command; the
        tree is reused when the opponent's move arrives."""
        if not self.ponder or not self.player.searches or self.pos.passes >= 2:
            return
        self._ponder_stop = threading.Event()
        pos = self.pos.copy()
        stop = self._ponder_stop

        def work():
            try:
                self.player.ponder(pos, stop.is_set)
            except Exception:  # pondering is best effort; the next genmove searches anyway
                log.exception("pondering failed")

        self._ponder_thread = threading.Thread(target=work, daemon=True)
        self._ponder_thread.start()

    def stop_pondering(self) -> None:
        thread = getattr(self, "_ponder_thread", None)
        if thread is not None:
            self._ponder_stop.set()
            thread.join()
            self._ponder_thread = None

    # ----- analysis --------------------------------------------------------------
    def _lz_line(self, res: SearchResult, ownership: np.ndarray | None = None) -> str:
        """Leela Zero's format: integer winrate, prior and lcb in 1/10000 (no ownership)."""
        n = self.size
        parts = []
        for order, c in enumerate(m for m in res.candidates if m.move != RESIGN):
            pv = " ".join(coords.to_gtp(m, n) for m in c.pv)
            parts.append(f"info move {coords.to_gtp(c.move, n)} visits {c.visits} "
                         f"winrate {int(round(c.winrate * 10000))} "
                         f"prior {int(round(c.prior * 10000))} "
                         f"lcb {int(round(max(0.0, c.lcb) * 10000))} order {order} pv {pv}")
        return " ".join(parts)

    def _kata_line(self, res: SearchResult, ownership: np.ndarray | None = None) -> str:
        return kata_info_line(res, self.size, ownership)

    def _kata_line_with_visits(self, res: SearchResult, ownership=None) -> str:
        return kata_info_line(res, self.size, ownership, pv_visits=True)

    def _reporter(self, fmt, options: dict[str, str]):
        """The line format the options ask for: ``kata-analyze``'s with ``pvVisits true``
        adds each pv move's visits; ``maxmoves N`` (both formats) keeps the N best moves."""
        if fmt == self._kata_line and self._flag(options, "pvvisits"):
            fmt = self._kata_line_with_visits
        text = options.get("maxmoves")
        if text is None:
            return fmt
        if not text.isdigit() or int(text) < 1:
            raise GtpError("syntax error: maxmoves takes a whole number >= 1")
        k = int(text)
        return lambda res, own=None: fmt(dataclasses.replace(res, candidates=res.candidates[:k]),
                                         own)

    def _parse_analyze_args(self, args) -> tuple[int, float, dict[str, str], np.ndarray | None]:
        """``[color] [interval] [key value]... [avoid|allow color vertices depth]...``: the
        colour to analyse for, the report interval in seconds, the remaining key-value pairs
        (``interval N`` included) and the ``ban_table`` of the avoid/allow clauses (None
        without any)."""
        color = self.pos.to_move
        interval = 1.0
        rest = list(args)
        if rest and rest[0].lower() in ("b", "w", "black", "white"):
            color = parse_color(rest.pop(0))
        if rest and re.fullmatch(r"\d+", rest[0]):
            interval = int(rest.pop(0)) / 100.0
        options: dict[str, str] = {}
        restrictions = []
        while rest:
            key = rest.pop(0).lower()
            if key in ("avoid", "allow"):
                if len(rest) < 3:
                    raise GtpError(f"syntax error: {key} takes a color, vertices and a depth")
                restrictions.append(self._restriction(key == "allow", rest[:3]))
                del rest[:3]
            elif not rest:
                raise GtpError("syntax error: options come in key value pairs")
            else:
                options[key] = rest.pop(0)
        if "interval" in options:
            if not options["interval"].isdigit():
                raise GtpError("syntax error: interval takes centiseconds")
            interval = int(options.pop("interval")) / 100.0
        banned = ban_table(restrictions, color, self.size) if restrictions else None
        return color, min(max(0.05, interval), 60.0), options, banned

    def _restriction(self, allow: bool, words: list[str]) -> MoveRestriction:
        """One ``avoid``/``allow`` clause: ``color vertex,vertex,... depth`` (Leela Zero's
        and KataGo's syntax; the depth counts plies from the position analysed)."""
        color = parse_color(words[0])
        try:
            moves = tuple(coords.from_gtp(v, self.size) for v in words[1].split(",") if v)
        except coords.CoordError as exc:
            raise GtpError(f"syntax error: {exc}") from None
        if not moves or not words[2].isdigit() or int(words[2]) < 1:
            raise GtpError("syntax error: avoid and allow take vertices and a depth >= 1")
        return MoveRestriction(allow, color, moves, int(words[2]))

    @staticmethod
    def _flag(options: dict[str, str], key: str) -> bool:
        """A ``key true|false`` option (false when absent)."""
        flag = options.get(key, "false").lower()
        if flag not in ("true", "false"):
            raise GtpError(f"syntax error: {key} takes true or false")
        return flag == "true"

    def _ownership_for(self, color: int, options: dict[str, str]) -> np.ndarray | None:
        """The playout ownership map from ``color``'s perspective when ``ownership true``."""
        if not self._flag(options, "ownership"):
            return None
        pos = self.pos.copy()
        pos.to_move = color
        own = RootEstimate.of(pos, OWNERSHIP_PLAYOUTS, self.seed).ownership
        return own if color == BLACK else -own

    def _stream_analysis(self, color: int, interval: float, cid: str, fmt, ownership=None,
                         banned: np.ndarray | None = None) -> SearchResult | None:
        """Write '=' then info lines until the next command arrives; returns the last result."""
        stop = threading.Event()
        last: list[SearchResult] = []
        self.out(f"={cid}\n")

        def report(res: SearchResult):
            last[:] = [res]  # only the latest: a long analysis must not pile them up
            line = fmt(res, ownership)
            if line:
                self.out(line + "\n")

        pos = self.pos.copy()
        pos.to_move = color
        worker = threading.Thread(target=self.player.analyze,
                                  args=(pos, stop, interval, report, banned), daemon=True)
        worker.start()
        # without an input queue (in-process use) nothing can interrupt: one interval only
        deadline = None if self.pending is not None else time.perf_counter() + interval
        while worker.is_alive():
            if self.pending is not None and not self.pending.empty():
                break
            if deadline is not None and time.perf_counter() >= deadline:
                break
            worker.join(0.02)
        stop.set()
        worker.join()
        return last[-1] if last else None

    def _analyze(self, args, cid, fmt):
        color, interval, options, banned = self._parse_analyze_args(args)
        ownership = self._ownership_for(color, options) if fmt == self._kata_line else None
        fmt = self._reporter(fmt, options)
        self._stream_analysis(color, interval, cid, fmt, ownership, banned)
        self.out("\n")
        return None

    def _genmove_analyze(self, args, cid, fmt):
        color, _, options, banned = self._parse_analyze_args(args)
        ownership = self._ownership_for(color, options) if fmt == self._kata_line else None
        fmt = self._reporter(fmt, options)
        self.out(f"={cid}\n")
        res = self._search(color, banned=banned)
        line = fmt(res, ownership)
        if line:
            self.out(line + "\n")
        if res.move == RESIGN:
            self.out("play resign\n\n")
            return None
        self._play(color, res.move)
        self.out(f"play {coords.to_gtp(res.move, self.size)}\n\n")
        return None

    def cmd_lz_analyze(self, args, cid):
        return self._analyze(args, cid, self._lz_line)

    def cmd_kata_analyze(self, args, cid):
        return self._analyze(args, cid, self._kata_line)

    def cmd_lz_genmove_analyze(self, args, cid):
        return self._genmove_analyze(args, cid, self._lz_line)

    def cmd_kata_genmove_analyze(self, args, cid):
        return self._genmove_analyze(args, cid, self._kata_line)

    # ----- GoGui -----------------------------------------------------------------
    def cmd_gogui_analyze_commands(self, args, cid):
        return "\n".join([
            "gfx/Policy heatmap/alphago-policy_heatmap",
            "gfx/Visits heatmap/alphago-visits_heatmap",
            "string/Value estimate/alphago-value",
            "gfx/Principal variation/alphago-pv",
            "gfx/Ownership (playouts)/alphago-ownership",
        ])

    def _heat(self, values: np.ndarray, label_fmt) -> str:
        n = self.size
        lines = []
        top = values.max() if values.size and values.max() > 0 else 1.0
        for p in np.argsort(-values)[: n * n]:
            v = float(values[p])
            if v <= 0:
                break
            shade = int(255 * (1 - min(1.0, v / top)))
            lines.append(f"COLOR #ff{shade:02x}{shade:02x} {coords.to_gtp(int(p), n)}")
            lines.append(f"LABEL {coords.to_gtp(int(p), n)} {label_fmt(v)}")
        return "\n".join(lines)

    def cmd_alphago_policy_heatmap(self, args, cid):
        pri = self.player.policy(self.pos)[:-1]
        return self._heat(pri, lambda v: f"{100 * v:.0f}")

    def _ensure_search(self) -> SearchResult:
        res = self.last_result
        if res is None or not self.player.searches:
            saved = self.pos.copy()
            res = self._search(self.pos.to_move)
            self.pos = saved
        return res

    def cmd_alphago_visits_heatmap(self, args, cid):
        res = self._ensure_search()
        vis = np.zeros(self.size * self.size)
        for c in res.candidates:
            if 0 <= c.move < vis.size:
                vis[c.move] = c.visits
        return self._heat(vis, lambda v: f"{int(v)}")

    def cmd_alphago_value(self, args, cid):
        saved = self.pos.copy()
        res = self._search(self.pos.to_move)
        self.pos = saved
        return (f"{color_name(self.pos.to_move)} to move wins {100 * res.root_winrate:.1f}% "
                f"({res.visits} visits)")

    def cmd_alphago_pv(self, args, cid):
        res = self._ensure_search()
        if not res.candidates:
            return ""
        color = self.pos.to_move
        items = []
        for m in res.candidates[0].pv:
            items.append(f"{'b' if color == BLACK else 'w'} {coords.to_gtp(m, self.size)}")
            color = 3 - color
        return "VAR " + " ".join(items)

    def cmd_alphago_ownership(self, args, cid):
        from alphago.scoring import ownership

        own = ownership(self.pos, seed=self.seed)  # +1 black .. -1 white
        cells = " ".join(f"{coords.to_gtp(p, self.size)} {own[p]:.2f}"
                         for p in range(self.size * self.size))
        return "INFLUENCE " + cells


