"""The `doudi` console command: a front for Django's manage.py with the platform's own verbs.

    doudi migrate | serve | worker | demo | synth | audit verify | evaluate FILE … | <any manage.py command>

`doudi evaluate --defaults-only` needs no database and no Django set-up, so anyone can reproduce
POLICY.md's numbers from the shipped parameters alone.
"""

import os
import sys

# Before numpy is imported: huge-page advice makes the first touch of fresh arrays slow on small VMs
# (measured: first 1M-household evaluation 1.5 s with it, 0.4 s without; docs/benchmarks.md P1).
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")

ALIASES = {
    "serve": "runserver",
    "worker": "db_worker",
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["evaluate"] and "--defaults-only" in argv:
        from doudi.policy.cli import main as evaluate_main

        return evaluate_main(argv[1:])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doudi.settings")
    from django.core.management import execute_from_command_line

    if argv:
        argv[0] = ALIASES.get(argv[0], argv[0])
    execute_from_command_line(["doudi", *argv])
    return 0


if __name__ == "__main__":
    sys.exit(main())
