"""The cache of what crosses shards: its tables in the global database (shards.cache.spec says
why they carry the shards' table names), written only by logical replication.

Each table has the published columns of its shard table and the object key as primary key (ids
collide across shards; logical cluster names do not). Two triggers per table:

* `kcp_cache_read_only` (BEFORE INSERT/UPDATE/DELETE/TRUNCATE, per statement: a statement that
  would touch no row is refused too): refuses every write with `insufficient_privilege`. An
  ordinary trigger fires in ordinary sessions only, never in the replication apply worker (which runs with session_replication_role = replica), so the shards'
  application role, however privileged, cannot change the cache; only replication does. (A
  superuser can still set session_replication_role: that is `manage.py kcp_cache install`
  clearing a shard's rows before a fresh copy, nothing else.)
* `kcp_cache_replace` (BEFORE INSERT, ENABLE REPLICA: it fires in the apply worker only): an
  incoming row replaces a row of the same key. Without it a leftover row (a resubscription after a
  lost slot, a shard database restored from a backup) would make the insert fail, and the apply
  worker would retry that forever: replication from that shard would stop.

The functions qualify every name and pin their search_path: the apply worker runs with an empty
search_path, and a trigger failing there stalls replication.

Created only on the `global` alias: without a global database there is no cache (every read is
local), and the shard's own tables of the same names must not get these triggers."""

from django.db import migrations

COLUMNS = """
    cluster text NOT NULL,
    "group" text NOT NULL,
    resource text NOT NULL,
    namespace text NOT NULL,
    name text NOT NULL,
    uid uuid,
    resource_version bigint NOT NULL,
    generation bigint,
    deletion_timestamp timestamptz,
    labels jsonb,
    body jsonb NOT NULL,
    created timestamptz"""

TABLES = {
    "tenancy_workspacetype": "",
    "apis_apiexport": ",\n    identity_hash text",
    "apis_apiresourceschema": ",\n    api_group text,\n    plural text",
    "apis_apiexportendpointslice": ",\n    export_path text,\n    export_name text",
    "kube_object": ",\n    replicate boolean NOT NULL DEFAULT false",
}

FUNCTIONS = """
CREATE FUNCTION public.kcp_cache_read_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
  RAISE EXCEPTION 'the cache of what crosses shards is written by replication only (table %)', TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE FUNCTION public.kcp_cache_replace() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
  EXECUTE format('DELETE FROM %I.%I WHERE cluster = $1 AND "group" = $2 AND resource = $3 '
                 'AND namespace = $4 AND name = $5', TG_TABLE_SCHEMA, TG_TABLE_NAME)
    USING NEW.cluster, NEW."group", NEW.resource, NEW.namespace, NEW.name;
  RETURN NEW;
END $$;
"""


def _table_sql(table: str, extra: str) -> str:
    return f"""
CREATE TABLE public.{table} ({COLUMNS}{extra},
    PRIMARY KEY (cluster, "group", resource, namespace, name)
);
CREATE TRIGGER kcp_cache_read_only BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON public.{table}
    FOR EACH STATEMENT EXECUTE FUNCTION public.kcp_cache_read_only();
CREATE TRIGGER kcp_cache_replace BEFORE INSERT ON public.{table}
    FOR EACH ROW EXECUTE FUNCTION public.kcp_cache_replace();
ALTER TABLE public.{table} ENABLE REPLICA TRIGGER kcp_cache_replace;
"""


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.alias != "global":
        return
    sql = FUNCTIONS + "".join(_table_sql(t, extra) for t, extra in TABLES.items())
    sql += "CREATE INDEX apis_apiexport_identity ON public.apis_apiexport (identity_hash);\n"
    schema_editor.execute(sql, None)


def drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.alias != "global":
        return
    tables = ", ".join(f"public.{t}" for t in TABLES)
    schema_editor.execute(
        f"DROP TABLE IF EXISTS {tables}; DROP FUNCTION IF EXISTS public.kcp_cache_read_only(), "
        "public.kcp_cache_replace();",
        None,
    )


class Migration(migrations.Migration):
    dependencies = [("shards", "0003_global_directory")]
    # hints: the router sends this where the directory lives (the global database when configured)
    operations = [migrations.RunPython(create, drop, hints={"model_name": "directoryentry"})]
