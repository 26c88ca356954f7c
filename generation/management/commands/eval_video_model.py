"""`manage.py eval_video_model`: evaluate a video model checkpoint and write the JSON report.

A thin wrapper around `generation.video_model.evaluation.evaluate` (also runnable as
`python -m generation.video_model.evaluation`).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Evaluate the embedded video model: colour/shape adherence, motion direction, physics and "
        "cameo fidelity on held-out prompts, beside real procedural clips and an untrained model."
    )

    def add_arguments(self, parser) -> None:
        from generation.video_model.evaluation import build_parser

        build_parser(parser)

    def handle(self, *args, **options) -> None:
        import argparse

        from generation.video_model.evaluation import build_parser, run_from_args

        names = {action.dest for action in build_parser()._actions if action.dest != "help"}
        namespace = argparse.Namespace(**{k: v for k, v in options.items() if k in names})
        run_from_args(namespace, say=lambda line: self.stdout.write(line))
