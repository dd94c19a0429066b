import sys

from doudi.batch.job import main

sys.exit(main())
