"""Idempotent upserts of what the Kubernetes operator declares (MailDomain, Mailbox).

Each call brings the backend in line with a whole declared state and says whether it
changed anything: a second identical call writes nothing. Records are marked ``managed``
(the webmail shows them read-only). Users named as admins or in accesses are created when
missing, without a password: they sign in through OIDC, which links them by e-mail.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from facteur.domains import dkimkeys
from facteur.domains.models import (
    DkimAlgorithm,
    DkimKey,
    Mailbox,
    MailboxAccess,
    MailboxAlias,
    MailboxKind,
    MailboxRole,
    MailDomain,
    MailDomainAdmin,
)
from facteur.domains.selectors import address_taken, addresses_taken
from facteur.domains.services import _fernet, dkim_key_private, domain_delete, mailbox_delete
from facteur.domains.validation import clean_domain_name, clean_local_part
from facteur.users.models import User

RETAIN, DELETE = "Retain", "Delete"


@dataclass(frozen=True)
class Result:
    obj: object
    changed: bool


def _users(emails: list[str]) -> tuple[dict[str, User], bool]:
    """The users with these e-mails, created when missing."""
    wanted = {e.strip().lower() for e in emails}
    for email in wanted:
        validate_email(email)
    found = {u.email: u for u in User.objects.filter(email__in=wanted)}
    created = False
    for email in wanted - found.keys():
        found[email] = User.objects.create_user(email, None)
        created = True
    return found, created


@transaction.atomic
def domain_upsert(*, name: str, admins: list[str]) -> Result:
    clean = clean_domain_name(name)
    domain, changed = MailDomain.objects.select_for_update().get_or_create(
        name=clean, defaults={"managed": True}
    )
    if not domain.managed or domain.is_disabled:
        # A domain made by hand (CLI, webmail) that a MailDomain now declares: adopted;
        # one retained when its MailDomain went, declared again: enabled.
        domain.managed, domain.is_disabled = True, False
        domain.save(update_fields=["managed", "is_disabled"])
        changed = True
    users, created = _users(admins)
    current = set(domain.admins.values_list("user_id", flat=True))
    wanted = {u.pk for u in users.values()}
    if current != wanted:
        domain.admins.exclude(user_id__in=wanted).delete()
        MailDomainAdmin.objects.bulk_create(
            [MailDomainAdmin(domain=domain, user_id=pk) for pk in wanted - current]
        )
        changed = True
    return Result(domain, changed or created)


@transaction.atomic
def domain_release(*, name: str, policy: str) -> bool:
    """The MailDomain is gone. ``Retain``: the domain and its mail stay, no longer
    managed, disabled (no mail in or out); ``Delete``: the domain goes (its Mailboxes
    went first). False when absent."""
    domain = MailDomain.objects.select_for_update().filter(name=clean_domain_name(name)).first()
    if domain is None:
        return False
    if policy == DELETE:
        domain_delete(domain=domain)
    else:
        domain.managed, domain.is_disabled = False, True
        domain.save(update_fields=["managed", "is_disabled"])  # signals: caches forget it
    return True


_ALGORITHMS = {DkimAlgorithm.RSA_SHA256, DkimAlgorithm.ED25519_SHA256}


@transaction.atomic
def dkim_key_upsert(*, domain: MailDomain, selector: str, algorithm: str, private: bytes) -> Result:
    """Make the key the operator holds the domain's active one (stored encrypted)."""
    selector = selector.lower()
    if not dkimkeys.SELECTOR.match(selector):
        raise ValidationError(f"{selector!r} is not a valid DKIM selector.", code="invalid")
    if algorithm not in _ALGORITHMS:
        raise ValidationError(f"Unknown DKIM algorithm {algorithm!r}.", code="invalid")
    MailDomain.objects.select_for_update().filter(pk=domain.pk).first()
    key = DkimKey.objects.filter(domain=domain, selector=selector).first()
    if key is not None and (key.algorithm != algorithm or dkim_key_private(key=key) != private):
        raise ValidationError(
            f"The selector {selector} of {domain.name} already has another key.",
            code="duplicate",
        )
    if key is not None and key.is_active:
        return Result(key, False)  # the operator's resync: the key was checked when stored
    if key is None:
        try:
            public = dkimkeys.public_of(algorithm, private)
        except ValueError as exc:
            raise ValidationError(
                f"The private key does not parse: {exc}", code="invalid"
            ) from None
    DkimKey.objects.filter(domain=domain, is_active=True).update(is_active=False)
    if key is not None:
        key.is_active = True
        key.save(update_fields=["is_active"])
        return Result(key, True)
    key = DkimKey.objects.create(
        domain=domain,
        selector=selector,
        algorithm=algorithm,
        private_key_encrypted=_fernet().encrypt(private).decode(),
        public_key=public,
        is_active=True,
    )
    return Result(key, True)


