"""Record caches: in-process LRU (`memory.py`) and Redis (`redis.py`)."""
