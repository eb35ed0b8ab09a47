"The model zoo against the rest of the kit: shapes from the loaders, batches from real data, a fastai Learner."
import math, sys
from pathlib import Path
import pytest, torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path: sys.path.insert(0, str(ROOT)) # run from a checkout without installing
from rethink_fastai.models import PAPER_ARCHS, PAPER_PARAMS, rethink_model, n_params
from rethink_fastai.loaders import paper_crop, randomized_dls

@pytest.fixture(scope='module')
def digits_dls(): return randomized_dls('digits', 'random_labels', seed=0, bs=64, device='cpu')

def test_published_counts_on_the_loaders_crop():
    "CIFAR-10 as the loaders crop it (32 -> 28) gives the paper's counts"
    shape = (3, paper_crop((3,32,32)), paper_crop((3,32,32)))
    assert shape==(3,28,28)
    assert {a: n_params(rethink_model(a, shape, 10)) for a in PAPER_ARCHS} == PAPER_PARAMS

@pytest.mark.parametrize('arch', PAPER_ARCHS)
def test_every_parameter_trains_on_a_real_batch(digits_dls, arch):
    "A batch from the loaders goes through each model and every parameter gets a gradient (no dead ones)"
    # the smallest real gradient here is ~7e-3; a conv bias cancelled by the BatchNorm after it gets ~1e-7
    xb, yb = (o.as_subclass(torch.Tensor) for o in digits_dls.one_batch())
    torch.manual_seed(0)
    m = rethink_model(arch, tuple(xb.shape[1:]), len(digits_dls.vocab))
    loss = nn.functional.cross_entropy(m(xb), yb)
    assert math.isfinite(loss.item())
    loss.backward()
    dead = [n for n,p in m.named_parameters() if p.grad is None or not p.grad.abs().max()>1e-5]
    assert not dead, f'{arch}: parameters without gradient: {dead}'

def test_fastai_learner_fits_digits():
    "A paper model in a plain fastai Learner learns the real digits"
    from fastai.learner import Learner
    from fastai.losses import CrossEntropyLossFlat
    from fastai.metrics import accuracy
    dls = randomized_dls('digits', 'true_labels', seed=0, bs=64, device='cpu')
    torch.manual_seed(0)
    learn = Learner(dls, rethink_model('mlp1x512', dls.one_batch()[0].shape[1:], len(dls.vocab)),
                    loss_func=CrossEntropyLossFlat(), metrics=accuracy)
    with learn.no_logging(): learn.fit(3, 1e-3)
    assert learn.validate()[1] > 0.8
