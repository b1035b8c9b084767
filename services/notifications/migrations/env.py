from sqlmodel import SQLModel

import comptoir_notifications.store  # noqa: F401 - registers the tables
from comptoir_common.migrations import run_migrations

run_migrations(SQLModel.metadata)
