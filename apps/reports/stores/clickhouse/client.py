"""A connection to ClickHouse, named by CLICKHOUSE_URL:

- `clickhouse://user:password@host:port/database`, the native protocol (clickhouse-driver): a
  server from release 18.16 to today's;
- `chdb:///path/to/dir/database`, the engine embedded in this process (chdb): today's release, for
  one process at a time (the tests, a command), never a web and a worker together.

Both take SQL whose parameters are written `%s` and passed in a list, as Django's cursors do,
and answer rows as tuples of Python values. Their errors are Django's, so that the ingest path and
the views treat them as a database's: a server that cannot be reached or is overloaded right now
raises OperationalError (the drain retries it), one that refuses a statement DatabaseError.
"""

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from clickhouse_driver import errors
from clickhouse_driver.util.escape import escape_param
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, OperationalError

# Server error codes that pass: timeouts, too many queries or parts at once, memory, shutting down.
TRANSIENT_SERVER_CODES = {159, 202, 209, 210, 241, 252}


class Client(ABC):
    def __init__(self, database: str):
        self.database = database

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Run one statement; its rows (none for a statement that answers none)."""

    @abstractmethod
    def insert(self, table: str, columns: Sequence[str], rows: list[dict]) -> None:
        """Insert `rows` (dicts by column) into `table` as one block: all of them or none."""


class _Context:
    """What clickhouse-driver's escaping asks of a connection: the time zone of naive times."""

    class server_info:
        @staticmethod
        def get_timezone() -> str:
            return "UTC"

    settings: dict = {}


def sql_with_params(sql: str, params: Sequence[Any]) -> str:
    """`sql` with each `%s` replaced by its parameter as a ClickHouse literal (a literal % is %%)."""
    return sql % tuple(escape_param(_plain(value), _Context) for value in params)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat() if isinstance(value, date) and not isinstance(value, datetime) else value
    return value


class DriverClient(Client):
    def __init__(self, *, host: str, port: int, user: str, password: str, database: str, settings: dict):
        from clickhouse_driver import Client as NativeClient

        super().__init__(database)
        self._native = NativeClient(
            settings=settings,
            host=host,
            port=port,
            user=user,
            password=password,
            # Statements name their database: the first one creates it.
            database="default",
            connect_timeout=5,
            send_receive_timeout=300,
        )

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with _django_errors():
            return self._native.execute(sql_with_params(sql, params) if params else sql)

    def insert(self, table: str, columns: Sequence[str], rows: list[dict]) -> None:
        by_column = [[row[name] for row in rows] for name in columns]
        with _django_errors():
            self._native.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES", by_column, columnar=True)

    def disconnect(self) -> None:
        self._native.disconnect()


class ChdbClient(Client):
    def __init__(self, *, path: str, database: str):
        from chdb.session import Session

        super().__init__(database)
        self._session = Session(path)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with _django_errors():
            result = self._session.query(sql_with_params(sql, params) if params else sql, "ArrowTable")
        if result is None or not hasattr(result, "columns"):
            return []
        return list(zip(*(column.to_pylist() for column in result.columns), strict=True))

    def insert(self, table: str, columns: Sequence[str], rows: list[dict]) -> None:
        import json

        lines = "\n".join(json.dumps({name: row[name] for name in columns}, default=str) for row in rows)
        with _django_errors():
            self._session.query(f"INSERT INTO {table} ({', '.join(columns)}) FORMAT JSONEachRow\n{lines}")


@contextmanager
def _django_errors() -> Iterator[None]:
    try:
        yield
    except errors.ServerException as exc:
        if exc.code in TRANSIENT_SERVER_CODES:
            raise OperationalError(f"ClickHouse: {exc.message}") from exc
        raise DatabaseError(f"ClickHouse: {exc.message}") from exc
    except (
        errors.NetworkError,
        errors.SocketTimeoutError,
        errors.UnexpectedPacketFromServerError,
        OSError,
        EOFError,
    ) as exc:
        raise OperationalError(f"ClickHouse unreachable: {exc}") from exc
    except errors.Error as exc:
        raise DatabaseError(f"ClickHouse: {exc}") from exc
    except RuntimeError as exc:
        # chdb's refusals (ChdbError is a RuntimeError).
        raise DatabaseError(f"ClickHouse: {exc}") from exc


def client_connect(url: str, *, settings: dict | None = None, host: str = "", port: int = 0) -> Client:
    """A client for CLICKHOUSE_URL, sending `settings` with every statement; `host` and `port`: another
    server of the same cluster, with the same user."""
    parts = urlsplit(url)
    database = unquote(parts.path.rsplit("/", 1)[-1]) or "default"
    if parts.scheme == "clickhouse":
        return DriverClient(
            host=host or parts.hostname or "localhost",
            port=port or parts.port or 9000,
            user=unquote(parts.username or "default"),
            password=unquote(parts.password or ""),
            database=database,
            settings=settings or {},
        )
    if parts.scheme == "chdb" and not settings:
        return ChdbClient(path=parts.path.rsplit("/", 1)[0] or ".", database=database)
    raise ImproperlyConfigured(
        f"CLICKHOUSE_URL must be clickhouse://user:password@host:port/database or chdb:///dir/database"
        f" (one process, no cluster), not {url!r}"
    )
