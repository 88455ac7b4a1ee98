import sys

from graphemo.cli import main

sys.exit(main())
