"""`manage.py train_video_model`: train the embedded video model (a thin wrapper).

The same as `python -m generation.video_model.training`; see that module for the options.
Progress bar, checkpoints every `--checkpoint-every` steps, `--resume` to continue.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Train the embedded text-to-video model on procedural clips (CPU or CUDA; resumable)."

    def add_arguments(self, parser) -> None:
        from generation.video_model.training import build_parser

        build_parser(parser)

    def handle(self, *args, **options) -> None:
        import argparse

        from generation.video_model.training import build_parser, run_from_args

        names = {action.dest for action in build_parser()._actions if action.dest != "help"}
        namespace = argparse.Namespace(**{k: v for k, v in options.items() if k in names})
        run_from_args(namespace, say=lambda line: self.stdout.write(line))
