// Tensor creation, data transfer, elementwise math, reductions, views, autograd, RNG and threads.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <torch/cuda.h>

#include <cstring>
#include <functional>
#include <unordered_map>

#include "common.h"

namespace aepsl {
namespace {

torch::TensorOptions Opts(const Napi::Value& dtype, const Napi::Value& device) {
  return OptsOn(torch::TensorOptions().dtype(DTypeOf(dtype)), device);
}

// ---- creation and transfer ----

Napi::Value FromArray(const Napi::CallbackInfo& info) {
  // fromArray(typedArray, shape, dtype): copies the JS data into a new tensor.
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray()) throw Napi::TypeError::New(env, "fromArray expects a typed array");
  Napi::TypedArray arr = info[0].As<Napi::TypedArray>();
  std::vector<int64_t> shape = Ints(info[1]);
  torch::ScalarType want = DTypeOf(info[2]);
  torch::ScalarType src;
  switch (arr.TypedArrayType()) {
    case napi_float32_array: src = torch::kFloat; break;
    case napi_float64_array: src = torch::kDouble; break;
    case napi_int32_array: src = torch::kInt; break;
    case napi_bigint64_array: src = torch::kLong; break;
    case napi_uint8_array: src = torch::kByte; break;
    case napi_uint16_array: src = torch::kShort; break;  // float16 bits travel as Uint16Array
    default: throw Napi::TypeError::New(env, "unsupported typed array type");
  }
  if (want == torch::kHalf && src == torch::kShort) src = torch::kHalf;
  int64_t numel = 1;
  for (int64_t d : shape) {
    if (d < 0) throw Napi::RangeError::New(env, "negative dimension in shape");
    numel *= d;
  }
  if (numel != static_cast<int64_t>(arr.ElementLength()))
    throw Napi::RangeError::New(env, "shape has " + std::to_string(numel) + " elements but the array has " +
                                         std::to_string(arr.ElementLength()));
  uint8_t* data = static_cast<uint8_t*>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
  torch::Tensor view = torch::from_blob(data, shape, torch::TensorOptions().dtype(src));
  torch::Device d = info[3].IsUndefined() || info[3].IsNull() ? torch::Device(torch::kCPU) : DeviceOf(info[3]);
  if (!d.is_cpu()) {
    // fromArray(..., device): staged through pinned host memory and copied without blocking (the caching
    // host allocator keeps the staging buffer alive until the copy is done); cast on the device.
    torch::Tensor staged = torch::cuda::is_available() ? view.pin_memory() : view.clone();
    torch::Tensor t = staged.to(d, /*non_blocking=*/true);
    return Wrap(env, src != want ? t.to(want) : t);
  }
  torch::Tensor t = view.clone();
  if (src != want) t = t.to(want);
  return Wrap(env, t);
}

Napi::Value ToArray(const Napi::CallbackInfo& info) {
  // toArray(t): a typed array (copy) matching the dtype; bool comes back as Uint8Array. A device tensor is
  // copied back to host memory first (a synchronising copy).
  Napi::Env env = info.Env();
  torch::Tensor t = T(info[0]).detach();
  if (!t.is_cpu()) t = t.to(torch::kCPU);
  t = t.contiguous();
  if (t.scalar_type() == torch::kBool) t = t.to(torch::kByte);
  if (t.scalar_type() == torch::kBFloat16) t = t.to(torch::kFloat);  // amp outputs come back as float32
  const size_t bytes = t.numel() * t.element_size();
  Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(env, bytes);
  if (bytes) std::memcpy(buf.Data(), t.data_ptr(), bytes);
  const size_t n = t.numel();
  switch (t.scalar_type()) {
    case torch::kFloat: return Napi::Float32Array::New(env, n, buf, 0);
    case torch::kDouble: return Napi::Float64Array::New(env, n, buf, 0);
    case torch::kLong: return Napi::BigInt64Array::New(env, n, buf, 0);
    case torch::kInt: return Napi::Int32Array::New(env, n, buf, 0);
    case torch::kByte: return Napi::Uint8Array::New(env, n, buf, 0);
    case torch::kHalf: return Napi::Uint16Array::New(env, n, buf, 0);
    default: throw Napi::TypeError::New(env, "toArray: unsupported dtype " + DTypeName(t.scalar_type()));
  }
}

// Creation functions take an optional trailing device string (default CPU).
Napi::Value Zeros(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), torch::zeros(Ints(info[0]), Opts(info[1], info[2])));
}
Napi::Value Ones(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), torch::ones(Ints(info[0]), Opts(info[1], info[2])));
}
Napi::Value Full(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), torch::full(Ints(info[0]), F64(info[1]), Opts(info[2], info[3])));
}
Napi::Value Rand(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), torch::rand(Ints(info[0]), Opts(info[1], info[2])));
}
Napi::Value Randn(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), torch::randn(Ints(info[0]), Opts(info[1], info[2])));
}
Napi::Value Randint(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), torch::randint(I64(info[0]), I64(info[1]), Ints(info[2]), torch::kLong));
}
Napi::Value Randperm(const Napi::CallbackInfo& info) { return Wrap(info.Env(), torch::randperm(I64(info[0]), torch::kLong)); }
Napi::Value Arange(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), torch::arange(F64(info[0]), F64(info[1]), F64(info[2]), Opts(info[3], info[4])));
}

