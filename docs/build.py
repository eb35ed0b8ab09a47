"""Build the documentation site offline: `python docs/build.py` writes static HTML to docs/_site/ (see docs/README.md).

The canonical site is nbdev's: `nbdev_docs` (run on GitHub by .github/workflows/deploy.yaml) processes the notebooks
in nbs/ and renders them with quarto. Quarto cannot be installed on our machines, so this builds the same site from
the same sources without it, in three steps:

1. nbdev processes every notebook in nbs/ (recursively) as `nbdev_docs` does before it calls quarto: nbdev's own
   processors (`nbdev.processors.FilterDefaults` run by `nbdev.process.NBProcessor`) take the title and summary as
   frontmatter, drop hidden and exported cells, add a `show_doc` entry after each exported function or class, apply
   the directives and link backticked names. The `.py` pages in nbs/ (the API reference, nbs/api.qmd.py) are run as
   nbdev's `proc_nbs` runs them. Pages get quarto's names (`00_data.ipynb` -> `data.html`) and nbdev's sidebar order.
   Only the cells `show_doc` needs are executed (exported code and imports); every other output is the saved one.
2. What quarto would interpret in the processed notebooks is translated to MyST: the frontmatter title, cell options
   (`#| echo: false`, `#| output: asis`, ...), pandoc's heading ids (docs/quarto_ids.py), callouts, and `show_doc`'s
   source links (with the line numbers that nbdev 3.3's `NbdevLookup.code` leaves as `#LNone`).
3. Sphinx renders the pages with myst-nb and sphinx-book-theme, without executing anything, and links that point at
   the published site are made relative where the page exists here.

`--strict` runs nbdev's unmodified `exec_show_docs`, which stops at the first failing cell as `nbdev_docs` does: use it
to check that the deploy workflow will get through. Without it, a cell that mixes imports with other code contributes
only its imports (nbdev warns about such cells, then runs them whole), and failures are listed instead of fatal.
`--force` ignores the caches in docs/_build/.
"""
import ast, atexit, hashlib, io, json, os, re, shutil, subprocess, sys, time, warnings
from contextlib import redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT/'docs'
BUILD, SITE = DOCS/'_build', DOCS/'_site'
SRC, CACHE, STATIC = BUILD/'src', BUILD/'proc', BUILD/'static'

# ---------------------------------------------------------------------------------------------- 1. nbdev processing
def _first_line(cell): return next((l for l in cell.source.splitlines() if l.strip() and not l.startswith('#|')), '')[:60]

def _tolerant_exec_show_docs():
    "nbdev's `exec_show_docs`, that runs only the imports of a cell mixing them with other code, and reports failures"
    from nbdev.processors import exec_show_docs, _do_eval, _show_docs
    from fastcore.basics import str2bool

    class exec_show_docs_tolerant(exec_show_docs):
        def __call__(self, cell):
            if not self.nb.has_docs_ or not hasattr(self, 'k'): return
            if str2bool(getattr(self.nb, 'frontmatter_', {}).get('skip_showdoc', False)): return
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter('always')
                if not _do_eval(cell): return
            trees = cell.parsed_()
            if cell.directives_.keys() & {'export', 'exports', 'exporti', 'exec_doc'} or _show_docs(trees): self.k.cell(cell)
            else:
                imports = [ast.unparse(t) for t in trees if isinstance(t, (ast.Import, ast.ImportFrom))]
                if w: self.nb.notes_.append(f'cell `{_first_line(cell)}` mixes imports with other code')
                if imports: self.k.run('\n'.join(imports))
            if (e := self.k.exc) is not None:
                self.k.exc = None
                msg = f'cell `{_first_line(cell)}`: {type(e).__name__}: {e}'
                self.nb.problems_.append(msg)
                if (sd := _show_docs(trees)):  # keep the entry's heading (links point at it), and say what failed
                    nm = ast.unparse(sd[0].value.args[0]) if sd[0].value.args else '?'
                    cell.outputs = [dict(output_type='display_data', metadata={}, data={'text/markdown':
                        f'### {nm}\n\n:::{{warning}}\n`show_doc({nm})` failed: `{type(e).__name__}: {e}`\n:::\n'})]
    return exec_show_docs_tolerant

