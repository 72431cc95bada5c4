"""Start-up work done before the first real command, so that a GUI's first ``genmove``
answers at the usual speed: the numba kernels of the search, rollouts and scoring are
compiled (or loaded from numba's cache) and the network runs once on every path a move
takes. The evaluator's own start-up (ONNX export, backend probe) happens when it is built.
"""

from __future__ import annotations

import logging
import time

from alphago.board import Position

log = logging.getLogger("alphago.warmup")


def warm_up(player, size: int) -> float:
    """Exercise ``player`` once on an empty board of ``size`` and forget it; returns seconds."""
    from alphago.player import MCTSPlayer, wins_if_game_ends

    t0 = time.perf_counter()
    pos = Position(size)
    pos.sensible_moves()
    wins_if_game_ends(pos, playouts=2)  # the scoring kernels a pass reply uses
    if isinstance(player, MCTSPlayer):
        player.search(pos, visits=2 * player.cfg.batch_size)
        player.clear()  # the warm-up tree must not be reused as a game's root
    else:
        player.genmove(pos)
    player.new_game()
    seconds = time.perf_counter() - t0
    log.info("warm-up took %.1f s", seconds)
    return seconds
