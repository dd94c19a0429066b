"""doudi discover [--day YYYY-MM-DD]: sweep the registry and the loaded extracts for people probably
eligible and receiving nothing (the monthly job runs the same)."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Discovery sweep (主动发现): list households and people probably eligible and receiving nothing."

    def add_arguments(self, parser):
        parser.add_argument("--day", help="the sweep's day (default: today)")

    def handle(self, *args, day=None, **options):
        from doudi.discovery.services import execute_sweep

        try:
            on = date.fromisoformat(day) if day else None
        except ValueError:
            raise CommandError("--day: use YYYY-MM-DD") from None
        run = execute_sweep(on)
        self.stdout.write(
            f"sweep {run.pk} on {run.day}: {run.found} leads found, {run.new} new, {run.closed} closed "
            f"({', '.join(f'{k} {v:.1f} s' for k, v in run.timings.items())})"
        )
