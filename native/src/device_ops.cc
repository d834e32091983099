// Devices: parsing "cpu" / "cuda" / "cuda:N", moving tensors, pinned host memory, CUDA discovery and
// autocast. Everything here compiles against a CPU-only libtorch; the CUDA-only headers sit behind
// AEPSL_WITH_CUDA, which binding.gyp defines only when it finds libtorch_cuda beside libtorch_cpu.
#include <ATen/autocast_mode.h>
#include <torch/cuda.h>

#include "common.h"

#ifdef AEPSL_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <cuda_runtime_api.h>
#endif

namespace aepsl {

torch::Device DeviceOf(const Napi::Value& v) {
  // torch::Device's own parser gives libtorch's message for a malformed string ("cuda:x").
  return torch::Device(Str(v));
}

torch::TensorOptions OptsOn(torch::TensorOptions o, const Napi::Value& device) {
  if (device.IsUndefined() || device.IsNull()) return o;
  return o.device(DeviceOf(device));
}

namespace {

// Libtorch would happily accept "cuda:0" and then fail deep inside an allocator when it has no CUDA; a
// clear message up front is friendlier and says why.
void CheckUsable(Napi::Env env, const torch::Device& d) {
  if (d.is_cpu()) return;
  if (d.is_cuda() && !torch::cuda::is_available())
    throw Napi::Error::New(env, "device '" + d.str() + "' is not available: " +
#ifdef AEPSL_WITH_CUDA
                                    "no CUDA GPU is visible"
#else
                                    "libtorch built without CUDA"
#endif
    );
}

Napi::Value ToDevice(const Napi::CallbackInfo& info) {
  // toDevice(t, device, nonBlocking): the same tensor (no copy) when it already lives there.
  torch::Tensor& t = T(info[0]);
  torch::Device d = DeviceOf(info[1]);
  if (t.device() == d) return Wrap(info.Env(), t);
  CheckUsable(info.Env(), d);
  return Wrap(info.Env(), t.to(d, /*non_blocking=*/Bool(info[2])));
}

Napi::Value MoveTo(const Napi::CallbackInfo& info) {
  // moveTo(t, device): re-points this handle at a copy on the device, keeping requires_grad and leaf-ness,
  // so every JS reference (e.g. a module's field) follows. Frees the old storage once nothing else holds it.
  Holder* h = HolderOf(info[0]);
  if (!h->t.defined()) throw Napi::Error::New(info.Env(), "tensor was disposed");
  torch::Device d = DeviceOf(info[1]);
  if (h->t.device() == d) return info.Env().Undefined();
  CheckUsable(info.Env(), d);
  const bool rg = h->t.requires_grad();
  torch::Tensor moved = h->t.detach().to(d);
  if (rg) moved.set_requires_grad(true);
  h->t = moved;
  return info.Env().Undefined();
}

Napi::Value DeviceName(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), T(info[0]).device().str()); }

Napi::Value PinMemory(const Napi::CallbackInfo& info) {
  // Pinned (page-locked) host memory only exists with CUDA; without it the tensor is returned unchanged.
  torch::Tensor& t = T(info[0]);
  if (!t.is_cpu() || !torch::cuda::is_available() || t.is_pinned()) return Wrap(info.Env(), t);
  return Wrap(info.Env(), t.pin_memory());
}

Napi::Value IsPinned(const Napi::CallbackInfo& info) {
  torch::Tensor& t = T(info[0]);
  return Napi::Boolean::New(info.Env(), t.is_cpu() && torch::cuda::is_available() && t.is_pinned());
}

Napi::Value CudaInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
#ifdef AEPSL_WITH_CUDA
  o.Set("built", true);
#else
  o.Set("built", false);
#endif
  const bool available = torch::cuda::is_available();
  o.Set("available", available);
  const int64_t count = available ? static_cast<int64_t>(torch::cuda::device_count()) : 0;
  o.Set("deviceCount", Napi::Number::New(env, static_cast<double>(count)));
  Napi::Array devices = Napi::Array::New(env);
#ifdef AEPSL_WITH_CUDA
  for (int64_t i = 0; i < count; ++i) {
    cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, static_cast<int>(i)) != cudaSuccess) continue;
    Napi::Object d = Napi::Object::New(env);
    d.Set("index", Napi::Number::New(env, static_cast<double>(i)));
    d.Set("name", p.name);
    d.Set("totalMemory", Napi::Number::New(env, static_cast<double>(p.totalGlobalMem)));
    d.Set("capability", std::to_string(p.major) + "." + std::to_string(p.minor));
    devices.Set(static_cast<uint32_t>(i), d);
  }
#endif
  o.Set("devices", devices);
  return o;
}

Napi::Value Synchronize(const Napi::CallbackInfo& info) {
#ifdef AEPSL_WITH_CUDA
  if (torch::cuda::is_available()) torch::cuda::synchronize();
#endif
  return info.Env().Undefined();
}

Napi::Value CudaMemory(const Napi::CallbackInfo& info) {
  // Bytes currently allocated by libtorch's CUDA caching allocator on the device (0 without CUDA).
  double bytes = 0;
#ifdef AEPSL_WITH_CUDA
  if (torch::cuda::is_available()) {
    const int dev = info.Length() > 0 && info[0].IsNumber() ? static_cast<int>(I64(info[0])) : 0;
    auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(dev);
    bytes = static_cast<double>(stats.allocated_bytes[0].current);
  }
#endif
  return Napi::Number::New(info.Env(), bytes);
}

Napi::Value EmptyCache(const Napi::CallbackInfo& info) {
#ifdef AEPSL_WITH_CUDA
  if (torch::cuda::is_available()) c10::cuda::CUDACachingAllocator::emptyCache();
#endif
  return info.Env().Undefined();
}

Napi::Value SetAutocast(const Napi::CallbackInfo& info) {
  // setAutocast(enabled): bf16 autocast of CUDA ops (convolutions, matmuls) for the forward pass; the
  // parameters stay fp32 (master weights). Returns the previous state so callers can restore it.
  const bool on = Bool(info[0]);
  const bool before = at::autocast::is_enabled();
  if (on) {
#ifdef AEPSL_WITH_CUDA
    if (!torch::cuda::is_available()) throw Napi::Error::New(info.Env(), "amp needs CUDA: no CUDA GPU is visible");
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
#else
    throw Napi::Error::New(info.Env(), "amp needs CUDA: libtorch built without CUDA");
#endif
  }
  at::autocast::set_enabled(on);
  if (!on && before) at::autocast::clear_cache();
  return Napi::Boolean::New(info.Env(), before);
}

}  // namespace

void RegisterDeviceOps(Napi::Env env, Napi::Object exports) {
  Export<ToDevice>(env, exports, "toDevice");
  Export<MoveTo>(env, exports, "moveTo");
  Export<DeviceName>(env, exports, "device");
  Export<PinMemory>(env, exports, "pinMemory");
  Export<IsPinned>(env, exports, "isPinned");
  Export<CudaInfo>(env, exports, "cudaInfo");
  Export<Synchronize>(env, exports, "synchronize");
  Export<CudaMemory>(env, exports, "cudaMemoryAllocated");
  Export<EmptyCache>(env, exports, "emptyCache");
  Export<SetAutocast>(env, exports, "setAutocast");
}

}  // namespace aepsl
