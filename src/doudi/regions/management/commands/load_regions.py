"""`doudi load_regions [--demo] [--file F] [--by USER]`: load the administrative tree.

Without options: 重庆市 and its 41 districts (idempotent). --demo adds a few real-named
subdivisions, POLICY.md's default city-wide emergency window and a hotline per district.
--file loads further levels from a CSV/XLSX (code, name, parent_code); a bad file writes nothing
and every bad row is listed (exit status 2).
"""

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from doudi.regions.demo import load_demo
from doudi.regions.loading import RegionFileInvalid, load_chongqing, load_regions_file


class Command(BaseCommand):
    help = "Load Chongqing's districts; --demo for demo data; --file for townships/villages from CSV/XLSX."

    def add_arguments(self, parser):
        parser.add_argument(
            "--demo", action="store_true", help="also load demo subdivisions, window, hotlines"
        )
        parser.add_argument("--file", help="CSV/TSV/XLSX with columns code, name, parent_code")
        parser.add_argument("--by", help="username recorded in the audit log (a municipal administrator)")

    def handle(self, *args, **options):
        by = None
        if options["by"]:
            from doudi.accounts.models import User

            by = User.objects.filter(username=options["by"]).first()
            if by is None:
                raise CommandError(f"no such user: {options['by']}")
        try:
            if options["demo"]:
                counts = load_demo()
                self.stdout.write(
                    f"demo: {counts['regions']} regions, {counts['windows']} emergency window(s), "
                    f"{counts['hotlines']} hotlines created"
                )
            else:
                created = load_chongqing(by=by)
                self.stdout.write(f"Chongqing: {created} regions created")
            if options["file"]:
                result = load_regions_file(options["file"], by=by)
                levels = ", ".join(f"level {k}: {v}" for k, v in result.by_level.items()) or "none"
                self.stdout.write(
                    f"{options['file']}: {result.created} created ({levels}), {result.unchanged} unchanged"
                )
        except RegionFileInvalid as exc:
            for error in exc.row_errors:
                self.stderr.write(str(error))
            raise CommandError(f"nothing loaded: {len(exc.row_errors)} problem(s)", returncode=2) from exc
        except PermissionDenied as exc:
            raise CommandError(str(exc), returncode=2) from exc
