# The audit trail moves from the privacy app to core (a leaf every app may import): the
# table stays "privacy_auditevent", only Django's state changes.

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0002_periodicrun'),
        ('privacy', '0002_portal_codes_erasure_tombstones_file_deletions'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='AuditEvent',
                    fields=[
                        ('id', models.BigAutoField(primary_key=True, serialize=False)),
                        ('at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                        ('actor_kind', models.CharField(choices=[('professional', 'professionnel (connecté)'), ('link', 'destinataire (lien signé)'), ('operator', 'opérateur'), ('caller', 'appelant'), ('system', 'système')], max_length=12)),
                        ('actor_user_id', models.BigIntegerField(blank=True, null=True)),
                        ('actor_listing_id', models.BigIntegerField(blank=True, null=True)),
                        ('actor_label', models.CharField(blank=True, max_length=255)),
                        ('action', models.CharField(db_index=True, max_length=48)),
                        ('voicemail_id', models.UUIDField(blank=True, db_index=True, null=True)),
                        ('voicemail_reference', models.CharField(blank=True, max_length=12)),
                        ('delivery_id', models.UUIDField(blank=True, db_index=True, null=True)),
                        ('detail', models.JSONField(blank=True, default=dict)),
                    ],
                    options={
                        'verbose_name': "événement d'audit",
                        'verbose_name_plural': "journal d'audit",
                        'db_table': 'privacy_auditevent',
                        'ordering': ['-at', '-id'],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
