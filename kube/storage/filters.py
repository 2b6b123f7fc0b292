"""Selectors → SQL. Label requirements become JSONB containment/key tests on the indexed
`labels` column; field requirements become column or body-path comparisons. Only `gt`/`lt`
label requirements, which JSONB cannot compare as integers cheaply, are expressed with a cast."""

from __future__ import annotations

from django.db.models import Q
from django.db.models.expressions import RawSQL

from kube.selectors import FieldSelector, LabelSelector, Op


def label_q(selector: LabelSelector) -> Q | None:
    if selector.nothing:
        return Q(pk__in=[])
    if not selector.requirements:
        return None
    q = Q()
    for req in selector.requirements:
        key = req.key
        if req.op is Op.EXISTS:
            q &= Q(labels__has_key=key)
        elif req.op is Op.DOES_NOT_EXIST:
            q &= ~Q(labels__has_key=key)
        elif req.op in (Op.EQUALS, Op.IN):
            any_of = Q()
            for v in req.values:
                any_of |= Q(labels__contains={key: v})
            q &= any_of
        elif req.op in (Op.NOT_EQUALS, Op.NOT_IN):
            for v in req.values:
                q &= ~Q(labels__contains={key: v})
        else:
            comparator = ">" if req.op is Op.GREATER_THAN else "<"
            q &= Q(
                pk__in=RawSQL(
                    "SELECT id FROM kube_object WHERE labels->>%s ~ '^[+-]?[0-9]{1,18}$' "
                    f"AND (labels->>%s)::bigint {comparator} %s",
                    (key, key, int(req.values[0])),
                )
            )
    return q


def field_q(selector: FieldSelector, namespaced: bool) -> Q | None:
    if selector.empty:
        return None
    q = Q()
    for req in selector.requirements:
        if req.field == "metadata.name":
            cond = Q(name=req.value)
        elif req.field == "metadata.namespace":
            cond = Q(namespace=req.value) if namespaced else (Q() if req.value == "" else Q(pk__in=[]))
        else:
            lookup = "body__" + "__".join(req.field.split("."))
            cond = Q(**{lookup: req.value})
            if req.value == "":
                cond |= Q(**{lookup + "__isnull": True})
        q &= ~cond if req.op is Op.NOT_EQUALS else cond
    return q
