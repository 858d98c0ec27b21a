"""The products flow end to end: both simulators in-process, the real connectors, real Redis (database 7)."""

from tests.redisdb import own_database

redis_url = own_database("TEST_PRODUCTS_REDIS_DB", 7)
