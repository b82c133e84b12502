"""Electronic signatures (21 CFR 11.50, 11.70, 11.200) linked to the content they sign."""

import enum
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String, Text, event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, object_session

from manufacturing.core import clock, seals
from manufacturing.core.audit import Audited, current_reason
from manufacturing.core.errors import ReasonRequired, SignatureError
from manufacturing.core.keyring import keyring
from manufacturing.core.serialize import column_values
from manufacturing.core.types import UTCDateTime
from manufacturing.extensions import db


class Meaning(enum.Enum):
    """What a signature means; the title is printed with every manifestation."""

    PERFORMED = "Performed"
    VERIFIED = "Verified"
    REVIEWED = "Reviewed"
    APPROVED = "Approved"
    RELEASED = "Released"
    REJECTED = "Rejected"
    CLOSED = "Closed"
    ISSUED = "Issued"
    BEDSIDE_CHECKED = "Bedside check"
    BEDSIDE_SECOND_CHECKED = "Bedside check, second person"
    ADMINISTERED = "Administered"
    ACKNOWLEDGED = "Acknowledged"
    OFF_STUDY = "Taken off study"

    @property
    def title(self) -> str:
        return self.value


class Signable(Audited):
    """Mixin for records that carry signatures; changes after signing need a reason."""

    # Workflow fields that change when the record is signed or moves on, not its content.
    __signature_exclude__: frozenset[str] = frozenset()

    def signed_content(self) -> dict:
        """Return the canonical content a signature covers; extend for child records."""
        return column_values(self, None, exclude=self.__signature_exclude__)

    def signable_title(self) -> str:
        return self.audit_entity().replace("_", " ")

    def signature_owner(self) -> "Signable":
        return self

    def signature_version(self) -> int:
        """Number the version of the record being signed; a record that is never corrected has one."""
        return 1


class SignedPart(Audited):
    """Mixin for a child record (a value, a material used) whose content its parent's signatures cover."""

    __signature_exclude__: frozenset[str] = frozenset()

    def signature_owner(self) -> Signable:
        raise NotImplementedError

    def signed_part(self) -> dict:
        """Return this part's contribution to its owner's signed content."""
        exclude = self.__signature_exclude__ | {"id"}
        return column_values(self, None, exclude=exclude)


class Signature(Audited, db.Model):
    """A signature: who, printed name, meaning, when, and the hash of what was signed."""

    __tablename__ = "signatures"
    __audit_entity__ = "signature"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(80))
    entity_id: Mapped[str] = mapped_column(String(80))
    scope: Mapped[str | None] = mapped_column(String(80), index=True)
    meaning: Mapped[Meaning] = mapped_column(Enum(Meaning, native_enum=False, length=40))
    signer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    username: Mapped[str] = mapped_column(String(80))
    printed_name: Mapped[str] = mapped_column(String(120))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    content_hash: Mapped[str] = mapped_column(String(64))
    record_version: Mapped[int] = mapped_column(default=1, server_default="1")
    key_id: Mapped[str] = mapped_column(String(16))
    binding_hash: Mapped[str] = mapped_column(String(64))
    comment: Mapped[str | None] = mapped_column(Text)

    # A meaning is applied once to one version of a record: the loser of a race is refused, never stored.
    __table_args__ = (db.Index("ix_signatures_entity", "entity_type", "entity_id"),
                      db.UniqueConstraint("entity_type", "entity_id", "record_version", "meaning",
                                          name="uq_signatures_once_per_version"))

    def audit_scope(self) -> str | None:
        return self.scope

    @property
    def manifestation(self) -> str:
        return manifestation(self)


_CONTENT_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)  # built once


def content_hash(record: Signable) -> str:
    """Hash the record's canonical content together with its identity."""
    payload = {"entity": record.audit_entity(), "id": record.audit_id(), "content": record.signed_content()}
    text = _CONTENT_JSON.encode(payload)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _check_signer(user, password: str, username: str | None) -> None:
    if username is not None and username.strip().lower() != user.username.lower():
        raise SignatureError("You can only sign as yourself: the user ID entered is not the one logged in.")
    if not user.can_sign:
        raise SignatureError(f"The account {user.username} is deactivated or locked and cannot sign.")
    if user.awaiting_setup or user.password_change_due:
        raise SignatureError(f"The account {user.username} cannot sign until its holder chooses a new "
                             "password: a temporary, expired or not yet set up password never signs. "
                             "Change the password (or set it up with the setup code) first.")
    if not password or not user.verify_password(password):
        raise SignatureError(
            "Password not accepted: the signature was not applied.",
            after_rollback=(user.note_failed_password,),
        )


def sign(record: Signable, meaning: Meaning, user, password: str, *,
         username: str | None = None, comment: str | None = None) -> Signature:
    """Sign a record after re-checking the signer's password (11.200); return the signature."""
    session = object_session(record) or db.session
    session.flush()
    _check_signer(user, password, username)
    signature = Signature(
        entity_type=record.audit_entity(), entity_id=record.audit_id(),
        scope=record.audit_scope() or f"{record.audit_entity()}:{record.audit_id()}",
        meaning=meaning, signer_id=user.id, username=user.username, printed_name=user.full_name,
        signed_at=clock.now(), content_hash=content_hash(record), comment=comment,
        record_version=record.signature_version(),
    )
    signature.key_id, signature.binding_hash = keyring().current_id, seals.binding_mac(signature)
    _store_once(session, signature, record)
    return signature


