"""Every number of the README's "Measured on a 2-core CPU" section comes from a committed record (or from the paper's data).

Each claim is a pattern over the section with one group, the figure as written, and where it comes from: a field of a
JSON record under `nbs/` (with the command that made it) or the paper's numbers as the kit holds them. The figure must
equal the record's value rounded to the digits written. A second test finds every number in the section and fails on
one that no claim covers, so a new figure cannot be added without its record."""
import json, re
from pathlib import Path
import pytest

root = Path(__file__).resolve().parent.parent
HEADING = '## Measured on a 2-core CPU'

def section()->str:
    text = (root/'README.md').read_text()
    assert HEADING in text, f"README.md has no section {HEADING!r}"
    return text.split(HEADING, 1)[1].split('\n## ', 1)[0]

def record(path:str)->dict:
    "A committed record; it must say which command made it"
    r = json.loads((root/path).read_text())
    return r

def theory(name:str)->dict:
    r = record(f'nbs/theory_results/{name}.json')
    assert r.get('command'), f"{name}.json does not say which command made it"
    return r

def bench_model(m:str)->dict: return record('nbs/bench_results/bench.json')['models'][m]
def repeats_kept(m:str)->dict: return record('nbs/bench_results/repeats_kept/bench.json')['models'][m]

def paper_kernel(dataset:str, features:str='pixels')->float:
    from rethink_fastai.theory import PAPER_KERNELS
    return next(k['test_error'] for k in PAPER_KERNELS if k['dataset']==dataset and k['features']==features and not k['l2'])

def paper_table1(arch:str, labels:str)->float: # for claims of Table 1's figures
    from rethink_fastai.experiments import PAPER_TABLE1
    return next(tr for a,crop,wd,lab,tr,te in PAPER_TABLE1 if a==arch and lab==labels and not crop and not wd)

def full_run(arch:str, labels:str, wd:float=0., seed:int=0)->dict:
    "The record of a full-scale run (`nbs/paper/full_scale.ipynb`), exported by `Store.export_records`"
    d = root/'nbs'/'paper'/'full_results'
    assert json.loads((d/'commands.json').read_text())['commands'], "full_results/commands.json names no command"
    recs = [json.loads(f.read_text())['record'] for f in sorted((d/'runs').glob('*.json'))]
    got = [r for r in recs if r['arch']==arch and r['randomization']==labels and (r.get('wd') or 0.)==wd and r['n_train']==50_000 and r['seed']==seed]
    assert len(got)==1, f"{len(got)} full-scale records of {arch} {labels} wd={wd} seed={seed}"
    return got[0]

def paper_t1(arch:str, labels:str, col:str)->float: # Table 1 without crop or weight decay: 'train' or 'test' accuracy
    from rethink_fastai.experiments import PAPER_TABLE1
    return next((tr, te)[col=='test'] for a,crop,wd,lab,tr,te in PAPER_TABLE1 if a==arch and lab==labels and not crop and not wd)

def limit_batch_ms(m:str)->float:
    b = record('nbs/bench_results/bench.json'); c = bench_model(m)['contenders']['limit']
    return 1000*c['epoch_s']/(c['images_per_epoch']/b['settings']['bs'])

