import sys

from entm import interrupts

interrupts.install()  # first: a Ctrl-C from here on is never dropped (entm.interrupts)
try:
    from entm.cli import run
except KeyboardInterrupt:  # Ctrl-C while Python loads entm: the same one line and status as later
    import atexit
    import os

    print("entm: interrupted", file=sys.stderr)
    # as entm.cli_status.exit_with does (inlined: the import that broke off may have been of that module):
    # os._exit, because CPython re-raises SIGINT at exit (status -2) when the interrupt landed in code an
    # extension ran through PyRun_*, as numba's and importlib's callbacks do during these imports
    atexit._run_exitfuncs()
    sys.stderr.flush()
    os._exit(130)

run()
