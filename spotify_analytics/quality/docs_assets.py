"""Make Great Expectations' Data Docs render offline: copy the CSS/JS they load from CDNs next to the docs
and rewrite every page to load the local copies.

Sources: the XStatic packages on PyPI (Bootstrap 4 with Popper, jQuery, Font Awesome, bootstrap-datepicker)
and the files vendored in ``docs_vendor/`` (Vega, bootstrap-table, bootstrap-dark; see its README).
"""

import re
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path

VENDOR_DIR = Path(__file__).parent / "docs_vendor"
LOCAL_STATIC = "static/offline"  # relative to the docs root


@dataclass(frozen=True)
class LocalAsset:
    """Where a CDN URL is served from locally; ``target`` is None when the tag is dropped (its code is
    already in another local file, e.g. Popper inside Bootstrap's bundle)."""

    pattern: str
    target: str | None


ASSETS: tuple[LocalAsset, ...] = tuple(
    LocalAsset(asset["pattern"], asset.get("target"))
    for asset in tomllib.loads((Path(__file__).parent / "docs_assets.toml").read_text())["asset"]
)

TAG = re.compile(r"<(script|link)\b[^>]*?(?:src|href)=[\"'](https?://[^\"']+)[\"'][^>]*>(\s*</script>)?", re.I)


class OfflineAssetError(RuntimeError):
    """A page loads a CDN asset that has no local copy (a newer Great Expectations changed its templates)."""


def _xstatic_dir(package: str) -> Path:
    import importlib

    return Path(importlib.import_module(f"xstatic.pkg.{package}").BASE_DIR)


def copy_assets(docs_dir: Path) -> None:
    """Copy every local asset under ``<docs_dir>/static/offline`` (idempotent)."""
    target = docs_dir / LOCAL_STATIC
    copies = {
        "bootstrap": _xstatic_dir("bootstrap"),
        "jquery": _xstatic_dir("jquery"),
        "bootstrap-datepicker": _xstatic_dir("bootstrap_datepicker"),
        "vendor": VENDOR_DIR,
    }
    for name, source in copies.items():
        shutil.copytree(source, target / name, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.py", "locales"))
    font_awesome = _xstatic_dir("font_awesome")
    for part in ("css", "webfonts", "LICENSE.txt"):
        source = font_awesome / part
        destination = target / "font-awesome" / part
        if source.is_dir():
            shutil.copytree(source, destination, dirs_exist_ok=True)
        else:
            shutil.copy2(source, destination)


def _local_target(url: str) -> str | None:
    for asset in ASSETS:
        if re.search(asset.pattern, url):
            return asset.target
    raise OfflineAssetError(
        f"No local copy for the Data Docs asset {url}; add it to spotify_analytics/quality/docs_assets.py"
    )


def rewrite_page(html: str, depth: int) -> str:
    """Point a page's CDN <script>/<link> tags at the local copies; ``depth`` = folders below the docs root."""
    prefix = "../" * depth + LOCAL_STATIC + "/"

    def replace(match: re.Match[str]) -> str:
        tag, url = match.group(0), match.group(2)
        target = _local_target(url)
        if target is None:
            return f"<!-- {url} is included in the local Bootstrap bundle -->"
        tag = re.sub(r"\s(integrity|crossorigin)=[\"'][^\"']*[\"']", "", tag)
        return tag.replace(url, prefix + target)

    return TAG.sub(replace, html)


def make_offline(docs_dir: Path) -> int:
    """Copy the assets and rewrite every HTML page under ``docs_dir``; returns the number of pages."""
    copy_assets(docs_dir)
    pages = sorted(docs_dir.rglob("*.html"))
    for page in pages:
        depth = len(page.relative_to(docs_dir).parts) - 1
        html = page.read_text(encoding="utf-8")
        rewritten = rewrite_page(html, depth)
        if rewritten != html:
            page.write_text(rewritten, encoding="utf-8")
    return len(pages)


def remote_assets(html: str) -> list[str]:
    """The http(s) URLs a page loads as scripts or stylesheets (empty when it renders offline)."""
    return [match.group(2) for match in TAG.finditer(html)]
