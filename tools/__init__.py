"""Offline tooling: seeding, simulation, data building and evaluation.

Tools import the apps; no app imports tools. The management commands here are the entry points
(`manage.py eval_feed`, `manage.py eval_moderation`, ...); the code they run lives beside them.
"""
