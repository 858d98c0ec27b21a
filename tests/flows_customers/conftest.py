"""The shared test world (both simulators, real connectors, a real engine) on the customers suite's own Redis DB."""

from tests.redisdb import own_database

redis_url = own_database("TEST_CUSTOMERS_REDIS_DB", 5)
