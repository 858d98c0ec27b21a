"""The shared test world (both simulators, real connectors, a real engine) on the shipments suite's own Redis DB."""

from tests.redisdb import own_database

redis_url = own_database("TEST_SHIPMENTS_REDIS_DB", 4)
