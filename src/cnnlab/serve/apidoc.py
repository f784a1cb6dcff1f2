"""A plain HTML reference of the JSON API, built from the OpenAPI schema: readable offline (FastAPI's /docs
page loads Swagger UI from a CDN)."""
from __future__ import annotations

import html

STYLE = """body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d2330}
h1{font-size:1.5rem} .op{border:1px solid #e3e6ee;border-radius:8px;padding:.6rem .9rem;margin:.7rem 0}
.m{display:inline-block;min-width:3.6rem;font:700 .8rem monospace;color:#fff;background:#3451c6;border-radius:4px;
text-align:center;padding:.1rem .3rem;margin-right:.5rem}.m.get{background:#12805c}
code{font-family:monospace} ul{margin:.3rem 0 0;color:#475467;font-size:.9rem}"""


def _params(op: dict, schema: dict) -> list[str]:
    """'name (where): description' for each query/path parameter and form field of an operation."""
    out = [f"{p['name']} ({p['in']}){': ' + p['description'] if p.get('description') else ''}"
           for p in op.get("parameters", [])]
    body = op.get("requestBody", {}).get("content", {})
    for content in body.values():
        ref = content.get("schema", {}).get("$ref", "")
        fields = schema.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[-1], {})
        required = set(fields.get("required", []))
        for name, spec in fields.get("properties", {}).items():
            note = spec.get("description") or ""
            out.append(f"{name} (form{', required' if name in required else ''}){': ' + note if note else ''}")
    return out


def api_page(schema: dict) -> str:
    """The API as one HTML page: method, path, summary and parameters of every operation."""
    parts = [f"<!doctype html><meta charset=utf-8><title>{html.escape(schema['info']['title'])} API</title>",
             f"<style>{STYLE}</style><h1>{html.escape(schema['info']['title'])} — JSON API</h1>",
             f"<p>{html.escape(schema['info'].get('description', ''))} Errors answer with a 4xx status and "
             "<code>{\"detail\": \"what was wrong\"}</code>. The schema: <a href=/openapi.json>/openapi.json</a>; "
             "an interactive page (it needs the internet for its scripts): <a href=/docs>/docs</a>.</p>"]
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            items = "".join(f"<li>{html.escape(p)}</li>" for p in _params(op, schema))
            if op.get("description") and op["description"] != op.get("summary"):
                items += f"<li>{html.escape(op['description'])}</li>"
            parts.append(f"<div class=op><span class='m {method}'>{method.upper()}</span><code>{html.escape(path)}"
                         f"</code> — {html.escape(op.get('summary', ''))}{f'<ul>{items}</ul>' if items else ''}</div>")
    return "".join(parts)
