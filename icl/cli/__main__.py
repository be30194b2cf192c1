"""`python -m icl.cli ...`, as the benchmarks start icl in a fresh process."""

import sys

from icl.cli.main import main

sys.exit(main())
