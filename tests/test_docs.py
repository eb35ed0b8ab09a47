"""The documentation site, as a reader gets it: `python docs/build.py` builds it offline into docs/_site (see
docs/README.md), then the checks that need no browser (a page for every notebook, an API reference entry for every
name in `rethink_fastai.all`, no broken internal link) and, in headless Chromium, the ones that do (every page loads
without console errors, every image loads, search finds an API name, a screenshot of the home page)."""
import functools, http.server, os, re, shutil, subprocess, sys, tempfile, threading, time
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit
import pytest

root = Path(__file__).resolve().parent.parent
site = root/'docs'/'_site'
CHROMIUM, CHROMEDRIVER = os.environ.get('CHROMIUM', '/usr/bin/chromium'), os.environ.get('CHROMEDRIVER', '/usr/bin/chromedriver')

@pytest.fixture(scope='module')
def built():
    "Build the site with the documented command (incremental: unchanged notebooks come from docs/_build's cache)"
    t = time.time()
    r = subprocess.run([sys.executable, 'docs/build.py'], cwd=root, capture_output=True, text=True, timeout=900)
    assert r.returncode==0, f'docs/build.py failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}'
    print(f'\n{r.stdout.strip().splitlines()[-1]} (docs/build.py: {time.time()-t:.1f} s)')
    return site

def pages(site): return sorted(p for p in site.rglob('*.html') if not p.relative_to(site).parts[0].startswith('_'))

class _Links(HTMLParser):
    "The ids of a page, and the links and resources it refers to"
    def __init__(self):
        super().__init__(); self.ids, self.refs = set(), []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for k in ('id', 'name'):
            if a.get(k) and (k=='id' or tag=='a'): self.ids.add(a[k])
        for k in ('href', 'src'):
            if a.get(k) and not (tag=='link' and 'preconnect' in (a.get('rel') or '')): self.refs.append(a[k])

@functools.cache
def _parse(path:Path):
    p = _Links(); p.feed(path.read_text(encoding='utf-8')); return p

def _local_target(page:Path, ref:str):
    "The file and fragment an internal link of `page` points at, or None for an external one"
    u = urlsplit(ref)
    if u.scheme or u.netloc or ref.startswith(('mailto:', 'javascript:', 'data:')): return None
    target = page if not u.path else (page.parent/unquote(u.path)).resolve()
    if target.is_dir(): target = target/'index.html'
    return target, unquote(u.fragment)

# ------------------------------------------------------------------------------------------- checks without a browser
def test_every_notebook_has_a_page(built):
    from nbdev.config import nbpath2html
    nbs = [p for p in (root/'nbs').rglob('*.ipynb') if not any(o.startswith(('_', '.')) for o in p.relative_to(root/'nbs').parts)]
    assert len(nbs) > 5
    nav = _parse(built/'index.html').refs
    for nb in nbs:
        rel = nb.relative_to(root/'nbs')
        page = next((p for p in (rel.parent/nbpath2html(rel).name, rel.with_suffix('.html')) if (built/p).is_file()), None)
        assert page, f'no page for {rel}'
        assert page.as_posix() in nav or rel.stem=='index', f'{page} is not in the sidebar'

def test_api_reference_covers_rethink_fastai_all(built):
    import rethink_fastai.all as kit
    from nbdev.config import get_config
    cfg = get_config(root)
    html = (built/'api.html').read_text(encoding='utf-8')
    entries = {}  # show_doc's entries: a rule, the source link, the name as a heading, the signature, the docstring
    for chunk in re.split(r'(?=<hr class="nbdev-rule")', html[:html.index('<footer')])[1:]:
        name = unescape(re.sub(r'<[^>]+>', '', re.search(r'<h3[^>]*>(.*?)</h3>', chunk, re.S).group(1))).strip().rstrip('#').strip()
        assert name not in entries, f'{name} twice'
        entries[name] = chunk.split('<h2')[0]
    assert sorted(entries) == sorted(kit.__all__), 'the API reference and rethink_fastai.all.__all__ differ'
    assert len(kit.__all__) == len(set(kit.__all__))
    git = re.escape(f'{cfg.git_url}/blob/{cfg.branch}/')
    for name, chunk in entries.items():
        assert '<pre' in chunk, f'{name}: no signature'
        m = re.search(r'href="' + git + r'([\w/]+\.py)#L(\d+)"', chunk)
        assert m, f'{name}: no source link with a line number'
        line = (root/m.group(1)).read_text().splitlines()[int(m.group(2))-1]
        assert re.match(rf'\s*(async def|def|class) {name}\b|{name}\s*[:=]', line), f'{name}: source link to {m.group(0)}: {line!r}'
    text = unescape(re.sub(r'<[^>]+>', '', entries['get_dataset']))
    from fastcore.docments import docments
    for p, doc in docments(kit.get_dataset).items():  # the parameters' docments (`# comment` after each) are shown
        if doc and p!='return': assert f'# {doc}' in text, (p, doc)

