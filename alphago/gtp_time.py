"""GTP's time commands: the handler group ``GtpEngine`` mixes in for ``time_settings``,
``kgs-time_settings`` and ``time_left``. They set the engine's ``clock``
(``alphago.timecontrol``), which budgets every ``genmove``."""

from __future__ import annotations

from alphago.gtp_args import GtpError, need_args, parse_color, parse_float, parse_int
from alphago.timecontrol import Clock, TimeSettings

# kgs-time_settings: how many numbers each system takes
KGS_SYSTEMS = {"none": 0, "absolute": 1, "byoyomi": 3, "canadian": 3}


def _non_negative(*values: float) -> None:
    if min(values, default=0) < 0:
        raise GtpError("syntax error")


class TimeCommands:
    """time_settings, kgs-time_settings, time_left (a ``GtpEngine`` mixin)."""

    def cmd_time_settings(self, args, cid):
        if len(args) != 3:
            raise GtpError("syntax error")
        main, byo, stones = parse_float(args[0]), parse_float(args[1]), parse_int(args[2])
        _non_negative(main, byo, stones)
        self.clock = Clock(TimeSettings.canadian(main, byo, stones))
        return ""

    def cmd_kgs_time_settings(self, args, cid):
        need_args(args, 1)
        kind = args[0].lower()
        nums = [parse_float(a) for a in args[1:]]
        _non_negative(*nums)
        if kind not in KGS_SYSTEMS:
            raise GtpError("unknown time system")
        if len(nums) != KGS_SYSTEMS[kind]:
            raise GtpError("syntax error")
        if kind == "none":
            settings = TimeSettings()
        elif kind == "absolute":
            settings = TimeSettings.canadian(nums[0], 0, 0)
        elif kind == "byoyomi":
            settings = TimeSettings.byoyomi(nums[0], nums[1], int(nums[2]))
        else:
            settings = TimeSettings.canadian(nums[0], nums[1], int(nums[2]))
        self.clock = Clock(settings)
        return ""

    def cmd_time_left(self, args, cid):
        if len(args) != 3:
            raise GtpError("syntax error")
        color = parse_color(args[0])
        left, stones = parse_float(args[1]), parse_int(args[2])
        _non_negative(left, stones)
        self.clock.update(color, left, stones)
        return ""
