"""doudi verification …: department extracts from the command line.

doudi verification load-extract --source SOURCE --date YYYY-MM-DD FILE
doudi verification synth-extracts --population DIR --out DIR [--records N] [--date D] [--format parquet|csv] [--load]
doudi verification sources
"""

import time
from datetime import date
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from doudi.verification.sources import SCHEMAS, Source


class Command(BaseCommand):
    help = "Department extracts for household economic-status verification (核对)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser(
            "load-extract", help="validate and load one extract (refused whole on any error)"
        )
        load.add_argument("--source", required=True, choices=[s.value for s in Source])
        load.add_argument("--date", required=True, help="the extract date, YYYY-MM-DD")
        load.add_argument("file")
        synth = sub.add_parser("synth-extracts", help="department extracts drawn from a synthetic population")
        synth.add_argument(
            "--population", required=True, help="directory with households.parquet, persons.parquet"
        )
        synth.add_argument("--out", required=True)
        synth.add_argument("--records", type=int, default=100_000, help="records in all (default 100000)")
        synth.add_argument("--date", default="2020-03-31", help="extract date (default 2020-03-31)")
        synth.add_argument("--format", choices=["parquet", "csv"], default="parquet")
        synth.add_argument("--seed", type=int, default=58)
        synth.add_argument("--load", action="store_true", help="also load them (as the system)")
        sub.add_parser("sources", help="list the sources and their columns")

    def handle(self, *args, action: str, **options):
        if action == "load-extract":
            return self._load(options["source"], _date(options["date"]), Path(options["file"]))
        if action == "synth-extracts":
            return self._synth(options)
        for schema in SCHEMAS.values():
            cols = ", ".join(f"{c.name}({c.label}){'' if c.required else '?'}" for c in schema.columns)
            self.stdout.write(
                f"{schema.source.value:<17} {schema.label} — key {'+'.join(schema.key)}\n    {cols}"
            )

    def _load(self, source: str, extract_date: date, path: Path) -> None:
        from doudi.verification.messages import problem_text
        from doudi.verification.services import load_extract

        if not path.exists():
            raise CommandError(f"{path}: no such file")
        started = time.perf_counter()
        try:
            extract = load_extract(source=source, extract_date=extract_date, path=path, file_name=path.name)
        except ValidationError as exc:
            raise CommandError("; ".join(m for ms in exc.message_dict.values() for m in ms)) from None
        seconds = time.perf_counter() - started
        if extract.status != "loaded":
            for p in extract.problems[:50]:
                self.stderr.write(problem_text(p, source))
            raise CommandError(f"{path.name}: refused, {extract.error_count} problem(s); nothing was loaded")
        self.stdout.write(
            f"{path.name}: {source} {extract_date} loaded, {extract.rows} rows in {seconds:.1f}s"
        )

    def _synth(self, o) -> None:
        from doudi.verification import synth

        households, persons = synth.read_population_tables(Path(o["population"]))
        extract_date = _date(o["date"])
        started = time.perf_counter()
        tables = synth.generate_extracts(
            households, persons, records=o["records"], extract_date=extract_date, seed=o["seed"]
        )
        paths = synth.write_extracts(tables, Path(o["out"]), o["format"])
        total = sum(t.num_rows for t in tables.values())
        self.stdout.write(f"{total} records in {len(paths)} extracts in {time.perf_counter() - started:.1f}s")
        for source, p in paths.items():
            self.stdout.write(f"  {source.value:<17} {tables[source].num_rows:>10}  {p}")
        if o["load"]:
            for source, p in paths.items():
                self._load(source.value, extract_date, p)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a date YYYY-MM-DD") from None
