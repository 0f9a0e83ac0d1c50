"""OneDrive for Business drives of the emulated tenant: items derived from the seed plus a change log.

Each licensed user has one drive. Its items (root, folders, files) are generated on demand from
``(seed, user id)``, so a 5,000-user tenant costs memory only for what `mutate` changed. Every
change gets a global sequence number; delta tokens carry sequence numbers, so a round is the set
of items whose last change lies in ``(from, upto]``.

Truth (``drive_items``): ids ``user_id/item_id`` of every current item of every drive, the root
included, because Graph's drive delta returns the root item (with the ``root`` facet) in a full
enumeration.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from urllib.parse import quote

from .odata import SeqClock
from .workload_directory import Directory, UserRef
from .workload_kit import (
    EPOCH_TICKS,
    TICKS_PER_SECOND,
    JsonDict,
    b64url_id,
    digest_bytes,
    fmt_ticks,
    guid,
    rng_for,
    upn_slug,
)

FOLDER_NAMES = (
    "Documents",
    "Projects",
    "Reports",
    "Archive",
    "Finance",
    "Marketing",
    "Designs",
    "Meeting Notes",
    "Attachments",
    "Shared",
)
FILE_KINDS = (
    ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    ("pdf", "application/pdf"),
    ("txt", "text/plain"),
    ("png", "image/png"),
    ("csv", "text/csv"),
)
FILE_STEMS = (
    "Budget",
    "Plan",
    "Notes",
    "Invoice",
    "Roadmap",
    "Summary",
    "Draft",
    "Contract",
    "Photo",
    "Export",
)
DAY = 86400 * TICKS_PER_SECOND


@dataclass(frozen=True)
class DriveItemRec:
    """One driveItem's state (rendered to Graph JSON by `render_item`)."""

    id: str
    parent_id: str | None
    name: str
    folder: bool
    size: int
    mime: str | None
    created: int
    modified: int
    version: int
    shared: str | None  # None | "users" | "organization" | "anonymous" (anonymous = external link)
    modifier_id: str
    order: int  # position in the full enumeration (base items first, then creations by sequence)


@dataclass
class _DriveLog:
    """What changed in one drive: the latest state of each changed item (None = deleted) and when."""

    overlay: dict[str, DriveItemRec | None]
    last_seq: dict[str, int]
    created_seq: dict[str, int]
    tombstones: dict[str, DriveItemRec]


def drive_id_for(seed: int, user_id: str) -> str:
    """The drive id of a user's OneDrive (``b!`` + 64 base64url characters, like SharePoint drives)."""
    return "b!" + b64url_id(48, seed, "drive", user_id)


def item_id_for(seed: int, user_id: str, key: object) -> str:
    """A driveItem id: ``01`` + 32 base32 characters, as OneDrive for Business writes them."""
    return "01" + base64.b32encode(digest_bytes(20, seed, "item", user_id, key)).decode()[:32]


