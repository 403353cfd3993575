import sys

from entm.cli import main

sys.exit(main())
