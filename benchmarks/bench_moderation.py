"""`make bench` part: precision and recall of each moderation layer on the held-out set.

Writes benchmarks/results/moderation_eval.json (through `manage.py eval_moderation`).
"""

from benchmarks.common import django_setup


def main() -> None:
    django_setup()
    from django.core.management import call_command

    call_command("eval_moderation")


if __name__ == "__main__":
    main()