class DriveStore:
    """Every user's drive: generated base items, the change log, delta rounds and truth ids."""

    def __init__(
        self, directory: Directory, items_per_drive: tuple[int, int] = (8, 30), clock: SeqClock | None = None
    ) -> None:
        self.directory = directory
        self.seed = directory.seed
        self.items_per_drive = items_per_drive
        self._lock = threading.RLock()
        self._clock = clock if clock is not None else SeqClock()
        self._generation = 0
        self._logs: dict[str, _DriveLog] = {}
        self._drive_owner: dict[str, str] = {}
        self._base_cache: dict[str, list[DriveItemRec]] = {}

    # -- identity --------------------------------------------------------------------------
    @property
    def seq(self) -> int:
        """The sequence number of the latest change (the emulator's process-wide change clock)."""
        return self._clock.now

    @property
    def generation(self) -> int:
        """Bumped by `expire_tokens`: tokens of an older generation answer 410 resyncRequired."""
        return self._generation

    def seq_at(self, ticks: int) -> int | None:
        """The last change sequence before time ``ticks`` (timestamp delta tokens), or None before any change."""
        first = EPOCH_TICKS + DAY
        if ticks <= first:
            return None
        return min(self.seq, (ticks - first - 1) // (37 * TICKS_PER_SECOND))

    def expire_tokens(self) -> None:
        """Invalidate every delta token handed out so far (the service lost its sync state)."""
        with self._lock:
            self._generation += 1

    def user_for_drive(self, drive_id: str) -> UserRef | None:
        """The licensed owner of ``drive_id``, or None."""
        with self._lock:
            owner = self._drive_owner.get(drive_id)
            if owner is None:
                self._drive_owner = {drive_id_for(self.seed, u.id): u.id for u in self.directory.users()}
                owner = self._drive_owner.get(drive_id)
        user = self.directory.user(owner) if owner else None
        return user if user is not None and user.licensed else None

    def drive_resource(self, user: UserRef) -> JsonDict:
        """The `drive` resource of a licensed user's OneDrive."""
        rng = rng_for(self.seed, "drive-meta", user.id)
        total = 1024**4
        used = sum(i.size for i in self.current_items(user.id))
        created = EPOCH_TICKS - rng.randint(200, 900) * DAY
        return {
            "id": drive_id_for(self.seed, user.id),
            "driveType": "business",
            "name": "OneDrive",
            "description": "",
            "createdDateTime": fmt_ticks(created, 0),
            "lastModifiedDateTime": fmt_ticks(EPOCH_TICKS - rng.randint(0, 30) * DAY, 0),
            "webUrl": f"{self._site_url(user)}/Documents",
            "createdBy": {"user": {"displayName": "System Account"}},
            "lastModifiedBy": {"user": self._identity(user)},
            "owner": {"user": self._identity(user)},
            "quota": {
                "deleted": 0,
                "remaining": total - used,
                "state": "normal",
                "total": total,
                "used": used,
            },
        }

    # -- items -----------------------------------------------------------------------------
    def _site_url(self, user: UserRef) -> str:
        prefix = self.directory.domain.split(".")[0]
        return f"https://{prefix}-my.sharepoint.com/personal/{upn_slug(user.user_principal_name)}"

    @staticmethod
    def _identity(user: UserRef) -> JsonDict:
        return {"id": user.id, "displayName": user.display_name}  # v1.0's identity has no email

    def _base_items(self, user_id: str) -> list[DriveItemRec]:
        cached = self._base_cache.get(user_id)
        if cached is not None:
            return cached
        rng = rng_for(self.seed, "drive-items", user_id)
        low, high = self.items_per_drive
        total = rng.randint(low, high)
        created0 = EPOCH_TICKS - rng.randint(300, 900) * DAY
        root_id = item_id_for(self.seed, user_id, "root")
        items = [
            DriveItemRec(root_id, None, "root", True, 0, None, created0, created0, 1, None, user_id, 0),
        ]
        n_folders = max(1, min(len(FOLDER_NAMES), total // 6 + rng.randint(0, 2)))
        folders = [root_id]
        for index, name in enumerate(rng.sample(FOLDER_NAMES, n_folders), start=1):
            parent = root_id if index <= 3 or rng.random() < 0.5 else rng.choice(folders)
            created = created0 + rng.randint(1, 200) * DAY
            fid = item_id_for(self.seed, user_id, index)
            shared = "organization" if name == "Shared" else None
            items.append(DriveItemRec(fid, parent, name, True, 0, None, created, created, 1, shared, user_id, index))
            folders.append(fid)
        for index in range(n_folders + 1, total):
            ext, mime = rng.choice(FILE_KINDS)
            name = f"{rng.choice(FILE_STEMS)} {index:03d}.{ext}"
            created = created0 + rng.randint(1, 280) * DAY + rng.randint(0, DAY)
            modified = created + rng.randint(0, 20) * DAY
            roll = rng.random()
            shared = "anonymous" if roll < 0.05 else "users" if roll < 0.15 else None
            items.append(
                DriveItemRec(
                    item_id_for(self.seed, user_id, index),
                    rng.choice(folders),
                    name,
                    False,
                    rng.randint(200, 5_000_000),
                    mime,
                    created,
                    min(modified, EPOCH_TICKS),
                    rng.randint(1, 12),
                    shared,
                    user_id,
                    index,
                )
            )
        if len(self._base_cache) > 2048:
            self._base_cache.clear()
        self._base_cache[user_id] = items
        return items

    def _log(self, user_id: str) -> _DriveLog:
        log = self._logs.get(user_id)
        if log is None:
            log = self._logs[user_id] = _DriveLog({}, {}, {}, {})
        return log

    def _all_records(self, user_id: str) -> Iterator[DriveItemRec | tuple[str, None]]:
        """Every item ever in the drive in enumeration order: current record, or (id, None) if deleted."""
        log = self._logs.get(user_id)
        for rec in self._base_items(user_id):
            if log is not None and rec.id in log.overlay:
                current = log.overlay[rec.id]
                yield current if current is not None else (rec.id, None)
            else:
                yield rec
        if log is not None:
            for item_id in sorted(log.created_seq, key=log.created_seq.__getitem__):
                current = log.overlay[item_id]
                yield current if current is not None else (item_id, None)

    def current_items(self, user_id: str) -> list[DriveItemRec]:
        """The drive's current items (deleted ones excluded), root first."""
        with self._lock:
            return [r for r in self._all_records(user_id) if isinstance(r, DriveItemRec)]

    def _record(self, user_id: str, item_id: str) -> DriveItemRec | None:
        log = self._logs.get(user_id)
        if log is not None and item_id in log.overlay:
            return log.overlay[item_id]
        for rec in self._base_items(user_id):
            if rec.id == item_id:
                return rec
        return None

    # -- delta -----------------------------------------------------------------------------
    def full_round_ids(self, user_id: str, upto: int) -> list[str]:
        """Ids of a full enumeration as of sequence ``upto`` (stable while the tenant changes)."""
        with self._lock:
            ids = [r.id for r in self._base_items(user_id)]
            log = self._logs.get(user_id)
            if log is not None:
                created = [(s, i) for i, s in log.created_seq.items() if s <= upto]
                ids.extend(i for _, i in sorted(created))
            return ids

    def changed_ids(self, user_id: str, since: int, upto: int, with_parents: bool = True) -> list[str]:
        """Ids reported by an incremental round ``(since, upto]``: each changed item after its ancestors.

        Ancestor folders are listed again for every changed child, so an item may repeat
        (``with_parents=False`` is the ``deltaExcludeParent`` header: changed items only).
        """
        with self._lock:
            log = self._logs.get(user_id)
            if log is None:
                return []
            changed = sorted((s, i) for i, s in log.last_seq.items() if since < s <= upto)
            out: list[str] = []
            for _, item_id in changed:
                if with_parents:
                    out.extend(self._ancestors(user_id, item_id))
                out.append(item_id)
            return out

    def _ancestors(self, user_id: str, item_id: str) -> list[str]:
        chain: list[str] = []
        rec = self._record(user_id, item_id) or self._deleted_base(user_id, item_id)
        parent = rec.parent_id if rec is not None else None
        while parent is not None:
            chain.append(parent)
            parent_rec = self._record(user_id, parent)
            parent = parent_rec.parent_id if parent_rec is not None else None
        return list(reversed(chain))

    def _deleted_base(self, user_id: str, item_id: str) -> DriveItemRec | None:
        log = self._logs.get(user_id)
        return log.tombstones.get(item_id) if log is not None else None

    def render_delta_item(self, user: UserRef, item_id: str) -> JsonDict:
        """An item as drive delta returns it: current state, or the ``deleted`` facet."""
        with self._lock:
            rec = self._record(user.id, item_id)
            drive_id = drive_id_for(self.seed, user.id)
            if rec is None:
                tomb = self._deleted_base(user.id, item_id)
                out: JsonDict = {"id": item_id}
                if tomb is not None and tomb.parent_id is not None:
                    out["parentReference"] = {
                        "driveType": "business",
                        "driveId": drive_id,
                        "id": tomb.parent_id,
                    }
                out["deleted"] = {"state": "deleted"}
                if tomb is not None:
                    out["folder" if tomb.folder else "file"] = {"childCount": 0} if tomb.folder else {}
                return out
            children = self._child_count(user.id, item_id) if rec.folder else 0
            return self.render_item(user, rec, children, for_delta=True)

    def _child_count(self, user_id: str, folder_id: str) -> int:
        return sum(1 for r in self.current_items(user_id) if r.parent_id == folder_id)

    def render_item(self, user: UserRef, rec: DriveItemRec, child_count: int, for_delta: bool) -> JsonDict:
        """Graph JSON of a driveItem (delta omits ``cTag`` and ``parentReference.path``, as documented)."""
        drive_id = drive_id_for(self.seed, user.id)
        etag_guid = guid(self.seed, "etag", rec.id).upper()
        modifier = self.directory.user(rec.modifier_id) or user
        out: JsonDict = {
            "@odata.type": "#microsoft.graph.driveItem",
            "createdDateTime": fmt_ticks(rec.created, 0),
            "eTag": f'"{{{etag_guid}}},{rec.version}"',
            "id": rec.id,
            "lastModifiedDateTime": fmt_ticks(rec.modified, 0),
            "name": rec.name,
            "webUrl": f"{self._site_url(user)}/Documents" + "".join(f"/{quote(n)}" for n in self._path(user.id, rec)),
            "size": rec.size if not rec.folder else self._folder_size(user.id, rec),
            "createdBy": {"user": self._identity(user)},
            "lastModifiedBy": {"user": self._identity(modifier)},
            "parentReference": {"driveType": "business", "driveId": drive_id},
            "fileSystemInfo": {
                "createdDateTime": fmt_ticks(rec.created, 0),
                "lastModifiedDateTime": fmt_ticks(rec.modified, 0),
            },
        }
        if not for_delta:
            out["cTag"] = f'"c:{{{etag_guid}}},{rec.version}"'
        if rec.parent_id is not None:
            out["parentReference"]["id"] = rec.parent_id
        if rec.folder:
            out["folder"] = {"childCount": child_count}
        else:
            out["file"] = {"mimeType": rec.mime, "hashes": {"quickXorHash": self._quick_xor(rec)}}
        if rec.parent_id is None:
            out["root"] = {}
        if rec.shared is not None:
            out["shared"] = {"owner": {"user": self._identity(user)}, "scope": rec.shared}
        return out

    def _path(self, user_id: str, rec: DriveItemRec) -> list[str]:
        """Names from below the root down to ``rec`` (empty for the root)."""
        names: list[str] = []
        current: DriveItemRec | None = rec
        while current is not None and current.parent_id is not None:
            names.append(current.name)
            current = self._record(user_id, current.parent_id)
        return list(reversed(names))

    def _quick_xor(self, rec: DriveItemRec) -> str:
        return base64.b64encode(digest_bytes(20, self.seed, "qxh", rec.id, rec.version, rec.size)).decode()

    def _folder_size(self, user_id: str, rec: DriveItemRec) -> int:
        return 0 if rec.parent_id is not None else sum(r.size for r in self.current_items(user_id))

    # -- truth and mutation ----------------------------------------------------------------
    def truth_ids(self) -> Iterator[str]:
        """``user_id/item_id`` of every current item of every licensed user's drive."""
        for user in self.directory.users():
            if not user.licensed:
                continue
            for rec in self.current_items(user.id):
                yield f"{user.id}/{rec.id}"

    def mutate(self, op: str, count: int, seed: int) -> list[str]:
        """Create, update or delete ``count`` drive items chosen from ``seed``; returns ``user_id/item_id``.

        Deletes only take files (a folder with content is never deleted), updates bump the version,
        size and modification time, creates add a file to an existing folder.
        """
        if op not in {"create", "update", "delete"}:
            raise ValueError(f"drive_items: unknown op {op!r} (use create, update or delete)")
        with self._lock:
            users = [u for u in self.directory.users() if u.licensed]
            if not users:
                return []
            rng = rng_for(self.seed, "drive-mutate", seed, op, self._clock.now)
            done: list[str] = []
            attempts = 0
            while len(done) < count and attempts < count * 20:
                attempts += 1
                user = rng.choice(users)
                current = self.current_items(user.id)
                files = [r for r in current if not r.folder]
                if op != "create" and not files:
                    continue
                seq = self._clock.tick()
                when = EPOCH_TICKS + DAY + seq * 37 * TICKS_PER_SECOND  # seq_at() inverts this
                log = self._log(user.id)
                if op == "create":
                    ext, mime = rng.choice(FILE_KINDS)
                    new_id = item_id_for(self.seed, user.id, f"new-{seq}")
                    rec = DriveItemRec(
                        new_id,
                        rng.choice([r for r in current if r.folder]).id,
                        f"{rng.choice(FILE_STEMS)} new {seq}.{ext}",
                        False,
                        rng.randint(200, 2_000_000),
                        mime,
                        when,
                        when,
                        1,
                        "anonymous" if rng.random() < 0.05 else None,
                        user.id,
                        10**9 + seq,
                    )
                    log.created_seq[new_id] = seq
                elif op == "update":
                    old = rng.choice(files)
                    rec = replace(old, version=old.version + 1, size=old.size + rng.randint(1, 9000), modified=when)
                else:
                    old = rng.choice(files)
                    log.tombstones[old.id] = old
                    log.overlay[old.id] = None
                    log.last_seq[old.id] = seq
                    done.append(f"{user.id}/{old.id}")
                    continue
                log.overlay[rec.id] = rec
                log.last_seq[rec.id] = seq
                done.append(f"{user.id}/{rec.id}")
            return done
