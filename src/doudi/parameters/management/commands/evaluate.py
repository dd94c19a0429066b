"""`doudi evaluate FILE|- [--defaults-only]` with the bureau's stored parameter values.

The arguments, output and exit codes are exactly those of `doudi.policy.cli` (POLICY.md §4: the
result JSON and exit 0, or `{"errors": […]}` and exit 2); this command only supplies the stored
values to overlay on the shipped defaults. `doudi evaluate --defaults-only` never reaches Django
(see doudi.cli), so it works without a database.
"""

import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from doudi.parameters.selectors import current_parameters


def run(argv: list[str]) -> int:
    from doudi.policy.cli import main

    return main(argv, base_params_loader=current_parameters)


class Command(BaseCommand):
    help = "Evaluate households for one period (POLICY.md §4) with the stored parameter values; print JSON."

    def run_from_argv(self, argv):
        # Hand the arguments to the policy CLI untouched, so `doudi evaluate` parses, prints and
        # exits the same way with and without --defaults-only.
        try:
            code = run(argv[2:])
        finally:
            connections.close_all()
        if code:
            sys.exit(code)

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE", help="request JSON file, or - for standard input")
        parser.add_argument(
            "--defaults-only",
            action="store_true",
            help="use the parameter defaults shipped with doudi, not the stored values",
        )

    def handle(self, *args, **options):
        argv = [options["file"]] + (["--defaults-only"] if options["defaults_only"] else [])
        code = run(argv)
        if code:
            raise CommandError("bad input (see the errors above)", returncode=code)
