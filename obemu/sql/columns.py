"""MySQL column definitions: the catalog's Column and the SQLite declaration that stores it."""
from __future__ import annotations

from sqlglot import exp

from obemu.errors import ob_error
from obemu.sql import collation
from obemu.sql.catalog import Column, quote

INTEGER_TYPES = {"tinyint", "smallint", "mediumint", "int", "integer", "bigint", "bit", "year"}
FLOAT_TYPES = {"float"}
DOUBLE_TYPES = {"double", "real", "double precision"}
DECIMAL_TYPES = {"decimal", "numeric", "dec", "fixed"}
DATETIME_TYPES = {"datetime", "timestamp"}
BINARY_TYPES = {"binary", "varbinary", "blob", "tinyblob", "mediumblob", "longblob"}
# Declared SQLite types: their affinity stores the value, their name picks the converter that
# hands it to clients (obemu.sql.functions.register_converters).
DECLARED = [(INTEGER_TYPES, "INT"), (FLOAT_TYPES, "FLOAT"), (DOUBLE_TYPES, "DOUBLE"),
            (DECIMAL_TYPES, "DECIMAL"), (DATETIME_TYPES, "DATETIME"), ({"date"}, "DATE"),
            ({"time"}, "TIME"), (BINARY_TYPES, "BLOB")]


def declared_type(column: Column) -> str:
    """The SQLite type a column is declared with."""
    if column.auto_increment:
        return "INTEGER"
    for names, declared in DECLARED:
        if column.data_type in names:
            return declared
    return "TEXT"


def is_string(column: Column) -> bool:
    return declared_type(column) == "TEXT"


def _mysql_type(kind: exp.DataType) -> tuple[str, str]:
    """(column_type, data_type) as information_schema shows them."""
    text = kind.sql(dialect="mysql").lower().replace(", ", ",")
    if text in ("boolean", "bool"):
        return "tinyint(1)", "tinyint"
    data_type = text.split("(")[0].split(" ")[0]
    if data_type == "integer":
        text, data_type = "int" + text[len("integer"):], "int"
    return text, data_type


def _default_text(value: exp.Expression) -> tuple[str | None, bool]:
    """(catalog default, is CURRENT_TIMESTAMP) of a DEFAULT clause."""
    if isinstance(value, (exp.CurrentTimestamp, exp.Localtimestamp, exp.Localtime)) or (
            isinstance(value, exp.Anonymous) and str(value.this).upper() == "NOW"):
        fsp = value.this or (value.expressions[0] if value.expressions else None)
        return (f"CURRENT_TIMESTAMP({fsp.name})" if fsp is not None else "CURRENT_TIMESTAMP"), True
    if isinstance(value, exp.Null):
        return None, False
    if isinstance(value, exp.Boolean):
        return ("1" if value.this else "0"), False
    if isinstance(value, exp.Literal):
        return value.this if value.is_string else value.name, False
    if isinstance(value, exp.Neg) and isinstance(value.this, exp.Literal):
        return "-" + value.this.name, False
    raise ob_error(1235, what=f"DEFAULT {value.sql(dialect='mysql')} in obemu")


def parse_column(definition: exp.ColumnDef, table_collation: str | None) -> tuple[Column, dict]:
    """A catalog Column plus its key flags {'primary': bool, 'unique': bool}."""
    kind = definition.args.get("kind")
    if kind is None:
        raise ob_error(1064, near=definition.sql(dialect="mysql"))
    column_type, data_type = _mysql_type(kind)
    column = Column(definition.name, column_type, data_type, collation=table_collation)
    flags = {"primary": False, "unique": False}
    for constraint in definition.args.get("constraints") or []:
        _apply(column, flags, constraint.args.get("kind"))
    if flags["primary"]:
        column.nullable = False
    return column, flags


def _apply(column: Column, flags: dict, kind: exp.Expression | None) -> None:
    if isinstance(kind, exp.NotNullColumnConstraint):
        column.nullable = bool(kind.args.get("allow_null"))
    elif isinstance(kind, exp.PrimaryKeyColumnConstraint):
        flags["primary"] = True
    elif isinstance(kind, exp.UniqueColumnConstraint):
        flags["unique"] = True
    elif isinstance(kind, exp.AutoIncrementColumnConstraint):
        column.auto_increment = True
    elif isinstance(kind, exp.DefaultColumnConstraint):
        column.default, column.default_now = _default_text(kind.this)
    elif isinstance(kind, exp.OnUpdateColumnConstraint):
        column.on_update_now = True
    elif isinstance(kind, exp.CollateColumnConstraint):
        column.collation = kind.this.name.lower()
    elif isinstance(kind, exp.CommentColumnConstraint):
        column.comment = kind.this.name


def sqlite_default(column: Column) -> str:
    """The SQLite DEFAULT clause of a literal default (CURRENT_TIMESTAMP is filled in by obemu)."""
    if column.default is None or column.default_now:
        return ""
    if declared_type(column) in ("INT", "INTEGER", "FLOAT", "DOUBLE", "DECIMAL"):
        try:
            float(column.default)
            return f" DEFAULT {column.default}"
        except ValueError:
            pass
    return " DEFAULT '" + column.default.replace("'", "''") + "'"


def sqlite_column(column: Column, sole_primary: bool) -> str:
    """`"name" TYPE ...` for CREATE TABLE / ADD COLUMN."""
    parts = [quote(column.name), declared_type(column)]
    if not column.nullable:
        parts.append("NOT NULL")
    if sole_primary and column.auto_increment:
        parts.append("PRIMARY KEY AUTOINCREMENT")
    text = " ".join(parts) + sqlite_default(column)
    if is_string(column):
        binary = (column.collation or "") in collation.BINARY_NAMES
        text += " COLLATE " + ("BINARY" if binary else collation.NAME)
    return text
