"""The time manager: allocations on hand-computed clock states, the stop rule, and the
player spending a clock's MoveTime."""

import numpy as np
import pytest

from alphago.board import BLACK, WHITE, Position
from alphago.config import SearchConfig
from alphago.features import get_feature_set
from alphago.player import MCTSPlayer
from alphago.timecontrol import (LAG_SECONDS, Clock, MoveTime, TimeSettings, keep_searching,
                                 phase_weight)


def at_move(size: int, moves: int) -> Position:
    """A position whose move number is ``moves`` (passes: only the count matters)."""
    pos = Position(size)
    for _ in range(moves):
        pos.play(pos.pass_move)
    return pos


def test_phase_weights_by_hand():
    assert phase_weight(0, 361) == 0.6
    assert phase_weight(29, 361) == pytest.approx(0.6 + 0.8 * (29 / 361 - 0.04) / 0.08)
    assert phase_weight(100, 361) == 1.4
    assert phase_weight(250, 361) == pytest.approx(1.4 - 0.9 * (250 / 361 - 0.45) / 0.35)
    assert phase_weight(300, 361) == 0.5


def test_absolute_time_in_the_endgame_by_hand():
    # 19x19, move 300, 180 s left: the game is expected to end at 300 + 0.2 * 361 = 372.2,
    # the mover has ceil(72.2 / 2) = 37 moves left, all of weight 0.5: 180 / 37 each;
    # an unsure move may take 3 times that (under 0.2 * 180 = 36 s); lag comes off both
    clock = Clock(TimeSettings.canadian(180, 0, 0))
    mt = clock.budget(BLACK, at_move(19, 300))
    share = 180 / 37
    assert mt.target == pytest.approx(share - LAG_SECONDS)
    assert mt.maximum == pytest.approx(3 * share - LAG_SECONDS)


def test_byo_yomi_periods_by_hand():
    japanese = Clock(TimeSettings.byoyomi(0, 30, 5))
    mt = japanese.budget(WHITE, at_move(19, 120))
    assert mt.target == mt.maximum == pytest.approx(0.85 * 30 - 0.4)  # 25.1
    assert not mt.stop_early  # a period's time is lost if not used: use it
    canadian = Clock(TimeSettings.canadian(600, 100, 5))
    canadian.update(BLACK, 100, 5)  # in byo-yomi: 100 s for 5 stones
    mt = canadian.budget(BLACK, at_move(19, 150))
    assert mt.target == pytest.approx(0.85 * 100 / 5 - 0.4)  # 16.6
    assert mt.maximum == pytest.approx(min(2 * 17, 50) - 0.4)  # 33.6: a close move, twice
    assert mt.stop_early  # time saved now is there for the period's other moves
    canadian.update(BLACK, 10, 1)  # the period's last stone: no room to extend
    mt = canadian.budget(BLACK, at_move(19, 151))
    assert mt.target == mt.maximum == pytest.approx(8.5 - 0.4) and not mt.stop_early
    done = Clock(TimeSettings.canadian(60, 0, 0))
    done.update(BLACK, 0, 0)  # absolute time spent: move at once
    assert done.budget(BLACK, at_move(19, 200)) == MoveTime(0.05, 0.05)
    assert Clock(TimeSettings()).budget(BLACK, at_move(19, 0)) is None


def test_main_time_with_byo_yomi_adds_a_period_share():
    # 9x9 move 40 (x = 0.49), 60 s main + 3 x 10 s Japanese periods: the share of main time
    # plus 0.85 of a period, which a move may use after main time runs out
    clock = Clock(TimeSettings.byoyomi(60, 10, 3))
    plain = Clock(TimeSettings.canadian(60, 0, 0))
    pos = at_move(9, 40)
    with_byo, without = clock.budget(BLACK, pos), plain.budget(BLACK, pos)
    assert with_byo.target == pytest.approx(without.target + 8.5)


@pytest.mark.parametrize("size,main", [(19, 600), (19, 300), (9, 60)])
def test_a_whole_game_spends_the_clock_mostly_in_the_middle(size, main):
    """Every move takes its target (plus the lag): no loss on time over a game of the
    expected length, the middle game gets more than the opening and the endgame, and
    little of the clock is left at the end."""
    nn = size * size
    clock = Clock(TimeSettings.canadian(main, 0, 0))
    spent = {}
    moves = int(0.8 * nn)
    for m in range(0, moves, 2):
        mt = clock.budget(BLACK, at_move(size, m))
        assert mt.maximum >= mt.target > 0
        clock.spent(BLACK, mt.target + LAG_SECONDS)
        spent[m] = mt.target
        assert clock.sides[BLACK].main > 0  # never out of time
    left = clock.sides[BLACK].main
    assert left < 0.15 * main
    opening = spent[0]
    middle = spent[2 * round(0.3 * nn / 2)]
    endgame = spent[max(spent)]
    assert middle > 1.5 * opening and middle > 1.5 * endgame


