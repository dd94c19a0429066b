"""`doudi check-parameters` — the parameters in force checked against each other.

条例第9条: every span where a dibao standard (stored values over the defaults) is not below the minimum
wage of a tier some district applies is printed, one line each; exit 1 when there is any, else 0.
"""

from django.core.management.base import BaseCommand

from doudi.parameters.selectors import minimum_wage_warnings


class Command(BaseCommand):
    help = "Check the parameters in force: the dibao standards below the minimum wage (regulation art. 9)."

    def handle(self, *args, **options):
        warnings = minimum_wage_warnings()
        for w in warnings:
            districts = ", ".join(w["districts"]) + (" + others" if w["other_districts"] else "")
            self.stdout.write(
                f"WARNING {w['since']:%Y-%m-%d}: {w['standard_name']} = {w['standard']} is not below "
                f"{w['wage_name']} = {w['wage']} (tier {w['tier']}; districts: {districts or 'all'})"
            )
        if warnings:
            raise SystemExit(1)
        self.stdout.write("OK: every dibao standard is below the minimum wage (art. 9)")
