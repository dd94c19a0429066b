"""The audit chain becomes keyed (HMAC-SHA256 under the audit key kept outside the database), numbered, and
covers the actor's id. A log written before this release is re-keyed here, once:

1. the old, unkeyed SHA-256 chain is verified as it stood (its algorithm is frozen below);
2. if it is intact, every entry is numbered and re-hashed under the key, and one more entry — the epoch —
   records how many entries were re-keyed and the old chain's tip, so the old log keeps verifying and a
   reader sees where keying began;
3. if it is broken, the migration stops and says where: re-keying would hide the damage. An operator who
   has looked (and kept a backup of the old database) may set DOUDI_AUDIT_REKEY_BROKEN=1 to re-key anyway;
   the epoch entry then lists the problems found.
"""

import hashlib
import json
import os

from django.db import migrations, models
from django.utils import timezone

EPOCH_REASON = "审计日志启用密钥链：此前的记录已按原链校验并重新计算"


def _legacy_hash(e, prev_hash: str) -> str:
    """The unkeyed chain of releases before this one (frozen: it must not follow later changes)."""
    body = json.dumps(
        [prev_hash, e.at.isoformat(), e.actor_label, e.action, e.object_type, e.object_id, e.region_path,
         e.before, e.after, e.reason],
        ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def rekey(apps, schema_editor):
    from doudi.audit.chain import GENESIS, entry_hash
    from doudi.audit.guards import remove_guard
    from doudi.audit.keys import audit_key

    Entry = apps.get_model("audit", "AuditEntry")
    Head = apps.get_model("audit", "AuditHead")
    entries = list(Entry.objects.order_by("id"))
    if not entries:
        return
    head = Head.objects.filter(id=1).first()
    problems, prev = [], GENESIS
    for e in entries:
        if e.prev_hash != prev or _legacy_hash(e, e.prev_hash) != e.hash:
            problems.append(f"entry {e.id}")
        prev = e.hash
    if head is None or head.count != len(entries) or head.last_hash != prev:
        problems.append("chain tip (entries removed from the end)")
    if problems and os.environ.get("DOUDI_AUDIT_REKEY_BROKEN") != "1":
        raise RuntimeError(
            "the existing audit log does not verify under the old chain (" + ", ".join(problems[:20])
            + "). Re-keying it would hide that. Keep a copy of this database, investigate, then set "
            "DOUDI_AUDIT_REKEY_BROKEN=1 and migrate again to re-key it anyway (the epoch entry lists the problems)."
        )
    key = audit_key(create=True)
    remove_guard(schema_editor.connection)
    prev = GENESIS
    for seq, e in enumerate(entries, start=1):
        e.seq, e.prev_hash = seq, prev
        e.hash = entry_hash(key, e)
        Entry.objects.filter(pk=e.pk).update(seq=seq, prev_hash=e.prev_hash, hash=e.hash)
        prev = e.hash
    epoch = Entry(
        seq=len(entries) + 1,
        at=timezone.now(),
        actor=None,
        actor_label="system",
        action="action",
        object_type="audit.chain",
        object_id="rekey",
        region_path="",
        before={"algorithm": "sha256", "entries": len(entries), "tip": head.last_hash if head else None},
        after={"algorithm": "hmac-sha256", "problems": problems},
        reason=EPOCH_REASON,
        prev_hash=prev,
    )
    epoch.hash = entry_hash(key, epoch)
    epoch.save()
    Head.objects.update_or_create(id=1, defaults={"count": epoch.seq, "last_hash": epoch.hash})


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_triggers")]
    operations = [
        migrations.AddField(
            model_name="auditentry", name="seq", field=models.BigIntegerField(null=True, verbose_name="序号")
        ),
        migrations.RunPython(rekey, migrations.RunPython.noop),
    ]
