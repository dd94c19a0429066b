"""`doudi audit verify`: recompute the hash chain and report any edited or deleted entry."""

from django.core.management.base import BaseCommand, CommandError

from doudi.audit.services import verify_chain


class Command(BaseCommand):
    help = "Audit log tools. verify: recompute the hash chain (exit 1 when it is broken)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["verify"])

    def handle(self, *args, **options):
        result = verify_chain()
        if result.ok:
            self.stdout.write(f"audit log intact: {result.checked} entries verified")
            return
        for problem in result.problems:
            self.stderr.write(problem)
        raise CommandError(
            f"audit log BROKEN: {len(result.problems)} problem(s) in {result.checked} entries", returncode=1
        )
