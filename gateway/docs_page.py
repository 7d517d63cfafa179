"""A human-readable page of the API, rendered on the server from the OpenAPI
document: self-contained (no CDN, no script), so it works offline and behind a strict
Content-Security-Policy, and it can never disagree with ``/api/v1/openapi.json``."""

from __future__ import annotations

from html import escape
from typing import Any

_STYLE = """
body{font-family:system-ui,Tahoma,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;
color:#222;line-height:1.5}
h1{margin-bottom:.2rem}h2{border-bottom:2px solid #ddd;margin-top:2.5rem;text-transform:capitalize}
.op{border:1px solid #ddd;border-radius:6px;margin:1rem 0;padding:.6rem 1rem}
.method{display:inline-block;min-width:4.5rem;font-weight:bold;font-family:monospace}
.GET{color:#0a6}.POST{color:#06c}.PUT{color:#a60}.DELETE{color:#c22}
code{background:#f4f4f4;padding:0 .25rem;border-radius:3px}
.access{float:right;font-size:.85rem;color:#666}
table{border-collapse:collapse;margin:.4rem 0;font-size:.9rem}
td,th{border:1px solid #e3e3e3;padding:.2rem .5rem;text-align:left;vertical-align:top}
"""


def _type_text(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {_type_text(schema.get('items', {}))}"
    extras = []
    if "format" in schema:
        kind += f" ({schema['format']})"
    if "enum" in schema:
        extras.append("one of " + ", ".join(str(v) for v in schema["enum"]))
    for key, label in (("minLength", "min length"), ("maxLength", "max length"),
                       ("minimum", "min"), ("maximum", "max"), ("maxItems", "max items"),
                       ("default", "default")):  # fmt: skip
        if key in schema:
            extras.append(f"{label} {schema[key]}")
    return kind + (f"; {'; '.join(extras)}" if extras else "")


def _fields_table(schema: dict[str, Any], required: set[str]) -> str:
    rows = []
    for name, field in schema.get("properties", {}).items():
        rows.append(
            f"<tr><td><code>{escape(name)}</code>{' *' if name in required else ''}</td>"
            f"<td>{escape(_type_text(field))}</td>"
            f"<td>{escape(field.get('description', ''))}</td></tr>"
        )
    if not rows:
        return "<p>No fields.</p>"
    return (
        "<table><tr><th>field</th><th>type</th><th>meaning</th></tr>" + "".join(rows) + "</table>"
    )


def _operation_html(method: str, path: str, op: dict[str, Any], schemas: dict[str, Any]) -> str:
    parts = [
        f'<div class="op" id="{escape(op["operationId"])}">',
        f'<span class="access">{escape(op.get("x-access", ""))}</span>',
        f'<span class="method {method.upper()}">{method.upper()}</span>',
        f"<code>{escape(path)}</code>",
        f"<p>{escape(op.get('summary', ''))}</p>",
    ]
    if op.get("description"):
        parts.append(f"<p>{escape(op['description'])}</p>")
    params = op.get("parameters", [])
    if params:
        parts.append("<table><tr><th>parameter</th><th>in</th><th>type</th></tr>")
        for p in params:
            parts.append(
                f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p['in'])}</td>"
                f"<td>{escape(_type_text(p.get('schema', {})))}</td></tr>"
            )
        parts.append("</table>")
    body = op.get("requestBody", {}).get("content", {})
    if "application/json" in body:
        name = body["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        schema = schemas.get(name, {})
        media = ", ".join(body)
        parts.append(f"<p>Body ({escape(media)}):</p>")
        parts.append(_fields_table(schema, set(schema.get("required", []))))
    statuses = ", ".join(op.get("responses", {}))
    parts.append(f"<p>Answers: {escape(statuses)}</p></div>")
    return "\n".join(parts)


def render_docs(document: dict[str, Any]) -> str:
    schemas = document.get("components", {}).get("schemas", {})
    by_tag: dict[str, list[str]] = {}
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            tag = (op.get("tags") or ["other"])[0]
            by_tag.setdefault(tag, []).append(_operation_html(method, path, op, schemas))
    sections = "".join(
        f"<h2>{escape(tag)}</h2>" + "".join(ops) for tag, ops in sorted(by_tag.items())
    )
    info = document.get("info", {})
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(info.get('title', 'API'))}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{escape(info.get('title', 'API'))}</h1><p>{escape(info.get('description', ''))}</p>"
        '<p>Machine-readable: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.'
        " Authorise with <code>Authorization: Bearer &lt;access token&gt;</code>.</p>"
        f"{sections}</body></html>"
    )