// ---- metadata ----

Napi::Value Shape(const Napi::CallbackInfo& info) {
  torch::Tensor& t = T(info[0]);
  Napi::Array out = Napi::Array::New(info.Env(), t.dim());
  for (int64_t i = 0; i < t.dim(); ++i) out.Set(static_cast<uint32_t>(i), Napi::Number::New(info.Env(), t.size(i)));
  return out;
}
Napi::Value DType(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), DTypeName(T(info[0]).scalar_type())); }
Napi::Value Item(const Napi::CallbackInfo& info) {
  torch::Tensor& t = T(info[0]);
  if (t.numel() != 1) throw Napi::Error::New(info.Env(), "item() needs a tensor with one element, got " + std::to_string(t.numel()));
  return Napi::Number::New(info.Env(), t.item<double>());
}
Napi::Value Dispose(const Napi::CallbackInfo& info) {
  HolderOf(info[0])->t = torch::Tensor();
  return info.Env().Undefined();
}
Napi::Value IsDisposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !HolderOf(info[0])->t.defined()); }
Napi::Value Nbytes(const Napi::CallbackInfo& info) {
  torch::Tensor& t = T(info[0]);
  return Napi::Number::New(info.Env(), static_cast<double>(t.numel() * t.element_size()));
}

// ---- elementwise ----

using Unary = std::function<torch::Tensor(const torch::Tensor&)>;
const std::unordered_map<std::string, Unary>& UnaryOps() {
  static const std::unordered_map<std::string, Unary> ops = {
      {"neg", [](const torch::Tensor& x) { return x.neg(); }},
      {"abs", [](const torch::Tensor& x) { return x.abs(); }},
      {"exp", [](const torch::Tensor& x) { return x.exp(); }},
      {"log", [](const torch::Tensor& x) { return x.log(); }},
      {"log1p", [](const torch::Tensor& x) { return x.log1p(); }},
      {"sqrt", [](const torch::Tensor& x) { return x.sqrt(); }},
      {"rsqrt", [](const torch::Tensor& x) { return x.rsqrt(); }},
      {"square", [](const torch::Tensor& x) { return x.square(); }},
      {"reciprocal", [](const torch::Tensor& x) { return x.reciprocal(); }},
      {"sign", [](const torch::Tensor& x) { return x.sign(); }},
      {"floor", [](const torch::Tensor& x) { return x.floor(); }},
      {"ceil", [](const torch::Tensor& x) { return x.ceil(); }},
      {"round", [](const torch::Tensor& x) { return x.round(); }},
      {"sigmoid", [](const torch::Tensor& x) { return x.sigmoid(); }},
      {"tanh", [](const torch::Tensor& x) { return x.tanh(); }},
      {"relu", [](const torch::Tensor& x) { return torch::relu(x); }},
      {"relu6", [](const torch::Tensor& x) { return torch::hardtanh(x, 0.0, 6.0); }},
      {"logical_not", [](const torch::Tensor& x) { return x.logical_not(); }},
      {"isfinite", [](const torch::Tensor& x) { return x.isfinite(); }},
      {"contiguous", [](const torch::Tensor& x) { return x.contiguous(); }},
      {"clone", [](const torch::Tensor& x) { return x.clone(); }},
      {"detach", [](const torch::Tensor& x) { return x.detach(); }},
  };
  return ops;
}