def nbdev_process(path:Path, strict=False):
    "The notebook at `path` processed by nbdev's doc processors (as `nbdev_docs` does), with notes and problems"
    from fastcore.nbio import read_nb
    from nbdev.process import NBProcessor
    from nbdev.processors import FilterDefaults, exec_show_docs
    nb = read_nb(path)
    nb.notes_, nb.problems_ = [], []
    procs = FilterDefaults().procs()
    if not strict: procs = procs.map(lambda p: _tolerant_exec_show_docs() if p is exec_show_docs else p)
    os.environ['IN_TEST'] = '1'  # as nbdev's `proc_nbs` workers do
    proc = NBProcessor(nb=nb, procs=procs, rm_directives='quarto')
    try: proc.process()
    finally:
        del os.environ['IN_TEST']
        for k in (getattr(o, 'k', None) for o in proc.procs):  # the shell `exec_show_docs` ran the cells in
            if k is not None: atexit.unregister(k.atexit_operations); k.close()  # (its exit hook costs a gc pass)
    return nb

def run_qpy(path:Path, fm:str):
    "Run a `.py` page as nbdev's `proc_nbs` does: its frontmatter and what it prints"
    out = io.StringIO()
    with redirect_stdout(out): exec(compile(path.read_text(), str(path), 'exec'), {})
    return f'---\n{fm}\n---\n\n' + out.getvalue()

# ----------------------------------------------------------------------------------- 2. quarto's markdown to MyST
_re_opt = re.compile(r'^#\|\s*([\w-]+)\s*:?\s*(.*?)\s*$')

_callouts = dict(note='note', tip='tip', warning='warning', important='important', caution='caution')

def fix_lineno(md:str):
    "Fill in the line numbers of `show_doc`'s source links (nbdev 3.3 writes `#LNone`)"
    from nbdev.doclinks import _get_exps
    def f(m):
        url, py, rest, name = m.group(1), m.group(2), m.group(3), m.group(4)
        line = _get_exps(py).get(name) or _get_exps(py).get(name.split('.')[-1])
        return f"[source]({url}{f'#L{line}' if line else ''}){rest}"
    return re.sub(r'\[source\]\((https://[^)#]*?/blob/[^/)]+/([^)#]+\.py))#LNone\)(\{[^}]*\}\s*#+ +(\S+))', f, md)

def myst_md(md:str):
    "Markdown as quarto reads it, rewritten for MyST: explicit heading ids, callouts, show_doc's source links"
    md = fix_lineno(md)
    md = re.sub(r'\[source\]\(([^)]*)\)\{[^}]*\}',
                lambda m: f'<a class="nbdev-source" href="{m.group(1)}" target="_blank">source</a>', md)
    out, fence, divs = [], None, []
    for line in md.splitlines():
        if fence:
            out.append(line)
            if line.strip().startswith(fence): fence = None
            continue
        if m := re.match(r'^\s*(```+|~~~+)', line):
            fence = m.group(1); out.append(line); continue
        if m := re.match(r'^(:{3,})\s*\{?\s*\.callout-(\w+)[^}]*\}?\s*$', line):
            kind = _callouts.get(m.group(2), 'note'); divs.append(m.group(1)); out.append(f'{m.group(1)}{{{kind}}}'); continue
        if m := re.match(r'^(:{3,})\s*\{[^}]*\}\s*$', line): divs.append(None); continue   # other fenced divs: keep content
        if re.match(r'^:{3,}\s*$', line) and divs:
            if (d := divs.pop()): out.append(d)
            continue
        if line.strip()=='---' and (not out or not out[-1].strip()):
            out.append('<hr class="nbdev-rule">'); continue  # docutils rejects transitions that open a section
        if (m := re.match(r'^(#{1,6})\s+(.*?)\s*\{([^}]*)\}\s*$', line)) and (ids := re.findall(r'#([\w.-]+)', m.group(3))):
            out += [f'<span id="{ids[0]}"></span>', '', f'{m.group(1)} {m.group(2)}']  # pandoc's `{#id}`: keep the id
            continue
        out.append(line)
    return '\n'.join(out)

