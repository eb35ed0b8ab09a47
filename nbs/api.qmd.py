"""---
title: API reference
description: "Every public name of `from rethink_fastai.all import *`: its signature, parameter docs and source"
---"""
# This page is a script. nbdev's docs build (`nbdev_docs`, which the deploy workflow runs, and `python docs/build.py`
# offline) runs a `.py` file in `nbs/` that opens with frontmatter and renders what it prints as a page.
# It documents every name in `rethink_fastai.all.__all__` with nbdev's `show_doc`, grouped by the module that
# defines it, so a name added to the kit appears here by itself (tests/test_docs.py checks the two lists agree).
import ast, inspect, re, sys
from pathlib import Path
import rethink_fastai.all as kit
from nbdev.config import get_config
from nbdev.doclinks import _get_exps
from nbdev.showdoc import show_doc

cfg = get_config()
mods = [m for m in sys.modules.values() if getattr(m, '__name__', '').startswith('rethink_fastai.') and hasattr(m, '__all__')
        and m is not kit]

def home(name):
    "The module of the kit whose `__all__` exports `name` (the one that defines it, when several re-export it)"
    obj = getattr(kit, name)
    own = getattr(obj, '__module__', None)
    return next((m for m in mods if m.__name__==own and name in m.__all__), None) or next(m for m in mods if name in m.__all__)

def line_of(name, mod):
    "Line of `name`'s definition (or first assignment) in `mod`'s source"
    if (n := _get_exps(relpath(mod)).get(name)): return n
    for node in ast.parse(Path(mod.__file__).read_text()).body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        if any(getattr(t, 'id', None)==name for t in targets): return node.lineno

def relpath(mod): return mod.__name__.replace('.', '/') + '.py'  # the module's path in the repository

def source_url(name, mod):
    line = line_of(name, mod)
    return f"{cfg.git_url}/blob/{cfg.branch}/{relpath(mod)}" + (f"#L{line}" if line else '')

def source_link(url): return f'[source]({url}){{target="_blank" style="float:right; font-size:smaller"}}'

def entry(name, mod):
    "Markdown for `name`: nbdev's `show_doc`, with the source link's line number filled in"
    obj, url = getattr(kit, name), source_url(name, mod)
    if callable(obj):
        try: md = show_doc(obj, name=name)._repr_markdown_()
        except Exception as e:  # e.g. an annotation that cannot be evaluated: show the plain signature, and why
            try: sig = f'{name}{inspect.signature(obj)}'
            except (TypeError, ValueError): sig = name
            doc = inspect.getdoc(obj) or ''
            return (f"---\n\n{source_link(url)}\n\n### {name}\n\n```python\n{sig}\n```\n\n{doc}\n\n"
                    f"*show_doc failed here: `{type(e).__name__}: {e}`*\n")
        md = re.sub(r'\[source\]\([^)]*\)(\{[^}]*\})?', lambda m: source_link(url), md, count=1)
        return md if '[source](' in md else md.replace('---\n\n', f'---\n\n{source_link(url)}\n\n', 1)
    val = repr(obj)
    if len(val) > 300: val = val[:300] + ' ...'
    return f"---\n\n{source_link(url)}\n\n### {name}\n\n```python\n{name} = {val}\n```\n"

groups = {}
for name in kit.__all__: groups.setdefault(home(name), []).append(name)
for mod, names in groups.items():
    summary, _, rest = (mod.__doc__ or '').strip().partition('\n')
    page = re.search(r'Docs: (\S+?)(?:\.md)?$', rest, re.M)
    print(f"## {mod.__name__}\n\n{summary}" + (f" ([page]({page.group(1)}))" if page else '') + '\n')
    for name in names: print(entry(name, mod).rstrip() + '\n')
