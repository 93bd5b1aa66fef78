"""`detente render`: draw a realpolitik position, or every phase of a replay.

detente render POSITION.json [--map classic] [--orders ORDERS.json] [--out out.png|out.svg] [--text]
detente render --replay REPLAY.json --out DIR [--format svg|png|both] [--text]

The drawing itself lives in `detente.games.realpolitik.render`; this module only reads files,
checks arguments and writes outputs. Bad input raises `ValueError` naming the file and the problem,
which `detente.experiments.cli.main` turns into exit status 2. See docs/rendering.md.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

__all__ = ["add_render_parser", "run_render"]

_FORMATS = {"svg": ("svg",), "png": ("png",), "both": ("svg", "png")}


def add_render_parser(commands: Any) -> argparse.ArgumentParser:
    """Adds the `render` subcommand to the `detente` subparsers `commands`."""
    render = commands.add_parser(
        "render",
        help="draw a realpolitik position (SVG/PNG/text) or every phase of a replay",
        description=(
            "Draw a realpolitik position, optionally with orders (adjudicated to show their "
            "results), or every phase of a replay file. See docs/rendering.md."
        ),
    )
    render.add_argument("position", nargs="?", help="position JSON file")
    render.add_argument("--map", default="classic", help="board name or map file (default classic)")
    render.add_argument("--orders", default=None, help="orders JSON file: power -> [order, ...]")
    render.add_argument(
        "--out",
        default=None,
        help="output: a .svg or .png file (position), or a folder (--replay)",
    )
    render.add_argument("--text", action="store_true", help="print a text summary (replay: .txt)")
    render.add_argument("--replay", default=None, help="replay JSON file: draw every phase")
    render.add_argument(
        "--format",
        choices=sorted(_FORMATS),
        default="both",
        help="picture formats for --replay (default both)",
    )
    return render


def _read_json(path: str, what: str) -> Any:
    if not os.path.isfile(path):
        raise ValueError(f"{what} file {path!r} does not exist")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f"{what} file {path!r} is not valid JSON: {e}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"{what} file {path!r} cannot be read: {e}") from None


def run_render(args: argparse.Namespace) -> int:
    """Runs `detente render` with parsed arguments; returns the exit status.

    Raises:
      ValueError: missing or malformed input files, an unknown map, a bad position or orders, or
        an output path that cannot be written (the message names the file and the problem).
    """
    from detente.games.realpolitik import adjudicate, load_map, validate_position
    from detente.games.realpolitik import render as rr

    if args.replay is not None:
        if args.position is not None or args.orders is not None:
            raise ValueError("render: give either POSITION [--orders] or --replay, not both")
        if args.out is None:
            raise ValueError("render --replay needs --out DIR (the folder for phase_000.svg ...)")
        replay = _read_json(args.replay, "replay")
        formats = _FORMATS[args.format] + (("txt",) if args.text else ())
        base = os.path.dirname(os.path.abspath(args.replay))
        try:
            written = rr.render_replay(replay, args.out, formats, base_dir=base)
        except ValueError as e:
            raise ValueError(f"replay file {args.replay!r}: {e}") from None
        except ImportError as e:
            raise ValueError(str(e)) from None
        print(f"wrote {len(written)} files for {len(replay['phases'])} phases to {args.out}")
        return 0

    if args.position is None:
        raise ValueError("render: give a POSITION.json file, or --replay REPLAY.json --out DIR")
    m = load_map(args.map)
    position = _read_json(args.position, "position")
    orders = _read_json(args.orders, "orders") if args.orders is not None else None
    results = None
    try:
        validate_position(m, position)
    except ValueError as e:
        raise ValueError(f"position file {args.position!r}: {e}") from None
    if orders is not None:
        if not isinstance(orders, dict) or not all(
            isinstance(v, list) and all(isinstance(o, str) for o in v) for v in orders.values()
        ):
            raise ValueError(
                f"orders file {args.orders!r}: expected an object power -> list of order texts"
            )
        try:
            _, results = adjudicate(m, position, orders)
        except ValueError as e:
            raise ValueError(f"orders file {args.orders!r}: {e}") from None
    if args.out is not None:
        ext = os.path.splitext(args.out)[1].lower()
        folder = os.path.dirname(os.path.abspath(args.out))
        if ext not in (".svg", ".png"):
            raise ValueError(f"--out {args.out!r}: expected a file ending in .svg or .png")
        if not os.path.isdir(folder):
            raise ValueError(f"--out {args.out!r}: folder {folder!r} does not exist")
        if ext == ".svg":
            with open(args.out, "w", encoding="utf-8") as f:
                f.write(rr.render_svg(m, position, orders, results))
        else:
            try:
                rr.render_png(m, position, args.out, orders, results)
            except ImportError as e:
                raise ValueError(str(e)) from None
        print(f"wrote {args.out}")
    if args.text or args.out is None:
        print(rr.render_text(m, position, orders, results), end="")
    return 0