Napi::Value UnaryOp(const Napi::CallbackInfo& info) {
  const std::string name = Str(info[0]);
  auto it = UnaryOps().find(name);
  if (it == UnaryOps().end()) throw Napi::Error::New(info.Env(), "unknown unary op '" + name + "'");
  return Wrap(info.Env(), it->second(T(info[1])));
}

using Binary = std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)>;
const std::unordered_map<std::string, Binary>& BinaryOps() {
  static const std::unordered_map<std::string, Binary> ops = {
      {"add", [](const torch::Tensor& a, const torch::Tensor& b) { return torch::add(a, b); }},
      {"sub", [](const torch::Tensor& a, const torch::Tensor& b) { return torch::sub(a, b); }},
      {"mul", [](const torch::Tensor& a, const torch::Tensor& b) { return torch::mul(a, b); }},
      {"div", [](const torch::Tensor& a, const torch::Tensor& b) { return torch::div(a, b); }},
      {"pow", [](const torch::Tensor& a, const torch::Tensor& b) { return torch::pow(a, b); }},
      {"maximum", [](const torch::Tensor& a, const torch::Tensor& b) { return torch::maximum(a, b); }},
      {"minimum", [](const torch::Tensor& a, const torch::Tensor& b) { return torch::minimum(a, b); }},
      {"eq", [](const torch::Tensor& a, const torch::Tensor& b) { return torch::eq(a, b); }},
      {"ne", [](const torch::Tensor& a, const torch::Tensor& b) { return torch::ne(a, b); }},
      {"lt", [](const torch::Tensor& a, const torch::Tensor& b) { return torch::lt(a, b); }},
      {"le", [](const torch::Tensor& a, const torch::Tensor& b) { return torch::le(a, b); }},
      {"gt", [](const torch::Tensor& a, const torch::Tensor& b) { return torch::gt(a, b); }},
      {"ge", [](const torch::Tensor& a, const torch::Tensor& b) { return torch::ge(a, b); }},
      {"logical_and", [](const torch::Tensor& a, const torch::Tensor& b) { return torch::logical_and(a, b); }},
      {"logical_or", [](const torch::Tensor& a, const torch::Tensor& b) { return torch::logical_or(a, b); }},
      {"matmul", [](const torch::Tensor& a, const torch::Tensor& b) { return torch::matmul(a, b); }},
  };
  return ops;
}

Napi::Value BinaryOp(const Napi::CallbackInfo& info) {
  const std::string name = Str(info[0]);
  auto it = BinaryOps().find(name);
  if (it == BinaryOps().end()) throw Napi::Error::New(info.Env(), "unknown binary op '" + name + "'");
  if (info[1].IsNumber() && info[2].IsNumber()) throw Napi::TypeError::New(info.Env(), name + ": at least one operand must be a tensor");
  return Wrap(info.Env(), it->second(TensorOrScalar(info[1]), TensorOrScalar(info[2])));
}

Napi::Value Where(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), torch::where(T(info[0]), TensorOrScalar(info[1]), TensorOrScalar(info[2])));
}

