"""SFTP transport to a reseller's server, on top of the Airflow SFTP provider.

The transport moves bytes and nothing else: it lists the partner's folder,
downloads the files the caller has not landed yet, and uploads files
atomically (under the name plus the partner's partial suffix, then renamed).
It neither reads content nor writes to the database; names are the
reseller's :class:`~reseller_sync.core.exchange.ExchangeNaming`'s to parse.

Seam with the exchange journal
------------------------------
:meth:`SftpTransport.fetch_new` takes a :class:`LandedIndex`, the journal's
answer to "is this file already landed?", asked two ways:

- ``is_landed(name)``: a name already landed is not downloaded again;
- ``name_with_sha256(sha256)``: the same bytes already landed under another
  name. Such a file is still downloaded and returned, with ``duplicate_of``
  naming the earlier file, so the journal records it as a duplicate instead
  of the transport dropping it silently.

It returns :class:`LandedFile` objects (name, bytes, size, sha256, parsed
name), which the journal stores, one transaction per file. Until the journal
exists, :class:`KnownFiles` is an in-memory index.

A partner that sends batches (``core.exchange.Unit``) makes a batch visible by
its closing file: the transport downloads the closing file with every data
file of the same stream and sequence in the folder (its *members*), and
leaves data files without a closing file where they are (a batch still being
written). A batch the journal says the partner may replace (it failed and was
not set aside: ``replaceable(name)``) is downloaded again at each call and
returned, marked ``replaces``, when its bytes differ from the landed ones'. The
closing file of any other batch already landed and still in the folder is read
again (``landed_sha256(name)``): other bytes under a landed batch's name are
refused, left on the server and reported with the naming's
``changed_batch_code``.

Failures are sorted into the package's error family:

- server unreachable, timeouts, dropped connections:
  ``TemporaryExternalError`` (``temporary`` is True: retry later);
- authentication refused, host key mismatch, a folder missing or not
  writable, an unsafe or oversized file: ``ExternalError`` (not temporary)
  with an action for a person;
- a connection that is missing or badly set up: ``ConfigurationError``;
- anything else, a bug here: ``TechnicalError``.

Messages never hold the connection's password or private key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import posixpath
import re
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, NoReturn, Protocol, TypeVar

import paramiko

from reseller_sync.core.exchange import ExchangeName, ExchangeNaming, Sender, Unit
from reseller_sync.domain.errors import (
    ConfigurationError,
    ExternalError,
    Problem,
    SyncError,
    TechnicalError,
    TemporaryExternalError,
)
from reseller_sync.domain.texts import Localized
from reseller_sync.exchange.filenames import (
    is_part_name,
    parse_exchange_name,
    shown_name,
    unsafe_reason,
)

if TYPE_CHECKING:
    from airflow.providers.sftp.hooks.sftp import SFTPHook

FOLDERS_ACTION = Localized(
    fr="Comparez les dossiers des réglages avec ce que {reseller} a donné à la mise en place.",
    en="Check the folder settings against what {reseller} gave at set-up.",
)

log = logging.getLogger(__name__)

_T = TypeVar("_T")

MIB = 1024 * 1024
_READ_CHUNK = 1 * MIB
_MAX_PREFETCH_REQUESTS = 64

ProgressCallback = Callable[[int, int], None]
"""Called during an upload with (bytes sent so far, total bytes)."""


@dataclass(frozen=True)
class TransportSettings:
    """Where the files are and how long to wait; the connection holds the rest."""

    incoming_folder: str
    """The partner's folder, read-only for us."""
    outgoing_folder: str
    """Where we drop our files."""
    processed_folder: str | None
    """Where the partner moves our files once picked up; checked so that a
    name is never reused. None to skip that check."""
    max_file_size: int = 200 * MIB
    """Largest file accepted for download, in bytes."""
    connect_timeout: int = 30
    """Seconds to open the TCP connection, read the banner and authenticate,
    when the connection's ``conn_timeout`` extra does not say."""
    transfer_timeout: float = 60.0
    """Seconds any single exchange with the server may stall, listing and
    transfers included, before the batch fails as temporary."""
    connect_attempts: int = 1
    """Attempts to connect within one call. Airflow's task retries space out
    further attempts; retrying refused credentials at once helps nobody."""
    archive_folder: str | None = None
    """Where the organiser moves the partner's files it has processed, when its contract
    says so; None when the files stay."""


