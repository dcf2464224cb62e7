"""Backups: the files (`archive.py`), the content digest (`digest.py`) and one engine
per backend (`sqlite.py`, `postgres.py`)."""