def test_no_broken_internal_links(built):
    broken = []
    for page in pages(built):
        for ref in _parse(page).refs:
            t = _local_target(page, ref)
            if t is None: continue
            target, frag = t
            if not target.is_file(): broken.append(f'{page.relative_to(built)}: {ref} (no file)')
            elif frag and target.suffix=='.html' and frag not in _parse(target).ids: broken.append(f'{page.relative_to(built)}: {ref} (no #{frag})')
    assert not broken, f'{len(broken)} broken links:\n' + '\n'.join(broken[:40])

# ------------------------------------------------------------------------------------------------ in headless Chromium
class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args): pass

@pytest.fixture(scope='module')
def browser(built):
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip(f'Chromium is not installed ({CHROMIUM}, {CHROMEDRIVER}): apt-get install -y chromium chromium-driver')
    webdriver = pytest.importorskip('selenium.webdriver', reason='selenium is not installed: pip install -e ".[dev]"')
    from selenium.webdriver.chrome.service import Service
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(_Quiet, directory=str(built)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    profile = tempfile.mkdtemp(prefix='chromium-')
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
              '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', f'--user-data-dir={profile}', '--window-size=1400,1000'):
        opts.add_argument(a)
    opts.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    d.set_page_load_timeout(60); d.set_script_timeout(30)
    d.base = f'http://127.0.0.1:{srv.server_port}/'
    yield d
    d.quit(); srv.shutdown(); shutil.rmtree(profile, ignore_errors=True)

def _load(d, path):
    d.get(d.base + path)
    for _ in range(50):
        if d.execute_script('return document.readyState')=='complete': break
        time.sleep(0.1)

_images_js = """const done = arguments[arguments.length-1];
const imgs = Array.from(document.images);
imgs.forEach(i => { i.loading = 'eager'; });
Promise.all(imgs.map(i => i.complete ? null : new Promise(r => { i.onload = i.onerror = r; })))
  .then(() => done(imgs.map(i => [i.currentSrc || i.src, i.naturalWidth])));"""

def test_pages_load_without_errors_and_images_load(browser):
    d, problems, n_imgs = browser, [], 0
    d.get_log('browser')
    for page in pages(site):
        rel = page.relative_to(site).as_posix()
        _load(d, rel)
        imgs = d.execute_async_script(_images_js)
        n_imgs += len(imgs)
        problems += [f'{rel}: image {src[:80]} did not load' for src, w in imgs if not w]
        time.sleep(0.2)
        problems += [f"{rel}: console {l['level']}: {l['message'][:300]}" for l in d.get_log('browser') if l['level']=='SEVERE']
    print(f'\n{len(pages(site))} pages, {n_imgs} images checked in Chromium')
    assert not problems, '\n'.join(problems)

def test_search_finds_an_api_name(browser):
    d = browser
    _load(d, 'search.html?q=randomized_dls')
    found = []
    for _ in range(100):
        found = d.execute_script("return Array.from(document.querySelectorAll('#search-results li a')).map(a => [a.getAttribute('href'), a.textContent])")
        if found: break
        time.sleep(0.1)
    hits = [h for h, text in found if text.strip().endswith('randomized_dls') and h.startswith('api.html#')]
    assert hits, found   # the API reference's entry is among the results
    target, frag = _local_target(site/'search.html', hits[0])
    assert frag in _parse(target).ids

def test_home_page_screenshot(browser):
    d = browser
    _load(d, 'index.html')
    assert d.title.startswith('rethink_fastai'), d.title
    path = site/'screenshot-home.png'
    assert d.save_screenshot(str(path)) and path.stat().st_size > 10_000
    print(f'\nscreenshot of the home page: {path}')
