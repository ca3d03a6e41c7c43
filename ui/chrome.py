"""Streamlit's own words in Chinese: the texts its widgets write themselves.

Streamlit has no locale setting for its built-in texts (the file uploader's "Upload" and
"200MB per file", a date input's "YYYY/MM/DD", a select box's "Choose an option", "No results").
Widgets that take a placeholder get a Chinese one where they are made (ui/widgets.py
PLACEHOLDER); for the rest, one small script in the page replaces the English texts as they
appear (a MutationObserver: Streamlit re-renders its widgets at every rerun). The toolbar (Deploy
button, ⋮ menu) is switched off in .streamlit/config.toml (client.toolbarMode = "minimal").
"""

from __future__ import annotations

import json

import streamlit as st

# English text (whole text node, or placeholder attribute) -> Chinese.
TEXTS: dict[str, str] = {
    "Upload": "选择文件",
    "Browse files": "选择文件",
    "Drag and drop file here": "将文件拖到此处",
    "Drag and drop files here": "将文件拖到此处",
    "Choose an option": "请选择",
    "Choose options": "请选择",
    "Select all": "全选",
    "No results": "无匹配项",
    "Clear all": "全部清除",
    "Remove": "删除",
    "file upload": "上传文件",
    # The camera input (我的任务's 现场照片).
    "Take Photo": "拍照",
    "Clear photo": "重拍",
    "Switch camera": "切换摄像头",
    "This app would like to use your camera.": "需要使用摄像头拍摄现场照片。",
    "Learn how to allow access.": "请在浏览器设置中允许本网站使用摄像头。",
    # A date input writes its empty fields as segments: "yyyy" / "mm" / "dd".
    "yyyy": "年", "YYYY": "年", "mm": "月", "MM": "月", "dd": "日", "DD": "日",
}
# Patterns (JavaScript regular expressions) on text nodes and placeholders.
PATTERNS: list[tuple[str, str]] = [
    (r"^(\d+(?:\.\d+)?\s*[KMG]B) per file", "单个文件不超过 $1"),
    (r"^(YYYY|yyyy)([/.-])(MM|mm)\2(DD|dd)$", "年$2月$2日"),
    (r"^(MM|mm)([/.-])(DD|dd)\2(YYYY|yyyy)$", "月$2日$2年"),
]

_SCRIPT = """
(() => {
  const doc = window.parent && window.parent.document ? window.parent.document : document;
  if (doc.defaultView.__dsrChinese) return;
  doc.defaultView.__dsrChinese = true;
  const texts = %s;
  const patterns = %s.map(([re, to]) => [new RegExp(re), to]);
  const tr = (s) => {
    const t = s.trim();
    if (Object.prototype.hasOwnProperty.call(texts, t)) return s.replace(t, texts[t]);
    for (const [re, to] of patterns) if (re.test(t)) return s.replace(t, t.replace(re, to));
    return null;
  };
  const fix = (root) => {
    const walk = doc.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    while (walk.nextNode()) {
      const n = walk.currentNode;
      if (n.parentElement && n.parentElement.closest('[data-testid="stIconMaterial"]')) continue;
      const out = tr(n.textContent);
      if (out !== null && out !== n.textContent) n.textContent = out;
    }
    if (root.querySelectorAll) for (const el of root.querySelectorAll('[placeholder], [aria-label]')) {
      for (const attr of ['placeholder', 'aria-label']) {
        const v = el.getAttribute(attr);
        const out = v === null ? null : tr(v);
        if (out !== null && out !== v) el.setAttribute(attr, out);
      }
    }
  };
  fix(doc.body);
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === 'characterData') { const out = tr(r.target.textContent); if (out !== null && out !== r.target.textContent) r.target.textContent = out; }
      else if (r.type === 'attributes') fix(r.target.parentElement || r.target);
      else for (const n of r.addedNodes) fix(n.nodeType === 1 ? n : (n.parentElement || doc.body));
    }
  }).observe(doc.body, {subtree: true, childList: true, characterData: true, attributes: true,
                        attributeFilter: ['placeholder', 'aria-label']});
})();
"""


def apply() -> None:
    """Put the translating script on the page (once per browser tab; it then watches the page)."""
    with st.sidebar:
        st.html(f"<script>{_SCRIPT % (json.dumps(TEXTS, ensure_ascii=False), json.dumps(PATTERNS))}</script>",
                unsafe_allow_javascript=True)