Napi::Value Clamp(const Napi::CallbackInfo& info) {
  c10::optional<c10::Scalar> lo, hi;
  if (info[1].IsNumber()) lo = F64(info[1]);
  if (info[2].IsNumber()) hi = F64(info[2]);
  return Wrap(info.Env(), torch::clamp(T(info[0]), lo, hi));
}

Napi::Value Cast(const Napi::CallbackInfo& info) { return Wrap(info.Env(), T(info[0]).to(DTypeOf(info[1]))); }

// ---- reductions ----

Napi::Value Reduce(const Napi::CallbackInfo& info) {
  // reduce(name, t, dims, keepdim): an empty dims list reduces over everything.
  const std::string name = Str(info[0]);
  torch::Tensor& t = T(info[1]);
  std::vector<int64_t> dims = Ints(info[2]);
  const bool keep = Bool(info[3]);
  const bool all = dims.empty();
  torch::Tensor r;
  if (name == "sum") r = all ? t.sum() : t.sum(dims, keep);
  else if (name == "mean") r = all ? t.mean() : t.mean(dims, keep);
  else if (name == "amax") r = all ? t.amax(c10::IntArrayRef{}, false) : t.amax(dims, keep);
  else if (name == "amin") r = all ? t.amin(c10::IntArrayRef{}, false) : t.amin(dims, keep);
  else if (name == "logsumexp") {
    if (all) throw Napi::Error::New(info.Env(), "logsumexp needs dims");
    r = t.logsumexp(dims, keep);
  } else throw Napi::Error::New(info.Env(), "unknown reduction '" + name + "'");
  return Wrap(info.Env(), r);
}

Napi::Value MaxDim(const Napi::CallbackInfo& info) {
  auto [values, indices] = torch::max(T(info[0]), I64(info[1]), Bool(info[2]));
  return WrapList(info.Env(), {values, indices});
}

Napi::Value Argmax(const Napi::CallbackInfo& info) {
  if (info[1].IsUndefined() || info[1].IsNull()) return Wrap(info.Env(), T(info[0]).argmax());
  return Wrap(info.Env(), T(info[0]).argmax(I64(info[1]), Bool(info[2])));
}

Napi::Value Equal(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), torch::equal(T(info[0]), T(info[1]))); }

// ---- views and shape ----

Napi::Value Reshape(const Napi::CallbackInfo& info) { return Wrap(info.Env(), T(info[0]).reshape(Ints(info[1]))); }
Napi::Value Permute(const Napi::CallbackInfo& info) { return Wrap(info.Env(), T(info[0]).permute(Ints(info[1]))); }
Napi::Value Transpose(const Napi::CallbackInfo& info) { return Wrap(info.Env(), T(info[0]).transpose(I64(info[1]), I64(info[2]))); }
Napi::Value Expand(const Napi::CallbackInfo& info) { return Wrap(info.Env(), T(info[0]).expand(Ints(info[1]))); }
Napi::Value Squeeze(const Napi::CallbackInfo& info) {
  if (info[1].IsUndefined()) return Wrap(info.Env(), T(info[0]).squeeze());
  return Wrap(info.Env(), T(info[0]).squeeze(I64(info[1])));
}
Napi::Value Unsqueeze(const Napi::CallbackInfo& info) { return Wrap(info.Env(), T(info[0]).unsqueeze(I64(info[1]))); }
Napi::Value Slice(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), T(info[0]).slice(I64(info[1]), I64(info[2]), I64(info[3]), I64(info[4])));
}
Napi::Value Select(const Napi::CallbackInfo& info) { return Wrap(info.Env(), T(info[0]).select(I64(info[1]), I64(info[2]))); }
Napi::Value IndexSelect(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), T(info[0]).index_select(I64(info[1]), T(info[2])));
}
Napi::Value Gather(const Napi::CallbackInfo& info) { return Wrap(info.Env(), T(info[0]).gather(I64(info[1]), T(info[2]))); }
Napi::Value MaskedSelect(const Napi::CallbackInfo& info) { return Wrap(info.Env(), T(info[0]).masked_select(T(info[1]))); }
Napi::Value Cat(const Napi::CallbackInfo& info) { return Wrap(info.Env(), torch::cat(Tensors(info[0]), I64(info[1]))); }
Napi::Value Stack(const Napi::CallbackInfo& info) { return Wrap(info.Env(), torch::stack(Tensors(info[0]), I64(info[1]))); }
Napi::Value Flip(const Napi::CallbackInfo& info) { return Wrap(info.Env(), T(info[0]).flip(Ints(info[1]))); }
Napi::Value Repeat(const Napi::CallbackInfo& info) { return Wrap(info.Env(), T(info[0]).repeat(Ints(info[1]))); }
Napi::Value OneHot(const Napi::CallbackInfo& info) { return Wrap(info.Env(), torch::one_hot(T(info[0]), I64(info[1]))); }

