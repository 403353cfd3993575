"""User-facing errors.

Every problem caused by bad input (a malformed file, a config that does not fit
the task, an unknown name, ...) is raised as :class:`EntmError` with a one-line
message that names the problem.  The command line prints it as
``entm: error: <message>`` and exits with status 2, without a traceback.
"""


class EntmError(Exception):
    """Bad input: the message is one line, names the problem and, where it can,
    says what was expected."""
