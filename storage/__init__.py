"""SQLAlchemy 2 implementation of the core's storage ports (``bot.ports``).

Modules: ``models`` (tables), ``db`` (engines and sessions), ``repositories`` and ``uow``
(the ports), ``migrate`` (Alembic, with the migrations inside this package).
Nothing here connects to a database at import time.
"""
