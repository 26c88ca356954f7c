"""Offline tooling for the feed: a synthetic population, the simulated evaluation, the
benchmark database seeding (COPY). Imports the apps; nothing in the apps imports it."""
