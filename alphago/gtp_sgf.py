"""GTP's game-record commands: the handler group ``GtpEngine`` mixes in for ``loadsgf``
(GNU Go's form: ``loadsgf FILE [move number | vertex]``) and ``printsgf [FILE]``. Records
are read and replayed by ``alphago.sgf``."""

from __future__ import annotations

from pathlib import Path

from alphago import coords, sgf
from alphago.board import MAX_SIZE, MIN_SIZE
from alphago.gtp_args import GtpError, color_name


def _stop_before(arg: str, rec: sgf.GameRecord) -> int:
    """How many moves to replay: up to move number K (exclusive), or up to the first
    move played at a vertex."""
    if arg.isdigit():
        return max(0, int(arg) - 1)
    try:
        p = coords.from_gtp(arg, rec.size)
    except coords.CoordError:
        raise GtpError("cannot load file") from None
    return next((i for i, (_, q) in enumerate(rec.moves) if q == p), len(rec.moves))


class SgfCommands:
    """loadsgf, printsgf (a ``GtpEngine`` mixin)."""

    def cmd_loadsgf(self, args, cid):
        if not args:
            raise GtpError("missing filename")
        path = Path(args[0])
        try:
            rec = sgf.parse_sgf(str(path), path.read_bytes())
        except (OSError, sgf.BadGame):
            raise GtpError("cannot load file") from None
        if not MIN_SIZE <= rec.size <= MAX_SIZE:
            raise GtpError("cannot load file")
        stop = _stop_before(args[1], rec) if len(args) > 1 else len(rec.moves)
        try:  # GTP plays with superko; a record without KM gets GNU Go's default komi
            pos = rec.position_after(stop, superko=True,
                                     default_komi=0.5 if rec.handicap else 5.5)
        except sgf.BadGame:
            raise GtpError("cannot load file") from None
        self.size, self.komi, self.pos = rec.size, pos.komi, pos
        self.handicap_points = list(rec.setup_black) if not rec.setup_white else []
        self.player.new_game()
        return color_name(pos.to_move)

    def cmd_printsgf(self, args, cid):
        p = self.pos
        data = sgf.game_to_sgf(p.size, p.moves, komi=p.komi, setup_black=self.handicap_points,
                               handicap=len(self.handicap_points)).decode()
        if args:
            try:
                Path(args[0]).write_text(data)
            except OSError as exc:
                raise GtpError(f"cannot write file: {exc.strerror}") from None
            return ""
        return "\n" + data.strip()
