"""The exception classes of Modal's client that the runner names."""


class Error(Exception):
    pass


class RemoteError(Error):
    pass


class ResourceExhaustedError(Error):
    pass


class TimeoutError(Error):  # Modal shadows the builtin too
    pass


class SandboxTimeoutError(TimeoutError):
    pass
