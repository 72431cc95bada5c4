"""The GTP engine that Sabaki, GoGui, gomill or a terminal launch.

    alphago-gtp                               # shipped model, MCTS with rollouts
    alphago-gtp --policy-only                 # the network's top move, no search
    alphago-gtp --model runs/x/best.pt --visits 800 --threads 2

(``python gtp_server.py`` in a checkout is the same command.)

stdout carries GTP and nothing else; logs go to stderr. The engine answers
protocol_version/name/version/list_commands at once while the network and the
numba kernels load in the background (first ever start compiles the kernels
into the numba cache: about a minute, once).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import os
import sys
import threading
import time
import zipfile
from pathlib import Path

from alphago import gtp_front, shipped
from alphago.cli import on_off
from alphago.coords import MAX_SIZE, MIN_SIZE

# the engine's own options and their defaults; the search options come from SearchConfig
ENGINE_DEFAULTS = {"model": None, "value_model": None, "uniform": False, "policy_only": False,
                   "policy_temperature": 0.0, "policy_symmetries": 1, "playout_rules": False,
                   "device": "auto", "ponder": False,
                   "komi": 7.5, "size": 19, "rollout_policy": None, "log_level": "WARNING"}
ALIASES = {"nn_cache": "nn_cache_size"}  # older option names, still accepted
DEVICES = ("auto", "cpu", "onnx", "onnx-int8", "cuda")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description="AlphaGo-style Go engine speaking GTP on stdin/stdout")
    ap.add_argument("--config", help="TOML or JSON file with any of these options")
    ap.add_argument("--model", default=None,
                    help=f"checkpoint (default data/{shipped.default_model().name}: "
                         f"{shipped.DUAL.name} when present, else {shipped.POLICY_SL.name})")
    ap.add_argument("--value-model", default=None,
                    help="a separate value network (AlphaGo's pair, e.g. from train_value.py) "
                         f"for the search; default: {shipped.VALUE_SP.name} with "
                         f"{shipped.POLICY_SL.name}, none with a net that has its own value "
                         "head or any other net; 'none' turns it off")
    ap.add_argument("--uniform", action="store_true", default=None,
                    help="no network: uniform priors")
    ap.add_argument("--policy-only", action="store_true", default=None,
                    help="play the policy network's top move, no search (deterministic)")
    ap.add_argument("--policy-temperature", type=float, default=None,
                    help="with --policy-only: sample moves at this temperature (0 = best)")
    ap.add_argument("--policy-symmetries", type=int, choices=(1, 8), default=None,
                    help="with --policy-only: 8 averages the policy over the board's 8 "
                         "symmetries (the paper's ensemble, 8 positions a move), 1 (default) "
                         "one view")
    ap.add_argument("--playout-rules", action="store_true", default=None,
                    help="play as self-play does: pass only when nothing sensible is left "
                         "(with --policy-only also a random symmetry a move), as the RL "
                         "loop's gate does")
    ap.add_argument("--device", default=None, help="auto (default: CUDA, else the fastest CPU "
                    "backend), cpu, onnx, onnx-int8, cuda, cuda:N")
    ap.add_argument("--ponder", action="store_true", default=None,
                    help="think on the opponent's time (the tree is reused)")
    ap.add_argument("--komi", type=float, default=None, help="initial komi (7.5)")
    ap.add_argument("--size", type=int, default=None, help="initial board size (19)")
    ap.add_argument("--rollout-policy", default=None,
                    help="rollout weights .npz (default: data/rollout_balanced.npz with the "
                         "shipped dual net, data/rollout.npz with any other), 'default' for "
                         "the hand-written policy, 'uniform' for random playouts")
    ap.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING (default)")
    _add_search_flags(ap)
    return ap


def _add_search_flags(ap: argparse.ArgumentParser) -> None:
    """One flag per SearchConfig field, typed and documented from the dataclass."""
    from alphago.config import SEARCH_HELP, SearchConfig

    group = ap.add_argument_group("search (SearchConfig)")
    for f in dataclasses.fields(SearchConfig):
        default = f.default
        kind = on_off if isinstance(default, bool) else int if isinstance(default, int) \
            else str if isinstance(default, str) else float
        names = [f"--{f.name.replace('_', '-')}"]
        names += [f"--{old.replace('_', '-')}" for old, new in ALIASES.items() if new == f.name]
        shown = ("on" if default else "off") if isinstance(default, bool) else default
        if f.name == "threads":
            shown = "one per core, at most 8"
        group.add_argument(*names, dest=f.name, type=kind, default=None,
                           help=f"{SEARCH_HELP.get(f.name, '')} ({shown})")


def resolve_options(ap: argparse.ArgumentParser, argv) -> dict:
    """Defaults, then the --config file, then the command line; ``o["search"]`` is the
    validated SearchConfig."""
    from alphago.config import SearchConfig

    args = ap.parse_args(argv)
    search_keys = {f.name for f in dataclasses.fields(SearchConfig)}
    opts = dict(ENGINE_DEFAULTS)
    if args.config:
        opts.update(_config_file(ap, args.config, set(ENGINE_DEFAULTS) | search_keys))
    for key in list(ENGINE_DEFAULTS) + sorted(search_keys):
        value = getattr(args, key, None)
        if value is not None:  # flags left out are None; "--rollouts off" is False
            opts[key] = value
    opts.setdefault("threads", default_threads())
    try:
        opts["search"] = SearchConfig(**{k: opts.pop(k) for k in search_keys if k in opts})
    except (TypeError, ValueError) as exc:
        name = str(exc).split()[0]
        ap.error(f"--{name.replace('_', '-')}: {exc}")
    _check(ap, opts)
    return opts


def default_threads(cap: int = 8) -> int:
    """``--threads`` when neither the command line nor the config file gives it: one
    search thread per core this process may run on, at most ``cap`` (as Leela Zero and
    KataGo, the engine a GUI starts uses the machine's cores)."""
    from alphago.procs import available_cores

    return max(1, min(cap, available_cores()))


def _config_file(ap, path: str, known: set[str]) -> dict:
    from alphago.config import load_overrides

    try:
        file_opts = load_overrides(path)
    except (OSError, ValueError) as exc:
        ap.error(f"cannot read config {path}: {exc}")
    file_opts = {k.replace("-", "_"): v for k, v in file_opts.items()}
    file_opts = {ALIASES.get(k, k): v for k, v in file_opts.items()}
    if "rollouts" in file_opts and isinstance(file_opts["rollouts"], str):
        file_opts["rollouts"] = on_off(file_opts["rollouts"])
    unknown = set(file_opts) - known
    if unknown:
        ap.error(f"unknown option(s) in {path}: {', '.join(sorted(unknown))}")
    return file_opts


def _check(ap, o) -> None:
    if o["device"] not in DEVICES and not str(o["device"]).startswith("cuda:"):
        ap.error(f"--device must be auto, cpu, onnx, onnx-int8, cuda or cuda:N, "
                 f"not {o['device']!r}")
    if not MIN_SIZE <= o["size"] <= MAX_SIZE:
        ap.error(f"--size must be within {MIN_SIZE}..{MAX_SIZE}")
    if o["policy_temperature"] < 0:
        ap.error("--policy-temperature must be >= 0")
    if o["policy_symmetries"] not in (1, 8):
        ap.error(f"--policy-symmetries must be 1 or 8, not {o['policy_symmetries']!r}")
    rp = o["rollout_policy"]
    if rp is not None and rp not in ("default", "uniform") and not Path(rp).is_file():
        ap.error(f"rollout policy file not found: {rp}")
    if not o["uniform"]:
        model = Path(o["model"]) if o["model"] else shipped.default_model()
        if not model.is_file():
            ap.error(f"model file not found: {model} (train one with alphago-train, "
                     "or run with --uniform)")
        if not zipfile.is_zipfile(model):
            ap.error(f"model file {model} is corrupt or not a torch checkpoint")
        o["model"] = str(model)
    if rp is None:
        o["rollout_policy"] = shipped.default_rollout(o["model"])
    _check_value_model(ap, o)


def _check_value_model(ap, o) -> None:
    """The shipped value net goes with the shipped policy net unless asked otherwise;
    nothing is loaded where no search would use it."""
    vm = o["value_model"]
    if o["uniform"] or o["policy_only"] or vm == "none":
        vm = None
    elif vm is None:
        vm = shipped.default_value_model(o["model"])
    elif not Path(vm).is_file():
        ap.error(f"value model file not found: {vm}")
    elif not zipfile.is_zipfile(vm):
        ap.error(f"value model file {vm} is corrupt or not a torch checkpoint")
    o["value_model"] = vm


def build_player(o: dict):
    """Load the network and build the player the options ask for (the slow part of
    start-up): ``MCTSPlayer``, or ``PolicyPlayer`` with ``--policy-only``."""
    import torch

    from alphago.evaluator import UniformEvaluator, make_evaluator, search_evaluator
    from alphago.player import MCTSPlayer, PolicyPlayer
    from alphago.rollout_policy import weights_for

    cfg = o["search"]
    # --threads: with search, that many search threads, each evaluating its own batch on
    # one core; with --policy-only, the threads of the one network call a move
    net_threads = cfg.threads if o["policy_only"] else 1
    torch.set_num_threads(net_threads)
    if o["uniform"]:
        ev = UniformEvaluator()
    elif o["policy_only"]:
        ev = make_evaluator(o["model"], o["device"], net_threads, o["policy_symmetries"])
    else:
        ev = search_evaluator(o["model"], o["value_model"], o["device"], net_threads,
                              cfg.batch_size)
    if o["policy_only"]:
        return PolicyPlayer(ev, o["policy_temperature"], cfg.seed, bool(o["playout_rules"]),
                            o["policy_symmetries"])
    weights = weights_for(o["rollout_policy"])
    return MCTSPlayer(ev, cfg, rollout_weights=weights, playout_rules=bool(o["playout_rules"]))


def build_engine(o: dict):
    """The GTP engine around ``build_player``, warmed up before the first real command."""
    from alphago.gtp import GtpEngine
    from alphago.warmup import warm_up

    player = build_player(o)
    engine = GtpEngine(player, komi=o["komi"], size=o["size"], seed=o["search"].seed,
                       ponder=bool(o["ponder"]))
    warm_up(player, o["size"])
    return engine


class LazyEngine:
    """Builds ``build(options)`` on a thread from start-up on; the server loop answers the
    static commands meanwhile and everything else waits for it. A start that takes longer
    than ``notice_after`` seconds (the first one compiles the kernels and exports the
    networks) says so on stderr, and again when it is ready."""

    def __init__(self, options: dict, build=None, notice_after: float = 3.0):
        self.options = options
        self.build = build or build_engine
        self.notice_after = notice_after
        self.ready = threading.Event()
        self.engine = None
        self.error: BaseException | None = None
        threading.Thread(target=self._load, daemon=True).start()

    def _load(self):
        """Builds the engine; whatever happens here (the build failing, no thread for the
        notice timer), ``ready`` is set, so no command waits forever: a failure is kept in
        ``error`` and reported by the server loop (``gtp_front.note`` itself never raises)."""
        timer = None
        t0 = time.perf_counter()
        try:
            timer = threading.Timer(self.notice_after, gtp_front.note, args=(
                "starting up: loading the network and compiling the search kernels "
                "(the first start after installing takes up to a minute; later starts are "
                "quick)",))
            timer.daemon = True
            timer.start()
            self.engine = self.build(self.options)
        except BaseException as exc:  # reported by the main loop
            self.error = exc
        finally:
            if timer is not None:
                timer.cancel()
            elapsed = time.perf_counter() - t0
            if self.error is None and elapsed >= self.notice_after:
                gtp_front.note(f"ready after {elapsed:.0f} s")
            self.ready.set()

    def get(self):
        self.ready.wait()
        if self.error is not None:
            raise self.error
        return self.engine


def main(argv=None) -> int:
    ap = build_parser()
    o = resolve_options(ap, argv)
    logging.basicConfig(level=getattr(logging, str(o["log_level"]).upper(), logging.WARNING),
                        format="%(asctime)s %(name)s %(levelname)s %(message)s",
                        stream=sys.stderr)
    lazy = LazyEngine(o)
    try:
        code = gtp_front.serve_lazy(lazy, sys.stdin.buffer, sys.stdout.buffer)
    except KeyboardInterrupt:
        code = 0
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a controller that has gone
            stream.flush()
    # the stdin reader thread may sit in readline(); leave without tearing it down
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
