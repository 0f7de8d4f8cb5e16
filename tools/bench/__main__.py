import sys

from tools.bench.runner import main

sys.exit(main())