def _md_cell(src): return dict(cell_type='markdown', metadata={}, source=src)

def to_myst(cells:list, fm:dict):
    "Cells of an nbdev-processed notebook as MyST notebook cells"
    res = []
    if fm.get('title'):
        title = f"# {fm['title']}"
        if fm.get('description'): title += f"\n\n{{.description}}\n{fm['description']}"
        res.append(_md_cell(myst_md(title)))
    for c in cells:
        src = c.get('source', '')
        if isinstance(src, list): src = ''.join(src)
        if c['cell_type']=='raw': continue
        if c['cell_type']=='markdown':
            res.append(dict(_md_cell(myst_md(src)), attachments=c['attachments']) if c.get('attachments')
                       else _md_cell(myst_md(src)))
            continue
        lines, opts = src.splitlines(), {}
        while lines and (m := _re_opt.match(lines[0])): opts[m.group(1)] = m.group(2).strip('\'"'); lines.pop(0)
        code, outs = '\n'.join(lines).strip('\n'), c.get('outputs', [])
        if opts.get('include')=='false': continue
        if opts.get('output')=='asis':  # quarto puts markdown outputs into the page as markdown
            if code and opts.get('echo')!='false': res.append(dict(cell_type='code', metadata={}, source=code, outputs=[], execution_count=None))
            for o in outs:
                d = o.get('data', {})
                t = d.get('text/markdown') or d.get('text/plain') or o.get('text', '')
                t = ''.join(t) if isinstance(t, list) else t
                if t.strip(): res.append(_md_cell(myst_md(t)))
            continue
        tags = []
        if opts.get('echo')=='false': tags.append('remove-input')
        if opts.get('output')=='false': tags.append('remove-output')
        if opts.get('code-fold') in ('true', ''): tags.append('hide-input')
        for o in outs:
            if 'text/markdown' in o.get('data', {}):
                t = o['data']['text/markdown']
                o['data']['text/markdown'] = myst_md(''.join(t) if isinstance(t, list) else t)
        if not code and not outs: continue
        if not code: tags.append('remove-input')
        res.append(dict(cell_type='code', metadata=dict(tags=tags) if tags else {}, source=code, outputs=outs,
                        execution_count=c.get('execution_count')))
    for i, c in enumerate(res): c['id'] = f'cell-{i}'
    return res

# ------------------------------------------------------------------------------------------------------- pages
def _frontmatter(text):
    import yaml
    m = re.match(r'^---\s*\n(.*?)\n---\s*(\n|$)', text, re.S)
    return (yaml.safe_load(m.group(1)) or {}, text[m.end():]) if m else ({}, text)

def _files(contents):
    "The files of nbdev's sidebar `contents` (strings, and sections with their own contents and index `href`)"
    return [f for c in contents for f in ([c] if isinstance(c, str) else ([c['href']] if 'href' in c else []) + _files(c.get('contents', [])))]

