"""Small SVG charts drawn on the server: no script and nothing fetched from the internet."""
from __future__ import annotations

from markupsafe import Markup, escape

BAR = "#1f5f99"
REF = "#d9822b"


def hbars(rows: list[tuple[str, float, float | None]], width: int = 640, unit: str = "") -> Markup:
    """One horizontal bar per row (label, value, reference such as seats); the reference is a tick."""
    if not rows:
        return Markup("")
    top = max(max(v, r or 0) for _, v, r in rows) or 1
    label_w, row_h, pad = 220, 22, 6
    plot = width - label_w - 60
    height = len(rows) * row_h + pad * 2
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" font-size="12">']
    for i, (label, value, ref) in enumerate(rows):
        y = pad + i * row_h
        w = plot * value / top
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" fill="{BAR}"><title>{escape(label)}: {value:g}{unit}</title></rect>')
        parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 15}">{value:g}</text>')
        if ref:
            x = label_w + plot * ref / top
            parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y + 1}" y2="{y + row_h - 3}" stroke="{REF}" stroke-width="3"><title>{ref:g}</title></line>')
    parts.append("</svg>")
    return Markup("".join(parts))


def columns(points: list[tuple[str, float]], width: int = 640, height: int = 180) -> Markup:
    """Vertical bars, e.g. submissions per day."""
    if not points:
        return Markup("")
    top = max(v for _, v in points) or 1
    base, left = height - 24, 30
    step = (width - left) / len(points)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" font-size="11">']
    parts.append(f'<line x1="{left}" x2="{width}" y1="{base}" y2="{base}" stroke="#888"/>')
    for i, (label, value) in enumerate(points):
        h = (base - 10) * value / top
        x = left + i * step
        parts.append(f'<rect x="{x + 2:.1f}" y="{base - h:.1f}" width="{max(step - 4, 1):.1f}" height="{h:.1f}" fill="{BAR}"><title>{escape(label)}: {value:g}</title></rect>')
        if len(points) <= 16 or i % max(len(points) // 8, 1) == 0:
            parts.append(f'<text x="{x + step / 2:.1f}" y="{height - 8}" text-anchor="middle">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
