"""`incident-commander`: demo, serve, replay and verify on the embedded local stack."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _replay(args: argparse.Namespace) -> int:
    from .recording import RecordingError
    from .replay import replay

    try:
        doc = replay(Path(args.case_dir), Path(args.out))
    except RecordingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(f"{len(doc['incidents'])} incident(s) -> {args.out}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(args.scenario, speed=args.speed)


def _serve(args: argparse.Namespace) -> int:
    from .http_api import serve

    return serve(args.port, args.host)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="incident-commander", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("replay", help="replay a recorded alert storm and write predictions.json")
    r.add_argument("case_dir")
    r.add_argument("--out", required=True)
    r.add_argument("--quiet", action="store_true")
    r.set_defaults(fn=_replay)
    d = sub.add_parser("demo", help="play a scenario end to end and print the incident timeline")
    d.add_argument("scenario", nargs="?", default="database-cascade")
    d.add_argument("--speed", type=float, default=20.0, help="recording seconds per wall second")
    d.set_defaults(fn=_demo)
    s = sub.add_parser("serve", help="the local stack plus the REST API and dashboard on localhost")
    s.add_argument("--port", type=int, default=8080)
    s.add_argument("--host", default="127.0.0.1")
    s.set_defaults(fn=_serve)
    from .redrive import add_parser as add_redrive
    from .verify import add_parser as add_verify

    add_verify(sub)
    add_redrive(sub)
    args = p.parse_args(argv)
    return int(args.fn(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
