import sys

from doudi.cli import main

sys.exit(main())