// ---- in-place updates (optimisers, buffers) ----

Napi::Value InPlace(const Napi::CallbackInfo& info) {
  // inplace(name, target, ...): mutates target and returns nothing.
  const std::string name = Str(info[0]);
  torch::Tensor& x = T(info[1]);
  if (name == "add") x.add_(TensorOrScalar(info[2]), info[3].IsNumber() ? F64(info[3]) : 1.0);
  else if (name == "mul") x.mul_(TensorOrScalar(info[2]));
  else if (name == "addcmul") x.addcmul_(T(info[2]), T(info[3]), F64(info[4]));
  else if (name == "addcdiv") x.addcdiv_(T(info[2]), T(info[3]), F64(info[4]));
  else if (name == "copy") x.copy_(T(info[2]));
  else if (name == "zero") x.zero_();
  else if (name == "fill") x.fill_(F64(info[2]));
  else if (name == "lerp") x.lerp_(T(info[2]), F64(info[3]));
  else if (name == "clamp") x.clamp_(info[2].IsNumber() ? c10::optional<c10::Scalar>(F64(info[2])) : c10::nullopt,
                                     info[3].IsNumber() ? c10::optional<c10::Scalar>(F64(info[3])) : c10::nullopt);
  else throw Napi::Error::New(info.Env(), "unknown in-place op '" + name + "'");
  return info.Env().Undefined();
}

// ---- autograd ----

Napi::Value SetRequiresGrad(const Napi::CallbackInfo& info) {
  T(info[0]).set_requires_grad(Bool(info[1]));
  return info.Env().Undefined();
}
Napi::Value RequiresGrad(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), T(info[0]).requires_grad()); }
Napi::Value Backward(const Napi::CallbackInfo& info) {
  std::optional<torch::Tensor> g = OptT(info[1]);
  T(info[0]).backward(g.value_or(torch::Tensor()), Bool(info[2]));
  return info.Env().Undefined();
}
Napi::Value Grad(const Napi::CallbackInfo& info) {
  const torch::Tensor& g = T(info[0]).grad();
  if (!g.defined()) return info.Env().Null();
  return Wrap(info.Env(), g);
}
Napi::Value ClearGrad(const Napi::CallbackInfo& info) {
  T(info[0]).mutable_grad().reset();
  return info.Env().Undefined();
}
Napi::Value SetGradEnabled(const Napi::CallbackInfo& info) {
  const bool before = c10::GradMode::is_enabled();
  c10::GradMode::set_enabled(Bool(info[0]));
  return Napi::Boolean::New(info.Env(), before);
}
Napi::Value IsGradEnabled(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), c10::GradMode::is_enabled()); }
Napi::Value ClipGradNorm(const Napi::CallbackInfo& info) {
  std::vector<torch::Tensor> params = Tensors(info[0]);
  return Napi::Number::New(info.Env(), torch::nn::utils::clip_grad_norm_(params, F64(info[1])));
}

