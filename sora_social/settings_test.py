"""Settings for the test suite: the real PostgreSQL and Redis, with test-only namespaces."""

import os

os.environ["DJANGO_ENV"] = "test"
# Keep the suite's Redis keys, Celery queues and channel groups apart from a running demo.
os.environ.setdefault("REDIS_KEY_PREFIX", "sora-test")
os.environ.setdefault("THROTTLE_SIGNUP", "10000/min")
os.environ.setdefault("THROTTLE_LOGIN", "10000/min")
os.environ.setdefault("THROTTLE_VIDEO_UPLOAD", "10000/min")
os.environ.setdefault("THROTTLE_PASSWORD_RESET", "10000/min")
# In-process tests load models on first use; the live servers the e2e tests start warm up.
os.environ.setdefault("SORA_WARMUP", "0")
os.environ.setdefault("MEDIA_ROOT", os.path.join(os.path.dirname(os.path.dirname(__file__)), "var", "test-media"))

from sora_social.settings import *  # noqa: F403
