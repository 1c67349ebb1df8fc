"""attend's exceptions. The C++ library raises these through the bindings: ``code`` is the stable
code name (``"dtype"``, ``"head_dim"``, ``"unknown_backend"``, ...; ``attend.code_names()`` lists
them), and the message is the same text the C++ API and the ``attend`` command print."""

from ._types import Verdict


class Error(RuntimeError):
    """attend refused a call (bad input, no such backend) or a backend failed while running."""

    def __init__(self, message: str, code: str = "runtime"):
        super().__init__(message)
        self.code = code

    def __reduce__(self):  # picklable (multiprocessing) with its code
        return (type(self), (str(self), self.code))


class NoBackendError(Error):
    """The backend asked for (or, for ``auto``, every backend) refuses the problem.

    ``verdicts`` holds every backend's answer as data; ``str(error)`` is the table
    backend | what | expected | got."""

    def __init__(self, message: str, code: str, requested: str, verdicts: list):
        super().__init__(message, code)
        self.requested = requested
        self.verdicts = [v if isinstance(v, Verdict) else Verdict.from_dict(v) for v in verdicts]

    def __reduce__(self):
        return (type(self), (str(self), self.code, self.requested, self.verdicts))


Error.__module__ = NoBackendError.__module__ = "attend"  # as users name them
