"""Server-side sanitising of e-mail HTML with nh3 (Ammonia).

What survives is presentational HTML: no scripts, event handlers, forms,
frames, meta refresh or javascript: URLs. Inline styles stay (mail layout
needs them) but only with properties that cannot fetch or run anything.
Remote images are kept as URLs: the webmail's frame CSP blocks them until the
reader asks, and ``has_remote_content`` tells the client to offer that.
"""

from __future__ import annotations

import re

import nh3

_TAGS = {
    "a", "abbr", "address", "b", "bdi", "bdo", "big", "blockquote", "br", "caption",
    "center", "cite", "code", "col", "colgroup", "dd", "del", "details", "dfn", "div",
    "dl", "dt", "em", "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
    "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span",
    "strike", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "tt", "u", "ul", "var", "wbr",
}  # fmt: skip
_ATTRIBUTES = {
    "*": {"align", "valign", "dir", "lang", "title", "style", "width", "height", "bgcolor",
          "color", "border", "cellpadding", "cellspacing", "colspan", "rowspan", "class"},
    "a": {"href", "name"},
    "img": {"src", "alt"},
    "font": {"face", "size"},
    "ol": {"start", "type"},
    "td": {"nowrap"},
    "th": {"nowrap", "scope"},
}  # fmt: skip
# Properties that lay out and colour text; none of them can load a resource.
_STYLE_PROPERTIES = {
    "background-color", "border", "border-bottom", "border-collapse", "border-color",
    "border-left", "border-radius", "border-right", "border-spacing", "border-style",
    "border-top", "border-width", "color", "direction", "display", "float", "font",
    "font-family", "font-size", "font-style", "font-weight", "height", "letter-spacing",
    "line-height", "list-style-type", "margin", "margin-bottom", "margin-left",
    "margin-right", "margin-top", "max-width", "min-width", "padding", "padding-bottom",
    "padding-left", "padding-right", "padding-top", "text-align", "text-decoration",
    "text-indent", "text-transform", "vertical-align", "white-space", "width",
    "word-break", "word-wrap",
}  # fmt: skip
_CLEAN_CONTENT = {"script", "style", "title", "head", "noscript", "template", "iframe", "object"}
# Legacy engines ran CSS expression() and behavior:, and url() fetches: drop such styles whole.
_DANGEROUS_STYLE = re.compile(
    r"expression|url\s*\(|javascript:|behavior|-moz-binding|@import", re.I
)
_REMOTE = re.compile(r"""<img\b[^>]*\bsrc\s*=\s*["']?\s*(https?:)?//""", re.IGNORECASE)


def sanitize_html(html: str) -> str:
    if not html:
        return ""
    return nh3.clean(
        html,
        tags=_TAGS,
        clean_content_tags=_CLEAN_CONTENT,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "cid", "tel"},
        filter_style_properties=_STYLE_PROPERTIES,
        link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        strip_comments=True,
        attribute_filter=_filter_attribute,
    )


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "style" and _DANGEROUS_STYLE.search(value):
        return None
    return value


def has_remote_content(sanitized_html: str) -> bool:
    return bool(_REMOTE.search(sanitized_html))
