"""The cache's doorbell for exports and schemas (shards.cache.spec.APIS_CHANNEL): a binding on
one shard to an export on another re-reconciles when the export or its schemas change there,
within the replication lag instead of at the next resync.

`kcp_cache_notify` (AFTER INSERT/UPDATE/DELETE, per row, on the cache's `apis_apiexport` and
`apis_apiresourceschema`) notifies the row's key. ENABLE ALWAYS: the rows are written by the
replication apply worker (session_replication_role = replica), where an ordinary trigger never
fires; ordinary sessions cannot write these tables at all (`kcp_cache_read_only`). The function
qualifies every name and pins its search_path: the apply worker runs with an empty search_path,
and a failing trigger there would stall replication from that shard. NOTIFY is sent at commit
and folded per transaction, so the initial copy of a table rings once per distinct row key.

Created only on the `global` alias, as the cache tables are (0004)."""

from django.db import migrations

TABLES = {"apis_apiexport": "apiexports", "apis_apiresourceschema": "apiresourceschemas"}

FUNCTION = """
CREATE FUNCTION public.kcp_cache_notify() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE r record;
BEGIN
  IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
  PERFORM pg_catalog.pg_notify('kcp_cache_apis', pg_catalog.json_build_object(
    'op', TG_OP, 'resource', TG_ARGV[0], 'cluster', r.cluster, 'name', r.name)::text);
  RETURN NULL;
END $$;
"""


def _trigger_sql(table: str, resource: str) -> str:
    return f"""
CREATE TRIGGER kcp_cache_notify AFTER INSERT OR UPDATE OR DELETE ON public.{table}
    FOR EACH ROW EXECUTE FUNCTION public.kcp_cache_notify('{resource}');
ALTER TABLE public.{table} ENABLE ALWAYS TRIGGER kcp_cache_notify;
"""


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.alias != "global":
        return
    schema_editor.execute(FUNCTION + "".join(_trigger_sql(t, r) for t, r in TABLES.items()), None)


def drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.alias != "global":
        return
    triggers = "".join(f"DROP TRIGGER IF EXISTS kcp_cache_notify ON public.{t};\n" for t in TABLES)
    schema_editor.execute(triggers + "DROP FUNCTION IF EXISTS public.kcp_cache_notify();", None)


class Migration(migrations.Migration):
    dependencies = [("shards", "0004_cache_tables")]
    # hints: the router sends this where the directory lives (the global database when configured)
    operations = [migrations.RunPython(create, drop, hints={"model_name": "directoryentry"})]
