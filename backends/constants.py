"""Redis names and limits of the generic backends."""

BUS_CHANNEL_PREFIX = "fd:bus:"
SUBSCRIBER_QUEUE_MAX = 1000
