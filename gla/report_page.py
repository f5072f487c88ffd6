"""The HTML of the analysis report: sections, tables and one self-contained page (every
figure inlined as a base64 PNG; no scripts or styles from elsewhere)."""

from __future__ import annotations

import base64
import dataclasses
import html
import os


@dataclasses.dataclass(frozen=True)
class Section:
    """One part of the page: a title, HTML body (already escaped) and the PNG files
    (names inside the report folder) it shows, in order."""
    title: str
    body: str = ''
    figures: tuple = ()  # ((file name, caption), ...)


def flatten(tree, prefix: str = '') -> list:
    if isinstance(tree, dict):
        return [kv for k in sorted(tree) for kv in flatten(tree[k], f'{prefix}{k}.')]
    return [(prefix[:-1], tree)]


def fmt(value) -> str:
    if isinstance(value, float):
        return f'{value:.4g}'
    if isinstance(value, (list, tuple)) and len(value) > 16:
        return f'{list(value[:16])} ... ({len(value)} items)'
    return str(value)


def table(rows: list, header: tuple) -> str:
    head = ''.join(f'<th>{html.escape(h)}</th>' for h in header)
    body = ''.join('<tr>' + ''.join(f'<td>{html.escape(fmt(c))}</td>' for c in row) + '</tr>'
                   for row in rows)
    return f'<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em;
       color: #222; }
h1 { font-size: 1.5em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
td, th { border: 1px solid #ddd; padding: 2px 8px; text-align: left; }
th { background: #f3f3f3; } figure { margin: 1em 0; } img { max-width: 100%; }
figcaption { font-size: 0.85em; color: #555; } .note { color: #a15c00; }
code { background: #f3f3f3; padding: 0 3px; }
"""

# Marks the page when every image has loaded (or not): lets a headless browser check that
# every image resolves without a DevTools client (data-images / data-broken on <body>).
_CHECK_SCRIPT = """
window.addEventListener('load', function () {
  var broken = 0, images = document.images;
  for (var i = 0; i < images.length; i++) {
    if (!(images[i].complete && images[i].naturalWidth > 0)) { broken++; }
  }
  document.body.setAttribute('data-images', String(images.length));
  document.body.setAttribute('data-broken', String(broken));
});
"""


def render_page(title: str, intro: str, sections: list, out_dir: str) -> str:
    """The HTML of the page, every figure inlined from ``out_dir`` as a base64 data URI."""
    parts = [f'<h1>{html.escape(title)}</h1>', intro, '<nav><ul>']
    parts += [f'<li><a href="#s{i}">{html.escape(s.title)}</a></li>'
              for i, s in enumerate(sections)]
    parts.append('</ul></nav>')
    for i, section in enumerate(sections):
        parts.append(f'<section id="s{i}"><h2>{html.escape(section.title)}</h2>{section.body}')
        for name, caption in section.figures:
            with open(os.path.join(out_dir, name), 'rb') as f:
                data = base64.b64encode(f.read()).decode('ascii')
            parts.append(f'<figure><img src="data:image/png;base64,{data}" '
                         f'alt="{html.escape(caption)}"><figcaption>{html.escape(caption)} '
                         f'(<a href="{html.escape(name)}">{html.escape(name)}</a>)'
                         '</figcaption></figure>')
        parts.append('</section>')
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<title>{html.escape(title)}</title><style>{_STYLE}</style>'
            f'<script>{_CHECK_SCRIPT}</script></head><body>\n' + '\n'.join(parts)
            + '\n</body></html>\n')
