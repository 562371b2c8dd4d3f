"""The native module of :mod:`eyeballs` (Rust, PyO3). Use the functions of :mod:`eyeballs`."""

from typing import Any, List, Optional, Sequence, Tuple, final

#: The Connection Attempt Delay of ``Config::default()`` in seconds (0.25, HE-5.7).
DEFAULT_ATTEMPT_DELAY: float
#: The Resolution Delay of ``Config::default()`` in seconds (0.05, HE-3.6).
DEFAULT_RESOLUTION_DELAY: float
#: The First Address Family Count of ``Config::default()`` (1, HE-4.8).
DEFAULT_FIRST_ADDRESS_FAMILY_COUNT: int
#: No attempt starts within this many seconds of the previous one (0.01, HE-5.10).
ATTEMPT_DELAY_FLOOR: float
#: How often a race runs Python's signal handlers when no signal interrupts its wait, in
#: seconds (0.05): the longest a Ctrl-C delivered to another thread waits to cancel it.
SIGNAL_CHECK_INTERVAL: float

#: The longest ``Pending.cancel`` waits for a cancelled race to be dropped, in seconds (5).
CANCEL_WAIT: float

def race(
    host: Optional[str],
    port: int,
    timeout: Optional[float] = None,
    attempt_delay: Optional[float] = None,
    resolution_delay: Optional[float] = None,
    interleave: Optional[int] = None,
    family: int = 0,
    source_ips: Sequence[str] = ...,
    source_port: int = 0,
    hosts: Optional[Sequence[Tuple[str, Sequence[str]]]] = None,
    all_errors: bool = False,
) -> Tuple[int, int, Report]:
    """Runs one race with the GIL released; returns the winner's descriptor (owned by the
    caller from then on), its address family and the report. ``attempt_delay=None``: one attempt after another."""

def start(
    host: Optional[str],
    port: int,
    *,
    addrs: Optional[Sequence[Tuple[str, int, int]]] = None,
    timeout: Optional[float] = None,
    attempt_delay: Optional[float] = None,
    resolution_delay: Optional[float] = None,
    interleave: Optional[int] = None,
    family: int = 0,
    prefer_ipv4: bool = False,
    local_addrs: Optional[Sequence[Tuple[str, int, int]]] = None,
    hosts: Optional[Sequence[Tuple[str, Sequence[str]]]] = None,
) -> Pending:
    """Starts a race on the runtime thread (tokio driver) and returns at once. That thread
    never runs Python: when the race ends, ``Pending.fileno()`` becomes readable and
    ``Pending.outcome()`` gives the outcome. ``addrs`` (``(ip, port, scope_id)``) instead
    of ``host``."""

@final
class Pending:
    """A race in flight."""

    def cancel(self) -> bool:
        """Cancels the race; returns once every socket of it is closed (an outcome not taken
        yet, too: ``outcome()`` then gives ``("cancelled",)``). ``True`` if it was still
        running."""
    def done(self) -> bool:
        """Whether the race's task has ended."""
    def fileno(self) -> int:
        """A descriptor that becomes readable when the race has ended (for
        ``loop.add_reader``; remove it before ``close()`` or dropping this object, which
        close it). ``ValueError`` once closed."""
    def close(self) -> None:
        """Closes the descriptor of ``fileno()``; the race and its outcome are not
        affected."""
    def outcome(self) -> Optional[Tuple[Any, ...]]:
        """Takes the outcome: ``("ok", fd, family, report)`` (a connected non-blocking
        descriptor the caller owns from then on), ``("error", exception)`` or
        ``("cancelled",)``; ``None`` while the race runs and once taken. An outcome never
        taken is dropped with this object (a winner closed)."""

def flush_history() -> None:
    """Forgets what the process's history store remembers: the next connection to each
    host pays the fallback again (the store also forgets when the network changes)."""

@final
class Report:
    """What a race did. ``str(report)`` is the timeline."""

    @property
    def host(self) -> Optional[str]: ...
    @property
    def outcome(self) -> Optional[str]:
        """``"connected"``, ``"failed"`` or ``None``."""
    @property
    def cause(self) -> Optional[str]:
        """``"refused"``, ``"timed_out"``, ``"no_such_name"`` …, or ``None`` if connected."""
    @property
    def winner(self) -> Optional[Tuple[str, int]]: ...
    @property
    def elapsed_ms(self) -> float: ...
    @property
    def attempts(self) -> List[Attempt]: ...
    @property
    def queries(self) -> List[Query]: ...
    @property
    def history_reordered(self) -> bool:
        """Whether what the process's history store knew changed the attempts' order."""
    @property
    def verdict(self) -> str: ...

@final
class Attempt:
    """One connection attempt."""

    @property
    def address(self) -> Tuple[str, int]: ...
    @property
    def family(self) -> str:
        """``"ipv6"`` or ``"ipv4"``."""
    @property
    def started_ms(self) -> float: ...
    @property
    def ended_ms(self) -> Optional[float]: ...
    @property
    def outcome(self) -> str:
        """``"connected"``, ``"refused"``, ``"unreachable"``, ``"timeout"``, ``"error"`` or
        ``"aborted"``."""
    @property
    def errno(self) -> Optional[int]: ...
    @property
    def error(self) -> Optional[str]: ...
    @property
    def delay_ms(self) -> float:
        """The Connection Attempt Delay that ran from its start (derived from the path's
        RTT when history knew one)."""
    @property
    def history(self) -> Optional[str]:
        """What the history store knew about the address when the attempt started
        (``"recently refused"``, ``"srtt 1ms rttvar 0.5ms, used last"``), or ``None``."""

@final
class Query:
    """One DNS query."""

    @property
    def record(self) -> str:
        """``"AAAA"`` or ``"A"``."""
    @property
    def sent_ms(self) -> float: ...
    @property
    def answered_ms(self) -> Optional[float]: ...
    @property
    def outcome(self) -> Optional[str]: ...
    @property
    def addresses(self) -> List[str]: ...
