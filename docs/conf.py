"""Sphinx configuration of the offline docs site: `python docs/build.py` (see docs/README.md) writes the pages to
docs/_build/src and runs Sphinx with this file. Names and links come from pyproject.toml through nbdev's config."""
from pathlib import Path
from nbdev.config import get_config

import tomllib
cfg = get_config(Path(__file__).resolve().parent.parent)
project = html_title = cfg.title
author = ', '.join(a['name'] for a in tomllib.loads(cfg.config_file.read_text())['project'].get('authors', []))
html_baseurl = f'{cfg.doc_host}{cfg.doc_baseurl}/'
root_doc = 'index'
extensions = ['myst_nb']
exclude_patterns = ['**.ipynb_checkpoints']

# notebooks are rendered from their saved outputs; markdown outputs (show_doc) are MyST
nb_execution_mode = 'off'
nb_render_markdown_format = 'myst'
nb_merge_streams = True
myst_enable_extensions = ['dollarmath', 'amsmath', 'colon_fence', 'attrs_inline', 'attrs_block', 'deflist', 'html_image']
myst_heading_anchors = 6
import sys; sys.path.insert(0, str(Path(__file__).parent))
myst_heading_slug_func = 'quarto_ids.pandoc_slug'  # quarto's heading ids, so nbdev's links (`data.html#get_dataset`) work
suppress_warnings = ['myst.header', 'mystnb.unknown_mime_type']

html_theme = 'sphinx_book_theme'
# laid out as nbdev's quarto site: a top bar with the title and search, the pages in the left sidebar, the page's
# table of contents on the right
html_theme_options = dict(repository_url=cfg.git_url, repository_branch=cfg.branch, use_repository_button=True,
                          home_page_in_toc=True, show_toc_level=2, navigation_with_keys=False,
                          navbar_start=['navbar-logo'], navbar_persistent=[], navbar_end=['search-button-field'])
html_sidebars = {'**': ['sbt-sidebar-nav.html']}
html_context = dict(default_mode='light')  # an explicit mode: pydata's script logs an error when none is set
html_favicon = 'favicon.svg'             # a declared icon, so browsers do not ask for a missing /favicon.ico
html_static_path = ['_build/static']  # site.css and MathJax, put there by build.py
html_css_files = ['site.css']
mathjax_path = 'mathjax/tex-chtml.js'   # served from _static: no CDN, so math renders offline
html_show_sphinx = False
