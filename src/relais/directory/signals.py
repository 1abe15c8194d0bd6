"""Signals the directory sends, for the apps built on it (which import this, never the reverse).

- :data:`establishments_changed`: establishments were changed in bulk, by SQL that sends
  no model signal (the SIRENE import). Arguments: ``using`` (the database alias),
  ``kind`` (what changed them: ``"sirene-import"``) and ``counts`` (rows created, updated,
  unchanged, deactivated, skipped). Receivers run in the importer's process, after the
  merge is committed; an exception in one stops the import's caller like any error.
"""

from django.dispatch import Signal

establishments_changed = Signal()