def sources(cfg):
    "nbdev's sidebar (the order of the pages) and the page sources: notebooks and `.py` pages in nbs/, recursively"
    import yaml
    from nbdev.quarto import nbdev_sidebar
    from nbdev.serve import _is_qpy
    own = cfg.nbs_path/'sidebar.yml'
    if cfg.custom_sidebar and own.exists(): text = own.read_text()  # a hand-written sidebar, as quarto would use
    else:  # the one `nbdev_docs` writes, without writing it
        buf = io.StringIO()
        with redirect_stdout(buf): nbdev_sidebar.__wrapped__(path=cfg.nbs_path, printit=True, force=True)
        text = buf.getvalue()
    side = yaml.safe_load(text)['website']['sidebar']['contents']
    nbs = [cfg.nbs_path/f for f in _files(side)]
    qpys = sorted(p for p in cfg.nbs_path.rglob('*.py') if not any(o.startswith(('_', '.')) for o in p.relative_to(cfg.nbs_path).parts)
                  and _is_qpy(p) is not None)
    return side, nbs + qpys

def _digest(*parts):
    h = hashlib.sha256()
    for p in parts: h.update(p if isinstance(p, bytes) else str(p).encode())
    return h.hexdigest()[:16]

def build_page(src:Path, cfg, strict:bool, key:str):
    "{'doc': output path without suffix, 'nb' or 'md': the page, 'notes', 'problems'}, from the cache when `key` matches"
    rel = src.relative_to(cfg.nbs_path)
    cached = CACHE/(rel.as_posix().replace('/', '__') + '.json')
    if cached.exists() and (d := json.loads(cached.read_text())).get('key')==key: return d
    if src.suffix=='.ipynb':
        nb = nbdev_process(src, strict=strict)
        fm = {}
        if nb.cells and nb.cells[0].cell_type=='raw': fm = _frontmatter(''.join(nb.cells[0].source))[0]
        out = Path(fm.get('output-file') or rel.with_suffix('.html').name)
        fm.setdefault('title', rel.stem)  # quarto's page then has no title; Sphinx needs one
        d = dict(doc=(rel.parent/out.stem).as_posix(), title=fm.get('title'), notes=nb.notes_, problems=nb.problems_,
                 nb=dict(cells=to_myst(nb.cells, fm), nbformat=4, nbformat_minor=5,
                         metadata=dict(kernelspec=dict(name='python3', display_name='Python 3', language='python'),
                                       language_info=dict(name='python'))))
    else:
        from nbdev.serve import _is_qpy
        fm, body = _frontmatter(run_qpy(src, _is_qpy(src)))
        name = Path(fm.get('output-file') or re.sub(r'(\.qmd)?\.py$', '', rel.name)).stem
        head = f"# {fm.get('title', name)}" + (f"\n\n{{.description}}\n{fm['description']}" if fm.get('description') else '')
        d = dict(doc=(rel.parent/name).as_posix(), title=fm.get('title'), notes=[], problems=[],
                 md=myst_md(head) + '\n\n' + myst_md(body) + '\n')
    d['key'] = key
    CACHE.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(d))
    return d

def assets(nbs:Path):
    "Files in `nbs` that pages may refer to (images, data): not sources, not git-ignored (e.g. a test run's output)"
    r = subprocess.run(['git', 'ls-files', '-co', '--exclude-standard', '-z', '--', '.'], cwd=nbs, capture_output=True, text=True)
    files = [nbs/f for f in r.stdout.split('\0') if f] if r.returncode==0 else list(nbs.rglob('*'))
    return [f for f in files if f.is_file() and not any(o.startswith(('_', '.')) for o in f.relative_to(nbs).parts)
            and f.suffix not in ('.ipynb', '.py', '.md', '.qmd', '.yml', '.yaml', '.css', '.toml')]

def toctree(docs, caption=None):
    opts = ':hidden:\n:maxdepth: 2\n' + (f':caption: {caption}\n' if caption else '')
    return f"```{{toctree}}\n{opts}\n" + '\n'.join(docs) + '\n```\n'

def _write(p:Path, text:str):
    "Write `text` to `p` unless it already holds it (keeps mtimes, so Sphinx rebuilds only what changed)"
    p.parent.mkdir(parents=True, exist_ok=True)
    if not p.exists() or p.read_text()!=text: p.write_text(text)

