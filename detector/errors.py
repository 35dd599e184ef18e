"""One exception tree for the whole project.

Foreign exceptions (httpx, sqlite3, smtplib, yaml, pydantic) are translated into these at the
edge that meets them, so callers only ever catch our own types::

    DetectorError
    ├── ConfigError              bad settings file or environment; names the field
    ├── RuleError                an invalid rule file; names file, line, rule and field
    │   └── RuleErrors           every problem of a rule directory at once (`errors`)
    ├── SourceError              the CDR feed
    │   ├── AuthError            401/403: stop, the credentials or permissions are wrong
    │   ├── RetryableSourceError 429/5xx/timeouts/malformed pages: retry later (retry_after)
    │   ├── PermanentSourceError 4xx other than the above: a request we should not repeat
    │   │   └── NotFoundError    404: no such account or call
    │   └── OversizedResponse    a page over the byte cap: read it in smaller pages
    ├── NoDataError              a query matched no calls (an empty range or filters)
    ├── StateError               the SQLite state file: unreadable, corrupt, newer schema, full
    └── DeliveryError            a notifier
        ├── RetryableDelivery    try again later (retry_after seconds if the receiver said)
        └── PermanentDelivery    the receiver refuses this message for good

Exit codes (`exit_code`): 2 means "fix the configuration, do not restart" (bad settings or
rules, refused credentials, a state file an operator must repair); 1 means "try again" (a
transient failure at start, such as a full disk). The systemd unit sets
`RestartPreventExitStatus=2` so it never restarts into the same mistake.
"""

from __future__ import annotations

EXIT_RETRY = 1
"""Exit code for failures that may pass: a supervisor should restart the daemon later."""
EXIT_CONFIG = 2
"""Exit code for failures an operator must fix: a supervisor must not restart the daemon."""


class DetectorError(Exception):
    """Root of every error this project raises on purpose.

    Errors pickle with their fields (a `RuleErrors` raised in a worker process reaches the
    parent whole): the default pickle calls the class again with the message alone, which the
    keyword-only fields of most subclasses refuse.
    """

    def __reduce__(self) -> tuple[object, ...]:
        """Rebuilt without calling `__init__`: the same class, arguments and fields."""
        return _restore, (type(self), self.args, dict(self.__dict__))


def _restore(
    cls: type[DetectorError], args: tuple[object, ...], fields: dict[str, object]
) -> DetectorError:
    """An unpickled error: `cls` with these `args` and attribute `fields`."""
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(fields)
    return error


class ConfigError(DetectorError):
    """The settings file or environment is invalid; the message names the field."""


class RuleError(DetectorError):
    """A rule file is invalid; the message names the file, the line, the rule and the field."""

    def __init__(
        self,
        message: str,
        *,
        path: str = "",
        rule: str = "",
        field: str = "",
        line: int | None = None,
    ) -> None:
        super().__init__(message)
        self.path = path
        self.rule = rule
        self.field = field
        self.line = line


class RuleErrors(RuleError):
    """Every problem found in a rule directory, in file order; the message has one per line.

    Its `path`, `rule`, `field` and `line` are those of the first problem, so code that
    handles one `RuleError` keeps working.
    """

    def __init__(self, errors: list[RuleError]) -> None:
        first = errors[0]
        super().__init__(
            "\n".join(str(e) for e in errors),
            path=first.path, rule=first.rule, field=first.field, line=first.line,
        )  # fmt: skip
        self.errors = tuple(errors)


class SourceError(DetectorError):
    """The CDR feed failed."""


class AuthError(SourceError):
    """The API refused our credentials (401) or permissions (403): retrying cannot help."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class RetryableSourceError(SourceError):
    """A transient fault (429, 5xx, timeout, malformed page); retry after `retry_after` s."""

    def __init__(self, message: str, *, reason: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.retry_after = retry_after


class PermanentSourceError(SourceError):
    """A client error the API will keep giving for the same request."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class NotFoundError(PermanentSourceError):
    """The API answered 404: the account or the call does not exist (for these credentials)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=404)


class NoDataError(DetectorError):
    """A query matched no calls; the message names the range and the filters."""


class OversizedResponse(SourceError):
    """The API sent more bytes for one request than `api.max_response_bytes` allows.

    Nothing beyond the cap was read. `head` is the body's first bytes (a stable identity for
    the page or row, so a quarantined row is recorded once).
    """

    def __init__(self, message: str, *, head: bytes) -> None:
        super().__init__(message)
        self.head = head


class StateError(DetectorError):
    """The state file cannot be used; the message says what to do.

    `transient` is True when the condition may pass without an operator (disk full, an I/O
    error, the file locked by a backup): the running daemon keeps its last commit and retries.
    """

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class DeliveryError(DetectorError):
    """A notifier could not deliver a notification."""


class RetryableDelivery(DeliveryError):
    """The receiver is down or throttling; retry after `retry_after` seconds if given."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentDelivery(DeliveryError):
    """The receiver rejects this notification for good (bad payload, revoked hook)."""


def exit_code(exc: DetectorError) -> int:
    """The process exit code for an error that stops a command.

    >>> exit_code(ConfigError("x")), exit_code(StateError("full", transient=True))
    (2, 1)
    """
    if isinstance(exc, ConfigError | RuleError | AuthError):
        return EXIT_CONFIG
    if isinstance(exc, StateError):
        return EXIT_RETRY if exc.transient else EXIT_CONFIG
    return EXIT_RETRY
