"""The ``relais`` console script: django-admin with Relais settings.

``relais``, ``relais help`` and ``relais --help`` start with the commands an operator
uses, grouped (directory import, numbers, retention, moderation, credits, understanding,
demo), each with an example; Django's full list follows.
"""

import os
import sys

# (group, [(command, example)]). Moderation and credits are pages of /admin/ (no command).
OPERATOR_COMMANDS = [
    ("Annuaire (SIRENE)", [
        ("import_sirene", "relais import_sirene StockEtablissement_utf8.zip --report rejets.csv"),
    ]),
    ("Numéros de suivi", [
        ("numbers", "relais numbers add +33199000001 +33199000002; relais numbers list --free"),
    ]),
    ("Conservation et données personnelles", [
        ("purge", "relais purge   (la tâche quotidienne le fait aussi)"),
    ]),
    ("Modération et routage", [
        ("routing_index", "relais routing_index --rebuild"),
        ("export_feedback", "relais export_feedback --since 2026-01-01 -o retours.jsonl"),
        ("(admin)", "messages retenus : /admin/ → Routage → « Approuver » / « Rejeter »"),
    ]),
    ("Crédits", [
        ("(admin)", "accorder des crédits : /admin/ → Crédits → Mouvements → Ajouter"),
    ]),
    ("Compréhension des messages", [
        ("retrain_from_feedback", "relais retrain_from_feedback --dry-run"),
        ("train_classifier", "relais train_classifier --extra exemples.jsonl"),
        ("classify", "echo '{\"id\": 1, \"text\": \"fuite sous l évier\"}' | relais classify"),
    ]),
    ("Processus", [
        ("worker", "relais worker   (les tâches : téléchargement, transcription, e-mails)"),
    ]),
    ("Démo (RELAIS_DEMO=1, python3 dev.py start)", [
        ("seed_demo", "relais seed_demo"),
        ("simulate_call", "relais simulate_call --to +33199000001 --from +33611223344 "
                          "--audio msg.wav --no-answer"),
        ("generate_sirene", "relais generate_sirene --rows 30000 --seed 1 --out stock.zip"),
    ]),
]


def operator_help(available: set[str]) -> str:
    """The grouped overview (commands not installed here, e.g. the demo's, are left out)."""
    lines = ["Commandes de l'exploitant (relais help COMMANDE pour le détail) :", ""]
    for group, commands in OPERATOR_COMMANDS:
        shown = [(c, e) for c, e in commands if c.startswith("(") or c in available]
        if not shown:
            continue
        lines.append(f"  {group}")
        for command, example in shown:
            lines.append(f"    {command:<22} {example}")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relais.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018 - load settings now to report errors clearly
    except ImproperlyConfigured as exc:
        sys.exit(f"relais: configuration error: {exc}")
    if sys.argv[1:] in ([], ["help"], ["--help"], ["-h"]):
        import django
        from django.core.management import get_commands

        django.setup()
        print(operator_help(set(get_commands())))
        print("Toutes les commandes (Django compris) :")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