@dataclass(frozen=True)
class RemoteFile:
    """An exchange file listed in the partner's folder."""

    name: str
    size: int
    parsed: ExchangeName
    modified: dt.datetime | None = None
    """When the server last wrote it (UTC), when the server says."""


@dataclass(frozen=True)
class Listing:
    """What the partner's folder holds, sorted out."""

    files: tuple[RemoteFile, ...]
    """Exchange files within the size limit, sorted by name."""
    refused: tuple[Problem, ...] = ()
    """Unsafe names and oversized files: never downloaded; a person must look."""
    ignored: tuple[str, ...] = ()
    """Safe names that are not exchange files (other names, directories)."""
    in_progress: tuple[str, ...] = ()
    """Files the partner is still writing (their partial suffix)."""


@dataclass(frozen=True)
class LandedFile:
    """A downloaded file, complete and checked against the size limit."""

    name: str
    data: bytes = field(repr=False)
    size: int
    sha256: str
    parsed: ExchangeName
    duplicate_of: str | None = None
    """Name of a file landed earlier (or earlier in this batch) with the same
    bytes: the journal records this one as a duplicate, not as new content."""
    members: tuple[LandedMember, ...] = ()
    """A batch's data files, when this file closes a batch."""
    replaces: bool = False
    """A batch the partner replaced under the same name after it failed: the journal
    takes its new bytes in place of the old."""

    @property
    def fingerprint(self) -> str:
        return batch_fingerprint(self.sha256, ((m.name, m.sha256) for m in self.members))


@dataclass(frozen=True)
class LandedMember:
    """A data file of a batch, downloaded with its closing file."""

    name: str
    data: bytes = field(repr=False)
    size: int
    sha256: str


