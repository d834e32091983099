"""The PyTorch side of `npm run bench:engine`: the same MobileNetV2 step timed in PyTorch (Debian's
python3-torch, the libtorch aepsl binds). Prints one JSON line."""
import json, resource, statistics, sys, time

import torch
import torchvision

def main():
    cfg = json.loads(sys.argv[1])
    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(0)
    model = torchvision.models.mobilenet_v2(num_classes=cfg["classes"])
    if cfg["output_stride"] == 16:
        # Same dilation rule as aepsl (DeepLab): block 14 loses its stride, blocks after it dilate by 2.
        model.features[14].conv[1][0].stride = (1, 1)
        for i in (15, 16, 17):
            dw = model.features[i].conv[1][0]
            dw.dilation, dw.padding = (2, 2), (2, 2)
    device = torch.device(cfg.get("device", "cpu"))
    model = model.to(device)
    b, s = cfg["batch"], cfg["size"]
    x = torch.randn(b, 3, s, s).to(device)
    y = (torch.rand(b, cfg["classes"]) > 0.5).float().to(device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)

    def train_step():
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x), y)
        loss.backward()
        opt.step()

    def infer_step():
        with torch.no_grad():
            model(x)

    def timed(fn, warmup, reps):
        for _ in range(warmup):
            fn()
        sync()
        out = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            sync()
            out.append((time.perf_counter() - t0) * 1000)
        return statistics.median(out)

    model.train()
    train_ms = timed(train_step, cfg["warmup"], cfg["reps"])
    model.eval()
    infer_ms = timed(infer_step, cfg["warmup"], cfg["reps"])
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"train_ms": train_ms, "infer_ms": infer_ms, "peak_rss_mb": peak_mb, "torch": torch.__version__}))

main()
