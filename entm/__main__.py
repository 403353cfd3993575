import sys

from entm import interrupts

interrupts.install()  # first: a Ctrl-C from here on is never dropped (entm.interrupts)
try:
    from entm.cli import run
except KeyboardInterrupt:  # Ctrl-C while Python loads entm: the same one line and status as later
    print("entm: interrupted", file=sys.stderr)
    sys.exit(130)

run()
