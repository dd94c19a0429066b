"""`doudi synth`: generate a synthetic population (合成人口) as Parquet, and/or load it.

doudi synth --households 100000 --out var/data/synth-100k [--seed 2020]
doudi synth --load var/data/synth-100k
doudi synth --households 2000 --load            (generate and load directly)
doudi synth --households 2000 --out DIR --load  (both)
"""

import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from doudi.registry import synth


class Command(BaseCommand):
    help = "Generate a synthetic Chongqing population as Parquet files and/or load it into the registry."

    def add_arguments(self, parser):
        parser.add_argument("--households", type=int, help="number of households to generate")
        parser.add_argument("--seed", type=int, default=2020, help="random seed (same seed, same population)")
        parser.add_argument("--out", help="directory to write regions/households/persons.parquet into")
        parser.add_argument(
            "--load",
            nargs="?",
            const="",
            default=None,
            metavar="DIR",
            help="load into the database: from DIR, or the population just generated when DIR is omitted",
        )
        parser.add_argument("--database", default="default", help="database alias to load into")

    def handle(self, *args, households, seed, out, load, database, **options):
        if households is None and not load:
            raise CommandError("give --households N (to generate) and/or --load DIR")
        if households is not None and load:
            raise CommandError("--load DIR loads existing files; to load what you generate, use --load alone")
        population = None
        if households is not None:
            if households < 1:
                raise CommandError("--households must be at least 1")
            if out is None and load is None:
                raise CommandError("give --out DIR and/or --load")
            t = time.perf_counter()
            population = synth.generate_population(households, seed=seed)
            self.stdout.write(
                f"generated {population.households.num_rows:,} households, {population.persons.num_rows:,} persons, "
                f"{population.regions.num_rows:,} regions in {time.perf_counter() - t:.1f} s (seed {seed})"
            )
            if out:
                t = time.perf_counter()
                synth.write_population(population, out)
                self.stdout.write(
                    f"wrote {out}/{{regions,households,persons}}.parquet in {time.perf_counter() - t:.1f} s"
                )
        if load is None:
            return
        source = population if population is not None else load
        try:
            counts = synth.load_population(
                source, using=database, progress=lambda m: self.stdout.write(f"  {m}")
            )
        except FileNotFoundError as exc:
            raise CommandError(str(exc)) from exc
        except ValidationError as exc:
            raise CommandError("\n".join(exc.messages)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"loaded {counts['households']:,} households, {counts['persons']:,} persons, "
                f"{counts['categories']:,} categories, {counts['regions']:,} new regions in {counts['seconds']} s"
            )
        )
