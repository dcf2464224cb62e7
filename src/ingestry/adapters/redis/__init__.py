"""Redis adapters (optional `redis` extra): rate limits shared by API processes, and
the Streams consumer of the worker. redis-py is imported lazily by the composition root."""