@dataclass(frozen=True)
class Grant:
    user: str
    role: str


@dataclass(frozen=True)
class WantedMailbox:
    """What a Mailbox declares: the mailbox with exactly these aliases and accesses."""

    domain: MailDomain
    local_part: str
    kind: str
    display_name: str
    aliases: list[str]
    access: list[Grant]

    def checked(self) -> tuple[str, set[str], dict[str, str]]:
        """Its local part, aliases and roles by user e-mail, cleaned; ValidationError when
        it cannot be."""
        local = clean_local_part(self.local_part)
        if self.kind not in MailboxKind.values:
            raise ValidationError(f"Unknown mailbox kind {self.kind!r}.", code="invalid")
        for grant in self.access:
            if grant.role not in MailboxRole.values:
                raise ValidationError(f"Unknown role {grant.role!r}.", code="invalid")
        aliases = {clean_local_part(a) for a in self.aliases}
        if local in aliases:
            raise ValidationError(f"{local} is the mailbox itself, not an alias.", code="invalid")
        roles = {g.user.strip().lower(): g.role for g in self.access}
        for email in roles:
            validate_email(email)
        return local, aliases, roles


def mailboxes_upsert(wanted: list[WantedMailbox]) -> list[Result | ValidationError]:
    """Each of ``wanted`` as ``mailbox_upsert`` would do it, each with its own outcome, in
    order. The plain creations - a new mailbox whose address and aliases are free and
    wanted by no other item - are made first, together: a burst of new Mailboxes is what
    the operator sends, and one by one each cost seven queries. Every other item follows,
    one by one (an update, or a refusal that says why)."""
    outcomes: list[Result | ValidationError | None] = [None] * len(wanted)
    cleaned: dict[int, tuple[str, set[str], dict[str, str]]] = {}
    for i, item in enumerate(wanted):
        try:
            cleaned[i] = item.checked()
        except ValidationError as exc:
            outcomes[i] = exc
    addresses = {
        i: {(wanted[i].domain.pk, x) for x in (local, *aliases)}
        for i, (local, aliases, _) in cleaned.items()
    }
    times = Counter(a for each in addresses.values() for a in each)
    taken = addresses_taken(set(times))
    plain = [
        i for i, each in addresses.items() if not each & taken and all(times[a] == 1 for a in each)
    ]
    try:
        made = _create(wanted, cleaned, plain)
    except IntegrityError:  # made meanwhile by another call: one by one, each says why
        made = {}
    for i, mailbox in made.items():
        outcomes[i] = Result(mailbox, True)
    for i, item in enumerate(wanted):
        if outcomes[i] is None:
            try:
                outcomes[i] = mailbox_upsert(item)
            except ValidationError as exc:
                outcomes[i] = exc
    return outcomes


@transaction.atomic
def _create(
    wanted: list[WantedMailbox],
    cleaned: dict[int, tuple[str, set[str], dict[str, str]]],
    plain: list[int],
) -> dict[int, Mailbox]:
    """The new mailboxes of ``plain`` with their aliases and accesses: three inserts, and
    the users read (and those missing made, one by one)."""
    made = {
        i: Mailbox(
            domain=wanted[i].domain,
            local_part=cleaned[i][0],
            kind=wanted[i].kind,
            display_name=wanted[i].display_name,
            managed=True,
        )
        for i in plain
    }
    Mailbox.objects.bulk_create(made.values())
    MailboxAlias.objects.bulk_create(
        MailboxAlias(domain=wanted[i].domain, local_part=x, mailbox=made[i])
        for i in plain
        for x in sorted(cleaned[i][1])
    )
    users, _ = _users(sorted({email for i in plain for email in cleaned[i][2]}))
    MailboxAccess.objects.bulk_create(
        MailboxAccess(mailbox=made[i], user=users[email], role=role)
        for i in plain
        for email, role in cleaned[i][2].items()
    )
    return made


