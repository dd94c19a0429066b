"""`doudi simulate --period YYYY-MM --set dibao.standard.urban=700 [--set …] [--input DIR | --registry]`.

政策测算: evaluates the population with the parameters in force and again with the overrides, and
prints per district the monthly cost of each, the difference, and the households that start
(gained) or stop (lost) being paid. With `--registry` the registry is first frozen into a snapshot
(recorded, as from the console) and the first line names it; otherwise nothing is stored.
"""

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from doudi.parameters.overrides import check_period, parse_overrides
from doudi.parameters.selectors import current_parameters
from doudi.parameters.simulation import format_what_if, run_what_if


class Command(BaseCommand):
    help = "What-if: per-district cost difference and households gained/lost for parameter overrides."

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, help="YYYY-MM")
        parser.add_argument(
            "--set",
            action="append",
            default=[],
            dest="assignments",
            metavar="NAME=VALUE",
            help="a parameter override (repeatable); region-indexed: NAME.<district>=VALUE",
        )
        parser.add_argument(
            "--input", default=None, help="population directory (default DOUDI_DATA_DIR/synth)"
        )
        parser.add_argument(
            "--registry",
            action="store_true",
            help="run on the registry as of now (frozen into a recorded snapshot first)",
        )
        parser.add_argument(
            "--defaults-only",
            action="store_true",
            help="compare against the shipped defaults instead of the stored values",
        )

    def handle(self, *args, period, assignments, input, registry, defaults_only, **options):
        from doudi.policy.batch import BatchInputError
        from doudi.policy.parameters import ParameterError, load_defaults

        if registry and input:
            raise CommandError("--registry and --input exclude each other")
        input_dir = Path(input) if input else Path(settings.DOUDI_DATA_DIR) / "synth"
        if not registry and not (input_dir / "households.parquet").is_file():
            raise CommandError(f"{input_dir}: no households.parquet (make one with doudi synth --out DIR)")
        params = load_defaults() if defaults_only else current_parameters()
        problems = []
        try:
            period = check_period(period)
        except ValidationError as error:
            problems += error.messages
        try:
            overrides = parse_overrides(params, assignments, field="--set")
        except ValidationError as error:
            problems += error.messages
        if problems:
            raise CommandError("\n".join(problems))
        if registry:
            from doudi.parameters.services import freeze_registry

            snapshot = freeze_registry(month=period)
            input_dir = Path(settings.DOUDI_DATA_DIR) / snapshot.directory
            self.stdout.write(
                f"registry snapshot {snapshot.taken_at:%Y-%m-%d %H:%M:%S %Z}: {snapshot.households} households, "
                f"{snapshot.persons} persons, sha256 {snapshot.sha256}"
            )
        try:
            result = run_what_if(period, input_dir, params, overrides)
        except (BatchInputError, ParameterError, ValueError, OSError) as error:
            raise CommandError(str(error)) from None
        self.stdout.write(format_what_if(result))
