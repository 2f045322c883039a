import hashlib

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

# As SentReply.key_of and REPLIES_PER_MESSAGE were when this migration was written.
PER_MESSAGE = {"unreadable", "incomplete"}


def key_of(inbound, kind):
    if kind in PER_MESSAGE and not inbound.message_id.endswith("@sha256.invalid>"):
        message = f"{inbound.message_id}\n{inbound.sender.lower()}"
        return "message:" + hashlib.sha256(message.encode("utf-8", "replace")).hexdigest()
    return f"inbound:{inbound.pk}"


def record_replies_sent(apps, schema_editor):
    """The replies sent so far (InboundEmail.reply, the last one of each message)."""
    InboundEmail = apps.get_model("submissions", "InboundEmail")
    SentReply = apps.get_model("submissions", "SentReply")
    seen = set()
    replied = InboundEmail.objects.exclude(reply="").order_by("pk")
    for inbound in replied.only("pk", "message_id", "sender", "reply", "replied_at").iterator():
        key = (key_of(inbound, inbound.reply), inbound.reply)
        if key in seen:
            continue
        seen.add(key)
        SentReply.objects.create(
            inbound_id=inbound.pk,
            kind=inbound.reply,
            key=key[0],
            at=inbound.replied_at or django.utils.timezone.now(),
        )


class Migration(migrations.Migration):
    dependencies = [
        ("submissions", "0008_upload_claim_at_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="SentReply",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("kind", models.CharField(max_length=20)),
                ("key", models.CharField(max_length=80)),
                ("at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "inbound",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="submissions.inboundemail",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("key", "kind"), name="sent_reply_once")
                ],
            },
        ),
        migrations.RunPython(record_replies_sent, migrations.RunPython.noop),
    ]
