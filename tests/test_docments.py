"Every public function and class of the kit documents each parameter with a docment (`show_doc` renders them)."
import importlib, inspect
import pytest
from fastcore.docments import docments

def undocumented(mod)->list:
    "`module.name(param)` for each parameter of a public function, method or class in `mod.__all__` that has no docment"
    missing = []
    for name in mod.__all__:
        o = getattr(mod, name)
        if not callable(o) or getattr(o, '__module__', None) != mod.__name__: continue # constants, and names imported from elsewhere
        targets = [(name, o)]
        if inspect.isclass(o):
            targets = [(name, o)] if '__init__' in vars(o) or hasattr(o, '__dataclass_fields__') else []
            targets += [(f'{name}.{m}', f) for m,f in vars(o).items() if inspect.isfunction(f) and not m.startswith('_')]
        for n,f in targets:
            try: ps, ds = inspect.signature(f).parameters, docments(f)
            except (TypeError, ValueError): continue
            missing += [f'{mod.__name__.split(".")[-1]}.{n}({p})' for p,q in ps.items()
                        if p not in ("self", "cls") and q.kind not in (q.VAR_POSITIONAL, q.VAR_KEYWORD) and not ds.get(p)]
    return missing

# `*args` and `**kwargs` are left out: fastcore's docments does not read theirs (fastai documents them by `@delegates`)
# the modules this check covers: every module of the kit
MODULES = ['data', 'randomize', 'loaders', 'models', 'learner', 'experiments', 'store', 'sweep', 'report', 'theory', 'bench',
           'bench_report', 'distributed', 'imagenet', 'scores', 'measures', 'noise', 'stack', 'callbacks', 'cli', 'demo']

@pytest.mark.parametrize('name', MODULES)
def test_every_public_parameter_has_a_docment(name):
    missing = undocumented(importlib.import_module(f'rethink_fastai.{name}'))
    assert not missing, f"{len(missing)} parameters without a docment: {', '.join(missing)}"

def test_the_checker_finds_a_missing_docment():
    import types
    m = types.ModuleType('rethink_fastai.fake'); m.__all__ = ['f', 'g']
    def f(a, # documented
          b): pass
    def g(x:int=1, # documented
         ): pass
    f.__module__ = g.__module__ = m.__name__
    m.f, m.g = f, g
    assert undocumented(m) == ['fake.f(b)']
