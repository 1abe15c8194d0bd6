"""The time-column indexes 0001 added with RunSQL were invisible to Django: on SQLite a
later migration that rebuilds the table (an AlterField/AddField) dropped them. They are
now declared on the models (voicemail 0007, calls 0006); drop the raw ones where they
survived (PostgreSQL) so each column has one index."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('console', '0003_sms_and_callbacks'),
        ('voicemail', '0007_time_index'),
        ('calls', '0006_time_index'),
    ]

    operations = [
        migrations.RunSQL("DROP INDEX IF EXISTS console_voicemail_created", migrations.RunSQL.noop),
        migrations.RunSQL("DROP INDEX IF EXISTS console_call_started", migrations.RunSQL.noop),
    ]