def test_keep_searching_by_hand():
    mt = MoveTime(10.0, 30.0)
    assert keep_searching(0.5, mt, 1000, 0, 0.5, 0.5, 100)  # under 0.1 of the target
    # before the target: stop once the runner-up could not catch up by it
    assert not keep_searching(5, mt, 1000, 100, 0.5, 0.5, 100)  # gap 900 > 100 x 5
    assert keep_searching(5, mt, 1000, 600, 0.5, 0.5, 100)  # gap 400 <= 500
    # at the target: go on only while the two are close
    assert keep_searching(10, mt, 1000, 700, 0.5, 0.5, 100)  # 700 >= 2/3 of 1000
    assert keep_searching(10, mt, 1000, 600, 0.5, 0.55, 100)  # fewer visits, better winrate
    assert not keep_searching(10, mt, 1000, 600, 0.5, 0.45, 100)
    assert not keep_searching(10, mt, 1000, 200, 0.5, 0.9, 100)  # under 1/4 of the visits
    assert not keep_searching(29, mt, 1000, 700, 0.5, 0.5, 100)  # gap 300 > 100 x 1 left
    assert not keep_searching(30, mt, 1000, 999, 0.5, 0.5, 100)  # the maximum
    period = MoveTime(10.0, 10.0, stop_early=False)  # nothing to save: use the period
    assert keep_searching(5, period, 1000, 0, 0.5, 0.5, 100)
    assert not keep_searching(10, period, 1000, 999, 0.5, 0.5, 100)


class _FixedEvaluator:
    """Priors concentrated on the given moves (the rest share a little), value 0. The
    search shows the net its leaves under random symmetries: favour moves that every
    symmetry maps into the set (the centre; the four 3-3 points of 9x9)."""

    has_value = True
    has_policy = True

    def __init__(self, favourites):
        self.feature_set = get_feature_set("basic")
        self.favourites = favourites

    def evaluate(self, planes):
        b, _, n, _ = planes.shape
        pr = np.full((b, n * n + 1), 1e-4, np.float32)
        pr[:, self.favourites] = 1.0
        return pr / pr.sum(1, keepdims=True), np.zeros(b, np.float32)


HOSHI_9 = [20, 24, 56, 60]  # C7 G7 C3 G3 on 9x9


def _player(favourites):
    cfg = SearchConfig(visits=10_000_000, batch_size=8, max_nodes=200_000, rollouts=False,
                       mix_lambda=0.0)
    return MCTSPlayer(_FixedEvaluator(favourites), cfg)


def test_an_obvious_move_stops_before_its_target():
    pos = Position(9)
    res = _player([40]).genmove(pos, MoveTime(3.0, 9.0))
    assert res.move == 40
    assert res.seconds < 3.0


def test_a_close_choice_goes_past_its_target():
    pos = Position(9)
    res = _player(HOSHI_9).genmove(pos, MoveTime(0.5, 1.5))  # four equal moves
    assert res.move in HOSHI_9
    assert res.seconds >= 1.2  # well past the target, on toward the maximum
    assert res.seconds < 1.5 + 2.0  # the maximum, and a batch's worth of slack


def test_a_visit_cap_still_bounds_a_clocked_move():
    cfg = SearchConfig(visits=64, batch_size=8, rollouts=False, mix_lambda=0.0)
    player = MCTSPlayer(_FixedEvaluator(HOSHI_9), cfg)
    res = player.genmove(Position(9), MoveTime(30.0, 60.0))
    assert res.visits == 64 and res.seconds < 30


def test_a_foreseen_move_is_played_quickly():
    """Visits already at the root (pondering, a reused tree) count: when the leader's lead
    is more than the move's time could overturn, the search stops as soon as it may."""
    pos = Position(9)
    fresh = _player([40]).genmove(pos, MoveTime(0.5, 1.5))
    player = _player([40])
    player.search(pos, 40_000)  # what pondering on the opponent's time leaves behind
    foreseen = player.genmove(pos, MoveTime(0.5, 1.5))
    assert foreseen.move == fresh.move == 40
    assert foreseen.visits - 40_000 < 0.5 * fresh.visits  # fewer new simulations
    assert foreseen.seconds < fresh.seconds
