"""Clocks for GTP time controls and a per-move budget that never loses on time.

Forms: none, absolute (main time only), Canadian byo-yomi (``stones`` moves per
period of ``byo_time`` seconds) and Japanese byo-yomi (``periods`` periods of
``byo_time`` seconds each, one move per period). ``time_left`` from the
controller overrides our own bookkeeping whenever it arrives.
"""

from __future__ import annotations

import dataclasses

from alphago.board import BLACK, WHITE, Position

LAG_SECONDS = 0.4  # process start-up of a move, GUI and network lag
SAFETY = 0.15  # fraction of a byo-yomi period kept in hand


@dataclasses.dataclass(frozen=True)
class TimeSettings:
    kind: str = "none"  # none, canadian, byoyomi
    main: float = 0.0
    byo_time: float = 0.0
    byo_stones: int = 0  # canadian: moves per period
    periods: int = 0  # byoyomi: number of periods

    @classmethod
    def canadian(cls, main: float, byo_time: float, byo_stones: int) -> "TimeSettings":
        # GTP: byo_time > 0 with byo_stones == 0 means no time limit
        if byo_time > 0 and byo_stones == 0:
            return cls()
        return cls("canadian", main, byo_time, byo_stones)

    @classmethod
    def byoyomi(cls, main: float, period: float, periods: int) -> "TimeSettings":
        if periods <= 0 or period <= 0:
            return cls("canadian", main, 0.0, 0)
        return cls("byoyomi", main, period, 0, periods)


@dataclasses.dataclass
class _Side:
    main: float
    period: float
    stones: int


class Clock:
    def __init__(self, settings: TimeSettings):
        self.settings = settings
        s = settings
        self.sides = {c: _Side(s.main, s.byo_time, s.byo_stones if s.kind == "canadian"
                               else s.periods) for c in (BLACK, WHITE)}

    @property
    def unlimited(self) -> bool:
        return self.settings.kind == "none"

    def update(self, color: int, left: float, stones: int) -> None:
        """GTP time_left: stones == 0 means main time (or absolute) is running."""
        side = self.sides[color]
        if stones == 0:
            side.main = left
        else:
            side.main = 0.0
            side.period = left
            side.stones = stones

    def spent(self, color: int, seconds: float) -> None:
        side = self.sides[color]
        s = self.settings
        if self.unlimited:
            return
        if side.main > 0:
            used = min(side.main, seconds)
            side.main -= used
            seconds -= used
            if seconds <= 0:
                return
        if s.kind == "canadian" and s.byo_stones > 0:
            side.period -= seconds
            side.stones -= 1
            if side.stones <= 0:
                side.period, side.stones = s.byo_time, s.byo_stones
        elif s.kind == "byoyomi" and seconds > s.byo_time:
            side.stones = max(1, side.stones - int(seconds // s.byo_time))

    def budget(self, color: int, pos: Position) -> float | None:
        """Seconds to think on this move; None when there is no clock."""
        if self.unlimited:
            return None
        side = self.sides[color]
        s = self.settings
        nn = pos.size * pos.size
        expected_left = max(nn * 0.35 - pos.move_number / 2, nn * 0.08)
        per_move = 0.0
        if side.main > 0:
            per_move = side.main / expected_left
        if s.kind == "canadian" and s.byo_stones > 0:
            period = side.period if side.main <= 0 else s.byo_time
            stones = max(1, side.stones if side.main <= 0 else s.byo_stones)
            per_move += (1 - SAFETY) * period / stones
        elif s.kind == "byoyomi":
            per_move += (1 - SAFETY) * s.byo_time
        cap = side.main + (side.period if s.kind == "canadian" and s.byo_stones > 0 else 0)
        if s.kind == "byoyomi":
            cap = side.main + s.byo_time
        budget = min(per_move, max(cap * 0.5, 0.0)) - LAG_SECONDS
        return max(0.05, budget)
