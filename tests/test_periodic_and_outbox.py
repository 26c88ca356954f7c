"""Beat's schedule is loaded, names real tasks and routes them to queues that workers consume;
the outbox never loses a message while the broker is down and never sends one twice."""

from __future__ import annotations

import pytest
from celery.schedules import crontab
from kombu.exceptions import OperationalError as BrokerDown

from generation.models import GenerationJob, JobStatus
from sora_social.celery import app
from sora_social.outbox.models import OutboxMessage
from sora_social.outbox.services import outbox_relay, outbox_send

QUEUES_WORKERS_CONSUME = {"gpu", "default"}  # Makefile `worker`, LiveStack, docs/ARCHITECTURE.md


def test_beat_schedule_is_loaded_and_every_task_exists_and_is_routed():
    schedule = app.conf.beat_schedule
    assert {"reap-generation-jobs", "outbox-relay", "ranking-stats-refresh", "purge-expired-tokens"} <= set(schedule)
    app.loader.import_default_modules()
    for entry, spec in schedule.items():
        assert spec["task"] in app.tasks, f"{entry}: no task named {spec['task']}"
        queue = app.amqp.router.route({}, spec["task"])["queue"].name
        assert queue in QUEUES_WORKERS_CONSUME, f"{entry}: routed to {queue}, which no worker consumes"
        assert isinstance(spec["schedule"], float | crontab)
    assert app.amqp.router.route({}, "generation.tasks.generation_job_run")["queue"].name == "gpu"


@pytest.fixture
def publishes(monkeypatch):
    """What reaches the broker; `broker_down` makes every publish fail as Redis being cut does."""
    sent: list[tuple[str, list, str]] = []
    state = {"down": False}

    def apply_async(self, args=None, queue=None, **options):
        if state["down"]:
            raise BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        sent.append((self.name, list(args or []), queue))

    app.loader.import_default_modules()
    monkeypatch.setattr(type(app.tasks["generation.tasks.generation_job_run"]), "apply_async", apply_async)
    return sent, state


@pytest.mark.django_db(transaction=True)
def test_submit_while_the_broker_is_down_is_201_and_runs_once_when_it_returns(api, publishes):
    sent, state = publishes
    state["down"] = True
    response = api.post("/api/v1/generations", {"prompt": "a red ball bounces", "seconds": 4}, format="json")
    assert response.status_code == 201, response.content
    job = GenerationJob.objects.get(public_id=response.json()["id"])
    assert job.status == JobStatus.QUEUED
    message = OutboxMessage.objects.get(task="generation.tasks.generation_job_run", args=[job.pk])
    assert message.sent_at is None and message.attempts == 1 and "Connection refused" in message.last_error
    assert sent == []

    assert outbox_relay()["failed"] == 1  # still down: nothing lost, nothing sent
    state["down"] = False
    assert outbox_relay()["sent"] == 1
    assert outbox_relay()["sent"] == 0  # and never twice
    assert sent == [("generation.tasks.generation_job_run", [job.pk], "gpu")]
    message.refresh_from_db()
    assert message.sent_at is not None and message.claimed_at is not None


@pytest.mark.django_db(transaction=True)
def test_the_on_commit_send_and_the_relay_never_both_send(api, publishes):
    sent, _ = publishes
    response = api.post("/api/v1/generations", {"prompt": "a blue cube slides", "seconds": 4}, format="json")
    assert response.status_code == 201
    message = OutboxMessage.objects.get(task="generation.tasks.generation_job_run")
    assert message.sent_at is not None
    assert outbox_send(message_id=message.pk) is False
    assert outbox_relay()["sent"] == 0
    assert len(sent) == 1


@pytest.mark.django_db(transaction=True)
def test_a_sender_that_died_after_claiming_is_retried_after_its_lease(publishes, settings):
    from django.db import transaction
    from django.utils import timezone

    from sora_social.outbox.services import outbox_send_on_commit

    sent, _ = publishes
    with transaction.atomic():
        message = outbox_send_on_commit(task="generation.tasks.generation_job_run", args=[12345], queue="gpu")
    assert len(sent) == 1
    # A sender claimed a second message and died before publishing it.
    orphan = OutboxMessage.objects.create(
        task="generation.tasks.generation_job_run", args=[777], queue="gpu", claimed_at=timezone.now()
    )
    assert outbox_relay()["sent"] == 0
    settings.OUTBOX_CLAIM_LEASE_S = 0
    assert outbox_relay()["sent"] == 1
    assert sent[-1] == ("generation.tasks.generation_job_run", [777], "gpu")
    assert OutboxMessage.objects.filter(pk__in=[message.pk, orphan.pk], sent_at__isnull=True).count() == 0