// ---- RNG, threads, engine info ----

Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  torch::manual_seed(static_cast<uint64_t>(I64(info[0])));
  return info.Env().Undefined();
}
Napi::Value GetRngState(const Napi::CallbackInfo& info) {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return Wrap(info.Env(), gen.get_state());
}
Napi::Value SetRngState(const Napi::CallbackInfo& info) {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(T(info[0]));
  return info.Env().Undefined();
}
Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  const int64_t n = I64(info[0]);
  if (n < 1) throw Napi::RangeError::New(info.Env(), "setNumThreads needs n >= 1");
  torch::set_num_threads(static_cast<int>(n));
  return info.Env().Undefined();
}
Napi::Value GetNumThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), torch::get_num_threads()); }
Napi::Value EngineInfo(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("torchVersion", TORCH_VERSION);
  o.Set("threads", torch::get_num_threads());
  o.Set("config", at::show_config());
  o.Set("parallel", at::get_parallel_info());
  return o;
}

}  // namespace

void RegisterTensorOps(Napi::Env env, Napi::Object exports) {
  Export<FromArray>(env, exports, "fromArray");
  Export<ToArray>(env, exports, "toArray");
  Export<Zeros>(env, exports, "zeros");
  Export<Ones>(env, exports, "ones");
  Export<Full>(env, exports, "full");
  Export<Rand>(env, exports, "rand");
  Export<Randn>(env, exports, "randn");
  Export<Randint>(env, exports, "randint");
  Export<Randperm>(env, exports, "randperm");
  Export<Arange>(env, exports, "arange");
  Export<Shape>(env, exports, "shape");
  Export<DType>(env, exports, "dtype");
  Export<Item>(env, exports, "item");
  Export<Dispose>(env, exports, "dispose");
  Export<IsDisposed>(env, exports, "isDisposed");
  Export<Nbytes>(env, exports, "nbytes");
  Export<UnaryOp>(env, exports, "unary");
  Export<BinaryOp>(env, exports, "binary");
  Export<Where>(env, exports, "where");
  Export<Clamp>(env, exports, "clamp");
  Export<Cast>(env, exports, "cast");
  Export<Reduce>(env, exports, "reduce");
  Export<MaxDim>(env, exports, "maxDim");
  Export<Argmax>(env, exports, "argmax");
  Export<Equal>(env, exports, "equal");
  Export<Reshape>(env, exports, "reshape");
  Export<Permute>(env, exports, "permute");
  Export<Transpose>(env, exports, "transpose");
  Export<Expand>(env, exports, "expand");
  Export<Squeeze>(env, exports, "squeeze");
  Export<Unsqueeze>(env, exports, "unsqueeze");
  Export<Slice>(env, exports, "slice");
  Export<Select>(env, exports, "select");
  Export<IndexSelect>(env, exports, "indexSelect");
  Export<Gather>(env, exports, "gather");
  Export<MaskedSelect>(env, exports, "maskedSelect");
  Export<Cat>(env, exports, "cat");
  Export<Stack>(env, exports, "stack");
  Export<Flip>(env, exports, "flip");
  Export<Repeat>(env, exports, "repeat");
  Export<OneHot>(env, exports, "oneHot");
  Export<InPlace>(env, exports, "inplace");
  Export<SetRequiresGrad>(env, exports, "setRequiresGrad");
  Export<RequiresGrad>(env, exports, "requiresGrad");
  Export<Backward>(env, exports, "backward");
  Export<Grad>(env, exports, "grad");
  Export<ClearGrad>(env, exports, "clearGrad");
  Export<SetGradEnabled>(env, exports, "setGradEnabled");
  Export<IsGradEnabled>(env, exports, "isGradEnabled");
  Export<ClipGradNorm>(env, exports, "clipGradNorm");
  Export<ManualSeed>(env, exports, "manualSeed");
  Export<GetRngState>(env, exports, "getRngState");
  Export<SetRngState>(env, exports, "setRngState");
  Export<SetNumThreads>(env, exports, "setNumThreads");
  Export<GetNumThreads>(env, exports, "getNumThreads");
  Export<EngineInfo>(env, exports, "engineInfo");
}

}  // namespace aepsl
