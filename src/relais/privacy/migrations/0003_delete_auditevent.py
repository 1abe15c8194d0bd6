# The audit trail is core's now (core.0003_auditevent): its table stays, only the state
# moves.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('privacy', '0002_portal_codes_erasure_tombstones_file_deletions'),
        ('core', '0003_auditevent'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='AuditEvent')],
            database_operations=[],
        ),
    ]