def mathjax_static():
    "MathJax 3 (tex-chtml and the files it loads) from the django-static-mathjax wheel, so math renders offline"
    import mathjax
    es5 = Path(mathjax.__file__).parent/'static'/'mathjax'/'es5'
    dest = STATIC/'mathjax'
    if (dest/'tex-chtml.js').exists(): return
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(es5/'tex-chtml.js', dest)
    for d in ('input/tex', 'output/chtml', 'ui', 'a11y', 'adaptors', 'sre'): shutil.copytree(es5/d, dest/d, dirs_exist_ok=True)

def relative_links(site:Path, base:str):
    """Make links to the published site (`base`, e.g. nbdev's links of backticked names) relative where the page exists
    here. nbdev also links names that have no entry (a method, a private helper): those point at the class's entry, or
    at the page"""
    pat = re.compile(r'''(href|src)=(["'])''' + re.escape(base.rstrip('/')) + r'''/?([^"'#?]*)(\?[^"'#]*)?(#[^"']*)?\2''')
    ids = {}
    def has_id(target, frag):
        if target not in ids: ids[target] = set(re.findall(r'\sid="([^"]+)"', (site/target).read_text(encoding='utf-8')))
        return frag in ids[target]
    for f in site.rglob('*.html'):
        depth = len(f.relative_to(site).parts) - 1
        def sub(m):
            target, query, frag = m.group(3) or 'index.html', m.group(4) or '', (m.group(5) or '#')[1:]
            if not (site/target).is_file(): return m.group(0)
            if frag and target.endswith('.html') and not has_id(target, frag):
                frag = frag.split('.')[0] if has_id(target, frag.split('.')[0]) else ''
            return f'{m.group(1)}={m.group(2)}{"../"*depth}{target}{query}{"#"+frag if frag else ""}{m.group(2)}'
        text = f.read_text(encoding='utf-8')
        new = pat.sub(sub, text)
        if new!=text: f.write_text(new, encoding='utf-8')

# ---------------------------------------------------------------------------------------------------------- main
DOCS_NEEDS = dict(nbdev='nbdev', sphinx='sphinx', myst_nb='myst-nb', sphinx_book_theme='sphinx-book-theme', mathjax='django-static-mathjax')

def missing_requirements()->list:
    "The packages the docs build needs that are not installed (pip names)"
    import importlib.util
    return [pip for mod, pip in DOCS_NEEDS.items() if importlib.util.find_spec(mod) is None]