def _store_once(session: Session, signature: Signature, record: Signable) -> None:
    """Insert the signature; a second one of the same meaning on the same version is refused, not stored."""
    try:
        with session.begin_nested():
            session.add(signature)
            session.flush()
    except IntegrityError:
        raise SignatureError(f"This {record.signable_title()} has already been signed as "
                             f"'{signature.meaning.title}' by someone else a moment ago: reload the page.") from None


def signatures_of(record: Signable) -> list[Signature]:
    session = object_session(record) or db.session
    query = (select(Signature).where(Signature.entity_type == record.audit_entity(),
                                     Signature.entity_id == record.audit_id())
             .order_by(Signature.signed_at, Signature.id))
    return list(session.scalars(query))


def current_signatures(record: Signable) -> list[Signature]:
    """The signatures of the record's current version: earlier versions' are superseded, not broken."""
    version = record.signature_version()
    return [signature for signature in signatures_of(record) if signature.record_version == version]


def is_intact(signature: Signature, record: Signable) -> bool:
    """Tell whether the signed content and the signature itself are unchanged."""
    return seals.binding_intact(signature) and signature.content_hash == content_hash(record)


@dataclass(frozen=True)
class SignatureLine:
    """A signature as pages show it: whether it still covers the record, or an earlier version of it."""

    signature: Signature
    intact: bool
    superseded: bool = False


def signature_lines(record: Signable) -> list[SignatureLine]:
    version = record.signature_version()
    return [SignatureLine(signature, is_intact(signature, record), signature.record_version < version)
            for signature in signatures_of(record)]


class SignatureBook:
    """The signatures of many records, read in one query per kind of record, each record's content hashed once.

    Pages that show a whole lot read its signatures this way: whether each is intact is known without a query
    per record, and a record signed several times is hashed once, from the data the page already loaded.
    """

    def __init__(self, records: Iterable[Signable], session: Session | None = None):
        session = session or db.session
        wanted: dict[str, set[str]] = {}
        for record in records:
            wanted.setdefault(record.audit_entity(), set()).add(record.audit_id())
        self._signed: dict[tuple[str, str], list[Signature]] = {}
        self._hashes: dict[tuple[str, str], str] = {}
        self._bound: dict[int, bool] = {}  # each signature's own seal, checked once per book
        for entity, ids in wanted.items():
            query = (select(Signature).where(Signature.entity_type == entity, Signature.entity_id.in_(sorted(ids)))
                     .order_by(Signature.signed_at, Signature.id))
            for signature in session.scalars(query):
                self._signed.setdefault((entity, signature.entity_id), []).append(signature)

    def signatures(self, record: Signable) -> list[Signature]:
        """The record's signatures in the order they were made (as `signatures_of`)."""
        return self._signed.get(_key(record), [])

    def current(self, record: Signable) -> list[Signature]:
        """The signatures of the record's current version (as `current_signatures`)."""
        version = record.signature_version()
        return [signature for signature in self.signatures(record) if signature.record_version == version]

    def is_intact(self, signature: Signature, record: Signable) -> bool:
        """Tell whether the signed content and the signature itself are unchanged (as `is_intact`)."""
        key = _key(record)
        if key not in self._hashes:
            self._hashes[key] = content_hash(record)
        if signature.id not in self._bound:
            self._bound[signature.id] = seals.binding_intact(signature)
        return self._bound[signature.id] and signature.content_hash == self._hashes[key]

    def lines(self, record: Signable) -> list[SignatureLine]:
        """The record's signatures as pages show them (as `signature_lines`)."""
        version = record.signature_version()
        return [SignatureLine(signature, self.is_intact(signature, record), signature.record_version < version)
                for signature in self.signatures(record)]


def _key(record: Signable) -> tuple[str, str]:
    return record.audit_entity(), record.audit_id()


def manifestation(signature: Signature) -> str:
    """Render printed name, meaning and local time with UTC offset (11.50)."""
    when = clock.format_local(signature.signed_at)
    return f"{signature.printed_name} ({signature.username}) · {signature.meaning.title} · {when}"


def _signed_fields_changed(record: Signable | SignedPart) -> bool:
    from sqlalchemy import inspect

    state = inspect(record)
    return any(
        state.attrs[attr.key].history.has_changes()
        for attr in state.mapper.column_attrs
        if attr.key not in record.__signature_exclude__
    )


def _is_signed(session: Session, record: Signable) -> bool:
    query = select(Signature.id).where(Signature.entity_type == record.audit_entity(),
                                       Signature.entity_id == record.audit_id()).limit(1)
    return session.connection().execute(query).first() is not None


def _owners_changed(session: Session) -> list[Signable]:
    """Return the signable records whose signed content this flush changes."""
    owners = []
    for record in list(session.dirty) + list(session.deleted) + list(session.new):
        if isinstance(record, Signable):
            if record in session.new or (record in session.dirty and not _signed_fields_changed(record)):
                continue
            owners.append(record)
        elif isinstance(record, SignedPart):
            if record in session.dirty and not _signed_fields_changed(record):
                continue
            owner = record.signature_owner()
            if owner is not None and owner not in session.new and owner.id is not None:
                owners.append(owner)
    return owners


@event.listens_for(Session, "before_flush")
def _require_reason_for_signed(session: Session, flush_context, instances) -> None:
    """Refuse a change to signed content without a reason (the old value stays in the trail)."""
    if current_reason(session):
        return
    for owner in _owners_changed(session):
        if _is_signed(session, owner):
            raise ReasonRequired(
                f"This {owner.signable_title()} has already been signed: give a reason for the change."
            )
