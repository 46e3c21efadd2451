import sys

from training.harness.cli import main

sys.exit(main())