def build(strict=False, force=False, quiet=False):
    "Build the site into docs/_site; returns the pages built (with their notes and problems)"
    if miss := missing_requirements():
        sys.exit(f"the docs build needs {', '.join(miss)}: install the docs extra, pip install -e '.[docs]'")
    t0 = time.time()
    os.chdir(ROOT)
    from nbdev.config import get_config
    from nbdev.quarto import refresh_quarto_yml
    import nbdev
    cfg = get_config()
    refresh_quarto_yml()  # nbs/_quarto.yml and nbs/nbdev.yml, as `nbdev_docs` keeps them
    if force: shutil.rmtree(BUILD, ignore_errors=True)
    side, srcs = sources(cfg)
    lib = b''.join(p.read_bytes() for p in sorted(cfg.lib_path.rglob('*.py')))
    common = _digest(Path(__file__).read_bytes(), cfg.config_file.read_bytes(), lib, nbdev.__version__, strict)
    pages, failed = {}, []
    for src in srcs:
        t = time.time()
        try: pages[src] = d = build_page(src, cfg, strict, _digest(common, src.read_bytes()))
        except Exception as e:
            if not strict: raise
            failed.append(f'{src.relative_to(ROOT)}: {str(e).strip()}'); continue
        if not quiet: print(f'  {src.relative_to(ROOT)} -> {d["doc"]}.html ({time.time()-t:.1f} s)', flush=True)
    if failed: sys.exit('nbdev_docs would stop at each of these (nbdev\'s own processors, --strict):\n\n' + '\n\n'.join(failed))
    t1 = time.time()

    # the Sphinx source tree: one page per source, the index holding the sidebar (nbdev's order, then the .py pages)
    docs = {p.relative_to(cfg.nbs_path).as_posix(): d['doc'] for p, d in pages.items()}
    top = [docs[c] for c in side if isinstance(c, str) and docs[c]!='index']
    top += [d['doc'] for p, d in pages.items() if p.suffix=='.py']
    trees = toctree(top)
    for c in side:
        if isinstance(c, dict): trees += '\n' + toctree([docs[f] for f in _files([c])], caption=c['section'])
    wanted = set()
    for d in pages.values():
        if 'nb' in d:
            nb = json.loads(json.dumps(d['nb']))
            if d['doc']=='index': nb['cells'].append(dict(cell_type='markdown', id='sidebar', metadata={}, source=trees))
            out, text = SRC/(d['doc'] + '.ipynb'), json.dumps(nb, indent=1)
        else: out, text = SRC/(d['doc'] + '.md'), d['md']
        _write(out, text); wanted.add(out)
    if 'index' not in {d['doc'] for d in pages.values()}:
        out = SRC/'index.md'; _write(out, f"# {cfg.title}\n\n{cfg.get('description', '')}\n\n{trees}"); wanted.add(out)
    for f in assets(cfg.nbs_path):  # images and other files the pages refer to
        rel = f.relative_to(cfg.nbs_path)
        (SRC/rel).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(f, SRC/rel); wanted.add(SRC/rel)
    for f in list(SRC.rglob('*')):
        if f.is_file() and f not in wanted: f.unlink()  # pages whose notebook is gone
    STATIC.mkdir(parents=True, exist_ok=True)
    shutil.copy2(DOCS/'site.css', STATIC/'site.css')
    mathjax_static()

    # Sphinx, in its own process (no notebook state), incremental through docs/_build/doctrees
    warn_file = BUILD/'sphinx-warnings.txt'
    cmd = [sys.executable, '-m', 'sphinx', '-b', 'html', '-q', '-c', str(DOCS), '-d', str(BUILD/'doctrees'),
           '-w', str(warn_file), str(SRC), str(BUILD/'html')]  # (myst-nb writes images next to the output folder)
    if force: cmd.insert(3, '-E')
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if r.returncode: sys.exit(f'sphinx failed:\n{r.stdout}\n{r.stderr}')
    shutil.rmtree(SITE, ignore_errors=True)
    shutil.copytree(BUILD/'html', SITE, ignore=shutil.ignore_patterns('.buildinfo', '.doctrees'))
    relative_links(SITE, cfg.doc_host + cfg.doc_baseurl)
    t2 = time.time()
    if not quiet:
        notes = [(p, n) for p, d in pages.items() for n in d['notes']]
        probs = [(p, n) for p, d in pages.items() for n in d['problems']]
        if notes: print('notes (nbdev_docs, on GitHub, runs these cells whole; here only their imports ran):\n' +
                        '\n'.join(f'  {p.relative_to(ROOT)} {n}' for p, n in notes))
        if probs: print('PROBLEMS (cells that failed while nbdev processed the notebooks; nbdev_docs stops at the first):\n' +
                        '\n'.join(f'  {p.relative_to(ROOT)} {n}' for p, n in probs))
        w = warn_file.read_text().strip() if warn_file.exists() else ''
        if w: print(f'sphinx warnings ({warn_file.relative_to(ROOT)}):\n{w}')
        print(f'built {len(pages)} pages into {SITE.relative_to(ROOT)}/ in {t2-t0:.1f} s '
              f'(nbdev processing {t1-t0:.1f} s, sphinx {t2-t1:.1f} s)')
    return pages

if __name__=='__main__':
    build(strict='--strict' in sys.argv, force='--force' in sys.argv, quiet='--quiet' in sys.argv)
