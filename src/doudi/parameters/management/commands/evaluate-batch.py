"""`doudi evaluate-batch --period YYYY-MM --input DIR --out FILE.parquet [--defaults-only]`.

Evaluates every household of a population directory (households.parquet, persons.parquet — the
synthetic-population schema) with the stored parameter values over the defaults, writes the
per-person results to FILE.parquet and the per-household ones beside it (FILE.households.parquet),
and prints the totals per district (yuan).
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from doudi.parameters.selectors import current_parameters


class Command(BaseCommand):
    help = "Evaluate a whole population (Parquet) for one month; write results; print per-district totals."

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, help="YYYY-MM")
        parser.add_argument(
            "--input", default=None, help="population directory (default DOUDI_DATA_DIR/synth)"
        )
        parser.add_argument("--out", required=True, help="result Parquet file (per person)")
        parser.add_argument("--defaults-only", action="store_true", help="ignore the stored parameter values")

    def handle(self, *args, period, input, out, defaults_only, **options):
        from doudi.policy.batch import BatchInputError, evaluate_parquet, format_table, households_path
        from doudi.policy.parameters import ParameterError, load_defaults

        input_dir = Path(input) if input else Path(settings.DOUDI_DATA_DIR) / "synth"
        if not (input_dir / "households.parquet").is_file():
            raise CommandError(f"{input_dir}: no households.parquet (make one with doudi synth --out DIR)")
        params = load_defaults() if defaults_only else current_parameters()
        try:
            totals = evaluate_parquet(period, input_dir, out, params, quiet=True)
        except (BatchInputError, ParameterError, ValueError, OSError) as error:
            raise CommandError(str(error)) from None
        self.stdout.write(format_table([row.as_dict() for row in totals]))
        self.stderr.write(f"wrote {out} and {households_path(Path(out))}")
