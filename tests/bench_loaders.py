"""Benchmark (not a timed test): one epoch of CIFAR-10 training for the MLP 1x512, through the kit's
DataLoaders and a fastai Learner, against a hand-written PyTorch loop over the same preloaded uint8 tensors
doing the same per-batch centre crop and per-image whitening. fp32, batch 128, SGD momentum 0.9, this CPU.

    python tests/bench_loaders.py [--data ../shared/data/cifar10.tgz] [--epochs 3]

The contenders alternate epoch by epoch, so drift on a noisy machine hits both alike; the ratio is the median
kit epoch time over the median hand-loop epoch time. Without --data (or when it is missing) it uses random
tensors of CIFAR-10's shape and says so."""
import argparse, math, statistics, time, json
from pathlib import Path
import torch, torch.nn.functional as F
from fastai.learner import Learner
from fastai.callback.progress import ProgressCallback  # noqa: F401 (adds Learner.no_bar)
from fastai.optimizer import OptimWrapper
from fastai.losses import CrossEntropyLossFlat
from fastcore.all import partial
from rethink_fastai.data import get_dataset, ImageArrays
from rethink_fastai.loaders import randomized_dls
from rethink_fastai.models import rethink_model

def hand_epoch(model, opt, x, y, bs=128, crop=28):
    "The raw PyTorch limit: preloaded uint8 tensors, batch-level crop and whitening, no framework"
    model.train()
    n, s = len(x), (x.shape[-1]-crop)//2
    for idx in torch.randperm(n).split(bs):
        if len(idx) < bs: break                      # the kit drops the last partial batch too
        xb = x[idx].float().div_(255)[..., s:s+crop, s:s+crop]
        f = xb.flatten(1); var, mean = torch.var_mean(f, dim=1, correction=0)
        xb = (xb - mean.view(-1,1,1,1)) / var.sqrt().clamp_min(1/math.sqrt(f.shape[1])).view(-1,1,1,1)
        loss = F.cross_entropy(model(xb), y[idx])
        opt.zero_grad(); loss.backward(); opt.step()

def main(data=None, epochs=3, subset=None):
    torch.set_num_threads(torch.get_num_threads())
    src = 'CIFAR-10 (%s)' % data
    if data and Path(data).exists(): ds = get_dataset('cifar10', data=data)
    else:
        src = 'synthetic tensors of CIFAR-10 shape'
        g = torch.Generator().manual_seed(0)
        ds = ImageArrays(torch.randint(0,256,(50000,3,32,32),dtype=torch.uint8,generator=g), torch.randint(0,10,(50000,),generator=g),
                         torch.randint(0,256,(10000,3,32,32),dtype=torch.uint8,generator=g), torch.randint(0,10,(10000,),generator=g),
                         [str(i) for i in range(10)], 'synthetic')
    if subset: ds = ds.subset(subset)
    dls = randomized_dls(ds, bs=128, device='cpu')
    sgd = partial(OptimWrapper, opt=torch.optim.SGD, momentum=0.9)
    torch.manual_seed(0); kit_model = rethink_model('mlp1x512', shape=(3,28,28))
    learn = Learner(dls, kit_model, loss_func=CrossEntropyLossFlat(), opt_func=sgd, lr=0.01)
    torch.manual_seed(0); hand_model = rethink_model('mlp1x512', shape=(3,28,28))
    opt = torch.optim.SGD(hand_model.parameters(), lr=0.01, momentum=0.9)
    x, y = ds.x_train, ds.y_train
    kit, hand = [], []
    with learn.no_bar(), learn.no_logging():
        for e in range(epochs+1):                  # epoch 0 warms both up and is reported apart
            t = time.perf_counter(); learn.fit(1); kit.append(time.perf_counter()-t)
            t = time.perf_counter(); hand_epoch(hand_model, opt, x, y); hand.append(time.perf_counter()-t)
    n = len(dls.train)*128
    k, h = statistics.median(kit[1:]), statistics.median(hand[1:])
    res = dict(source=src, images_per_epoch=n, epochs=epochs, kit_epoch_s=round(k,3), hand_epoch_s=round(h,3),
               kit_images_per_s=round(n/k), hand_images_per_s=round(n/h), kit_over_hand=round(k/h,3),
               first_epoch_kit_s=round(kit[0],3), first_epoch_hand_s=round(hand[0],3),
               kit_epochs_s=[round(o,3) for o in kit], hand_epochs_s=[round(o,3) for o in hand], threads=torch.get_num_threads())
    print(json.dumps(res, indent=1))
    print(f"\nMLP 1x512, {src}: kit {n/k:,.0f} img/s, hand loop {n/h:,.0f} img/s, kit/hand epoch time = {k/h:.3f}")
    return res

if __name__=='__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--data', default=str(Path(__file__).resolve().parents[2]/'shared'/'data'/'cifar10.tgz'))
    p.add_argument('--epochs', type=int, default=3)
    p.add_argument('--subset', type=int, default=None)
    a = p.parse_args()
    main(a.data, a.epochs, a.subset)
