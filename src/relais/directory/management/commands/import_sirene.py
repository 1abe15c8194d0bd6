import csv
import sys

from django.core.management.base import BaseCommand, CommandError

from relais.directory.importer import SireneFileError, import_sirene

SHOWN_REJECTIONS = 20


class Command(BaseCommand):
    help = (
        "Import INSEE's SIRENE StockEtablissement file (CSV or .zip, UTF-8) into the "
        "directory: active establishments in France are created or updated, closed ones "
        "deactivated; a bad file changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="StockEtablissement_utf8.csv or .zip")
        parser.add_argument(
            "--report", metavar="FILE",
            help="write every rejected row (line, siret, reason) to this CSV file",
        )
        parser.add_argument("--no-progress", action="store_true", help="never show a progress bar")

    def handle(self, *args, path, report=None, no_progress=False, **options):
        report_file = open(report, "w", newline="", encoding="utf-8") if report else None
        writer = csv.writer(report_file) if report_file else None
        if writer:
            writer.writerow(["line", "siret", "reason"])
        interactive = sys.stderr.isatty() and not no_progress

        def phase(name):
            if interactive:
                self.stderr.write({"merge": "Merging into the directory…",
                                   "indexes": "Building the directory's indexes…"}[name])

        try:
            result = import_sirene(
                path,
                progress=False if no_progress else None,
                on_rejection=(lambda r: writer.writerow([r.line, r.siret, r.reason]))
                if writer else None,
                on_phase=phase,
            )
        except SireneFileError as e:
            raise CommandError(str(e)) from None
        finally:
            if report_file:
                report_file.close()

        for rejection in result.rejections[:SHOWN_REJECTIONS]:
            self.stdout.write(
                f"line {rejection.line}: rejected {rejection.siret or '-'}: {rejection.reason}"
            )
        if result.rejected > SHOWN_REJECTIONS:
            more = result.rejected - SHOWN_REJECTIONS
            where = f"see {report}" if report else "use --report FILE for the full list"
            self.stdout.write(f"… and {more:,} more rejected rows ({where})")
            for reason, count in result.rejected_by_reason.most_common():
                self.stdout.write(f"  {count:,} × {reason}")
        rate = result.read / result.seconds if result.seconds else 0
        self.stdout.write(
            self.style.SUCCESS(f"{result.summary()} ({result.seconds:.1f} s, {rate:,.0f} rows/s)")
        )
