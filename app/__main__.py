"""`python -m app` (or the `cellx` command): serve the explorer with uvicorn.

Every option maps onto a setting (app/settings.py); an option given on the command line wins
over its CELLX_* environment variable, which wins over the default.
"""
from __future__ import annotations

import argparse
import sys
import typing
from collections.abc import Sequence

from pydantic import ValidationError

from app.settings import Settings

def _yes_no(text: str) -> bool:
    if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
        raise argparse.ArgumentTypeError(f"{text!r} is not true or false")
    return text.lower() in ("true", "1", "yes")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cellx", description="Serve Cell Explorer: the explorer page and its JSON API (/docs describes it).",
        epilog="Each option can also be set with its environment variable (or in a .env file); the option wins.")
    for name, field in Settings.model_fields.items():  # every setting, so that a new one gets its option
        env = f"CELLX_{name.upper()}"
        choices = typing.get_args(field.annotation) if typing.get_origin(field.annotation) is typing.Literal else ()
        kind = str if choices else next((t for t in typing.get_args(field.annotation) if t is not type(None)),
                                        field.annotation)
        extra = {"choices": choices} if choices else {}
        if kind is bool:  # bool("false") is True: say yes or no instead
            kind, extra = _yes_no, {"metavar": "{true,false}"}
        default = field.get_default(call_default_factory=True)  # compute_slots: this machine's core count
        default = "unset" if default is None else default
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, type=kind, default=None,
                            help=f"{field.description} (env {env}; default: {default})".replace("%", "%%"),
                            **extra)
    return parser


def parse_settings(argv: Sequence[str] | None = None) -> Settings:
    """The settings for these command-line arguments: the given options over the environment."""
    parser = build_parser()
    given = {name: value for name, value in vars(parser.parse_args(argv)).items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:  # an out-of-range value, e.g. --port 0, from an option or the environment
        parser.error("; ".join(f"--{'-'.join(map(str, e['loc'])).replace('_', '-')}: {e['msg']}"
                               for e in exc.errors()))


def main(argv: Sequence[str] | None = None) -> None:
    settings = parse_settings(argv)
    from app.engine.device import resolve_device  # imports torch: not for --help

    try:
        resolve_device(settings.device)
    except ValueError as exc:  # cuda asked for on a machine without a GPU: say so before anything starts
        build_parser().error(f"--device: {exc}")
    import uvicorn  # only once the arguments are understood: --help starts nothing

    from app.main import create_app

    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level)


if __name__ == "__main__":
    main(sys.argv[1:])
