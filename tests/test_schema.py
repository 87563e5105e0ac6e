from pathlib import Path

from ispcore.schema import build_schema

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "schema.graphql"


def test_committed_schema_is_current():
    printed = build_schema().as_str() + "\n"
    assert SCHEMA_FILE.read_text() == printed, (
        "schema.graphql is stale: run `ispcore print-schema > schema.graphql` and commit it"
    )


def test_every_root_field_declares_a_permission():
    from ispcore.schema import Mutation, Query, Subscription
    from ispcore.schema.permissions import field_permission

    missing = []
    for root in (Query, Mutation, Subscription):
        for field in root.__strawberry_definition__.fields:
            if field.name == "node":
                continue  # node(id:) checks the permission of the type it finds
            if field_permission(field.extensions) is None:
                missing.append(f"{root.__name__}.{field.name}")
    assert missing == []


def test_readme_lists_every_setting():
    from ispcore.config import Settings

    readme = (SCHEMA_FILE.parent / "README.md").read_text()
    missing = [n for n in Settings.model_fields if f"`ISPCORE_{n.upper()}`" not in readme]
    assert missing == []