@transaction.atomic
def mailbox_upsert(wanted: WantedMailbox) -> Result:
    """The mailbox with exactly the aliases (in its domain) and accesses ``wanted``."""
    local, wanted_aliases, roles = wanted.checked()
    domain, kind, display_name = wanted.domain, wanted.kind, wanted.display_name
    mailbox = Mailbox.objects.select_for_update().filter(domain=domain, local_part=local).first()
    new = changed = mailbox is None
    if mailbox is None:
        if address_taken(domain=domain, local_part=local):
            raise ValidationError(f"The address {local}@{domain.name} is taken.", code="duplicate")
        mailbox = Mailbox.objects.create(
            domain=domain, local_part=local, kind=kind, display_name=display_name, managed=True
        )
    else:
        fields = {"kind": kind, "display_name": display_name, "managed": True, "is_disabled": False}
        stale = [f for f, v in fields.items() if getattr(mailbox, f) != v]
        if stale:
            for f in stale:
                setattr(mailbox, f, fields[f])
            mailbox.save(update_fields=stale)
            changed = True
    # A mailbox made just now has no aliases or accesses to read: a burst of new ones
    # (the operator's) saves two queries each.
    changed |= _sync_aliases(mailbox, wanted_aliases, new=new)
    changed |= _sync_access(mailbox, roles, new=new)
    return Result(mailbox, changed)


def _sync_aliases(mailbox: Mailbox, wanted: set[str], *, new: bool) -> bool:
    found = [] if new else mailbox.aliases.filter(domain=mailbox.domain)
    current = {a.local_part: a for a in found}
    stale = [a.pk for local, a in current.items() if local not in wanted]
    missing = sorted(wanted - current.keys())
    for local in missing:
        if address_taken(domain=mailbox.domain, local_part=local):
            raise ValidationError(
                f"The address {local}@{mailbox.domain.name} is taken.", code="duplicate"
            )
    if stale:
        MailboxAlias.objects.filter(pk__in=stale).delete()
    MailboxAlias.objects.bulk_create(
        [MailboxAlias(domain=mailbox.domain, local_part=x, mailbox=mailbox) for x in missing]
    )
    return bool(stale or missing)


def _sync_access(mailbox: Mailbox, wanted_roles: dict[str, str], *, new: bool) -> bool:
    users, created = _users(list(wanted_roles))
    wanted = {users[email].pk: role for email, role in wanted_roles.items()}
    current = {} if new else {a.user_id: a for a in mailbox.accesses.all()}
    changed = created
    gone = [a.pk for uid, a in current.items() if uid not in wanted]
    if gone:
        MailboxAccess.objects.filter(pk__in=gone).delete()
        changed = True
    for uid, role in wanted.items():
        access = current.get(uid)
        if access is None:
            MailboxAccess.objects.create(mailbox=mailbox, user_id=uid, role=role)
            changed = True
        elif access.role != role:
            access.role = role
            access.save(update_fields=["role"])
            changed = True
    return changed


@transaction.atomic
def mailbox_release(*, domain: MailDomain, local_part: str, policy: str) -> bool:
    """The Mailbox is gone. ``Retain``: the mailbox and its mail stay, no longer managed,
    disabled (no mail in or out, still readable); ``Delete``: the mailbox, its mail,
    aliases and accesses go. False when absent."""
    mailbox = Mailbox.objects.filter(domain=domain, local_part=clean_local_part(local_part)).first()
    if mailbox is None:
        return False
    if policy == DELETE:
        mailbox_delete(mailbox=mailbox, delete_mail=True)
    else:
        mailbox.managed, mailbox.is_disabled = False, True
        mailbox.save(update_fields=["managed", "is_disabled"])  # signals: caches forget it
    return True
