"""The panel's shipped files: what is served and how, every module a script imports
is there, the shell has no inline script (the CSP forbids it), and every text key the
scripts use exists in Persian and in English."""

from __future__ import annotations

import re

from gateway.panel.assets import ASSET_CACHE, SHELL, SHELL_CACHE, STATIC_DIR, load_assets

ASSETS = load_assets()
SCRIPTS = {name: a.data.decode("utf-8") for name, a in ASSETS.items() if name.endswith(".js")}


def _keys(block: str) -> set[str]:
    return set(re.findall(r'^\s*"([a-z_.0-9-]+)":', block, re.MULTILINE)) | set(
        re.findall(r'(?<=[{,] )"([a-z_.0-9-]+)":', block)
    )


def test_the_served_files_and_their_types():
    assert {SHELL, "app.js", "panel.css", "fonts/Vazirmatn-Regular.woff2"} <= set(ASSETS)
    assert ASSETS["fonts/Vazirmatn-OFL.txt"].content_type.startswith("text/plain")
    assert ASSETS["fonts/Vazirmatn-Bold.woff2"].content_type == "font/woff2"
    assert ASSETS["app.js"].content_type == "text/javascript; charset=utf-8"
    assert ASSETS[SHELL].cache_control == SHELL_CACHE
    assert ASSETS["panel.css"].cache_control == ASSET_CACHE
    assert len({a.etag for a in ASSETS.values()}) == len(ASSETS)


def test_only_known_kinds_of_file_are_served(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.js").write_text("x")
    (tmp_path / "notes.py").write_text("secret = 1")
    assert set(load_assets(tmp_path)) == {"sub/a.js"}


def test_every_imported_module_is_shipped():
    for name, text in SCRIPTS.items():
        for imported in re.findall(r'from "\./([^"]+)"', text):
            assert imported in ASSETS, f"{name} imports {imported}"


def test_the_shell_has_no_inline_script_or_style():
    shell = ASSETS[SHELL].data.decode("utf-8")
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", shell))
    assert "<style" not in shell and " style=" not in shell
    assert 'dir="rtl"' in shell and 'lang="fa"' in shell


def test_every_text_key_exists_in_both_languages():
    i18n = SCRIPTS["i18n.js"]
    fa_block = i18n.split("const FA = {", 1)[1].split("\n};", 1)[0]
    en_block = i18n.split("const EN = {", 1)[1].split("\n};", 1)[0]
    fa, en = _keys(fa_block), _keys(en_block)
    assert fa == en, fa ^ en
    used = set()
    for text in SCRIPTS.values():
        used |= set(re.findall(r'\bt\("([a-z_.0-9-]+)"', text))
    assert used - fa == set()
    assert (STATIC_DIR / "fonts" / "Vazirmatn-OFL.txt").read_text().startswith("Copyright")
