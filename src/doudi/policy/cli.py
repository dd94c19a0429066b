"""``doudi evaluate FILE|-``: the evaluation contract on the command line (POLICY.md §4).

Prints the result JSON and exits 0; on bad input prints ``{"errors": [...]}`` and exits 2.
The ``doudi`` console script delegates ``evaluate`` here, passing ``base_params_loader`` to overlay
the bureau's stored parameter values on the shipped defaults.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from doudi.policy.contract import InputError, evaluate_request
from doudi.policy.parameters import ParameterSet, load_defaults

EXIT_OK, EXIT_BAD_INPUT = 0, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="doudi evaluate",
        description="Evaluate households for one period (POLICY.md §4) and print the result as JSON.",
    )
    parser.add_argument("file", metavar="FILE", help="request JSON file, or - for standard input")
    parser.add_argument(
        "--defaults-only",
        action="store_true",
        help="use the parameter defaults shipped with doudi, not the values stored by the bureau",
    )
    return parser


def main(
    argv: Sequence[str] | None = None, base_params_loader: Callable[[], ParameterSet] | None = None
) -> int:
    """Run ``doudi evaluate``; ``argv`` may start with the word ``evaluate``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["evaluate"]:
        args = args[1:]
    options = _parser().parse_args(args)
    try:
        payload = sys.stdin.buffer.read() if options.file == "-" else _read(options.file)
        params = (
            load_defaults() if options.defaults_only or base_params_loader is None else base_params_loader()
        )
        _print(evaluate_request(payload, params))
    except InputError as error:
        _print(error.as_json())
        return EXIT_BAD_INPUT
    return EXIT_OK


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as error:
        raise InputError([{"path": "", "message": f"cannot read {path}: {error.strerror}"}]) from None


def _print(document: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    raise SystemExit(main())
