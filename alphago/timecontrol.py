"""Clocks for GTP time controls, and how a move spends the clock.

Forms: none, absolute (main time only), Canadian byo-yomi (``stones`` moves per
period of ``byo_time`` seconds) and Japanese byo-yomi (``periods`` periods of
``byo_time`` seconds each, one move per period). ``time_left`` from the
controller overrides our own bookkeeping whenever it arrives.

``Clock.budget`` gives a move a ``MoveTime``: a target, what the move takes when the
search is clear, and a maximum, what it may take when the best moves are close. Main
time is shared among the mover's expected remaining moves in proportion to
``phase_weight`` (less on the first moves of the opening, most from the early middle
game on, less in the endgame), so the middle game gets the most and little is left
over at the end; the byo-yomi a move may spend is added on top. ``keep_searching``
decides, between search batches, whether to go on: it stops early when the leader
cannot be caught before the target and goes past the target, up to the maximum,
while the two best moves are close.
"""

from __future__ import annotations

import dataclasses
import math

from alphago.board import BLACK, WHITE, Position

LAG_SECONDS = 0.4  # process start-up of a move, GUI and network lag
SAFETY = 0.15  # fraction of a byo-yomi period kept in hand
EXTEND = 3.0  # an unsure move may take this many times its share of main time ...
MAX_FRACTION = 0.2  # ... but never more than this fraction of the main time left
MIN_SECONDS = 0.05  # the least a move is given
EARLY_FRACTION = 0.1  # a move searches this fraction of its target before stopping early
# unsure: the runner-up has this share of the leader's visits, or a better winrate with
# at least UNSURE_Q_VISITS of them
UNSURE_VISITS = 2 / 3
UNSURE_Q_VISITS = 1 / 4


@dataclasses.dataclass(frozen=True)
class MoveTime:
    target: float  # seconds when the search is clear
    maximum: float  # seconds when the two best moves are close
    # stop before the target when the leader cannot be caught: only where the time saved
    # is kept (main time, a Canadian period with moves still to play), not in a Japanese
    # byo-yomi period, which is lost whether used or not
    stop_early: bool = True

    def capped(self, seconds: float | None) -> "MoveTime":
        if seconds is None:
            return self
        return dataclasses.replace(self, target=min(self.target, seconds),
                                   maximum=min(self.maximum, seconds))


def phase_weight(move_number: int, points: int) -> float:
    """Relative thinking time of a move by the game's phase, x = move_number / points:
    0.6 for x < 0.04 (the first moves of the opening), rising linearly to 1.4 at
    x = 0.12, 1.4 until x = 0.45, falling linearly to 0.5 at x = 0.8, 0.5 after."""
    x = move_number / points
    if x < 0.04:
        return 0.6
    if x < 0.12:
        return 0.6 + 0.8 * (x - 0.04) / 0.08
    if x < 0.45:
        return 1.4
    if x < 0.8:
        return 1.4 - 0.9 * (x - 0.45) / 0.35
    return 0.5


def expected_end(move_number: int, points: int) -> float:
    """The move number the game is expected to last to: 0.8 of the points (about 289 on
    19x19, 65 on 9x9), and at least 0.2 of the points beyond the current move."""
    return max(0.8 * points, move_number + 0.2 * points)


def main_time_share(main_left: float, move_number: int, points: int) -> float:
    """This move's share of the main time left: its phase weight over the weights of
    the mover's moves from now to the expected end (every second move)."""
    end = expected_end(move_number, points)
    mine = max(1, math.ceil((end - move_number) / 2))
    total = sum(phase_weight(move_number + 2 * k, points) for k in range(mine))
    return main_left * phase_weight(move_number, points) / total


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

    def budget(self, color: int, pos: Position) -> MoveTime | None:
        """How long this move may think (lag already taken off); None without a clock."""
        if self.unlimited:
            return None
        side = self.sides[color]
        s = self.settings
        canadian = s.kind == "canadian" and s.byo_stones > 0
        stop_early = True
        if side.main > 0:  # main time, and the byo-yomi a move may use after it
            share = main_time_share(side.main, pos.move_number, pos.size * pos.size)
            extra = 0.0
            if canadian:
                extra = (1 - SAFETY) * s.byo_time / s.byo_stones
            elif s.kind == "byoyomi":
                extra = (1 - SAFETY) * s.byo_time
            target = share + extra
            maximum = min(EXTEND * share, MAX_FRACTION * side.main) + extra
            maximum = max(target, maximum)
        elif canadian:  # in a period: its time over its stones, a close move up to twice
            stones = max(1, side.stones)
            target = (1 - SAFETY) * side.period / stones
            maximum = target if stones == 1 else min(2 * target, 0.5 * side.period)
            stop_early = stones > 1
        elif s.kind == "byoyomi":  # one period a move
            target = maximum = (1 - SAFETY) * s.byo_time
            stop_early = False
        else:  # absolute time ran out: move at once
            target = maximum = 0.0
        return MoveTime(max(MIN_SECONDS, target - LAG_SECONDS),
                        max(MIN_SECONDS, maximum - LAG_SECONDS), stop_early)


def keep_searching(elapsed: float, move_time: MoveTime, leader: int, runner_up: int,
                   leader_q: float, runner_up_q: float, sims_per_s: float) -> bool:
    """Go on searching? ``leader``/``runner_up``: root visits of the two most visited
    moves; ``*_q``: their winrates; ``sims_per_s``: the search's rate so far.

    Stops at the maximum; before the target, where ``move_time.stop_early``, once
    ``EARLY_FRACTION`` of it is spent and the runner-up could not catch up at this rate by
    the target (a forced or obvious move); at the target unless the two are close
    (``UNSURE_*``), and past it once the runner-up could not catch up by the maximum."""
    if elapsed >= move_time.maximum:
        return False
    gap = leader - runner_up
    if elapsed < move_time.target:
        if (not move_time.stop_early or elapsed < EARLY_FRACTION * move_time.target
                or leader == 0):
            return True
        return gap <= sims_per_s * (move_time.target - elapsed)
    unsure = (runner_up >= UNSURE_VISITS * leader
              or (runner_up_q > leader_q and runner_up >= UNSURE_Q_VISITS * leader))
    return unsure and gap <= sims_per_s * (move_time.maximum - elapsed)
