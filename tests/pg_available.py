"""Exit 0 when the PostgreSQL test server answers (TEST_DATABASE_URL or the local default)."""

import os
import sys

import psycopg

url = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
try:
    psycopg.connect(url, connect_timeout=3).close()
except psycopg.OperationalError:
    sys.exit(1)
