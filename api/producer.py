"""The Celery producer: sends run ids to the worker queues by task name.

The API imports no worker code: ``send_task("squeezelab.run", args=[run_id])`` names the
task, and Celery routes it to the run's queue ("cpu" or "gpu") on the default direct
exchange, so it reaches whatever worker consumes that queue, whatever exchange the
worker declares. Timeouts and retries are short on purpose: enqueueing happens inside a
request, after the commit, and a dead broker must cost that request a couple of seconds
at most; the run stays queued and the reconciler sends it later.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from celery import Celery
from kombu.exceptions import ChannelError

TASK_NAME = "squeezelab.run"
# Two quick retries (0.1 s, then 0.3 s apart) ride out a broker reconnecting or failing
# over; more would only hold the request while the reconciler does the same job later.
PUBLISH_RETRY_POLICY: Mapping[str, float] = {
    "max_retries": 2, "interval_start": 0.1, "interval_step": 0.2, "interval_max": 0.3}
CONNECT_TIMEOUT_S = 2.0  # one TCP connect; a blackholed broker host costs this per try
REDIS_SCHEMES = ("redis", "rediss", "redis+socket", "sentinel")
SOCKET_TIMEOUT_S = 2.0  # a reply from a connected broker: LPUSH and LLEN take microseconds


class CeleryProducer:
    """An ``Enqueuer`` (and ``QueueDepth``) over a Celery broker: Redis, AMQP, or the
    server-less SQLAlchemy/filesystem transports of embedded mode."""

    def __init__(self, broker_url: str,
                 transport_options: Mapping[str, Any] | None = None) -> None:
        """transport_options: kombu transport options added to the defaults, e.g.
        ``{"global_keyprefix": "test-1:"}`` to keep a test's Redis keys apart."""
        self.app = Celery("squeezelab-api", broker=broker_url, set_as_current=False)
        # kombu's (re)connect when a channel is opened: once more, at once (its default
        # waits 2 s first). Every transport understands these keys.
        options: dict[str, Any] = {"max_retries": 1, "interval_start": 0,
                                   "interval_step": 0.2, "interval_max": 0.2}
        if broker_url.split(":", 1)[0] in REDIS_SCHEMES:
            # Other transports reject these (SQLAlchemy passes options to create_engine).
            options.update(socket_connect_timeout=CONNECT_TIMEOUT_S,
                           socket_timeout=SOCKET_TIMEOUT_S)
        self.app.conf.update(
            broker_connection_timeout=CONNECT_TIMEOUT_S,  # AMQP's connect
            broker_connection_retry=False,
            broker_transport_options={**options, **(transport_options or {})},
            task_publish_retry_policy=dict(PUBLISH_RETRY_POLICY),
            task_create_missing_queues=True,
        )

    def enqueue(self, run_id: int, queue: str) -> None:
        """Publish ``squeezelab.run(run_id)`` on ``queue``; raises when the broker is down."""
        self.app.send_task(TASK_NAME, args=[run_id], queue=queue, retry=True,
                           retry_policy=dict(PUBLISH_RETRY_POLICY))

    def queue_depth(self, queue: str) -> int | None:
        """Messages waiting in ``queue`` (delivered but unacknowledged ones excluded);
        raises when the broker is unreachable.

        kombu's virtual transports (Redis, SQLAlchemy, filesystem) count a queue with the
        channel's ``_size``: their passive declare is unreliable for this, since Redis
        deletes an empty list (the queue then reads as missing) and kombu 5 checks its
        existence without the ``global_keyprefix``. Other brokers (AMQP) answer a passive
        declare with the count; a queue they do not know holds nothing.
        """
        with self.app.connection_for_write() as connection:
            channel = connection.default_channel
            size = getattr(channel, "_size", None)
            if callable(size):
                return int(size(queue))
            try:
                return int(channel.queue_declare(queue=queue, passive=True).message_count)
            except ChannelError:
                return 0

    def close(self) -> None:
        """Release the broker connections of the producer pool."""
        self.app.close()

