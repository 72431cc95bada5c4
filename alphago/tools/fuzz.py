"""GTP fuzzing: random, malformed and adversarial command lines, and a shadow board.

``lines(rng)`` yields command lines; ``Shadow`` keeps its own Position from the
commands that succeeded, so a driver can check that the engine's stones always
equal the shadow's after every answer.
"""

from __future__ import annotations

import random

from alphago import coords
from alphago.board import BLACK, WHITE, IllegalMove, Position

COMMANDS = ["play", "genmove", "undo", "boardsize", "clear_board", "komi", "showboard",
            "list_stones", "captures", "fixed_handicap", "place_free_handicap",
            "set_free_handicap", "time_settings", "time_left", "kgs-time_settings",
            "final_score", "final_status_list", "known_command", "name", "version",
            "protocol_version", "list_commands", "reg_genmove", "printsgf", "loadsgf",
            "lz-analyze", "gogui-analyze_commands", "alphago-policy_heatmap"]
JUNK = ["", " ", "\t", "#", "=", "?", "-1", "0", "999999999999999999999", "1e308", "nan", "inf",
        "pass", "PASS", "resign", "b", "w", "black", "white", "x", "A0", "Z99", "I5", "T19",
        "A1", "a1", "\x00", "\x7f", "é", "\udcff", "🙂", "tt", "--", "1.5", "-7.5"]


def random_vertex(rng: random.Random, n: int) -> str:
    if rng.random() < 0.1:
        return rng.choice(JUNK)
    if rng.random() < 0.03:
        return "pass"
    return coords.to_gtp(rng.randrange(n * n), n)


def random_line(rng: random.Random, n: int) -> str:
    r = rng.random()
    if r < 0.05:  # raw garbage
        text = "".join(chr(rng.randrange(0, 0x2FF)) for _ in range(rng.randrange(1, 40)))
        return text.replace("\n", "\r")  # one fuzz line stays one GTP line
    if r < 0.07:
        return "x" * rng.randrange(1000, 70000)  # overlong
    if r < 0.45:
        color = rng.choice(["b", "w", "B", "white", "black", "x", ""])
        return f"play {color} {random_vertex(rng, n)}"
    if r < 0.50:
        return f"genmove {rng.choice(['b', 'w', 'q'])}"
    if r < 0.55:
        return "undo"
    if r < 0.58:
        return f"boardsize {rng.choice(['5', '7', '9', '13', '19', '1', '40', '-3', 'x', ''])}"
    cmd = rng.choice(COMMANDS)
    args = " ".join(rng.choice(JUNK + [str(rng.randrange(-5, 30))])
                    for _ in range(rng.randrange(0, 4)))
    prefix = str(rng.randrange(0, 10**6)) + " " if rng.random() < 0.2 else ""
    return f"{prefix}{cmd} {args}".strip()


class Shadow:
    """The position a correct engine must hold after each answered command."""

    def __init__(self, size: int = 19):
        self.size = size
        self.pos = Position(size)

    def apply(self, line: str, ok: bool, answer: str) -> None:
        parts = line.split()
        if parts and parts[0].isdigit():
            parts = parts[1:]
        if not ok or not parts:
            return
        cmd, args = parts[0], parts[1:]
        if cmd == "boardsize":
            self.size = int(args[0])
            self.pos = Position(self.size)
        elif cmd == "clear_board":
            self.pos = Position(self.size)
        elif cmd == "play":
            color = BLACK if args[0].lower().startswith("b") else WHITE
            p = coords.from_gtp(args[1], self.size)
            self.pos.play(p, color)
        elif cmd == "genmove" and answer.strip() not in ("resign", ""):
            color = BLACK if args[0].lower().startswith("b") else WHITE
            self.pos.play(coords.from_gtp(answer.strip(), self.size), color)
        elif cmd == "undo":
            self.pos.undo()
        elif cmd in ("fixed_handicap", "place_free_handicap"):
            pts = [coords.from_gtp(v, self.size) for v in answer.split()]
            self.pos.setup(black=pts)
            self.pos.to_move = WHITE
        elif cmd == "set_free_handicap":
            self.pos.setup(black=[coords.from_gtp(v, self.size) for v in args])
            self.pos.to_move = WHITE
        elif cmd == "loadsgf":
            raise IllegalMove("loadsgf is not shadowed")  # the fuzzer never names real files

    def stones(self, color: int) -> list[str]:
        return sorted(coords.to_gtp(int(p), self.size)
                      for p in range(self.size * self.size) if self.pos.color_at(p) == color)

