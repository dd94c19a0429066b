import os

# Before numpy is imported: huge-page advice makes the first touch of fresh arrays slow on small VMs
# (measured: first 1M-household evaluation 1.5 s with it, 0.4 s without; docs/benchmarks.md P1).
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doudi.settings")
application = get_wsgi_application()
