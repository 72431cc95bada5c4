"""The JSON analysis engine: KataGo's analysis protocol on stdin/stdout, for review tools.

    alphago-analysis                                    # shipped model, 400 visits a turn
    alphago-analysis --visits 800 --report-as SIDETOMOVE
    echo '{"id":"a","moves":[["B","Q16"]],"rules":"chinese","komi":7.5,"boardXSize":19,"boardYSize":19}' | alphago-analysis

One JSON query per input line (``id``, ``moves``, ``initialStones``, ``rules``, ``komi``,
``boardXSize``/``boardYSize``, ``analyzeTurns``, ``maxVisits``, ``includeOwnership``,
``includePolicy``, ``reportDuringSearchEvery``; actions ``query_version``, ``clear_cache``,
``terminate``), one JSON response per analysed turn (``moveInfos``, ``rootInfo``,
``ownership``, ``policy``). Errors are JSON lines too; the engine keeps going. When the
input ends, the queued turns are answered before it exits. Every search and model flag of
``alphago-gtp`` applies; stdout carries only responses, logs go to stderr.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading

from alphago.cli.gtp import build_parser as gtp_parser, build_player, resolve_options


def build_parser():
    ap = gtp_parser()
    ap.description = __doc__.splitlines()[0]
    ap.add_argument("--report-as", choices=["BLACK", "WHITE", "SIDETOMOVE"], default="BLACK",
                    help="whose perspective winrates, scores and ownership are reported from "
                         "(KataGo's reportAnalysisWinratesAs; default BLACK)")
    ap.add_argument("--ownership-playouts", type=int, default=200,
                    help="playouts behind the ownership and score estimates (200)")
    return ap


def main(argv=None) -> int:
    ap = build_parser()
    o = resolve_options(ap, argv)
    args = ap.parse_args(argv)
    if o["policy_only"]:
        ap.error("the analysis engine searches: --policy-only does not apply")
    if args.ownership_playouts < 1:
        ap.error("--ownership-playouts must be at least 1")
    logging.basicConfig(level=getattr(logging, str(o["log_level"]).upper(), logging.WARNING),
                        format="%(asctime)s %(name)s %(levelname)s %(message)s",
                        stream=sys.stderr)
    from alphago.analysis import AnalysisEngine, serve
    from alphago.gtp_front import discard_output, note
    from alphago.warmup import warm_up

    lock = threading.Lock()

    def write(obj: dict) -> None:
        with lock:
            try:
                sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
                sys.stdout.flush()
            except (BrokenPipeError, ConnectionResetError):
                # the review tool has gone: nobody reads the queued turns' answers
                discard_output(sys.stdout)
                note("the controller closed the connection; exiting")
                os._exit(0)

    player = build_player(o)
    warm_up(player, o["size"])
    engine = AnalysisEngine(player, write, visits=o["search"].visits, report_as=args.report_as,
                            ownership_playouts=args.ownership_playouts, seed=o["search"].seed)
    print("alphago-analysis: ready to handle queries", file=sys.stderr, flush=True)
    try:
        return serve(engine, sys.stdin)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
