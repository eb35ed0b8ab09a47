"""Issue 14's CIFAR target: the floor that stacking's kernels set for mlp1x512 at CIFAR's 2,352 inputs. One forward and
backward of K=6 members, batch 128, one thread, in raw PyTorch: six separate models (`addmm`), the stack's batched layers
(`baddbmm`, the weights stored in their gradients' layout as `StackedModel.match_grad_layout` does), and one wide matmul over
the members' shared input. No optimizer step, no loader, no fastai. Prints milliseconds per step, twice. Not a test.

    python tests/probe_stack_floor.py
"""
import time, torch
import torch.nn.functional as F

def main(K=6, B=128, I=2352, O=512, steps=20):
    torch.set_num_threads(1); torch.manual_seed(0)
    x = torch.randn(B, I); xs = x.expand(K, B, I).contiguous()
    leaf = lambda *s: torch.randn(*s, requires_grad=True)
    Wt, W, b, W2t, y = leaf(K, I, O), leaf(K, O, I), leaf(K, O), leaf(K, O, 10), torch.randint(0, 10, (K, B))
    Ws, bs, W2s = [leaf(O, I) for _ in range(K)], [leaf(O) for _ in range(K)], [leaf(10, O) for _ in range(K)]
    def separate():
        for i in range(K): F.cross_entropy(torch.relu(torch.addmm(bs[i], x, Ws[i].t())) @ W2s[i].t(), y[i]).backward()
    def batched():
        o = torch.bmm(torch.relu(torch.baddbmm(b.unsqueeze(1), xs, Wt)), W2t)
        F.cross_entropy(o.reshape(K*B, 10), y.reshape(-1), reduction='sum').backward()
    def wide():
        h = torch.addmm(b.reshape(-1), x, W.reshape(K*O, I).t()).view(B, K, O).transpose(0, 1)
        F.cross_entropy(torch.bmm(torch.relu(h), W2t).reshape(K*B, 10), y.reshape(-1), reduction='sum').backward()
    def clear():
        for p in [Wt, W, b, W2t, *Ws, *bs, *W2s]: p.grad = None
    for f in (separate, batched, wide)*2:
        for _ in range(3): f(); clear()
        t = time.perf_counter()
        for _ in range(steps): f(); clear()
        print(f"{f.__name__} {(time.perf_counter()-t)/steps*1000:.2f} ms", flush=True)

if __name__=='__main__': main()
