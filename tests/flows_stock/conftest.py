"""The stock flow end to end: both simulators in-process, the real connectors, real Redis (database 6)."""

from tests.redisdb import own_database

redis_url = own_database("TEST_STOCK_REDIS_DB", 6)
