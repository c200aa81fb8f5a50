"""Unbound singletons, bound to an app in create_app(); importing them never needs an app."""

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData

# Named constraints so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# autoflush off: writes reach the database at commit (or an explicit flush), never as a side
# effect of a query. On SQLite a flushed write holds the database's single write lock until
# commit; the SQL-backed store writes on its own connection, so a lock taken by a query's
# autoflush made the request wait for itself.
db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING),
                session_options={"autoflush": False})
migrate = Migrate()
