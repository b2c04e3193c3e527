import json

from django.core.management.base import BaseCommand, CommandError

from labeling.models import Project
from quality.report import PERSON_FIGURES, quality_report_compute

PROJECT_FIGURES = {
    "vote_alpha": "Krippendorff's alpha on 👍/👎",
    "pick_agreement": "best-pick agreement",
    "review_agreement": "reviewers' agreement",
    "gold_accuracy": "gold accuracy",
}


def _cell(figure: dict, name: str) -> str:
    if not figure["items"]:
        return "—"
    if figure["value"] is None:
        return f"n/e ({figure['items']})"
    value = figure["value"]
    shown = f"{value:.1f}s" if name == "median_seconds" else f"{value:.3f}" if name == "vote_alpha" else f"{value:.0%}"
    return f"{shown} ({figure['items']})"


class Command(BaseCommand):
    help = "A project's quality figures, computed fresh: agreement, gold accuracy and one row per annotator."

    def add_arguments(self, parser):
        parser.add_argument("project", help="project slug")
        parser.add_argument("--format", choices=["table", "json"], default="table")

    def handle(self, *args, project: str, format: str, **options):
        target = Project.objects.filter(slug=project).first() if "\x00" not in project else None
        if target is None:
            known = ", ".join(Project.objects.values_list("slug", flat=True)) or "none"
            raise CommandError(f"No project with slug {project!r}. Known projects: {known}.")
        report = quality_report_compute(project=target)
        if format == "json":
            self.stdout.write(json.dumps(report, indent=2, ensure_ascii=False))
            return
        self._table(report)

    def _table(self, report: dict) -> None:
        counts = report["judgements"]
        self.stdout.write(
            f"Quality of {report['project']} as of {report['computed_at']} "
            f"({counts['votes']} votes, {counts['picks']} picks, {counts['reviews']} reviews; "
            f"computed in {report['seconds']:.2f} s)"
        )
        for name, label in PROJECT_FIGURES.items():
            self.stdout.write(f"  {label}: {_cell(report['figures'][name], name)}")
        self.stdout.write(
            f"(items behind each figure in brackets; n/e: not enough overlap, fewer than {report['min_items']} items)"
        )
        header = ["person", "judgements", *PERSON_FIGURES, "state", "flags"]
        rows = [
            [
                row["username"],
                str(row["judgements"]),
                *(_cell(row[name], name) for name in PERSON_FIGURES),
                "excluded" if row["excluded"] else "paused" if row["paused"] else "",
                "; ".join(row["flags"]),
            ]
            for row in report["annotators"]
        ]
        widths = [max(len(line[column]) for line in [header, *rows]) for column in range(len(header) - 1)]
        for line in [header, *rows]:
            cells = [cell.ljust(width) for cell, width in zip(line, widths, strict=False)]
            self.stdout.write("  ".join([*cells, line[-1]]).rstrip())
