"""`doudi migrate`: Django's migrate, then the database cache's table (createcachetable).

Rate limits and lockouts count in the cache, which is the database cache on PostgreSQL (settings
DOUDI_CACHE); so every migrate — a deployment's, CI's, the test database's — leaves its table in place.
createcachetable does nothing when the table exists or no database cache is configured.
"""

from django.core.management import call_command
from django.core.management.commands.migrate import Command as MigrateCommand


class Command(MigrateCommand):
    def handle(self, *args, **options):
        super().handle(*args, **options)
        call_command("createcachetable", database=options["database"], verbosity=0)