def batch_fingerprint(sha256: str, members: Iterable[tuple[str, str]]) -> str:
    """What identifies a landed unit's bytes: its own SHA-256 and its members' names and
    SHA-256 (a file on its own: its SHA-256)."""
    listed = sorted(members)
    if not listed:
        return sha256
    digest = hashlib.sha256(sha256.encode())
    for name, member_sha256 in listed:
        digest.update(f"\n{name} {member_sha256}".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class FetchResult:
    """Outcome of one :meth:`SftpTransport.fetch_new` batch."""

    landed: tuple[LandedFile, ...]
    already_landed: tuple[str, ...] = ()
    refused: tuple[Problem, ...] = ()
    ignored: tuple[str, ...] = ()
    in_progress: tuple[str, ...] = ()
    remaining: int = 0
    """New files left on the server because of ``max_files``."""
    unclosed: tuple[RemoteFile, ...] = ()
    """Data files of batches whose closing file is not on the server: left where they are."""

    def raise_for_refused(self) -> None:
        """Raise a permanent ``ExternalError`` listing the refused files, if any.

        Call it after landing ``landed``: the good files of a batch go
        through, and the refused ones still stop the task for a person.
        """
        if self.refused:
            raise ExternalError(
                f"{len(self.refused)} file(s) on the partner's server were refused "
                "and not downloaded",
                problems=self.refused,
                action=Localized(
                    fr="Demandez à {reseller} de retirer ou de remplacer les fichiers cités "
                    "ci-dessous ; ils seront récupérés à nouveau une fois corrigés.",
                    en="Ask {reseller} to remove or replace the files named below; "
                    "they will be fetched again once fixed.",
                ),
            )


@dataclass(frozen=True)
class SentFile:
    """A file delivered under its final name in the outgoing folder."""

    name: str
    size: int
    sha256: str
    already_present: bool = False
    """The same bytes were already on the server under that name (a retried
    upload whose first attempt had succeeded): nothing was sent again."""


class LandedIndex(Protocol):
    """What the exchange journal knows about files already landed."""

    def is_landed(self, name: str) -> bool:
        """Whether a file of that name has already been landed."""
        ...

    def name_with_sha256(self, sha256: str) -> str | None:
        """The name of a landed file with these bytes, if any."""
        ...

    def replaceable(self, name: str) -> str | None:
        """The fingerprint of a landed batch the partner may replace under its name (it
        failed and was not set aside); None for any other name."""
        ...

    def landed_sha256(self, name: str) -> str | None:
        """The SHA-256 of the bytes landed under ``name``, for the transport to compare the
        closing file in the folder with; None when it is not landed, or not to compare."""
        ...


@dataclass
class KnownFiles:
    """An in-memory :class:`LandedIndex`, for tests and one-off scripts."""

    by_name: dict[str, str] = field(default_factory=dict)
    """sha256 of each landed file, by name."""

    def add(self, name: str, sha256: str) -> None:
        self.by_name[name] = sha256

    def is_landed(self, name: str) -> bool:
        return name in self.by_name

    def name_with_sha256(self, sha256: str) -> str | None:
        return next((name for name, known in self.by_name.items() if known == sha256), None)

    def replaceable(self, name: str) -> str | None:
        return None

    def landed_sha256(self, name: str) -> str | None:
        return self.by_name.get(name)


class _FileTooLargeError(Exception):
    """Raised while reading: the file is bigger than the limit."""


class SftpTransport:
    """Transfers exchange files over SFTP through an Airflow connection.

    Every public method opens one SSH connection, does all its work through
    it, and closes it. The connection (Airflow connection ``conn_id``) must
    verify the server's host key: its ``host_key`` extra, or the system's
    ``known_hosts``. A connection that disables the check is refused.
    ``naming`` is the reseller's (``adapter(code).naming()``).
    """

    def __init__(
        self,
        conn_id: str,
        settings: TransportSettings,
        *,
        naming: ExchangeNaming,
    ) -> None:
        self.conn_id = conn_id
        self.settings = settings
        self.naming = naming

    # Public API -----------------------------------------------------------

    def check(self) -> None:
        """Connect, authenticate and check that both folders exist."""
        with self._session() as sftp:
            for folder in (self.settings.incoming_folder, self.settings.outgoing_folder):
                mode = self._in_folder(folder, partial(sftp.stat, folder)).st_mode
                if mode is not None and not stat.S_ISDIR(mode):
                    raise ExternalError(
                        f"{folder} on the server of connection {self.conn_id!r} is not a folder",
                        action=FOLDERS_ACTION,
                    )

    def list_incoming(self) -> Listing:
        """List the partner's folder, sorting out what may be downloaded."""
        with self._session() as sftp:
            return self._list(sftp)

    def fetch_new(self, landed: LandedIndex, *, max_files: int | None = None) -> FetchResult:
        """Download the exchange files not landed yet, in name order.

        Nothing partial is ever returned: if the connection drops or stalls,
        the whole call raises ``TemporaryExternalError`` and the files are
        fetched again next time. ``max_files`` bounds a batch (memory, and
        progress on a flaky link); the rest is counted in ``remaining``.
        """
        with self._session() as sftp:
            listing = self._list(sftp)
            members: dict[tuple[str, int], list[RemoteFile]] = {}
            for item in listing.files:
                if item.parsed.unit is Unit.BATCH_DATA:
                    members.setdefault(_batch_key(item), []).append(item)
            new_files: list[RemoteFile] = []
            replaceable: list[tuple[RemoteFile, str]] = []
            already: list[str] = []
            changed_since: list[tuple[RemoteFile, str]] = []
            for item in listing.files:
                if item.parsed.unit is Unit.BATCH_DATA:
                    continue
                if not landed.is_landed(item.name):
                    new_files.append(item)
                elif (fingerprint := _replaceable(landed, item)) is not None:
                    replaceable.append((item, fingerprint))
                elif (
                    item.parsed.unit is Unit.BATCH_CLOSING
                    and (sha256 := landed.landed_sha256(item.name)) is not None
                ):
                    changed_since.append((item, sha256))
                else:
                    already.append(item.name)
            batch = new_files if max_files is None else new_files[:max_files]
            refused = list(listing.refused)
            files: list[LandedFile] = []
            batch_names_by_sha: dict[str, str] = {}
            for item in batch:
                try:
                    data = self._download(sftp, item)
                    landed_members = self._download_members(sftp, item, members)
                except _FileTooLargeError:
                    refused.append(self._too_large(item.name))
                    continue
                digest = hashlib.sha256(data).hexdigest()
                duplicate_of = landed.name_with_sha256(digest) or batch_names_by_sha.get(digest)
                batch_names_by_sha.setdefault(digest, item.name)
                if duplicate_of is not None:
                    log.warning("%s holds the same bytes as %s", item.name, duplicate_of)
                files.append(
                    LandedFile(
                        name=item.name,
                        data=data,
                        size=len(data),
                        sha256=digest,
                        parsed=item.parsed,
                        duplicate_of=duplicate_of,
                        members=landed_members,
                    )
                )
            for item, fingerprint in replaceable:
                try:
                    again = self._download_unit(sftp, item, members)
                except _FileTooLargeError:
                    refused.append(self._too_large(item.name))
                    continue
                if again.fingerprint == fingerprint:
                    already.append(item.name)
                    continue
                log.warning("%s was replaced by the partner since it failed", item.name)
                files.append(again)
            for item, sha256 in changed_since:
                if self._same_as_landed(sftp, item, sha256):
                    already.append(item.name)
                else:
                    refused.append(self._changed_after_landing(item.name))
            return FetchResult(
                landed=tuple(files),
                already_landed=tuple(already),
                refused=tuple(refused),
                ignored=listing.ignored,
                in_progress=listing.in_progress,
                remaining=len(new_files) - len(batch),
                unclosed=_unclosed(listing),
            )

    def closing_files_changed(self, landed_sha256: Mapping[str, str]) -> list[str]:
        """Of the closing files named (with the SHA-256 of their landed bytes), those the
        partner's folder now holds with other bytes, or too large to read: a batch that
        must not be archived, nor taken for the one landed."""
        if not landed_sha256:
            return []
        with self._session() as sftp:
            by_name = {item.name: item for item in self._list(sftp).files}
            return [
                name
                for name, sha256 in landed_sha256.items()
                if name in by_name and not self._same_as_landed(sftp, by_name[name], sha256)
            ]

    def unclosed_batch_files(self) -> tuple[RemoteFile, ...]:
        """The data files in the partner's folder whose batch has no closing file yet."""
        return _unclosed(self.list_incoming())

    def archive(self, names: Sequence[str]) -> list[str]:
        """Move the partner's processed files to the archive folder, in the order given; the
        names moved. A name already in the archive and not in the folder counts as moved (a
        retried call); one in neither is logged and left out."""
        folder = self.settings.archive_folder
        if folder is None:
            raise TechnicalError("no archive folder is set for this partner's files")
        moved: list[str] = []
        with self._session() as sftp:
            for name in names:
                source = posixpath.join(self.settings.incoming_folder, name)
                target = posixpath.join(folder, name)
                try:
                    sftp.posix_rename(source, target)
                except FileNotFoundError:
                    try:
                        sftp.stat(target)
                    except FileNotFoundError:
                        log.warning("%s is neither in the folder nor in the archive", name)
                        continue
                moved.append(name)
        log.info("Archived %d file(s) in %s", len(moved), folder)
        return moved

    def _download_members(
        self,
        sftp: paramiko.SFTPClient,
        item: RemoteFile,
        members: dict[tuple[str, int], list[RemoteFile]],
    ) -> tuple[LandedMember, ...]:
        if item.parsed.unit is not Unit.BATCH_CLOSING:
            return ()
        landed: list[LandedMember] = []
        for member in members.get(_batch_key(item), []):
            data = self._download(sftp, member)
            landed.append(
                LandedMember(member.name, data, len(data), hashlib.sha256(data).hexdigest())
            )
        return tuple(landed)

    def _download_unit(
        self,
        sftp: paramiko.SFTPClient,
        item: RemoteFile,
        members: dict[tuple[str, int], list[RemoteFile]],
    ) -> LandedFile:
        data = self._download(sftp, item)
        return LandedFile(
            name=item.name,
            data=data,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            parsed=item.parsed,
            members=self._download_members(sftp, item, members),
            replaces=True,
        )

    def upload(
        self, name: str, data: bytes, *, progress: ProgressCallback | None = None
    ) -> SentFile:
        """Deliver one file atomically to the outgoing folder."""
        return self.upload_all([(name, data)], progress=progress)[0]

    def upload_all(
        self,
        files: Iterable[tuple[str, bytes]],
        *,
        progress: ProgressCallback | None = None,
    ) -> list[SentFile]:
        """Deliver files atomically, in order, through one connection.

        Each file is written under its name plus the partial suffix and renamed once
        complete and its size confirmed, so the partner never sees a partial
        file. A name already on the server (in the outgoing or processed
        folder) with the same bytes counts as delivered; with other bytes it
        is a reused name, a bug: ``TechnicalError``.
        """
        outgoing = [(name, data) for name, data in files]
        for name, _ in outgoing:
            self._check_outgoing_name(name)
        with self._session() as sftp:
            return [self._upload(sftp, name, data, progress) for name, data in outgoing]

    # Connection -----------------------------------------------------------

    def _make_hook(self) -> SFTPHook:
        # Imported here: importing Airflow takes seconds, and this module is
        # also imported by tools that never connect.
        from airflow.providers.sftp.hooks.sftp import SFTPHook

        try:
            hook = SFTPHook(
                ssh_conn_id=self.conn_id,
                conn_retry_attempts=self.settings.connect_attempts,
            )
        except Exception as exc:
            raise ConfigurationError(
                f"Airflow connection {self.conn_id!r} cannot be used: {_clean(exc)}",
                action=Localized(
                    fr=f"Définissez la connexion {self.conn_id!r} comme le décrit "
                    "docs/sftp-and-sandbox.md (host, port, login, host_key, key_file).",
                    en=f"Define connection {self.conn_id!r} as described in "
                    "docs/sftp-and-sandbox.md (host, port, login, host_key, key_file).",
                ),
            ) from None
        if hook.no_host_key_check or hook.allow_host_key_change:
            raise ConfigurationError(
                f"Airflow connection {self.conn_id!r} disables host key verification",
                action=Localized(
                    fr="Retirez les extras no_host_key_check et allow_host_key_change et "
                    "renseignez host_key avec la clé donnée par {reseller} à la mise en place.",
                    en="Remove the no_host_key_check and allow_host_key_change extras and set "
                    "host_key to the key {reseller} gave at set-up.",
                ),
            )
        if hook.conn_timeout is None:
            hook.conn_timeout = self.settings.connect_timeout
        if hook.auth_timeout is None:
            hook.auth_timeout = hook.conn_timeout
        hook.banner_timeout = float(hook.conn_timeout)
        return hook

    @contextmanager
    def _session(self) -> Iterator[paramiko.SFTPClient]:
        """One SSH connection, its errors sorted into the error family."""
        hook = self._make_hook()
        managed = hook.get_managed_conn()
        try:
            sftp = managed.__enter__()
        except Exception as exc:
            self._raise_connect_error(exc, hook)
        try:
            channel = sftp.get_channel()
            if channel is None:
                raise TechnicalError("the SFTP client has no channel")
            channel.settimeout(self.settings.transfer_timeout)
            yield sftp
        except SyncError:
            raise
        except Exception as exc:
            self._raise_transfer_error(exc, hook)
        finally:
            # Closing a connection the server has dropped raises again: that
            # must neither hide the error being raised nor fail finished work.
            try:
                managed.__exit__(None, None, None)
            except Exception:
                log.debug("Error while closing the SFTP connection", exc_info=True)

    def _raise_connect_error(self, exc: Exception, hook: SFTPHook) -> NoReturn:
        where = f"{hook.remote_host}:{hook.port} (connection {self.conn_id!r})"
        if isinstance(exc, paramiko.BadHostKeyException):
            raise ExternalError(
                f"the server at {where} presented host key {exc.key.get_name()} "
                f"{exc.key.fingerprint}, not the expected {exc.expected_key.fingerprint}",
                action=Localized(
                    fr="Ne vous connectez pas : quelqu'un usurpe peut-être le serveur. Demandez "
                    "à {reseller}, par téléphone ou par e-mail, si sa clé d'hôte a changé ; "
                    "alors seulement, mettez à jour l'extra host_key de la connexion avec "
                    "l'empreinte que {reseller} confirme.",
                    en="Do not connect: someone may be impersonating the server. Ask "
                    "{reseller}, by phone or e-mail, whether its host key changed; only then "
                    "update the connection's host_key extra with the fingerprint {reseller} "
                    "confirms.",
                ),
            ) from exc
        if isinstance(exc, paramiko.AuthenticationException):
            raise ExternalError(
                f"the server at {where} refused login {hook.username!r}: {_clean(exc, hook)}",
                action=Localized(
                    fr="Vérifiez le login de la connexion et son mot de passe ou son fichier de "
                    "clé, et demandez à {reseller} si le compte est actif et la clé publique "
                    "enregistrée.",
                    en="Check the connection's login and its password or key file, and ask "
                    "{reseller} whether the account is active and the public key registered.",
                ),
            ) from exc
        if isinstance(exc, paramiko.SSHException) and "known_hosts" in str(exc):
            raise ConfigurationError(
                f"the host key of {where} is unknown: the connection has no host_key",
                action=Localized(
                    fr="Renseignez l'extra host_key de la connexion avec la clé donnée par "
                    "{reseller} à la mise en place (par exemple 'ssh-ed25519 AAAA...').",
                    en="Set the connection's host_key extra to the key {reseller} gave at "
                    "set-up (for example 'ssh-ed25519 AAAA...').",
                ),
            ) from exc
        if isinstance(exc, OSError) and exc.filename is not None:
            raise ConfigurationError(
                f"connection {self.conn_id!r}: cannot read {exc.filename}: {exc.strerror}",
                action=Localized(
                    fr="Vérifiez l'extra key_file de la connexion et les droits du fichier.",
                    en="Check the connection's key_file extra and the file's permissions.",
                ),
            ) from None
        if isinstance(exc, OSError | EOFError | paramiko.SSHException):
            raise TemporaryExternalError(
                f"cannot reach the server at {where}: {_describe(exc, hook)}",
                action=Localized(
                    fr="Réessayez plus tard ; si cela dure, vérifiez le réseau, l'hôte et le "
                    "port de la connexion, puis contactez {reseller}.",
                    en="Retry later; if it lasts, check the network and the host and port of "
                    "the connection, then contact {reseller}.",
                ),
            ) from exc
        if isinstance(exc, ValueError):
            raise ConfigurationError(
                f"connection {self.conn_id!r} is badly set up: {_clean(exc, hook)}"
            ) from None
        raise TechnicalError(
            f"unexpected error while connecting with {self.conn_id!r}: {_describe(exc, hook)}"
        ) from exc

    def _raise_transfer_error(self, exc: Exception, hook: SFTPHook) -> NoReturn:
        server = f"{hook.remote_host}:{hook.port}"
        if isinstance(exc, TimeoutError):
            raise TemporaryExternalError(
                f"the server at {server} stopped answering for more than "
                f"{self.settings.transfer_timeout:g} s",
            ) from exc
        if isinstance(exc, EOFError | ConnectionError | paramiko.SSHException):
            raise TemporaryExternalError(
                f"the connection to {server} was lost: {_describe(exc, hook)}",
            ) from exc
        if isinstance(exc, PermissionError | FileNotFoundError):
            raise ExternalError(
                f"the server at {server} refused an operation: {_clean(exc, hook)}",
                action=Localized(
                    fr="Comparez les dossiers des réglages avec ce que {reseller} a donné à la "
                    "mise en place, et demandez à {reseller} de vérifier les droits du compte "
                    "sur ses dossiers.",
                    en="Check the folder settings against what {reseller} gave at set-up, and "
                    "ask {reseller} to check the account's rights on its folders.",
                ),
            ) from exc
        if isinstance(exc, OSError):
            raise TemporaryExternalError(
                f"the server at {server} reported a failure: {_describe(exc, hook)}",
            ) from exc
        raise TechnicalError(
            f"unexpected error while exchanging files with {server}: {_describe(exc, hook)}"
        ) from exc

    # Listing and download -------------------------------------------------

    def _in_folder(self, folder: str, operation: Callable[[], _T]) -> _T:
        """Run ``operation``, naming ``folder`` if the server says it is missing."""
        try:
            return operation()
        except FileNotFoundError:
            raise ExternalError(
                f"folder {folder} does not exist on the server of connection {self.conn_id!r}",
                action=FOLDERS_ACTION,
            ) from None
        except UnicodeDecodeError:
            raise ExternalError(
                f"folder {folder} holds a file name that is not valid UTF-8",
                action=Localized(
                    fr="Demandez à {reseller} de retirer du dossier le fichier mal nommé.",
                    en="Ask {reseller} to remove the badly named file from the folder.",
                ),
            ) from None

    def _list(self, sftp: paramiko.SFTPClient) -> Listing:
        folder = self.settings.incoming_folder
        entries = self._in_folder(folder, lambda: sftp.listdir_attr(folder))
        files: list[RemoteFile] = []
        refused: list[Problem] = []
        ignored: list[str] = []
        in_progress: list[str] = []
        for entry in sorted(entries, key=lambda attributes: attributes.filename):
            name = entry.filename
            reason = unsafe_reason(name)
            if reason is not None:
                log.error("Refused file name %s: %s", shown_name(name), reason)
                refused.append(Problem(reason=f"unsafe file name: {reason}", file=shown_name(name)))
                continue
            if is_part_name(name, self.naming):
                in_progress.append(name)
                continue
            parsed = parse_exchange_name(name, self.naming)
            if parsed is None or (entry.st_mode is not None and not stat.S_ISREG(entry.st_mode)):
                ignored.append(name)
                continue
            size = entry.st_size or 0
            if size > self.settings.max_file_size:
                refused.append(self._too_large(name, size))
                continue
            modified = (
                dt.datetime.fromtimestamp(entry.st_mtime, dt.UTC)
                if entry.st_mtime is not None
                else None
            )
            files.append(RemoteFile(name=name, size=size, parsed=parsed, modified=modified))
        if ignored:
            log.info("Ignored %d name(s) that are not exchange files", len(ignored))
        return Listing(
            files=tuple(files),
            refused=tuple(refused),
            ignored=tuple(ignored),
            in_progress=tuple(in_progress),
        )

    def _same_as_landed(
        self, sftp: paramiko.SFTPClient, item: RemoteFile, landed_sha256: str | None
    ) -> bool:
        try:
            data = self._download(sftp, item)
        except _FileTooLargeError:
            return False
        return hashlib.sha256(data).hexdigest() == landed_sha256

    def _changed_after_landing(self, name: str) -> Problem:
        code = self.naming.changed_batch_code
        return Problem(
            reason=f"{code + ': ' if code else ''}a batch already landed under this number "
            "is on the server with another closing file; left there, not applied",
            file=name,
        )

    def _too_large(self, name: str, size: int | None = None) -> Problem:
        limit = self.settings.max_file_size
        found = f"{size} bytes" if size is not None else "more than that"
        return Problem(reason=f"file too large: {found}, limit {limit} bytes", file=name)

    def _download(self, sftp: paramiko.SFTPClient, remote: RemoteFile) -> bytes:
        """Read a whole file, never holding more than the size limit."""
        path = posixpath.join(self.settings.incoming_folder, remote.name)
        limit = self.settings.max_file_size
        chunks: list[bytes] = []
        total = 0
        with sftp.open(path, "rb") as handle:
            handle.prefetch(remote.size, max_concurrent_requests=_MAX_PREFETCH_REQUESTS)
            while chunk := handle.read(_READ_CHUNK):
                total += len(chunk)
                if total > limit:
                    raise _FileTooLargeError
                chunks.append(chunk)
        if total != remote.size:
            raise TemporaryExternalError(
                f"{remote.name} changed while it was downloaded "
                f"({remote.size} bytes listed, {total} read)",
                file=remote.name,
            )
        log.info("Downloaded %s (%d bytes)", remote.name, total)
        return b"".join(chunks)

    # Upload ---------------------------------------------------------------

    def _check_outgoing_name(self, name: str) -> None:
        reason = unsafe_reason(name)
        parsed = parse_exchange_name(name, self.naming) if reason is None else None
        if parsed is None or parsed.sender is not Sender.ORGANISER:
            *others, last = self.naming.outbound_types
            types = f"{', '.join(others)} or {last}" if others else last
            raise TechnicalError(
                f"refusing to upload {shown_name(name)}: "
                f"{reason or f'not the name of a {types} file'}",
                file=shown_name(name),
            )

    def _upload(
        self,
        sftp: paramiko.SFTPClient,
        name: str,
        data: bytes,
        progress: ProgressCallback | None,
    ) -> SentFile:
        digest = hashlib.sha256(data).hexdigest()
        existing = self._existing_copy_sha256(sftp, name)
        if existing is not None:
            if existing != digest:
                raise TechnicalError(
                    f"{name} is already on the partner's server with other content: "
                    "a file name is never reused",
                    file=name,
                    action=Localized(
                        fr="Contactez le support : la numérotation des fichiers de ce type est "
                        "fausse.",
                        en="Contact support: the file numbering of this type is wrong.",
                    ),
                )
            log.info("%s is already on the server with the same content", name)
            return SentFile(name=name, size=len(data), sha256=digest, already_present=True)

        final = posixpath.join(self.settings.outgoing_folder, name)
        incomplete = final + self.naming.partial_suffix
        try:
            sftp.putfo(io.BytesIO(data), incomplete, file_size=len(data), callback=progress)
            sftp.posix_rename(incomplete, final)
        except Exception as exc:
            if not _connection_broken(exc):
                self._remove_quietly(sftp, incomplete)
            raise
        log.info("Uploaded %s (%d bytes)", name, len(data))
        return SentFile(name=name, size=len(data), sha256=digest)

    def _existing_copy_sha256(self, sftp: paramiko.SFTPClient, name: str) -> str | None:
        """sha256 of a file of that name already delivered, or None if there is none."""
        folders = [self.settings.outgoing_folder]
        if self.settings.processed_folder:
            folders.append(self.settings.processed_folder)
        for folder in folders:
            path = posixpath.join(folder, name)
            try:
                size = sftp.stat(path).st_size or 0
            except (FileNotFoundError, PermissionError):
                continue
            digest = hashlib.sha256()
            with sftp.open(path, "rb") as handle:
                handle.prefetch(size, max_concurrent_requests=_MAX_PREFETCH_REQUESTS)
                while chunk := handle.read(_READ_CHUNK):
                    digest.update(chunk)
            return digest.hexdigest()
        return None

    @staticmethod
    def _remove_quietly(sftp: paramiko.SFTPClient, path: str) -> None:
        try:
            sftp.remove(path)
        except FileNotFoundError:
            pass
        except Exception:
            log.warning("Could not remove %s after a failed upload", path, exc_info=True)


def _batch_key(item: RemoteFile) -> tuple[str, int]:
    return item.parsed.stream, item.parsed.sequence


def _unclosed(listing: Listing) -> tuple[RemoteFile, ...]:
    closed = {_batch_key(item) for item in listing.files if item.parsed.unit is Unit.BATCH_CLOSING}
    return tuple(
        item
        for item in listing.files
        if item.parsed.unit is Unit.BATCH_DATA and _batch_key(item) not in closed
    )


def _replaceable(landed: LandedIndex, item: RemoteFile) -> str | None:
    if item.parsed.unit is not Unit.BATCH_CLOSING:
        return None
    return landed.replaceable(item.name)


def _connection_broken(exc: BaseException) -> bool:
    """Whether ``exc`` leaves the session unusable (no point in cleaning up)."""
    return isinstance(exc, TimeoutError | EOFError | ConnectionError | paramiko.SSHException)


_PRIVATE_KEY_BLOCK = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)", re.S
)


def _clean(exc: BaseException, hook: SFTPHook | None = None) -> str:
    """The text of ``exc`` without any secret of the connection."""
    text = _PRIVATE_KEY_BLOCK.sub("[private key removed]", str(exc))
    password = hook.password if hook is not None else None
    if password:
        text = text.replace(password, "***")
    return text


def _describe(exc: BaseException, hook: SFTPHook) -> str:
    text = _clean(exc, hook)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
