import sys

from sagpr.cli import main

sys.exit(main())