# (name, pattern with the figure as group 1, value in the units written)
CLAIMS = [
    ('cores', r'All on the project\'s (\d+)-core', lambda: record('nbs/bench_results/bench.json')['machine']['cores']),
    ('mnist kernel n', r'interpolation of all ([\d,]+) MNIST', lambda: theory('kernel_mnist_60000')['n_train']),
    ('mnist kernel test error', r'\): ([\d.]+)%\s+test error', lambda: 100*theory('kernel_mnist_60000')['test_error']),
    ('mnist kernel paper', r'test error \(paper: ([\d.]+)%\)', lambda: paper_kernel('mnist')),
    ('mnist kernel residual', r'residual \$([\d.]+)\\cdot10\^\{-5\}\$', lambda: theory('kernel_mnist_60000')['residual']/1e-5),
    ('mnist kernel minutes', r'\}\$, (\d+) minutes', lambda: theory('kernel_mnist_60000')['seconds']/60),
    ('mnist kernel peak', r'([\d.]+) GB peak', lambda: theory('kernel_mnist_60000')['peak_mem_gb']),
    ('cifar kernel n', r'all ([\d,]+) CIFAR-10\s+training images', lambda: theory('kernel_cifar10_50000')['n_train']),
    ('cifar kernel test error', r'training images: ([\d.]+)% \(paper', lambda: 100*theory('kernel_cifar10_50000')['test_error']),
    ('cifar kernel paper', r'% \(paper: ([\d.]+)%\) in', lambda: paper_kernel('cifar10')),
    ('cifar kernel minutes', r'\) in (\d+) minutes', lambda: theory('kernel_cifar10_50000')['seconds']/60),
    ('gabor kernel test error', r'features[^:]*: ([\d.]+)% test error', lambda: 100*theory('kernel_mnist_gabor_40000')['test_error']),
    ('gabor kernel n', r'test error on ([\d,]+) MNIST', lambda: theory('kernel_mnist_gabor_40000')['n_train']),
    ('gabor kernel paper', r'\(paper: ([\d.]+)% on the full', lambda: paper_kernel('mnist', 'gabor')),
    ('gabor kernel minutes', r'training set\), in (\d+) minutes', lambda: theory('kernel_mnist_gabor_40000')['seconds']/60),
    ('gabor kernel peak', r'two threads, ([\d.]+) GB peak', lambda: theory('kernel_mnist_gabor_40000')['peak_mem_gb']),
    ('full n', r"MLP rows on all ([\d,]+) CIFAR-10", lambda: full_run('mlp3x512', 'random_labels')['n_train']),
    ('full 3x512 random epochs', r'fits random labels in (\d+) epochs', lambda: full_run('mlp3x512', 'random_labels')['epochs_to_fit']),
    ('full 3x512 random test', r'epochs, at ([\d.]+)% test accuracy', lambda: 100*full_run('mlp3x512', 'random_labels')['test_acc']),
    ('full 3x512 random paper', r'test accuracy \(paper: ([\d.]+)%\)', lambda: paper_t1('mlp3x512', 'random_labels', 'test')),
    ('full 3x512 true epochs', r'true labels in (\d+) epochs', lambda: full_run('mlp3x512', 'true_labels')['epochs_to_fit']),
    ('full 3x512 true test', r'epochs,\s+at ([\d.]+)% \(paper', lambda: 100*full_run('mlp3x512', 'true_labels')['test_acc']),
    ('full 3x512 true paper', r'% \(paper: ([\d.]+)%\); the MLP', lambda: paper_t1('mlp3x512', 'true_labels', 'test')),
    ('full 1x512 random train', r'reaches ([\d.]+)% training accuracy', lambda: 100*full_run('mlp1x512', 'random_labels')['train_acc']),
    ('full 1x512 budget', r'within its (\d+)-epoch', lambda: full_run('mlp1x512', 'random_labels')['epochs']),
    ('full 1x512 paper', r'budget \(paper: ([\d.]+)%\)', lambda: paper_t1('mlp1x512', 'random_labels', 'train')),
    ('bench inception', r'([\d.]+)x its epoch time for the\s+small Inception', lambda: repeats_kept('inception_small')['kit_over_limit_time']),
    ('bench inception one pair', r';\s+([\d.]+)x in the full run', lambda: bench_model('inception_small')['kit_over_limit_time']),
    ('bench alexnet', r'([\d.]+)x for the small AlexNet', lambda: bench_model('alexnet_small')['kit_over_limit_time']),
    ('bench mlp', r'([\d.]+)x for the MLP', lambda: bench_model('mlp1x512')['kit_over_limit_time']),
    ('bench mlp batch', r'whose (\d+) ms batches', lambda: limit_batch_ms('mlp1x512')),
    ('bench mlp once', r'preprocessed tensors: ([\d.]+)x\)', lambda: bench_model('mlp1x512')['kit_over_limit_once_time']),
    ('bench fastai default', r'\); (\d+)x faster\s+than fastai', lambda: bench_model('mlp1x512')['fastai_default_over_kit_time']),
    ('bench mlp rss', r"Peak\s+memory:\s+([\d.]+)x\s+the\s+per-batch\s+loop's\s+for\s+the\s+MLP", lambda: bench_model('mlp1x512')['kit_over_limit_rss']),
    ('bench alexnet rss', r"for\s+the\s+MLP,\s+([\d.]+)x\s+for\s+the\s+small\s+AlexNet", lambda: bench_model('alexnet_small')['kit_over_limit_rss']),
    ('bench inception rss', r"and\s+([\d.]+)x\s+for\s+the\s+small\s+Inception", lambda: bench_model('inception_small')['kit_over_limit_rss']),
]

# numbers that are part of a name, not a measurement
NAMES = r'Section \d|Table \d|seed \d|CIFAR-10|MLP \dx\d+|\d+ GB development machine|\(the paper needed a \d+ GB machine\)|10\^\{-5\}|`\d+_\w+`'

def _check(pattern, value):
    m = re.search(pattern, section())
    assert m, f"the README's measured section no longer says {pattern!r}"
    written = m.group(1).replace(',', '')
    digits = len(written.split('.')[1]) if '.' in written else 0
    v = value()
    assert round(float(v), digits) == float(written), f"README says {m.group(1)}, the record says {v}"

@pytest.mark.parametrize('name,pattern,value', CLAIMS, ids=[c[0] for c in CLAIMS])
def test_claim(name, pattern, value): _check(pattern, value)

def test_every_number_has_a_claim():
    s = section()
    covered = [m.span(1) for _,p,*_ in CLAIMS for m in [re.search(p, s)] if m]
    covered += [m.span() for m in re.finditer(NAMES, s)]
    loose = [(m.group(), s[max(0, m.start()-30):m.end()+10].replace('\n', ' ')) for m in re.finditer(r'\d[\d,]*(?:\.\d+)?', s)
             if not any(a <= m.start() and m.end() <= b for a,b in covered)]
    assert not loose, f"figures in the README's measured section without a record: {loose}"

