import sys

from localize.cli import main

sys.exit(main())
